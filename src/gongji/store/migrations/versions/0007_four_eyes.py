"""four eyes: opening balances and large manual reimbursements

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

A manual reimbursement records who entered it and, above its region's threshold, the supervisor
who approved or rejected it (and when); a partial index finds those waiting. Opening balances
need no column: the rule is a check.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('decided_on', sa.Date(), nullable=True))
    pending = sa.text("state = 'pending_approval'")
    op.create_index('settlements_pending_approval', 'settlements', ['id'], sqlite_where=pending,
                    postgresql_where=pending)


def downgrade() -> None:
    op.drop_index('settlements_pending_approval', table_name='settlements')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_column('decided_on')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('entered_by')
