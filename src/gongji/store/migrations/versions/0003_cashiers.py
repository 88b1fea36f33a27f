"""cashiers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('cashiers',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('inst_code', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['inst_code'], ['institutions.code'], ),
    sa.PrimaryKeyConstraint('username')
    )
    with op.batch_alter_table('cashiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cashiers_inst_code'), ['inst_code'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('cashiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cashiers_inst_code'))

    op.drop_table('cashiers')
