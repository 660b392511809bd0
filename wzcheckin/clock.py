"""The one place the app reads the current time (SPEC §6, "Time").

Domain functions never call this: they take ``now`` as an argument. Views, CLI commands and
scheduled jobs call :func:`now` and pass the value down, so a whole programme can be replayed
on a simulated timeline.

A simulated clock is a file holding an ISO-8601 instant; every process that is pointed at it
(gunicorn workers, the CLI, the scheduler) reads the same "now". Followed by the word
``running``, the clock starts at that instant when the file was written and then runs at normal
speed (the demo lives inside the 2021 programme this way). It is refused outside development
and tests (see ``config.py``).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app, has_app_context


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """Reads the instant from a file on every call, so a test can move time for every process."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def now(self) -> datetime:
        text, _, mode = self.path.read_text(encoding="utf-8").strip().partition(" ")
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise ValueError(f"simulated clock {self.path} must hold an instant with a UTC offset")
        if mode.strip() == "running":
            value += timedelta(seconds=max(0.0, time.time() - self.path.stat().st_mtime))
        return value.astimezone(UTC)

    def set(self, value: datetime, *, running: bool = False) -> None:
        if value.tzinfo is None:
            raise ValueError("a simulated instant needs a UTC offset")
        self.path.write_text(value.isoformat() + (" running" if running else ""), encoding="utf-8")


_system_clock = SystemClock()


def clock_for(config: dict):
    path = config.get("SIMULATED_CLOCK_FILE")
    return SimulatedClock(path) if path else _system_clock


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    if has_app_context():
        return current_app.extensions["wzcheckin.clock"].now()
    return _system_clock.now()
