"""Benefits room, models: the points ledger (P2), the data bonus (P1), skills training (P6),
warmth activities (P5), wage-arrears complaints and the services directory (P10).

Money is stored in integer fen (分), never as a float.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.core.retention import RawRecords
from wzcheckin.db import Base, BigIntPK, UTCDateTime, enum_column

# --- P2: new-resident points --------------------------------------------------------------------


class PointsEntry(Base):
    """新居民积分: an append-only ledger. ``award_key`` is unique, so an award (the cutoff's +5,
    say) can never happen twice, whatever retries or races; the balance is the sum."""

    __tablename__ = "points_entries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    amount: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.String(64))       # stable code, e.g. "residence_permit_stay"
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    source: Mapped[str] = mapped_column(sa.String(32))        # "cutoff", "official", "activity", ...
    award_key: Mapped[str] = mapped_column(sa.String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


# --- P1: the data bonus ---------------------------------------------------------------------------


class ClaimStatus(StrEnum):
    PENDING = "pending"        # waiting for the carrier
    FULFILLED = "fulfilled"    # the carrier delivered the data
    FAILED = "failed"          # the carrier could not deliver (reason given)


class DataBonusClaim(Base):
    """赠送流量: one claim per worker (UNIQUE worker_id), for the number registered when claiming.

    The phone number is kept encrypted with the claim because the carrier needs the full number
    to deliver; it is revealed only in the carrier's audited export.
    """

    __tablename__ = "data_bonus_claims"
    __table_args__ = (sa.Index("ix_data_bonus_claims_carrier_status", "carrier", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), unique=True)
    carrier: Mapped[str] = mapped_column(sa.String(24))
    # What the number's prefix says; differs from ``carrier`` when the number was ported.
    carrier_derived: Mapped[str | None] = mapped_column(sa.String(24))
    gigabytes: Mapped[int] = mapped_column()
    phone_encrypted: Mapped[str] = mapped_column(sa.Text)
    phone_masked: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus, "data_bonus_status", 12))
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    export_count: Mapped[int] = mapped_column(default=0)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    worker = relationship("Worker", lazy="joined")


# --- P6: skills training --------------------------------------------------------------------------


class CourseMode(StrEnum):
    ONLINE = "online"      # 线上职业技能培训: subsidised at a rate of the actual cost
    OFFLINE = "offline"    # 项目制培训 in classrooms: per person per class hour, capped


class Course(Base):
    """A training course. Offline courses have a checkpoint ``training:<code>`` where venue staff
    scan attendance, and their class sessions (:class:`ClassSession`), each carrying its hours;
    an enterprise-organised course earns that enterprise the subsidy. ``cost_per_person_fen`` is
    the listed (for an enterprise: proposed) cost; an online course's subsidy uses only the cost
    an official approved against its invoice (:class:`CourseInvoice`)."""

    __tablename__ = "training_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    mode: Mapped[CourseMode] = mapped_column(enum_column(CourseMode, "course_mode", 8))
    provider: Mapped[str] = mapped_column(sa.String(200))
    class_hours: Mapped[int] = mapped_column()
    cost_per_person_fen: Mapped[int] = mapped_column()
    # The organising enterprise (the one the subsidy is paid to); None for city-run courses.
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    district: Mapped[str] = mapped_column(sa.String(50), default="")
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    capacity: Mapped[int | None] = mapped_column()
    description: Mapped[str] = mapped_column(sa.Text, default="")
    checkpoint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("checkpoints.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    enterprise = relationship("Enterprise", lazy="joined")

    @property
    def checkpoint_ref(self) -> str:
        return f"training:{self.code}"


class ClassSession(Base):
    """一次课: one class of an offline (project-based) course on a local day, with the class hours
    it carries. Attending it earns those hours; a day without a session earns nothing."""

    __tablename__ = "training_class_sessions"
    __table_args__ = (sa.UniqueConstraint("course_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("training_courses.id"))
    day: Mapped[date] = mapped_column(sa.Date)
    class_hours: Mapped[int] = mapped_column()


class InvoiceStatus(StrEnum):
    SUBMITTED = "submitted"    # waiting for an official
    APPROVED = "approved"      # an official approved a cost per person against it
    REJECTED = "rejected"      # with the official's reason


class CourseInvoice(Base):
    """培训费发票: the organising enterprise's invoice for an online course, with the cost per
    person it proposes. An official (人社局) approves a cost per person against it, or rejects it.
    Append-only: a new upload supersedes the earlier ones, and only the latest invoice's approval
    counts. The file is served back only with the type detected from its bytes, as a download."""

    __tablename__ = "training_course_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("training_courses.id"), index=True)
    invoice_no: Mapped[str] = mapped_column(sa.String(40))
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)                    # the invoice's total
    proposed_cost_per_person_fen: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[InvoiceStatus] = mapped_column(enum_column(InvoiceStatus, "course_invoice_status", 12))
    approved_cost_per_person_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    review_note: Mapped[str] = mapped_column(sa.Text, default="")


class Enrolment(Base):
    """A worker on a course. Online courses record completion (uploaded by the enterprise)."""

    __tablename__ = "training_enrolments"
    __table_args__ = (sa.UniqueConstraint("course_id", "worker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("training_courses.id"))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enrolled_via: Mapped[str] = mapped_column(sa.String(16))  # "self", "door" (at a scan), "upload"
    completed_on: Mapped[date | None] = mapped_column(sa.Date)
    completion_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    course = relationship("Course", lazy="joined")
    worker = relationship("Worker", lazy="joined")


class Attendance(Base):
    """One attended class day of an offline course, recorded by a staff scan (presence evidence
    is the scan itself; this row is what the subsidy counts)."""

    __tablename__ = "training_attendance"
    __table_args__ = (sa.UniqueConstraint("enrolment_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("training_enrolments.id"))
    day: Mapped[date] = mapped_column(sa.Date)
    attended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    scan_id: Mapped[str | None] = mapped_column(sa.String(64))


class SubsidyClaimStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class TrainingSubsidyClaim(Base):
    """培训补贴: an enterprise's claim, with the breakdown frozen as submitted. At most one claim
    per enterprise that is not rejected (a partial UNIQUE index)."""

    __tablename__ = "training_subsidy_claims"
    __table_args__ = (
        sa.Index("uq_training_subsidy_claims_active", "enterprise_id", unique=True,
                 sqlite_where=sa.text("status <> 'rejected'"),
                 postgresql_where=sa.text("status <> 'rejected'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    status: Mapped[SubsidyClaimStatus] = mapped_column(enum_column(SubsidyClaimStatus, "subsidy_claim_status", 12))
    online_fen: Mapped[int] = mapped_column(sa.BigInteger)
    project_fen: Mapped[int] = mapped_column(sa.BigInteger)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    breakdown: Mapped[dict] = mapped_column(sa.JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    review_reason: Mapped[str] = mapped_column(sa.Text, default="")

    enterprise = relationship("Enterprise", lazy="joined")


# --- P5: warmth activities ------------------------------------------------------------------------


class ActivityKind(StrEnum):
    LANDMARK = "landmark"  # 线上打卡走温州网红景点: scan the poster at the landmark
    PHOTO = "photo"        # 线上打卡做年夜饭: upload a photo


class Activity(Base):
    """A "send warmth" (送温暖) activity with self check-ins and the gift each check-in earns."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Opaque id carried by the poster QR (TokenKind.POSTER subject): 16 hex characters.
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    kind: Mapped[ActivityKind] = mapped_column(enum_column(ActivityKind, "activity_kind", 12))
    gift: Mapped[str] = mapped_column(sa.String(200))
    gift_activity: Mapped[str] = mapped_column(sa.String(50), default="")  # one of the 八大有礼
    description: Mapped[str] = mapped_column(sa.Text, default="")
    district: Mapped[str] = mapped_column(sa.String(50), default="")
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActivityPhoto(Base):
    """An uploaded check-in photo. Served back only with the content type we detected from its
    bytes (never the one the browser claimed), to its owner and to officials."""

    __tablename__ = "activity_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActivityCheckin(Base):
    """A worker's own check-in at an activity: once per activity. Not a Scan row; presence
    evidence only where the programme file says so (``[evidence] self_checkins_count``)."""

    __tablename__ = "activity_checkins"
    __table_args__ = (
        sa.UniqueConstraint("activity_id", "worker_id"),
        sa.Index("ix_activity_checkins_worker_time", "worker_id", "checked_in_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id"))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(sa.String(16))  # "poster" or "photo"
    photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("activity_photos.id"))

    activity = relationship("Activity", lazy="joined")
    worker = relationship("Worker", lazy="select")
    photo = relationship("ActivityPhoto", lazy="select")


# --- P10: rights and services ---------------------------------------------------------------------


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    HANDLING = "handling"
    RESOLVED = "resolved"


class WageComplaint(Base):
    """欠薪投诉: a worker's wage-arrears complaint against an employer."""

    __tablename__ = "wage_complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    # The employer when registered with the programme (its admin then sees the complaint).
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    employer_name: Mapped[str] = mapped_column(sa.String(200))
    months: Mapped[int] = mapped_column()
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    description: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ComplaintStatus] = mapped_column(enum_column(ComplaintStatus, "complaint_status", 12),
                                                    index=True)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    worker = relationship("Worker", lazy="joined")
    enterprise = relationship("Enterprise", lazy="joined")
    notes = relationship("ComplaintNote", order_by="ComplaintNote.id", lazy="select")


class ComplaintNote(Base):
    """An official's handling note; each note may move the complaint on."""

    __tablename__ = "wage_complaint_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("wage_complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(12))  # the status after this note
    note: Mapped[str] = mapped_column(sa.Text)


class ServiceKind(StrEnum):
    CANTEEN = "canteen"      # 员工食堂
    MARKET = "market"        # 菜市场
    SHOP = "shop"            # 商场、超市、便利店
    CHILDCARE = "childcare"  # "小候鸟"托管班
    BUS = "bus"              # 公交


class ServiceListing(Base):
    """正常生活有保障: a place or service open over the festival, edited by officials."""

    __tablename__ = "service_listings"
    __table_args__ = (sa.Index("ix_service_listings_district_kind", "district", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ServiceKind] = mapped_column(enum_column(ServiceKind, "service_kind", 12))
    name: Mapped[str] = mapped_column(sa.String(200))
    district: Mapped[str] = mapped_column(sa.String(50))
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    hours: Mapped[str] = mapped_column(sa.String(200), default="")
    contact: Mapped[str] = mapped_column(sa.String(50), default="")
    opens_on: Mapped[date | None] = mapped_column(sa.Date)
    closes_on: Mapped[date | None] = mapped_column(sa.Date)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def _detach_photos(session, photo_ids: list[int]) -> None:
    """The check-in stays, without its photo."""
    session.execute(sa.update(ActivityCheckin).where(ActivityCheckin.photo_id.in_(photo_ids)).values(photo_id=None))


# This room's raw personal records for the retention purge (core/retention.py): check-in photos.
RAW_RECORDS = (RawRecords("activity_photos", ActivityPhoto, ActivityPhoto.uploaded_at, before_delete=_detach_photos),)
