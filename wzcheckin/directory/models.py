"""Directory, models: the enterprises (employers, by 统一社会信用代码) and their effective-dated
facts, and the checkpoints where staff scan. Rooms re-export them from their own models
(``enterprises.models``, ``scanning.models``); the rooms below those import them from here."""

from __future__ import annotations

from datetime import datetime
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


class CheckpointKind(StrEnum):
    GATE = "gate"          # a factory gate: entry with the P9 checks
    VENUE = "venue"        # a library, sports venue, ...: redeeming reservations
    PICKUP = "pickup"      # a welfare-pack pickup point
    TRAINING = "training"  # an offline training class: attendance


class Checkpoint(Base):
    """A place where staff scan: ``ref`` is ``<kind>:<code>``, e.g. ``gate:91330300MA2...``."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[CheckpointKind] = mapped_column(enum_column(CheckpointKind, "checkpoint_kind"))
    code: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    district: Mapped[str] = mapped_column(sa.String(50), default="")
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    enterprise = relationship("Enterprise", lazy="joined")

    @staticmethod
    def make_ref(kind: CheckpointKind | str, code: str) -> str:
        return f"{CheckpointKind(kind).value}:{code}"
