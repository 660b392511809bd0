"""Scanning room: the scan record — the evidence the cutoff reads to decide who really stayed
(SPEC §3). (The checkpoints where staff scan, which staff accounts are bound to, are declared one
floor down, in ``directory.models``, and re-exported here.)"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.core.retention import RawRecords
from wzcheckin.db import Base, BigIntPK, UTCDateTime, enum_column
from wzcheckin.directory.models import Checkpoint, CheckpointKind  # noqa: F401 - declared one floor down


class ScanResult(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Scan(Base):
    """One scan by staff at a checkpoint, accepted or refused, exactly as answered.

    ``scan_id`` is the device's idempotency key: an upload retried twice records once and gets
    the first answer back — claimed in :class:`ScanClaim`, which is what keeps it unique.
    ``is_evidence`` marks accepted staff scans that prove presence.

    On PostgreSQL the table is partitioned by month of ``scanned_at`` (migration 0011; the
    scheduler creates the months ahead, ``scanning.partitions``), its primary key there being
    ``(id, scanned_at)``; a scan outside every month lands in the default partition.
    """

    __tablename__ = "scans"
    __table_args__ = (
        # The cutoff's access path: evidence per worker in time order.
        sa.Index("ix_scans_evidence_worker_time", "worker_id", "scanned_at",
                 sqlite_where=sa.text("is_evidence = 1"),
                 postgresql_where=sa.text("is_evidence")),
        sa.Index("ix_scans_checkpoint_time", "checkpoint_id", "scanned_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # Unique through ScanClaim (a partitioned table's UNIQUE index must hold the partition key).
    scan_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    checkpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("checkpoints.id"))
    staff_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    device: Mapped[str | None] = mapped_column(sa.String(64))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    token_kind: Mapped[str | None] = mapped_column(sa.String(16))
    worker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workers.id"))
    result: Mapped[ScanResult] = mapped_column(enum_column(ScanResult, "scan_result", 8))
    reason: Mapped[str] = mapped_column(sa.String(32))
    is_evidence: Mapped[bool] = mapped_column(default=False)
    # Received more than the programme's ``late_upload_flag_minutes`` after it was scanned: still
    # evidence when valid, but shown to the officials reviewing payouts (SPEC §3).
    late_upload: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    mask: Mapped[bool | None] = mapped_column()
    # The reading as given (°C, up to two decimals): never rounded before the fever check.
    temperature: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    # What the scanner showed about the subject (masked name, booking time...) and the values
    # its message was built from, so a replayed upload gets the very same answer.
    subject: Mapped[dict | None] = mapped_column(sa.JSON)
    details: Mapped[dict | None] = mapped_column(sa.JSON)

    checkpoint = relationship("Checkpoint", lazy="joined")


class ScanClaim(Base):
    """The claim on a ``scan_id``: one narrow row per stored scan, taken by
    ``INSERT … ON CONFLICT DO NOTHING RETURNING`` before the scan is judged, so the idempotency
    check and the claim are one round trip and a retried upload finds the first answer. It lives
    apart from ``scans`` because on PostgreSQL that table is partitioned by month, and a UNIQUE
    index there would have to include ``scanned_at``. ``scanned_at`` names the scan's partition."""

    __tablename__ = "scan_claims"

    scan_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)


# This room's raw personal records for the retention purge (core/retention.py): every staff scan,
# who was where when, with temperatures, and the claims on their scan ids.
RAW_RECORDS = (RawRecords("scans", Scan, Scan.scanned_at), RawRecords("scan_claims", ScanClaim, ScanClaim.scanned_at))
