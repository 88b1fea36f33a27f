"""audit chain on the server: one call appends a batch of entries

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

PostgreSQL only. ``audit_append`` locks the head, links each entry exactly as
``service.audit.link`` does (SHA-256 of prev, at, actor, action, target and payload digest joined
by newlines, UTF-8, lower-case hex), inserts them and moves the head. The caller sends it without
waiting for an answer, in the same pipeline as its other writes and its COMMIT, so a settlement
batch is one round trip for all its writes and the head is locked only from this call to the
commit. ``at`` is taken here, after the lock, so times along the chain never go backwards; it is
Beijing time written as Python's ``isoformat(timespec="microseconds")`` writes it. SQLite keeps
the Python path (its writer holds the whole database anyway). ``gongji verify`` recomputes every
link in Python, so a difference between the two would show at once.
"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND = """
CREATE FUNCTION audit_append(p_actor text[], p_action text[], p_target text[], p_digest text[], p_admdvs text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    prev text;
    at text;
    n integer := coalesce(array_length(p_actor, 1), 0);
    ats text[] := '{}';
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    SELECT last_hash INTO prev FROM audit_head WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN  -- the first entry ever; a racing first writer loses on the key and retries
        prev := repeat('0', 64);
        INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, prev);
    END IF;
    FOR i IN 1 .. n LOOP
        at := to_char(clock_timestamp() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+08:00';
        ats := ats || at;
        prevs := prevs || prev;
        prev := encode(sha256(convert_to(prev || E'\\n' || at || E'\\n' || p_actor[i] || E'\\n' || p_action[i]
                                         || E'\\n' || p_target[i] || E'\\n' || p_digest[i], 'UTF8')), 'hex');
        hashes := hashes || prev;
    END LOOP;
    WITH made AS (
        INSERT INTO audit (at, actor, action, target, payload_digest, prev_hash, hash, admdvs)
        SELECT * FROM unnest(ats, p_actor, p_action, p_target, p_digest, prevs, hashes, p_admdvs)
        RETURNING id, hash)
    UPDATE audit_head SET last_id = (SELECT id FROM made WHERE hash = prev), last_hash = prev WHERE id = 1;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.get_bind().exec_driver_sql(APPEND)  # as written: its colons are not bind parameters


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_append(text[], text[], text[], text[], text[])")
