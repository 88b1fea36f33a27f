"""ledger guards: entries balance per ledger, enforced by the database

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

Reserved for issue 12 (item 5); empty until that work lands.
"""
from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
