"""ledger guards: entries balance per ledger, enforced by the database

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

PostgreSQL only: a constraint trigger, deferred to COMMIT, refuses any transaction that leaves a
journal entry whose postings do not sum to zero per ledger (CNY, QUOTA), whatever wrote them (the
ORM, the settle batch's plain SQL, the bulk loader's COPY, a hand-typed fix). SQLite cannot defer
a trigger, and an entry is unbalanced between its first and last posting, so there the Python
check in ``service.ledger`` and ``gongji verify`` guard it (docs/ledger.md).
"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The check runs per posting row at COMMIT, but an entry is summed once per run of its rows: the
# last entry found balanced is remembered for the rest of the transaction, and forgotten by any
# later statement on postings (so nothing written after a check escapes it). Without this, an
# entry of n lines (the bulk opening credit) would be summed n times. The sum is planned as index
# lookups whatever the statistics say: at the commit of a bulk load they still describe empty
# tables, and a plan that scans accounts once per entry makes the load quadratic.
CHECK = """
CREATE FUNCTION ledger_entry_balances(jid integer) RETURNS void LANGUAGE plpgsql
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    bad record;
BEGIN
    SELECT a.ledger, sum(p.amount) AS total INTO bad
      FROM postings p JOIN accounts a ON a.id = p.account_id
     WHERE p.journal_id = jid
     GROUP BY a.ledger HAVING sum(p.amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance: its % postings sum to %', jid, bad.ledger, bad.total
            USING HINT = 'every journal entry sums to zero per ledger (docs/ledger.md)';
    END IF;
    PERFORM set_config('gongji.balanced_entry', jid::text, true);
END $$;

CREATE FUNCTION ledger_forget_checked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('gongji.balanced_entry', '', true);
    RETURN NULL;
END $$;

CREATE TRIGGER postings_changed BEFORE INSERT OR UPDATE OR DELETE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forget_checked();

CREATE FUNCTION postings_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND current_setting('gongji.balanced_entry', true) IS DISTINCT FROM OLD.journal_id::text THEN
        PERFORM ledger_entry_balances(OLD.journal_id);
    END IF;
    IF TG_OP <> 'DELETE' AND current_setting('gongji.balanced_entry', true) IS DISTINCT FROM NEW.journal_id::text THEN
        PERFORM ledger_entry_balances(NEW.journal_id);
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER postings_balance AFTER INSERT OR UPDATE OR DELETE ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION postings_balance();

-- moving an account to another ledger moves its postings with it: every entry it is in is checked
CREATE FUNCTION accounts_ledger_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    jid integer;
BEGIN
    PERFORM set_config('gongji.balanced_entry', '', true);
    FOR jid IN SELECT DISTINCT journal_id FROM postings WHERE account_id = NEW.id LOOP
        PERFORM ledger_entry_balances(jid);
    END LOOP;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER accounts_ledger_balance AFTER UPDATE OF ledger ON accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.ledger IS DISTINCT FROM NEW.ledger) EXECUTE FUNCTION accounts_ledger_balance();
"""

DROP = """
DROP TRIGGER accounts_ledger_balance ON accounts;
DROP FUNCTION accounts_ledger_balance();
DROP TRIGGER postings_balance ON postings;
DROP FUNCTION postings_balance();
DROP TRIGGER postings_changed ON postings;
DROP FUNCTION ledger_forget_checked();
DROP FUNCTION ledger_entry_balances(integer);
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP)
