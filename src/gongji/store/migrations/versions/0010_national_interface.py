"""national interface: catalogue, visits, fee lines, messages

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28

The national platform's outpatient interface (docs/nhsa.md): the insurance catalogue that
classifies fee lines, the visits (2201/2203), their fee lines (2204), the messages by msgid, the
sign-ins; the part of a line above its price cap (overlmt) on settlements and their items; an
institution's x-tif paasid.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('catalog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('med_list_codg', sa.String(length=50), nullable=False),
    sa.Column('admdvs', sa.String(length=6), server_default='', nullable=False),
    sa.Column('begndate', sa.Date(), nullable=False),
    sa.Column('enddate', sa.Date(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('med_chrgitm_type', sa.String(length=6), nullable=False),
    sa.Column('chrgitm_lv', sa.String(length=3), nullable=False),
    sa.Column('selfpay_prop', sa.String(length=12), nullable=False),
    sa.Column('pric_uplmt_amt', sa.BigInteger(), nullable=True),
    sa.Column('lmt_used_flag', sa.String(length=1), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('med_list_codg', 'admdvs', 'begndate', name='one_catalog_line_per_start')
    )
    op.create_table('nhsa_signins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fixmedins', sa.String(length=64), nullable=False),
    sa.Column('opter_no', sa.String(length=30), nullable=False),
    sa.Column('signed_in_at', sa.DateTime(), nullable=False),
    sa.Column('signed_out_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['fixmedins'], ['institutions.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('nhsa_signins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nhsa_signins_fixmedins'), ['fixmedins'], unique=False)

    op.create_table('nhsa_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fixmedins', sa.String(length=64), nullable=False),
    sa.Column('psn_no', sa.String(length=64), nullable=False),
    sa.Column('insutype', sa.String(length=6), nullable=False),
    sa.Column('mdtrt_cert_type', sa.String(length=3), nullable=False),
    sa.Column('ipt_otp_no', sa.String(length=30), nullable=False),
    sa.Column('begntime', sa.DateTime(), nullable=False),
    sa.Column('dept_name', sa.String(length=100), nullable=False),
    sa.Column('dr_name', sa.String(length=50), nullable=False),
    sa.Column('med_type', sa.String(length=6), nullable=True),
    sa.Column('dise_codg', sa.String(length=30), nullable=True),
    sa.Column('main_diag', sa.String(length=20), nullable=True),
    sa.Column('diagnoses', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['fixmedins'], ['institutions.code'], ),
    sa.ForeignKeyConstraint(['psn_no'], ['persons.psn_no'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('nhsa_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nhsa_visits_fixmedins'), ['fixmedins'], unique=False)
        batch_op.create_index(batch_op.f('ix_nhsa_visits_psn_no'), ['psn_no'], unique=False)

    op.create_table('nhsa_fee_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('feedetl_sn', sa.String(length=30), nullable=False),
    sa.Column('chrg_bchno', sa.String(length=30), nullable=False),
    sa.Column('med_list_codg', sa.String(length=50), nullable=False),
    sa.Column('medins_list_codg', sa.String(length=150), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('fee_ocur_time', sa.DateTime(), nullable=False),
    sa.Column('cnt', sa.String(length=24), nullable=False),
    sa.Column('pric', sa.String(length=24), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('rx_circ_flag', sa.String(length=1), nullable=False),
    sa.Column('chrgitm_lv', sa.String(length=3), nullable=False),
    sa.Column('med_chrgitm_type', sa.String(length=6), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('selfpay_prop', sa.String(length=12), nullable=False),
    sa.Column('pric_uplmt_amt', sa.BigInteger(), nullable=True),
    sa.Column('lmt_used_flag', sa.String(length=1), nullable=False),
    sa.Column('fulamt_ownpay_amt', sa.BigInteger(), nullable=False),
    sa.Column('overlmt_amt', sa.BigInteger(), nullable=False),
    sa.Column('preselfpay_amt', sa.BigInteger(), nullable=False),
    sa.Column('inscp_scp_amt', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], ),
    sa.ForeignKeyConstraint(['visit_id'], ['nhsa_visits.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('nhsa_fee_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nhsa_fee_lines_settlement_id'), ['settlement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nhsa_fee_lines_visit_id'), ['visit_id'], unique=False)
        batch_op.create_index('one_live_line_per_sn', ['visit_id', 'feedetl_sn'], unique=True,
                              sqlite_where=sa.text("state IN ('unsettled', 'settled')"),
                              postgresql_where=sa.text("state IN ('unsettled', 'settled')"))

    op.create_table('nhsa_messages',
    sa.Column('fixmedins', sa.String(length=64), nullable=False),
    sa.Column('msgid', sa.String(length=64), nullable=False),
    sa.Column('infno', sa.String(length=8), nullable=False),
    sa.Column('input_hash', sa.String(length=64), nullable=False),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=True),
    sa.Column('reversed_by', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], ),
    sa.PrimaryKeyConstraint('fixmedins', 'msgid')
    )
    # plain ALTER TABLE ADD COLUMN and CREATE INDEX: SQLite copies no table that others refer to
    op.add_column('institutions', sa.Column('paasid', sa.String(length=64), nullable=True))
    op.create_index('one_institution_per_paasid', 'institutions', ['paasid'], unique=True)

    op.add_column('settlement_items', sa.Column('overlmt', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('settlement_items', sa.Column('classified_by', sa.String(length=8), server_default='caller',
                                                nullable=False))
    op.add_column('settlements', sa.Column('overlmt_selfpay', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('settlements', sa.Column('mdtrt_id', sa.String(length=30), nullable=True))
    op.add_column('settlements', sa.Column('chrg_bchno', sa.String(length=30), nullable=True))
    op.add_column('settlements', sa.Column('medins_setl_id', sa.String(length=64), nullable=True))
    op.add_column('settlements', sa.Column('setl_time', sa.DateTime(), nullable=True))
    op.add_column('settlements', sa.Column('balc', sa.BigInteger(), nullable=True))
    op.create_index('ix_settlements_mdtrt_id', 'settlements', ['mdtrt_id'], unique=False)



def downgrade() -> None:
    """Plain ALTER TABLE DROP COLUMN (SQLite 3.35+), so no referenced table is copied."""
    op.drop_index('ix_settlements_mdtrt_id', table_name='settlements')
    op.drop_index('one_institution_per_paasid', table_name='institutions')
    for table, column in (('settlements', 'balc'), ('settlements', 'setl_time'), ('settlements', 'medins_setl_id'),
                          ('settlements', 'chrg_bchno'), ('settlements', 'mdtrt_id'),
                          ('settlements', 'overlmt_selfpay'), ('settlement_items', 'classified_by'),
                          ('settlement_items', 'overlmt'), ('institutions', 'paasid')):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table('nhsa_messages')
    op.drop_index('one_live_line_per_sn', table_name='nhsa_fee_lines')
    op.drop_table('nhsa_fee_lines')
    op.drop_table('nhsa_visits')
    op.drop_table('nhsa_signins')
    op.drop_table('catalog')
