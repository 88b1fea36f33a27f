"""four eyes: opening balances and large manual reimbursements

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

Reserved for issue 12 (item 8); empty until that work lands.
"""
from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
