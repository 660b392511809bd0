"""Core: the one refusal type. A domain function that says no raises a :class:`Refusal` — a
stable ``code``, the ``field`` at fault (if any), an HTTP ``status`` and the ``params`` its
message needs; the room that raises it keeps its messages in one table (pretix's ``OrderError``
and its ``error_messages``). Pages, the API and the CLI render the same object: a page puts it on
the form (``core.forms``), the API answers ``{"error": {"code", "message"}}`` (``core.api_errors``),
the CLI prints its English words.

A room binds its catalogue once::

    class VenueError(Refusal):
        messages = MESSAGES

Also here: :func:`insert_or_refuse` / :func:`insert_unique`, the one savepoint-around-an-insert
that turns a lost UNIQUE race into a clean answer instead of a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import Session

from wzcheckin.core.dates import shown
from wzcheckin.core.i18n import FIELD_ERRORS
from wzcheckin.db import is_unique_violation

INVALID = "invalid"


class Refusal(Exception):
    """A refusal with a stable ``code``; ``field`` names the input at fault (form field, CLI
    flag, CSV column); ``status`` is the HTTP status the API answers with; ``params`` fill the
    message. ``errors`` holds every field's code when several fields are refused at once
    (:meth:`fields`). ``messages`` is the raising room's catalogue; codes it lacks fall back to
    the shared field errors (``core.i18n.FIELD_ERRORS``), then to the code itself."""

    messages: ClassVar[Mapping[str, Any]] = {}
    status: int = 409

    def __init__(self, code: str, field: str | None = None, *, status: int | None = None,
                 errors: Mapping[str, str] | None = None, **params):
        super().__init__(code)
        self.code = code
        self.field = field
        if status is not None:
            self.status = status
        self.params = params
        self.errors: dict[str, str] = dict(errors) if errors else ({field: code} if field else {})

    @classmethod
    def fields(cls, errors: Mapping[str, str], **params) -> Refusal:
        """Fields refused at once (a form, a roster line): ``{field: code}``; the refusal's own
        code is ``invalid`` (422), the API answers each field's code and message."""
        return cls(INVALID, status=422, errors=errors, **params)

    def __str__(self) -> str:
        if self.code == INVALID:
            return ", ".join(f"{name}: {code}" for name, code in self.errors.items())
        return self.code

    def text(self, code: str | None = None, **params) -> str:
        """The message of ``code`` (default: this refusal's) in the reader's language; ``params``
        add to the refusal's own (a view may know what the domain does not: the programme's
        working-age bounds)."""
        code = code or self.code
        template = self.messages.get(code)
        if template is None:
            template = FIELD_ERRORS.get(code)
        if template is None:
            return code
        text = str(template)
        if "%(" not in text:
            return text
        values = {key: _display(value) for key, value in {**self.params, **params}.items()}
        try:
            return text % values
        except (KeyError, ValueError, TypeError):
            return text.split("%(")[0].strip()

    @property
    def message(self) -> str:
        if self.code == INVALID and self.errors:
            return " ".join(self.field_messages().values())
        return self.text()

    def field_messages(self, **params) -> dict[str, str]:
        """Each refused field's message: ``{field: message}`` (empty for a refusal of no field)."""
        return {name: self.text(code, **params) for name, code in self.errors.items()}

    def english(self) -> str:
        """The CLI's wording (it speaks English whatever the default locale)."""
        with force_locale("en"):
            if self.code == INVALID:
                return "; ".join(f"{name}: {self.text(code)} ({code})" for name, code in self.errors.items())
            return self.text()


def _display(value):
    return shown(value) if isinstance(value, date | datetime) else value


def insert_unique(session: Session, *rows, flush: bool = False) -> bool:
    """Add ``rows`` inside a savepoint; False when a UNIQUE constraint says their like exists
    already (a concurrent request won the race) — the savepoint takes back only these rows, the
    caller's unit of work goes on. Technique: the UNIQUE constraint is the last line of defence,
    the savepoint keeps its violation from aborting the whole transaction (PostgreSQL)."""
    try:
        with session.begin_nested():
            session.add_all(rows)
            if flush:
                session.flush()
    except sa.exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return False
    return True


def insert_or_refuse(session: Session, refusal: Refusal, *rows, flush: bool = False) -> None:
    """Add ``rows`` (see :func:`insert_unique`), or raise ``refusal`` when a UNIQUE constraint
    refuses them: "already claimed", "already enrolled", ..."""
    if not insert_unique(session, *rows, flush=flush):
        raise refusal from None
