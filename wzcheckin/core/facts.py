"""Effective-dated facts (SPEC §3): what the money is decided from keeps when each fact became
true and when it stopped, so a decision as of an instant reads the facts as they stood then —
a roster re-import, a corrected hukou or a changed ownership after the cutoff never alters it.

A fact table mixes in :class:`EffectiveDated`: each row is one version, true over
``[valid_from, valid_to)``; the open version (``valid_to IS NULL``) is the fact now. A change
closes the open version and opens a new one (:func:`supersede`); nothing is updated in place or
deleted. "As of" an instant means known strictly before it and not yet superseded at it, the
same "strictly before" every other rule of the cutoff uses.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from wzcheckin.db import UTCDateTime


class EffectiveDated:
    """Mixin: one version of a fact, true from ``valid_from`` until ``valid_to`` (exclusive)."""

    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the version was written: "registration", "roster_import", "hukou_review", ...
    source: Mapped[str] = mapped_column(sa.String(24))

    @declared_attr
    def recorded_by_user_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("users.id"))


def true_at(model: type[EffectiveDated], instant: datetime) -> sa.ColumnElement[bool]:
    """SQL: the version of ``model`` that held at ``instant`` (recorded before it, not closed by it)."""
    return sa.and_(model.valid_from < instant, sa.or_(model.valid_to.is_(None), model.valid_to >= instant))


class FactConflict(Exception):
    """Another transaction changed the same fact at the same time; nothing was written (retry)."""


def supersede(session: Session, model: type[EffectiveDated], key: dict, values: dict, *,
              now: datetime, source: str, recorded_by_user_id: int | None = None) -> bool:
    """Make ``values`` the open version of the fact whose key columns hold ``key`` (e.g.
    ``{"worker_id": 7}``): close the open version at ``now`` and insert the new one — unless the
    open version already says the same, when nothing is written. Returns whether a version was
    written.

    Concurrency: the open version is closed by a conditional UPDATE (``… WHERE valid_to IS NULL``:
    on PostgreSQL the row lock makes a concurrent closer wait, then find nothing to close), and the
    fact table's partial UNIQUE index (one open version per key) refuses a second open version;
    either way the loser gets :class:`FactConflict` and its transaction writes nothing.
    """
    match = [getattr(model, name) == value for name, value in key.items()]
    open_version = session.scalar(sa.select(model).where(*match, model.valid_to.is_(None)))
    if open_version is not None:
        if all(getattr(open_version, name) == value for name, value in values.items()):
            return False
        if open_version.valid_from > now:
            raise ValueError("a fact cannot change before its current version began")
        closed = session.execute(
            sa.update(model).where(model.id == open_version.id, model.valid_to.is_(None)).values(valid_to=now)
            .execution_options(synchronize_session=False)).rowcount
        if closed != 1:
            raise FactConflict(f"{model.__tablename__} {key} changed concurrently")
        session.expire(open_version)
    try:
        with session.begin_nested():
            session.add(model(**key, **values, valid_from=now, valid_to=None, source=source,
                              recorded_by_user_id=recorded_by_user_id))
    except sa.exc.IntegrityError as exc:
        raise FactConflict(f"{model.__tablename__} {key} changed concurrently") from exc
    return True
