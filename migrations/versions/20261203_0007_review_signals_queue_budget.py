"""review: risk signal runs and signals per enterprise, approvals with acknowledgements, seeded
on-site samples, and P6/P8 payments (issue 14 items 1, 2, 8)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:20:07.449413

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('review_signal_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_signal_runs'))
    )
    op.create_table('review_signals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('row_type', sa.String(length=16), nullable=False),
    sa.Column('row_ids', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_review_signals_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['run_id'], ['review_signal_runs.id'], name=op.f('fk_review_signals_run_id_review_signal_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_signals'))
    )
    with op.batch_alter_table('review_signals', schema=None) as batch_op:
        batch_op.create_index('ix_review_signals_run_enterprise', ['run_id', 'enterprise_id'], unique=False)

    op.create_table('review_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy', sa.String(length=4), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('official_user_id', sa.Integer(), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('signal_run_id', sa.Integer(), nullable=True),
    sa.Column('final', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['official_user_id'], ['users.id'], name=op.f('fk_review_approvals_official_user_id_users')),
    sa.ForeignKeyConstraint(['signal_run_id'], ['review_signal_runs.id'], name=op.f('fk_review_approvals_signal_run_id_review_signal_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_approvals')),
    sa.UniqueConstraint('policy', 'application_id', 'official_user_id', name=op.f('uq_review_approvals_policy_application_id_official_user_id'))
    )
    op.create_table('review_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy', sa.String(length=4), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['paid_by_user_id'], ['users.id'], name=op.f('fk_review_payments_paid_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_payments')),
    sa.UniqueConstraint('policy', 'application_id', name=op.f('uq_review_payments_policy_application_id'))
    )
    op.create_table('review_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('population', sa.JSON(), nullable=False),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('drawn_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['drawn_by_user_id'], ['users.id'], name=op.f('fk_review_samples_drawn_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_samples'))
    )
    op.create_table('review_acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=False),
    sa.Column('signal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['approval_id'], ['review_approvals.id'], name=op.f('fk_review_acknowledgements_approval_id_review_approvals')),
    sa.ForeignKeyConstraint(['signal_id'], ['review_signals.id'], name=op.f('fk_review_acknowledgements_signal_id_review_signals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_acknowledgements')),
    sa.UniqueConstraint('approval_id', 'signal_id', name=op.f('uq_review_acknowledgements_approval_id_signal_id'))
    )
    op.create_table('review_onsite_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('policy', sa.String(length=4), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_by_user_id', sa.Integer(), nullable=True),
    sa.Column('check_note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['checked_by_user_id'], ['users.id'], name=op.f('fk_review_onsite_checks_checked_by_user_id_users')),
    sa.ForeignKeyConstraint(['sample_id'], ['review_samples.id'], name=op.f('fk_review_onsite_checks_sample_id_review_samples')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_onsite_checks')),
    sa.UniqueConstraint('policy', 'application_id', name=op.f('uq_review_onsite_checks_policy_application_id'))
    )


def downgrade():
    op.drop_table('review_onsite_checks')
    op.drop_table('review_acknowledgements')
    op.drop_table('review_samples')
    op.drop_table('review_payments')
    op.drop_table('review_approvals')
    with op.batch_alter_table('review_signals', schema=None) as batch_op:
        batch_op.drop_index('ix_review_signals_run_enterprise')

    op.drop_table('review_signals')
    op.drop_table('review_signal_runs')
