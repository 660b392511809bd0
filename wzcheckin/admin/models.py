"""Admin room, models: the hotline case log (热线来电记录) of the programme's 24-hour hotline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.core.retention import RawRecords
from wzcheckin.db import Base, UTCDateTime, enum_column


class HotlineTopic(StrEnum):
    SUBSIDY = "subsidy"          # P7/P8 subsidies and rewards
    TRAINING = "training"        # P6
    WAGES = "wages"              # wage arrears (P10)
    HEALTH = "health"            # epidemic prevention, fever clinics, entry checks
    VENUES = "venues"            # bookings, free entry, activities
    ACCOUNT = "account"          # registration, pass, log-in
    POINTS = "points"            # new-resident points, residence permits
    OTHER = "other"


class HotlineOutcome(StrEnum):
    ANSWERED = "answered"        # answered on the call
    REFERRED = "referred"        # passed to the bureau that owns it
    FOLLOW_UP = "follow_up"      # a call back is owed
    COMPLAINT = "complaint"      # taken down as a complaint


class HotlineCase(Base):
    """One call to the hotline as the officer recorded it: the topic, the outcome and a note,
    linked to the worker or enterprise it concerns when they are on file. The caller's number is
    kept only as a keyed hash (to find their calls again) and masked (to show); never in clear.
    A case is never edited: a later call is a case of its own."""

    __tablename__ = "hotline_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[HotlineTopic] = mapped_column(enum_column(HotlineTopic, "hotline_topic", 16))
    outcome: Mapped[HotlineOutcome] = mapped_column(enum_column(HotlineOutcome, "hotline_outcome", 16))
    note: Mapped[str] = mapped_column(sa.String(1000))
    caller_phone_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    caller_phone_masked: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    worker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    recorded_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    worker = relationship("Worker", lazy="joined")
    enterprise = relationship("Enterprise", lazy="joined")
    recorded_by = relationship("User", lazy="joined")


# The hotline's notes may say anything a caller told the officer: purged with the other raw
# records after the appeal window (core.retention).
RAW_RECORDS = (RawRecords("hotline_cases", HotlineCase, HotlineCase.recorded_at),)
