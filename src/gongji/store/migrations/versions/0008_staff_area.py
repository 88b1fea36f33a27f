"""staff area: each staff member serves an admdvs prefix

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

Reserved for issue 12 (item 15); empty until that work lands.
"""
from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
