"""Admin room, the audit-log viewer: filtered, keyset-paged reads of ``audit_log``, and the
details of each entry made safe to show.

Paging is by id (``before``/``after`` an entry), never ``OFFSET``: the log only grows, and the
newest page of a million entries costs the same as the first of ten. Details are written by
every room and promised never to hold an ID or phone number; the viewer does not rely on that
promise and masks anything shaped like one (:func:`scrub`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User
from wzcheckin.core.identity import mask_id_tail, mask_phone
from wzcheckin.core.models import AuditEntry

PER_PAGE = 50
MAX_VALUE_CHARS = 300

# An 18-character ID number (or an old 15-digit one) and a mainland mobile number, standing alone.
_ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_PHONE_PATTERN = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d{9})(?!\d)")


def scrub(text: str) -> str:
    """Mask whatever looks like an ID or mobile number: ``**************123X``, ``138****1234``."""
    text = _ID_PATTERN.sub(lambda m: mask_id_tail(m.group(1)[-4:].upper()), text)
    return _PHONE_PATTERN.sub(lambda m: mask_phone(m.group(1)), text)


def _display(value) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None or isinstance(value, int | float):
        text = json.dumps(value)
    elif isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        text = ", ".join(str(item) for item in value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    text = scrub(text)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def detail_items(details) -> list[tuple[str, str]]:
    """(key, value) pairs to show, masked and shortened; the template escapes them."""
    if not details:
        return []
    if not isinstance(details, dict):
        return [("", _display(details))]
    return [(scrub(str(key)), _display(value)) for key, value in sorted(details.items(), key=lambda kv: str(kv[0]))]


@dataclass(frozen=True)
class AuditFilters:
    role: str | None = None
    action: str | None = None
    start: datetime | None = None  # UTC, inclusive
    end: datetime | None = None    # UTC, exclusive

    def where(self) -> list:
        clauses = []
        if self.role:
            clauses.append(AuditEntry.actor_role == self.role)
        if self.action:
            clauses.append(AuditEntry.action == self.action)
        if self.start is not None:
            clauses.append(AuditEntry.at >= self.start)
        if self.end is not None:
            clauses.append(AuditEntry.at < self.end)
        return clauses


@dataclass
class AuditRow:
    id: int
    at: datetime
    actor_role: str
    actor_phone: str | None
    actor_name: str | None
    action: str
    target_type: str | None
    target_id: str | None
    details: list[tuple[str, str]]
    ip: str | None


@dataclass
class AuditPage:
    rows: list[AuditRow]
    newer: int | None  # pass as ``after`` for the newer page
    older: int | None  # pass as ``before`` for the older page


def audit_page(session: Session, filters: AuditFilters, *, before: int | None = None, after: int | None = None,
               per_page: int = PER_PAGE) -> AuditPage:
    """Newest first. ``before``: entries older than that id; ``after``: newer than it."""
    query = (sa.select(AuditEntry, User.phone_masked, User.display_name)
             .outerjoin(User, User.id == AuditEntry.actor_user_id).where(*filters.where()))
    if after is not None:
        found = session.execute(query.where(AuditEntry.id > after).order_by(AuditEntry.id.asc())
                                .limit(per_page + 1)).all()
        more_newer = len(found) > per_page
        found = list(reversed(found[:per_page]))
        more_older = True
    else:
        if before is not None:
            query = query.where(AuditEntry.id < before)
        found = session.execute(query.order_by(AuditEntry.id.desc()).limit(per_page + 1)).all()
        more_older = len(found) > per_page
        found = found[:per_page]
        more_newer = before is not None
    rows = [AuditRow(entry.id, entry.at, entry.actor_role, phone, scrub(name) if name else None, entry.action,
                     entry.target_type, scrub(entry.target_id) if entry.target_id else None,
                     detail_items(entry.details), entry.ip)
            for entry, phone, name in found]
    if not rows:
        return AuditPage([], None, None)
    newer = rows[0].id if more_newer and _exists(session, filters, AuditEntry.id > rows[0].id) else None
    older = rows[-1].id if more_older and _exists(session, filters, AuditEntry.id < rows[-1].id) else None
    return AuditPage(rows, newer, older)


def _exists(session: Session, filters: AuditFilters, clause) -> bool:
    return session.scalar(sa.select(sa.exists().where(clause, *filters.where()))) or False


def known_actions(session: Session) -> list[str]:
    return list(session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def known_roles(session: Session) -> list[str]:
    return list(session.scalars(sa.select(AuditEntry.actor_role).distinct().order_by(AuditEntry.actor_role)))
