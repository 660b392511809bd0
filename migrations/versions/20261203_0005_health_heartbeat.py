"""health heartbeat: the row /healthz writes to prove the database takes writes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('health_heartbeat',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beats', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_heartbeat'))
    )


def downgrade():
    op.drop_table('health_heartbeat')
