"""Welfare room: epidemic-prevention welfare packs (防疫物资礼包, P3) — the pickup points with
their stock, and the one hand-out each worker may ever receive."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.db import Base, UTCDateTime


class PickupPoint(Base):
    """领取点: a place where pickup staff hand out packs; its checkpoint is ``pickup:<code>``.

    ``stock`` is what is left to hand out; ``handed_out`` what has gone. The CSV's ``stock`` is
    the number of packs delivered to the point, so re-importing the same file changes nothing:
    ``stock = delivered - handed_out``.
    """

    __tablename__ = "pickup_points"
    __table_args__ = (
        # Last line of defence for the stock invariant; the conditional UPDATE is the first.
        sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
        sa.CheckConstraint("handed_out >= 0", name="handed_out_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    district: Mapped[str] = mapped_column(sa.String(50), index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    stock: Mapped[int] = mapped_column(default=0)
    handed_out: Mapped[int] = mapped_column(default=0)
    checkpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("checkpoints.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    checkpoint = relationship("Checkpoint", lazy="joined")

    @property
    def delivered(self) -> int:
        return self.stock + self.handed_out

    @property
    def ref(self) -> str:
        return f"pickup:{self.code}"


class PackHandout(Base):
    """One welfare pack handed to one worker. UNIQUE(worker_id): one pack per worker across all
    points, ever — the database refuses a second one whatever the application does."""

    __tablename__ = "pack_handouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), unique=True)
    pickup_point_id: Mapped[int] = mapped_column(sa.ForeignKey("pickup_points.id"), index=True)
    scan_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    handed_out_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Staff tap "handed over" on the scanner once the pack is in the worker's hands.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    pickup_point = relationship("PickupPoint", lazy="joined")
    worker = relationship("Worker")
