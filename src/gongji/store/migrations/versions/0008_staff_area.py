"""staff area: each staff member serves an admdvs prefix

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

Persons get an index on insu_admdvs, which staff areas filter on.
Staff already there serve the whole country (area ""), so a deployment keeps working until an
administrator narrows them. Audit entries get the insu_admdvs of the persons they name, so that
staff of an area see theirs; the entries already written are filled in here.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area', sa.String(length=6), server_default='', nullable=False))
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('admdvs', sa.String(length=64), nullable=True))
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_persons_insu_admdvs'), ['insu_admdvs'], unique=False)
    _fill_audit_areas(op.get_bind())


def _fill_audit_areas(conn) -> None:
    from gongji.service.scope import audit_areas
    from gongji.store.raw import Raw

    db, last = Raw(conn), 0
    while True:
        rows = conn.execute(sa.text("SELECT id, target FROM audit WHERE id > :last ORDER BY id LIMIT :n"),
                            {"last": last, "n": BATCH}).all()
        if not rows:
            return
        found = [{"id": i, "a": a[:64]} for (i, _), a in zip(rows, audit_areas(db, [t for _, t in rows]),
                                                             strict=True) if a]
        if found:
            conn.execute(sa.text("UPDATE audit SET admdvs = :a WHERE id = :id"), found)
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_insu_admdvs'))
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_column('admdvs')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('area')
