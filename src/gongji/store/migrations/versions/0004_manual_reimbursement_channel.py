"""manual reimbursement channel

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), server_default='direct', nullable=False))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_column('channel')

