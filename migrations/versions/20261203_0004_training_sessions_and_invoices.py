"""training: class sessions carrying their hours; online-course invoices and approved costs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_class_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('class_hours', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['training_courses.id'], name=op.f('fk_training_class_sessions_course_id_training_courses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_class_sessions')),
    sa.UniqueConstraint('course_id', 'day', name=op.f('uq_training_class_sessions_course_id_day'))
    )
    op.create_table('training_course_invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('invoice_no', sa.String(length=40), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('proposed_cost_per_person_fen', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('submitted', 'approved', 'rejected', name='course_invoice_status', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('approved_cost_per_person_fen', sa.BigInteger(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['training_courses.id'], name=op.f('fk_training_course_invoices_course_id_training_courses')),
    sa.ForeignKeyConstraint(['reviewed_by_user_id'], ['users.id'], name=op.f('fk_training_course_invoices_reviewed_by_user_id_users')),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['users.id'], name=op.f('fk_training_course_invoices_uploaded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_course_invoices'))
    )
    with op.batch_alter_table('training_course_invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_course_invoices_course_id'), ['course_id'], unique=False)


def downgrade():
    with op.batch_alter_table('training_course_invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_course_invoices_course_id'))

    op.drop_table('training_course_invoices')
    op.drop_table('training_class_sessions')
