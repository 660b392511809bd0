"""Core: running a posted form. One helper validates the form, runs the work in one unit of work
and puts a refusal on the form — each refused field's message next to its field, the rest on
top — so no view writes that block again; one helper answers an action button whose form has
expired."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import flash
from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import Refusal
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db

T = TypeVar("T")

FORM_EXPIRED = _l("The form expired; please submit it again.")


@dataclass(frozen=True)
class Submission(Generic[T]):
    """What became of a posted form. True when the work ran and was committed (``value`` is
    what it returned); else ``status`` is the status to show the form again with — 200 not
    posted, 400 invalid or expired, 422 refused (``refusal``)."""

    done: bool
    value: T | None = None
    status: int = 200
    refusal: Refusal | None = None

    def __bool__(self) -> bool:
        return self.done


def run_form(form, work: Callable[[], T], *, check: Callable[[], object] | None = None,
             fields: Mapping[str, str] | None = None, **params) -> Submission[T]:
    """A posted form: validated (CSRF token and fields), then ``work()`` in one unit of work.
    WTForms' own errors stand next to their fields, an expired form says so on top, and a
    :class:`Refusal` goes on the form (:func:`show_refusal`). ``check`` runs first, outside the
    unit of work: a read-only refusal that needs no write lock (a full slot). ``fields`` maps a
    refusal's field names to the form's where they differ; ``params`` add to its message's."""
    if not form.validate_on_submit():
        show_expired(form)
        return Submission(False, status=400 if form.is_submitted() else 200)
    done = _run(work, check)
    if done.refusal is not None:
        show_refusal(form, done.refusal, fields=fields, **params)
    return done


def run_action(form, work: Callable[[], T], *, check: Callable[[], object] | None = None,
               **params) -> Submission[T]:
    """An action button (a form of nothing but its CSRF token): like :func:`run_form`, but an
    expired form or a refusal is flashed — the view then redirects."""
    if action_expired(form):
        return Submission(False, status=400)
    done = _run(work, check)
    if done.refusal is not None:
        flash_refusal(done.refusal, **params)
    return done


def _run(work: Callable[[], T], check: Callable[[], object] | None) -> Submission[T]:
    try:
        if check is not None:
            check()
        with unit_of_work(db.session):
            value = work()
    except Refusal as refusal:
        return Submission(False, status=422, refusal=refusal)
    return Submission(True, value)


def show_refusal(form, refusal: Refusal, *, fields: Mapping[str, str] | None = None, **params) -> None:
    """Each refused field's message next to that field; a refusal of no field (or of a field the
    form lacks) at the top of the form."""
    messages = refusal.field_messages(**params) or {"": refusal.text(**params)}
    for name, message in messages.items():
        name = (fields or {}).get(name, name)
        field = getattr(form, name, None) if name and name != "form" else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*(field.errors or []), message]
        else:
            form.form_errors.append(message)


def show_expired(form, *, on=None) -> None:
    """A posted form whose CSRF token failed says so on top — or next to the field ``on``, for a
    form that shows a single field (a file upload) — after a stale page or a lost session."""
    if form.is_submitted() and getattr(form, "csrf_token", None) is not None and form.csrf_token.errors:
        if on is not None:
            on.errors = [str(FORM_EXPIRED)]
        else:
            form.form_errors.append(str(FORM_EXPIRED))


def action_expired(form) -> bool:
    """An action button (a form of nothing but its CSRF token): True, with the message flashed,
    when its form fails — the view then redirects back."""
    if form.validate_on_submit():
        return False
    flash(str(FORM_EXPIRED), "error")
    return True


def flash_refusal(refusal: Refusal, **params) -> None:
    flash(refusal.text(**params), "error")
