"""The one place the app reads the current time (SPEC §6, "Time").

Domain functions never call this: they take ``now`` as an argument. Views, CLI commands and
scheduled jobs call :func:`now` and pass the value down, so a whole programme can be replayed
on a simulated timeline.

A simulated clock is a file holding an ISO-8601 instant; every process that is pointed at it
(gunicorn workers, the CLI, the scheduler) reads the same "now". Followed by the word
``running``, the clock starts at that instant when the file was written and then runs at normal
speed (the demo lives inside the 2021 programme this way). It is refused outside development
and tests (see ``config.py``).

Each app's clock is watched (:class:`WatchedClock`): when the server's time goes backwards (an NTP
step, a virtual machine restored from a snapshot, someone's ``date -s``) the process logs one
warning per jump and keeps the last jump for the officials to see (:func:`backwards_jump`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app, has_app_context

log = logging.getLogger("wzcheckin.clock")

# Smaller steps back are jitter (or an NTP slew), not worth an official's attention.
BACKWARDS_TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class BackwardsJump:
    """The clock read ``by`` earlier than a time this process had already handed out."""

    to: datetime
    by: timedelta


class _BackwardsWatch:
    """Notices a clock going backwards: one warning per jump, the last jump kept in ``jump``.
    Per process: every gunicorn worker watches its own readings."""

    def __init__(self):
        self.latest: datetime | None = None
        self.jump: BackwardsJump | None = None
        self._watch_lock = threading.Lock()

    def _watched(self, value: datetime) -> datetime:
        with self._watch_lock:
            latest = self.latest
            jumped = latest is not None and latest - value > BACKWARDS_TOLERANCE
            if jumped:
                self.jump = BackwardsJump(to=value, by=latest - value)
                self.latest = value  # the new timeline: one warning per jump, not per reading
            else:
                self.latest = value if latest is None else max(latest, value)
        if jumped:
            log.warning("the server's clock went back by %.1f s, to %s: times recorded from now on may be "
                        "earlier than ones recorded before", (latest - value).total_seconds(), value.isoformat())
        return value


class SystemClock(_BackwardsWatch):
    def now(self) -> datetime:
        return self._watched(datetime.now(UTC))


class SimulatedClock(_BackwardsWatch):
    """Reads the instant from a file on every call, so a test can move time for every process."""

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)

    def now(self) -> datetime:
        text, _, mode = self.path.read_text(encoding="utf-8").strip().partition(" ")
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise ValueError(f"simulated clock {self.path} must hold an instant with a UTC offset")
        if mode.strip() == "running":
            value += timedelta(seconds=max(0.0, time.time() - self.path.stat().st_mtime))
        return self._watched(value.astimezone(UTC))

    def set(self, value: datetime, *, running: bool = False) -> None:
        if value.tzinfo is None:
            raise ValueError("a simulated instant needs a UTC offset")
        # Written beside and renamed into place: a reader in another process sees the old instant or
        # the new one, never the empty file a truncating write leaves for a moment.
        scratch = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        scratch.write_text(value.isoformat() + (" running" if running else ""), encoding="utf-8")
        os.replace(scratch, self.path)


_system_clock = SystemClock()


def clock_for(config: dict):
    path = config.get("SIMULATED_CLOCK_FILE")
    return SimulatedClock(path) if path else _system_clock


def backwards_jump() -> BackwardsJump | None:
    """The last time this process saw its clock go backwards (None if never): a flag for the
    officials' desk."""
    if not has_app_context():
        return None
    return getattr(current_app.extensions["wzcheckin.clock"], "jump", None)


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    if has_app_context():
        return current_app.extensions["wzcheckin.clock"].now()
    return _system_clock.now()
