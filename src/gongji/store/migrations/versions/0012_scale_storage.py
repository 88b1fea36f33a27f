"""scale storage: the idempotency key leads its index; room for HOT updates (PostgreSQL)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

The settle path looks up a batch's keys with ``fixmedins IN (…) AND idem_key IN (…)``. On the
index (fixmedins, idem_key) the planner, when its statistics estimate few rows for the
institution (a new one, or one grown since the last ANALYZE), matches the institution only and
filters the keys: every key lookup read all of that institution's settlements (580 buffers for
1,000, measured). With idem_key first each key is one descent whatever the statistics say, and
the same constraint name and column set serve ``ON CONFLICT (fixmedins, idem_key)``.

Personal balances, the year's counters and the audit head are updated in place at every
settlement: with room left on their pages (fillfactor) the new row version stays on its page
(a HOT update: no index entry is written, dead versions are pruned on the page). Existing pages
get the room as their rows are next rewritten.

SQLite keeps its index: its planner uses both columns of (fixmedins, idem_key) for two IN lists,
and it has no fillfactor.
"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTOR = {"accounts": 90, "year_usage": 90, "audit_head": 10}


def _swap(columns: str) -> None:
    op.execute(f"CREATE UNIQUE INDEX one_settlement_per_key_new ON settlements ({columns})")
    op.execute("ALTER TABLE settlements DROP CONSTRAINT one_settlement_per_key")
    op.execute("ALTER INDEX one_settlement_per_key_new RENAME TO one_settlement_per_key")
    op.execute("ALTER TABLE settlements ADD CONSTRAINT one_settlement_per_key UNIQUE USING INDEX one_settlement_per_key")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _swap("idem_key, fixmedins")
    for table, percent in FILLFACTOR.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in FILLFACTOR:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    _swap("fixmedins, idem_key")
