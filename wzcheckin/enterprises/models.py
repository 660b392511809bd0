"""Enterprises and gates room: the employers (by 统一社会信用代码) whose gates scan passes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.core.facts import EffectiveDated, supersede
from wzcheckin.db import Base, UTCDateTime, enum_column


class Ownership(StrEnum):
    PRIVATE = "private"
    STATE = "state"
    STATE_CONTROLLED = "state_controlled"
    FOREIGN = "foreign"
    COLLECTIVE = "collective"
    OTHER = "other"


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    district: Mapped[str] = mapped_column(sa.String(50), index=True)
    ownership: Mapped[Ownership] = mapped_column(enum_column(Ownership, "ownership"))
    industrial: Mapped[bool] = mapped_column(default=False)
    # The enterprise admin's phone (personal data: encrypted, hashed, masked).
    admin_phone_hash: Mapped[str | None] = mapped_column(sa.String(64))
    admin_phone_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    admin_phone_masked: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def gate_ref(self) -> str:
        return f"gate:{self.credit_code}"


class EnterpriseFacts(EffectiveDated, Base):
    """One version of the facts about an enterprise that money is decided from — ownership (P7
    pays private enterprises, P8 excludes state-owned ones), whether it is industrial (P8), and
    the name and district its headcount is reported under — true over [valid_from, valid_to).
    The cutoff reads the version that held at its instant."""

    __tablename__ = "enterprise_facts"
    __table_args__ = (
        sa.Index("ix_enterprise_facts_enterprise_from", "enterprise_id", "valid_from"),
        # One open version per enterprise (two changes at once cannot both open one).
        sa.Index("uq_enterprise_facts_open_enterprise", "enterprise_id", unique=True,
                 sqlite_where=sa.text("valid_to IS NULL"), postgresql_where=sa.text("valid_to IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    ownership: Mapped[Ownership] = mapped_column(enum_column(Ownership, "ownership"))
    industrial: Mapped[bool] = mapped_column()
    name: Mapped[str] = mapped_column(sa.String(200))
    district: Mapped[str] = mapped_column(sa.String(50))


def record_enterprise_facts(session, enterprise: Enterprise, *, now: datetime, source: str,
                            recorded_by_user_id: int | None = None) -> bool:
    """A new version of the enterprise's facts from the row as it is now (none when unchanged)."""
    session.flush()
    return supersede(session, EnterpriseFacts, {"enterprise_id": enterprise.id},
                     {"ownership": Ownership(enterprise.ownership), "industrial": bool(enterprise.industrial),
                      "name": enterprise.name, "district": enterprise.district},
                     now=now, source=source, recorded_by_user_id=recorded_by_user_id)


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
