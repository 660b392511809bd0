"""Enterprises and gates room, models: the health alerts raised at gates and the visitors registered
there. (The enterprises themselves, which every room refers to, are declared one floor down, in
``directory.models``, and re-exported here.)"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.core.retention import RawRecords
from wzcheckin.db import Base, UTCDateTime
from wzcheckin.directory.models import (  # noqa: F401 - declared one floor down, re-exported
    Enterprise,
    EnterpriseFacts,
    Ownership,
    record_enterprise_facts,
)


class HealthAlert(Base):
    """发热/症状预警: a person refused at a gate for fever or symptoms (P9: "refuse, advise the
    fever clinic and report"). The enterprise admin sees its own; officials see them all."""

    __tablename__ = "health_alerts"
    __table_args__ = (sa.Index("ix_health_alerts_enterprise_time", "enterprise_id", "raised_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    checkpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("checkpoints.id"))
    # One of the two: an employee scanned at the gate, or a registered visitor.
    worker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    visitor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visitor_registrations.id"))
    scan_id: Mapped[str | None] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.String(16))  # "fever" or "symptoms"
    # The reading as given (°C, up to two decimals): never rounded before the fever check.
    temperature: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    symptoms: Mapped[bool] = mapped_column(default=False)
    # What the alert shows: the masked name only, never an ID or phone number.
    person_masked: Mapped[str] = mapped_column(sa.String(100))
    raised_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    enterprise = relationship("Enterprise", lazy="joined")


class VisitorRegistration(Base):
    """实名制登记: a visitor without a pass, registered by the gatekeeper with the entry checks.

    ID and phone numbers are personal data: encrypted, with a keyed hash (to find repeat
    visitors) and the masked tail for display, exactly like workers.
    """

    __tablename__ = "visitor_registrations"
    __table_args__ = (sa.Index("ix_visitor_registrations_enterprise_time", "enterprise_id", "registered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    checkpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("checkpoints.id"))
    name: Mapped[str] = mapped_column(sa.String(100))
    id_number_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    id_number_encrypted: Mapped[str] = mapped_column(sa.Text)
    id_number_tail: Mapped[str] = mapped_column(sa.String(4))
    phone_hash: Mapped[str] = mapped_column(sa.String(64))
    phone_encrypted: Mapped[str] = mapped_column(sa.Text)
    phone_masked: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(200))
    mask: Mapped[bool] = mapped_column()
    # The reading as given (°C, up to two decimals): never rounded before the fever check.
    temperature: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    symptoms: Mapped[bool] = mapped_column(default=False)
    # "entry_allowed" or the refusal reason (no_mask, fever, symptoms), as at a scan.
    outcome: Mapped[str] = mapped_column(sa.String(32))
    registered_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def admitted(self) -> bool:
        return self.outcome == "entry_allowed"


def _delete_alerts_naming(session, visitor_ids: list[int]) -> None:
    """An alert naming a visitor goes with the visitor (a foreign key)."""
    session.execute(sa.delete(HealthAlert).where(HealthAlert.visitor_id.in_(visitor_ids)))


# This room's raw personal records for the retention purge (core/retention.py), in the order they
# may go: alerts before the visitors they may name.
RAW_RECORDS = (
    RawRecords("health_alerts", HealthAlert, HealthAlert.raised_at),
    RawRecords("visitor_registrations", VisitorRegistration, VisitorRegistration.registered_at,
               before_delete=_delete_alerts_naming),
)
