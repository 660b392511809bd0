"""Benefits room, models: the new-resident points ledger (P2)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wzcheckin.db import Base, BigIntPK, UTCDateTime


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
