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
    the first answer back. ``is_evidence`` marks accepted staff scans that prove presence.
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
    scan_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
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


# This room's raw personal records for the retention purge (core/retention.py): every staff scan,
# who was where when, with temperatures.
RAW_RECORDS = (RawRecords("scans", Scan, Scan.scanned_at),)
