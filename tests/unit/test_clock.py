"""The simulated clock every process of a test (or the demo) can share."""

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from wzcheckin.clock import SimulatedClock


def test_a_frozen_clock_stays_put(tmp_path):
    clock = SimulatedClock(tmp_path / "clock")
    instant = datetime(2021, 2, 8, 1, 0, tzinfo=UTC)
    clock.set(instant)
    assert clock.now() == instant
    time.sleep(0.05)
    assert clock.now() == instant


def test_a_running_clock_advances_from_when_it_was_set(tmp_path):
    path = tmp_path / "clock"
    clock = SimulatedClock(path)
    instant = datetime(2021, 2, 8, 1, 0, tzinfo=UTC)
    clock.set(instant, running=True)
    written = path.stat().st_mtime
    os.utime(path, (written - 90, written - 90))  # as if set 90 seconds ago
    assert timedelta(seconds=89) < clock.now() - instant < timedelta(seconds=95)


def test_naive_instants_are_refused(tmp_path):
    path = tmp_path / "clock"
    path.write_text("2021-02-08T09:00:00")
    with pytest.raises(ValueError, match="UTC offset"):
        SimulatedClock(path).now()
