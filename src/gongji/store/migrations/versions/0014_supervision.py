"""fund supervision: flags, their evidence, runs; who settled and who reversed a settlement

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN on both databases: a batch copy of settlements would drop the table that
    # journal, items and fee lines refer to (SQLite refuses it with foreign keys on)
    op.add_column("settlements", sa.Column("settled_by", sa.String(80), nullable=True))
    op.add_column("settlements", sa.Column("reversed_by", sa.String(80), nullable=True))
    op.create_table(
        "supervision_flags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("psn_nos", sa.JSON, nullable=False),
        sa.Column("fixmedins", sa.String(64), nullable=True),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("admdvs", sa.String(64), nullable=True),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("measure", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("found_on", sa.Date, nullable=False),
        sa.Column("updated_on", sa.Date, nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_on", sa.Date, nullable=True),
        sa.Column("decision_reason", sa.String(200), nullable=True),
        sa.Column("sanction_id", sa.Integer, sa.ForeignKey("sanctions.id"), nullable=True),
        sa.CheckConstraint("state IN ('open', 'confirmed', 'excluded', 'sanctioned')", name="flag_state_known"),
        sa.CheckConstraint("period_start <= period_end", name="flag_period_ordered"),
    )
    op.create_index("flags_by_subject", "supervision_flags", ["rule", "subject", "period_start"])
    op.create_index("flags_by_state", "supervision_flags", ["state", "severity"])
    op.create_table(
        "supervision_evidence",
        sa.Column("flag_id", sa.Integer, sa.ForeignKey("supervision_flags.id"), primary_key=True),
        sa.Column("settlement_id", sa.Integer, sa.ForeignKey("settlements.id"), primary_key=True),
    )
    op.create_index("ix_supervision_evidence_settlement_id", "supervision_evidence", ["settlement_id"])
    op.create_table(
        "supervision_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("by", sa.String(80), nullable=False),
        sa.Column("date_from", sa.Date, nullable=True),
        sa.Column("date_to", sa.Date, nullable=True),
        sa.Column("upto_id", sa.Integer, nullable=False),
        sa.Column("reversals_since", sa.Date, nullable=True),
        sa.Column("flags_new", sa.Integer, nullable=False),
        sa.Column("flags_extended", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("supervision_runs")
    op.drop_table("supervision_evidence")
    op.drop_table("supervision_flags")
    for column in ("reversed_by", "settled_by"):  # plain DROP COLUMN (SQLite 3.35+), as the upgrade adds
        op.execute(f"ALTER TABLE settlements DROP COLUMN {column}")
