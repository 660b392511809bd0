"""Calendar days typed by people (query strings, forms, CSV, API bodies)."""

from __future__ import annotations

from datetime import date


def parse_iso_day(text: str | None) -> date | None:
    """The day ``YYYY-MM-DD`` names, or None when it names none. The calendar's first and last
    days count as none too: they have no neighbour, so a local day's bounds in UTC (or the next
    day) would overflow — a 500 instead of a clear answer."""
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return None
    return day if date.min < day < date.max else None
