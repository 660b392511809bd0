"""scan claims; scans partitioned by month on PostgreSQL (issue 17 item 4)

The scan-id claim moves to a narrow table of its own (``scan_claims``, filled from the scans
already stored), and ``scans.scan_id`` keeps a plain index. On PostgreSQL ``scans`` becomes a
table partitioned by range of ``scanned_at``: a partition per month that holds scans (names
``scans_yYYYYmMM``) and a default partition; its primary key becomes ``(id, scanned_at)`` (a
partitioned table's keys must hold the partition key). SQLite keeps one plain table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:45:27.380617

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

SCAN_INDEXES = (
    "CREATE INDEX ix_scans_checkpoint_time ON scans (checkpoint_id, scanned_at)",
    "CREATE INDEX ix_scans_evidence_worker_time ON scans (worker_id, scanned_at) WHERE is_evidence",
    "CREATE INDEX ix_scans_staff_user_id ON scans (staff_user_id)",
    "CREATE INDEX ix_scans_scan_id ON scans (scan_id)",
)
SCAN_FOREIGN_KEYS = (
    "ALTER TABLE scans ADD CONSTRAINT fk_scans_checkpoint_id_checkpoints FOREIGN KEY (checkpoint_id) "
    "REFERENCES checkpoints (id)",
    "ALTER TABLE scans ADD CONSTRAINT fk_scans_staff_user_id_users FOREIGN KEY (staff_user_id) REFERENCES users (id)",
    "ALTER TABLE scans ADD CONSTRAINT fk_scans_worker_id_workers FOREIGN KEY (worker_id) REFERENCES workers (id)",
)


def upgrade():
    op.create_table('scan_claims',
    sa.Column('scan_id', sa.String(length=64), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_user_id'], ['users.id'], name=op.f('fk_scan_claims_staff_user_id_users')),
    sa.PrimaryKeyConstraint('scan_id', name=op.f('pk_scan_claims'))
    )
    op.execute("INSERT INTO scan_claims (scan_id, staff_user_id, scanned_at) "
               "SELECT scan_id, staff_user_id, scanned_at FROM scans")
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table('scans', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('uq_scans_scan_id'), type_='unique')
            batch_op.create_index(batch_op.f('ix_scans_scan_id'), ['scan_id'], unique=False)
        return
    _partition_scans()


def _partition_scans():
    """The table is rebuilt as a partitioned one and its rows copied in (one transaction: a
    deployment does this before the season, while the table is small)."""
    op.execute("ALTER TABLE scans RENAME TO scans_unpartitioned")
    op.execute("ALTER INDEX pk_scans RENAME TO pk_scans_unpartitioned")
    for name in ("ix_scans_checkpoint_time", "ix_scans_evidence_worker_time", "ix_scans_staff_user_id"):
        op.execute(f"DROP INDEX {name}")
    op.execute("CREATE TABLE scans (LIKE scans_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
               "PARTITION BY RANGE (scanned_at)")
    op.execute("ALTER TABLE scans ADD CONSTRAINT pk_scans PRIMARY KEY (id, scanned_at)")
    for statement in SCAN_INDEXES + SCAN_FOREIGN_KEYS:
        op.execute(statement)
    op.execute("CREATE TABLE scans_default PARTITION OF scans DEFAULT")
    months = op.get_bind().execute(sa.text(
        "SELECT DISTINCT date_trunc('month', scanned_at AT TIME ZONE 'UTC') FROM scans_unpartitioned "
        "ORDER BY 1")).scalars().all()
    for start in months:
        end = f"{start.year + start.month // 12:04d}-{start.month % 12 + 1:02d}-01"
        op.execute(f"CREATE TABLE scans_y{start.year:04d}m{start.month:02d} PARTITION OF scans "
                   f"FOR VALUES FROM ('{start:%Y-%m-%d} 00:00:00+00') TO ('{end} 00:00:00+00')")
    op.execute("INSERT INTO scans SELECT * FROM scans_unpartitioned")
    # The id sequence belongs to the new table (it would go with the old one otherwise).
    op.execute("ALTER SEQUENCE scans_id_seq OWNED BY scans.id")
    op.execute("DROP TABLE scans_unpartitioned")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE scans RENAME TO scans_partitioned")
        op.execute("ALTER INDEX pk_scans RENAME TO pk_scans_partitioned")
        for name in ("ix_scans_checkpoint_time", "ix_scans_evidence_worker_time", "ix_scans_staff_user_id",
                     "ix_scans_scan_id"):
            op.execute(f"DROP INDEX {name}")
        op.execute("CREATE TABLE scans (LIKE scans_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        op.execute("ALTER TABLE scans ADD CONSTRAINT pk_scans PRIMARY KEY (id)")
        op.execute("ALTER TABLE scans ADD CONSTRAINT uq_scans_scan_id UNIQUE (scan_id)")
        for statement in SCAN_INDEXES[:3] + SCAN_FOREIGN_KEYS:
            op.execute(statement)
        op.execute("INSERT INTO scans SELECT * FROM scans_partitioned")
        op.execute("ALTER SEQUENCE scans_id_seq OWNED BY scans.id")
        op.execute("DROP TABLE scans_partitioned CASCADE")
    else:
        with op.batch_alter_table('scans', schema=None) as batch_op:
            batch_op.drop_index(batch_op.f('ix_scans_scan_id'))
            batch_op.create_unique_constraint(batch_op.f('uq_scans_scan_id'), ['scan_id'])
    op.drop_table('scan_claims')
