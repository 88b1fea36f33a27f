"""settle_write also writes settlements.settled_by (the column came with 0014)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29

PostgreSQL only: the function of 0013, replaced whole, its settlements insert naming one more
column. Without it the server would drop the batch's ``settled_by`` silently (the insert lists its
columns). Downgrade puts 0013's function back. SQLite writes the column itself (``settle_batch``).
"""
import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0013's text with settled_by added, nothing else changed. Sent through the driver, which reads %
# as a placeholder: the RAISE format is written %%
WRITE = """
CREATE OR REPLACE FUNCTION settle_write(doc jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    part text;
    a jsonb := doc->'audit';
BEGIN
    FOR part IN SELECT jsonb_object_keys(doc) LOOP
        IF part NOT IN ('insert:settlements', 'insert:settlement_items', 'insert:settlement_mulaid',
                        'insert:journal', 'insert:postings', 'update:accounts', 'update:year_usage',
                        'insert:year_usage', 'audit') THEN
            RAISE EXCEPTION 'settle_write: unknown part %%', part;
        END IF;
    END LOOP;
    INSERT INTO settlements (id, fixmedins, idem_key, request_hash, psn_no, region, setl_date, med_type, dise_codg,
                             external_rx, acct_used_flag, codes, explain, state, channel, medfee_sumamt,
                             fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc,
                             hifp_pay, acct_pay, acct_mulaid_pay, psn_cash_pay, settled_by)
    SELECT id, fixmedins, idem_key, request_hash, psn_no, region, setl_date, med_type, dise_codg,
           external_rx, acct_used_flag, codes, explain, state, channel, medfee_sumamt,
           fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc,
           hifp_pay, acct_pay, acct_mulaid_pay, psn_cash_pay, settled_by
      FROM jsonb_populate_recordset(NULL::settlements, doc->'insert:settlements');
    INSERT INTO settlement_items (settlement_id, seq, code, name, list_class, category, amount, selfpay_prop,
                                  overlmt, classified_by)
    SELECT settlement_id, seq, code, name, list_class, category, amount, selfpay_prop, overlmt, classified_by
      FROM jsonb_populate_recordset(NULL::settlement_items, doc->'insert:settlement_items');
    INSERT INTO settlement_mulaid (settlement_id, seq, holder, amount)
    SELECT settlement_id, seq, holder, amount
      FROM jsonb_populate_recordset(NULL::settlement_mulaid, doc->'insert:settlement_mulaid');
    INSERT INTO journal (id, kind, "on", settlement_id)
    SELECT id, kind, "on", settlement_id FROM jsonb_populate_recordset(NULL::journal, doc->'insert:journal');
    INSERT INTO postings (journal_id, account_id, amount)
    SELECT journal_id, account_id, amount FROM jsonb_populate_recordset(NULL::postings, doc->'insert:postings');
    UPDATE accounts t SET balance = v.balance
      FROM jsonb_populate_recordset(NULL::accounts, doc->'update:accounts') v WHERE t.id = v.id;
    UPDATE year_usage t SET mulaid_received = v.mulaid_received, mulaid_paid = v.mulaid_paid,
                            zeroed_received = v.zeroed_received, zeroed_paid = v.zeroed_paid
      FROM jsonb_populate_recordset(NULL::year_usage, doc->'update:year_usage') v
     WHERE t.psn_no = v.psn_no AND t.year = v.year;
    INSERT INTO year_usage (psn_no, year, mulaid_received, mulaid_paid, zeroed_received, zeroed_paid)
    SELECT psn_no, year, mulaid_received, mulaid_paid, zeroed_received, zeroed_paid
      FROM jsonb_populate_recordset(NULL::year_usage, doc->'insert:year_usage');
    IF a IS NOT NULL THEN
        PERFORM audit_append(
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'actor') WITH ORDINALITY e(v, i) ORDER BY i),
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'action') WITH ORDINALITY e(v, i) ORDER BY i),
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'target') WITH ORDINALITY e(v, i) ORDER BY i),
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'digest') WITH ORDINALITY e(v, i) ORDER BY i),
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'admdvs') WITH ORDINALITY e(v, i) ORDER BY i));
    END IF;
END $$;
"""


def _write_0013() -> str:
    """0013's function, read from its migration (not copied again), as a replacement."""
    spec = importlib.util.spec_from_file_location("gongji_migration_0013", Path(__file__).with_name("0013_settle_calls.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRITE.replace("CREATE FUNCTION settle_write", "CREATE OR REPLACE FUNCTION settle_write", 1)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.get_bind().exec_driver_sql(WRITE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.get_bind().exec_driver_sql(_write_0013())
