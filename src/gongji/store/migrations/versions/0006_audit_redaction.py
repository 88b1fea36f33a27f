"""audit redaction: no secret in the trail, re-chained

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Reserved for issue 12 (item 7); empty until that work lands.
"""
from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
