"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('credit_batches',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('applied_rows', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.Column('finished', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('institutions',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.CheckConstraint('level IN (1, 2, 3)', name='level_known'),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('persons',
    sa.Column('psn_no', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('certno', sa.String(length=18), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('insutype', sa.String(length=3), nullable=False),
    sa.Column('insu_admdvs', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_on', sa.Date(), nullable=True),
    sa.Column('mulaid_frozen', sa.Boolean(), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('psn_no'),
    sa.UniqueConstraint('certno')
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ledger', sa.String(length=8), nullable=False),
    sa.Column('psn_no', sa.String(length=64), nullable=True),
    sa.Column('balance', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("(kind = 'personal') = (balance IS NOT NULL)", name='balance_personal_only'),
    sa.CheckConstraint('balance IS NULL OR balance >= 0', name='balance_not_negative'),
    sa.ForeignKeyConstraint(['psn_no'], ['persons.psn_no'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('psn_no')
    )
    op.create_table('bindings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('beneficiary', sa.String(length=64), nullable=False),
    sa.Column('relation', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('materials', sa.JSON(), nullable=False),
    sa.Column('e_commitment', sa.Boolean(), nullable=False),
    sa.Column('face_check', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=False),
    sa.Column('review_due', sa.Date(), nullable=False),
    sa.Column('review_due_estimated', sa.Boolean(), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('approved_on', sa.Date(), nullable=True),
    sa.Column('unbind_requested_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['beneficiary'], ['persons.psn_no'], ),
    sa.ForeignKeyConstraint(['holder'], ['persons.psn_no'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bindings_beneficiary'), ['beneficiary'], unique=False)
        batch_op.create_index(batch_op.f('ix_bindings_holder'), ['holder'], unique=False)
        batch_op.create_index(batch_op.f('ix_bindings_review_due'), ['review_due'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('psn_no', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=32), nullable=True),
    sa.Column('on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['psn_no'], ['persons.psn_no'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_psn_no'), ['psn_no'], unique=False)

    op.create_table('filings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('psn_no', sa.String(length=64), nullable=False),
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['psn_no'], ['persons.psn_no'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filings_psn_no'), ['psn_no'], unique=False)

    op.create_table('sanctions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('psn_no', sa.String(length=64), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['psn_no'], ['persons.psn_no'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sanctions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sanctions_psn_no'), ['psn_no'], unique=False)

    op.create_table('settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fixmedins', sa.String(length=64), nullable=False),
    sa.Column('idem_key', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('psn_no', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('setl_date', sa.Date(), nullable=False),
    sa.Column('med_type', sa.String(length=4), nullable=False),
    sa.Column('dise_codg', sa.String(length=32), nullable=True),
    sa.Column('external_rx', sa.Boolean(), nullable=False),
    sa.Column('acct_used_flag', sa.String(length=1), nullable=False),
    sa.Column('medfee_sumamt', sa.BigInteger(), nullable=False),
    sa.Column('fulamt_ownpay_amt', sa.BigInteger(), nullable=False),
    sa.Column('preselfpay_amt', sa.BigInteger(), nullable=False),
    sa.Column('inscp_scp_amt', sa.BigInteger(), nullable=False),
    sa.Column('act_pay_dedc', sa.BigInteger(), nullable=False),
    sa.Column('hifp_pay', sa.BigInteger(), nullable=False),
    sa.Column('acct_pay', sa.BigInteger(), nullable=False),
    sa.Column('acct_mulaid_pay', sa.BigInteger(), nullable=False),
    sa.Column('psn_cash_pay', sa.BigInteger(), nullable=False),
    sa.Column('codes', sa.JSON(), nullable=False),
    sa.Column('explain', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reversed_on', sa.Date(), nullable=True),
    sa.Column('reverse_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['fixmedins'], ['institutions.code'], ),
    sa.ForeignKeyConstraint(['psn_no'], ['persons.psn_no'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fixmedins', 'idem_key', name='one_settlement_per_key')
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlements_psn_no'), ['psn_no'], unique=False)
        batch_op.create_index('settlements_by_date', ['setl_date'], unique=False)

    op.create_table('year_usage',
    sa.Column('psn_no', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('mulaid_received', sa.BigInteger(), nullable=False),
    sa.Column('mulaid_paid', sa.BigInteger(), nullable=False),
    sa.Column('zeroed_received', sa.BigInteger(), nullable=False),
    sa.Column('zeroed_paid', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('mulaid_received >= 0 AND mulaid_paid >= 0 AND zeroed_received >= 0 AND zeroed_paid >= 0', name='usage_not_negative'),
    sa.ForeignKeyConstraint(['psn_no'], ['persons.psn_no'], ),
    sa.PrimaryKeyConstraint('psn_no', 'year')
    )
    op.create_table('journal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('ref', sa.String(length=120), nullable=True),
    sa.Column('settlement_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ref')
    )
    with op.batch_alter_table('journal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_settlement_id'), ['settlement_id'], unique=False)

    op.create_table('settlement_items',
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('list_class', sa.String(length=1), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('selfpay_prop', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], ),
    sa.PrimaryKeyConstraint('settlement_id', 'seq')
    )
    op.create_table('settlement_mulaid',
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['holder'], ['persons.psn_no'], ),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], ),
    sa.PrimaryKeyConstraint('settlement_id', 'seq')
    )
    with op.batch_alter_table('settlement_mulaid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_mulaid_holder'), ['holder'], unique=False)

    op.create_table('postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journal_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount <> 0', name='amount_not_zero'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['journal_id'], ['journal.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postings_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_postings_journal_id'), ['journal_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_journal_id'))
        batch_op.drop_index(batch_op.f('ix_postings_account_id'))

    op.drop_table('postings')
    with op.batch_alter_table('settlement_mulaid', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_mulaid_holder'))

    op.drop_table('settlement_mulaid')
    op.drop_table('settlement_items')
    with op.batch_alter_table('journal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_settlement_id'))

    op.drop_table('journal')
    op.drop_table('year_usage')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index('settlements_by_date')
        batch_op.drop_index(batch_op.f('ix_settlements_psn_no'))

    op.drop_table('settlements')
    with op.batch_alter_table('sanctions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sanctions_psn_no'))

    op.drop_table('sanctions')
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filings_psn_no'))

    op.drop_table('filings')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_psn_no'))

    op.drop_table('events')
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bindings_review_due'))
        batch_op.drop_index(batch_op.f('ix_bindings_holder'))
        batch_op.drop_index(batch_op.f('ix_bindings_beneficiary'))

    op.drop_table('bindings')
    op.drop_table('accounts')
    op.drop_table('persons')
    op.drop_table('institutions')
    op.drop_table('credit_batches')
