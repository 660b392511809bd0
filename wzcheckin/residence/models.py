"""Residence room, models: snapshots of the cutoff (every worker's status, every enterprise's
headcount), P7 subsidy applications, P8 production-reward declarations. (Departures are declared
with the workers, in accounts; the SMS outbox in core.)"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.accounts.models import Departure  # noqa: F401 - a worker fact: declared with the workers
from wzcheckin.core.models import SmsMessage, SmsStatus  # noqa: F401 - the SMS outbox is core's (accounts sends codes)
from wzcheckin.db import Base, UTCDateTime, enum_column


class SnapshotKind(StrEnum):
    OFFICIAL = "official"  # as of the programme's cutoff: drives P2 points, P7 notices and applications
    TRIAL = "trial"        # as of another instant (``cutoff run --at``): figures only, no awards
    PREVIEW = "preview"    # the nightly projection before the cutoff: windows still open do not fail


class SnapshotPhase(StrEnum):
    STATUSES = "statuses"      # worker statuses, in chunks of worker ids
    HEADCOUNTS = "headcounts"  # per-enterprise aggregate
    AWARDS = "awards"          # P2 points, in chunks
    NOTICES = "notices"        # P7 SMS notices
    COMPLETE = "complete"


class Snapshot(Base):
    """快照: the result of residence confirmation as of one instant (SPEC §3).

    Written in phases, each step in its own transaction together with the progress marker
    (``phase``, ``progress_worker_id``), so a run killed midway resumes where it stopped. UNIQUE
    (kind, as_of): one snapshot per instant, whoever runs it and however often.
    """

    __tablename__ = "residence_snapshots"
    __table_args__ = (sa.UniqueConstraint("kind", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SnapshotKind] = mapped_column(enum_column(SnapshotKind, "snapshot_kind", 12))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    phase: Mapped[SnapshotPhase] = mapped_column(enum_column(SnapshotPhase, "snapshot_phase", 12))
    progress_worker_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(sa.String(24))       # "scheduler", "cli"
    # The rules applied (windows, tiers, hukou names), so a reader knows what was decided how.
    parameters: Mapped[dict] = mapped_column(sa.JSON)
    summary: Mapped[dict | None] = mapped_column(sa.JSON)

    @property
    def is_complete(self) -> bool:
        return self.phase is SnapshotPhase.COMPLETE


class WorkerStatus(Base):
    """One worker's status in a snapshot: confirmed or not, and the reason as a stable code
    (``reasons.REASONS`` turns it into words in the reader's language)."""

    __tablename__ = "residence_worker_statuses"
    __table_args__ = (
        sa.Index("ix_residence_worker_statuses_snapshot_enterprise", "snapshot_id", "enterprise_id"),
        sa.Index("ix_residence_worker_statuses_snapshot_reason", "snapshot_id", "reason"),
    )

    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_snapshots.id", ondelete="CASCADE"),
                                             primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"))
    on_roster: Mapped[bool] = mapped_column()          # employment confirmed by the enterprise
    confirmed: Mapped[bool] = mapped_column()          # retained (preview: on track)
    reason: Mapped[str] = mapped_column(sa.String(24))
    windows_satisfied: Mapped[int] = mapped_column()   # bit i: evidence in window i
    windows_missed: Mapped[int] = mapped_column()      # bit i: window i closed without evidence
    permit_valid: Mapped[bool] = mapped_column()       # residence permit valid at the cutoff (P2)
    departed_on: Mapped[date | None] = mapped_column(sa.Date)


class EnterpriseHeadcount(Base):
    """One enterprise in a snapshot: its confirmed retained workers on its confirmed roster, and
    the P7 tier and amount. Name and ownership are copied, so reports never change later."""

    __tablename__ = "residence_enterprise_headcounts"

    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_snapshots.id", ondelete="CASCADE"),
                                             primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), primary_key=True)
    credit_code: Mapped[str] = mapped_column(sa.String(18))
    name: Mapped[str] = mapped_column(sa.String(200))
    district: Mapped[str] = mapped_column(sa.String(50))
    ownership: Mapped[str] = mapped_column(sa.String(24))
    industrial: Mapped[bool] = mapped_column()
    roster: Mapped[int] = mapped_column()      # workers on the confirmed roster
    retained: Mapped[int] = mapped_column()    # ... of whom confirmed retained
    tier: Mapped[int] = mapped_column()        # the tier's min_retained, 0 for none
    amount_yuan: Mapped[int] = mapped_column()


class ApplicationStatus(StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"


class SubsidyApplication(Base):
    """P7 留温补助: an enterprise's application for the retention subsidy, from the official
    snapshot's figures. One per enterprise and snapshot (UNIQUE)."""

    __tablename__ = "residence_subsidy_applications"
    __table_args__ = (sa.UniqueConstraint("snapshot_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_snapshots.id"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    retained: Mapped[int] = mapped_column()
    tier: Mapped[int] = mapped_column()
    amount_yuan: Mapped[int] = mapped_column()
    status: Mapped[ApplicationStatus] = mapped_column(enum_column(ApplicationStatus, "application_status", 12))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    payment_reference: Mapped[str] = mapped_column(sa.String(100), default="")

    enterprise = relationship("Enterprise", lazy="joined")


class DeclarationStatus(StrEnum):
    DECLARED = "declared"
    APPROVED = "approved"
    REJECTED = "rejected"


class ProductionDeclaration(Base):
    """P8 生产奖励: an industrial enterprise's declared output, judged by the programme's rule.

    One per enterprise and programme year (UNIQUE); editable until an official decides.
    """

    __tablename__ = "residence_production_declarations"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "programme_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    programme_year: Mapped[int] = mapped_column()            # Q1 of this year vs H2 of the year before
    output_previous_year_yuan: Mapped[Decimal] = mapped_column(sa.Numeric(18, 2))
    output_q3_yuan: Mapped[Decimal] = mapped_column(sa.Numeric(18, 2))   # Q3 of the previous year
    output_q4_yuan: Mapped[Decimal] = mapped_column(sa.Numeric(18, 2))   # Q4 of the previous year
    output_q1_yuan: Mapped[Decimal] = mapped_column(sa.Numeric(18, 2))   # Q1 of the programme year
    eligible: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.String(32))       # stable code, see production.py
    amount_yuan: Mapped[int] = mapped_column()
    status: Mapped[DeclarationStatus] = mapped_column(enum_column(DeclarationStatus, "declaration_status", 12))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    declared_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(sa.String(500), default="")

    enterprise = relationship("Enterprise", lazy="joined")


# --- appeals and corrections (SPEC §3 "Appeals and corrections") ----------------------------------


class AppealKind(StrEnum):
    WORKER = "worker"          # a worker not confirmed (a missed window through illness, a fever refusal...)
    HUKOU = "hukou"            # a worker whose household registration is to be reviewed
    ENTERPRISE = "enterprise"  # an enterprise's headcount: the workers it says should count


class AppealStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Appeal(Base):
    """申诉: a worker's or an enterprise's appeal against the official snapshot's decision, filed
    within the programme's appeal window with a reason (and an optional photo), decided once by an
    official with a reason. A decision is never edited; an accepted appeal acts only through a
    numbered correction.

    At most one open appeal per worker and per enterprise: partial UNIQUE indexes.
    """

    __tablename__ = "residence_appeals"
    __table_args__ = (
        sa.Index("uq_residence_appeals_open_worker", "worker_id", unique=True,
                 sqlite_where=sa.text("status = 'open' AND worker_id IS NOT NULL"),
                 postgresql_where=sa.text("status = 'open' AND worker_id IS NOT NULL")),
        sa.Index("uq_residence_appeals_open_enterprise", "enterprise_id", unique=True,
                 sqlite_where=sa.text("status = 'open' AND kind = 'enterprise'"),
                 postgresql_where=sa.text("status = 'open' AND kind = 'enterprise'")),
        sa.Index("ix_residence_appeals_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_snapshots.id"))
    kind: Mapped[AppealKind] = mapped_column(enum_column(AppealKind, "appeal_kind", 12))
    status: Mapped[AppealStatus] = mapped_column(enum_column(AppealStatus, "appeal_status", 12))
    worker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workers.id"))       # worker and hukou appeals
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    # The decision appealed: the worker's status reason then (an enterprise: "headcount").
    appealed_reason: Mapped[str] = mapped_column(sa.String(24))
    # An enterprise's appeal: the workers of its roster it says should count.
    claimed_worker_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    reason: Mapped[str] = mapped_column(sa.String(1000))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filed_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    has_photo: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class AppealPhoto(Base):
    """The photo attached to an appeal (a sick note, a clinic's record): served back only to
    officials, with the type detected from its bytes."""

    __tablename__ = "residence_appeal_photos"

    appeal_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_appeals.id", ondelete="CASCADE"),
                                           primary_key=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class ResidenceOverride(Base):
    """An official's decided outcome for one worker, from an accepted appeal: "count this worker
    as confirmed retained". A fact with the instant it was decided; the official snapshot's
    status is never edited — a correction reads the override."""

    __tablename__ = "residence_overrides"
    __table_args__ = (sa.UniqueConstraint("appeal_id", "worker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_snapshots.id"))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    confirmed: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.String(500))
    appeal_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_appeals.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Correction(Base):
    """更正: a numbered version (1, 2, …) of the official snapshot's outcomes, from what was decided
    or found after it (accepted appeals, hukou reviews, departures found later) up to ``as_of``.
    UNIQUE (snapshot, version); written whole in one transaction."""

    __tablename__ = "residence_corrections"
    __table_args__ = (sa.UniqueConstraint("snapshot_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_snapshots.id"))
    version: Mapped[int] = mapped_column()
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)          # decisions and findings known by then
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(24))         # "cli", "official"
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    summary: Mapped[dict] = mapped_column(sa.JSON)


class CorrectionWorker(Base):
    """One worker in a correction whose outcome differs from the official snapshot's, or did in
    an earlier version: the outcome in this version, the one before it (the previous version's,
    else the snapshot's) and why. ``changed`` marks the version's difference."""

    __tablename__ = "residence_correction_workers"

    correction_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_corrections.id", ondelete="CASCADE"),
                                               primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"))
    on_roster: Mapped[bool] = mapped_column()
    confirmed: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.String(24))
    confirmed_before: Mapped[bool] = mapped_column()
    reason_before: Mapped[str] = mapped_column(sa.String(24))
    changed: Mapped[bool] = mapped_column()
    cause: Mapped[str] = mapped_column(sa.String(24))      # appeal_accepted, hukou_decided, departure_found
    cause_id: Mapped[int | None] = mapped_column()         # the appeal, hukou review or departure


class CorrectionHeadcount(Base):
    """One enterprise in a correction: its figures in this version and in the one before."""

    __tablename__ = "residence_correction_headcounts"

    correction_id: Mapped[int] = mapped_column(sa.ForeignKey("residence_corrections.id", ondelete="CASCADE"),
                                               primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), primary_key=True)
    credit_code: Mapped[str] = mapped_column(sa.String(18))
    name: Mapped[str] = mapped_column(sa.String(200))
    district: Mapped[str] = mapped_column(sa.String(50))
    ownership: Mapped[str] = mapped_column(sa.String(24))
    industrial: Mapped[bool] = mapped_column()
    roster: Mapped[int] = mapped_column()
    retained: Mapped[int] = mapped_column()
    tier: Mapped[int] = mapped_column()
    amount_yuan: Mapped[int] = mapped_column()
    retained_before: Mapped[int] = mapped_column()
    tier_before: Mapped[int] = mapped_column()
    amount_yuan_before: Mapped[int] = mapped_column()
