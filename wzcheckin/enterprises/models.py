"""Enterprises and gates room: the employers (by 统一社会信用代码) whose gates scan passes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
