"""Codes room: the Ed25519 signing keys behind every QR code, and printed paper passes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.db import Base, UTCDateTime


class SigningKey(Base):
    """An Ed25519 key pair. The newest key that is not retired signs; every key that is not
    revoked verifies, so codes signed before a rotation stay valid until they expire."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)  # 32-bit id carried in tokens
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    private_key_encrypted: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaperPass(Base):
    """A long-lived printed pass for a worker without a smartphone; revocable."""

    __tablename__ = "paper_passes"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    issued_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    worker = relationship("Worker", lazy="joined")
