"""Scheduler, triggers: a job spec's APScheduler 3 trigger in programme time, the instant a run is
for, and the shift that lets a scheduler on real time follow a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from wzcheckin.core.job_specs import JobSpec
from wzcheckin.programme import Programme


def resolve_argument(programme: Programme, value):
    """``"programme:<dotted.path>"`` → that programme field; anything else unchanged."""
    if isinstance(value, str) and value.startswith("programme:"):
        target = programme
        for part in value.removeprefix("programme:").split("."):
            target = getattr(target, part)
        return target
    return value


def build_trigger(spec: JobSpec, programme: Programme) -> BaseTrigger:
    """The job's trigger in programme time (not shifted)."""
    args = {key: resolve_argument(programme, value) for key, value in spec.trigger_args.items()}
    if spec.trigger == "date":
        return DateTrigger(timezone=programme.tz, **args)
    if spec.trigger == "cron":
        return CronTrigger(timezone=programme.tz, **args)
    if spec.trigger == "interval":
        # A fixed start makes the fire times the same in every process (run claims key on them).
        args.setdefault("start_date", programme.local_day_start(programme.programme.starts))
        return IntervalTrigger(timezone=programme.tz, **args)
    raise ValueError(f"job {spec.id}: unknown trigger {spec.trigger!r}")


class ShiftedTrigger(BaseTrigger):
    """A trigger in programme time, fired by a scheduler that runs on real time: fire times are
    moved by ``offset`` (simulated now − real now). Used only with a simulated clock."""

    __slots__ = ("inner", "offset_seconds")

    def __init__(self, inner: BaseTrigger, offset_seconds: float):
        self.inner = inner
        self.offset_seconds = offset_seconds

    def get_next_fire_time(self, previous_fire_time, now):
        offset = timedelta(seconds=self.offset_seconds)
        previous = previous_fire_time + offset if previous_fire_time else None
        fire = self.inner.get_next_fire_time(previous, now + offset)
        return fire - offset if fire else None

    def __str__(self):
        return f"shifted[{self.offset_seconds:+.3f}s]({self.inner})"


def latest_fire_time(spec: JobSpec, programme: Programme, now: datetime) -> datetime | None:
    """The scheduled instant a run started now is for: the trigger's latest fire time at or
    before ``now`` (programme time), or None if it has not fired yet."""
    trigger = build_trigger(spec, programme)
    if isinstance(trigger, DateTrigger):
        return trigger.run_date.astimezone(UTC) if trigger.run_date <= now else None
    lookback = trigger.interval if isinstance(trigger, IntervalTrigger) else timedelta(days=8)
    fire = trigger.get_next_fire_time(None, now - lookback)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire)
    return latest.astimezone(UTC) if latest else None


def within_grace(spec: JobSpec, scheduled_for: datetime, now: datetime) -> bool:
    """May a run for ``scheduled_for`` still start at ``now`` (the spec's misfire grace)?"""
    return spec.misfire_grace_time is None or now - scheduled_for <= timedelta(seconds=spec.misfire_grace_time)
