"""person_directory: which province keeps each insured person (psn_no -> province)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

Kept in every province's database (``service.provinces``): a request naming a 个人编号 is served
from the person's own province. Filled from this database's own persons; the other provinces' rows
arrive when their persons are registered (``gongji demo`` syncs them all).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_directory",
        sa.Column("psn_no", sa.String(64), primary_key=True),
        sa.Column("province", sa.String(2), nullable=False),
    )
    op.execute("INSERT INTO person_directory (psn_no, province) SELECT psn_no, substr(insu_admdvs, 1, 2) FROM persons")


def downgrade() -> None:
    op.drop_table("person_directory")
