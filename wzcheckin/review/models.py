"""Review room, models: signal runs and their risk signals per enterprise; the officials'
approvals with an acknowledgement per signal; seeded samples for on-site checks; payments of
P6/P8 applications (P7 is paid through the residence room's own status)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.db import Base, BigIntPK, UTCDateTime


class Policy(StrEnum):
    """The three applications the queue reviews."""

    P6 = "P6"  # 培训补贴: benefits.TrainingSubsidyClaim
    P7 = "P7"  # 留温补助: residence.SubsidyApplication
    P8 = "P8"  # 生产奖励: residence.ProductionDeclaration


class SignalRun(Base):
    """One computation of every enterprise's risk signals (nightly, at the cutoff, or by hand).
    Runs are never changed; the latest complete one is "the signals"."""

    __tablename__ = "review_signal_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))          # "nightly", "cutoff", "manual"
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The snapshot the retained-worker signals read (not a foreign key: previews are dropped).
    snapshot_id: Mapped[int | None] = mapped_column()
    parameters: Mapped[dict] = mapped_column(sa.JSON)        # the thresholds applied
    summary: Mapped[dict | None] = mapped_column(sa.JSON)    # signals per kind; None until complete


class RiskSignal(Base):
    """风险信号: one kind of signal for one enterprise in one run, with the count, a plain-Chinese
    explanation, the figures it was built from, and the ids of the rows behind it (capped)."""

    __tablename__ = "review_signals"
    __table_args__ = (sa.Index("ix_review_signals_run_enterprise", "run_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("review_signal_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    credit_code: Mapped[str] = mapped_column(sa.String(18))
    kind: Mapped[str] = mapped_column(sa.String(32))
    count: Mapped[int] = mapped_column()
    explanation: Mapped[str] = mapped_column(sa.Text)         # zh-CN, as stored for the auditor
    params: Mapped[dict] = mapped_column(sa.JSON)             # the figures and thresholds
    row_type: Mapped[str] = mapped_column(sa.String(16))      # "scan", "worker", "worker_facts"
    row_ids: Mapped[list] = mapped_column(sa.JSON)            # at most ``rows_kept`` ids


class Approval(Base):
    """One official's approval of an application, with a note acknowledging each signal.
    UNIQUE (policy, application, official): the second approval must come from someone else."""

    __tablename__ = "review_approvals"
    __table_args__ = (sa.UniqueConstraint("policy", "application_id", "official_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy: Mapped[str] = mapped_column(sa.String(4))
    application_id: Mapped[int] = mapped_column()
    official_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    signal_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("review_signal_runs.id"))
    # The approval that completed the decision (the application's status moved with it).
    final: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    acknowledgements = relationship("Acknowledgement", lazy="selectin", order_by="Acknowledgement.id")


class Acknowledgement(Base):
    """确认: the approving official's note on one signal shown beside the application."""

    __tablename__ = "review_acknowledgements"
    __table_args__ = (sa.UniqueConstraint("approval_id", "signal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(sa.ForeignKey("review_approvals.id"))
    signal_id: Mapped[int] = mapped_column(sa.ForeignKey("review_signals.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str] = mapped_column(sa.String(500))


class Sample(Base):
    """抽查: a seeded random draw of applications for on-site checks. The seed, the rate and the
    population drawn from are kept, so anyone can draw again and get the same selection."""

    __tablename__ = "review_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    rate: Mapped[float] = mapped_column(sa.Float)
    population: Mapped[list] = mapped_column(sa.JSON)         # ["P7:12", ...] in draw order
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    drawn_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class OnsiteCheck(Base):
    """An application drawn for an on-site check, and the check's outcome once recorded.
    UNIQUE (policy, application): an application is drawn at most once."""

    __tablename__ = "review_onsite_checks"
    __table_args__ = (sa.UniqueConstraint("policy", "application_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("review_samples.id"))
    policy: Mapped[str] = mapped_column(sa.String(4))
    application_id: Mapped[int] = mapped_column()
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    check_note: Mapped[str] = mapped_column(sa.String(500), default="")


class Payment(Base):
    """付款: a P6 or P8 application paid (P7 keeps its own paid status in the residence room).
    UNIQUE (policy, application): paid once."""

    __tablename__ = "review_payments"
    __table_args__ = (sa.UniqueConstraint("policy", "application_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy: Mapped[str] = mapped_column(sa.String(4))
    application_id: Mapped[int] = mapped_column()
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    reference: Mapped[str] = mapped_column(sa.String(100), default="")
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
