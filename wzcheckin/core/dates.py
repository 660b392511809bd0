"""Calendar days typed by people (query strings, forms, CSV, API bodies), and the one style pages
write times in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo

from babel.dates import format_skeleton
from flask import has_app_context
from flask_babel import get_locale

from wzcheckin.core import context


def parse_iso_day(text: str | None) -> date | None:
    """The day ``YYYY-MM-DD`` names, or None when it names none. The calendar's first and last
    days count as none too: they have no neighbour, so a local day's bounds in UTC (or the next
    day) would overflow — a 500 instead of a clear answer."""
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return None
    return day if date.min < day < date.max else None


def shown(value: date | datetime | None, part: str = "") -> str:
    """The one way pages (and the words they print) write a time: ``2021-02-08 14:05`` in the
    programme's time zone (Wenzhou), a day ``2021-02-08``; ``part`` "date" or "time" (``14:05``)
    for one half of an instant. Templates use it as the ``when`` filter."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        # Stored instants are UTC; a naive one is UTC too (as Babel read it before).
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(_zone())
        if part == "date":
            return f"{value:%Y-%m-%d}"
        if part == "time":
            return f"{value:%H:%M}"
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, time):
        return f"{value:%H:%M}"
    return str(value)


def texted(value: date | datetime) -> str:
    """How a text message writes a day, or an instant in Wenzhou: month and day in the reader's
    language, the year left out (the programme is one winter) — ``2月11日``, ``Feb 11`` — and
    an instant's time on a 24-hour clock as pages write it (``2月11日 09:30``, ``Feb 11, 09:30``).
    Babel's short date would be ``2/11/21`` in English, which half the world reads as November.
    For the current locale (``force_locale`` around a message in the worker's language)."""
    locale = get_locale()
    if isinstance(value, datetime):
        local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(_zone())
        day = format_skeleton("MMMd", local.date(), locale=locale)
        return locale.datetime_formats["medium"].replace("{1}", day).replace("{0}", f"{local:%H:%M}")
    return format_skeleton("MMMd", value, locale=locale)


def _zone() -> tzinfo:
    if has_app_context():
        return context.programme().tz
    return UTC
