"""``wzcheckin import venues`` and ``wzcheckin slots create``: the real click commands, in process
on the test app, and once on a migrated database through an app built from the environment as the
``wzcheckin`` entry point builds it."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.support.cli import run_cli
from tests.venues.builders import make_slot, make_venue
from wzcheckin.scanning.models import Checkpoint, CheckpointKind
from wzcheckin.venues.models import Slot, Venue, VenueKind

HEADER = "code,name,kind,district,address\n"
WENZHOU = ZoneInfo("Asia/Shanghai")


def invoke(app, runner, *args):
    """The real click command on the test app (its commands push their own app context)."""
    return runner.invoke(args=list(args))


def write(tmp_path, text, bom=False):
    path = tmp_path / "venues.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


def future_day(days: int = 2) -> str:
    return (datetime.now(WENZHOU) + timedelta(days=days)).date().isoformat()


def test_import_creates_venues_with_checkpoints_and_reimport_updates(app, runner, db, tmp_path):
    path = write(tmp_path, HEADER + "WZ-LIB,温州市图书馆,library,鹿城区,市府路\r\n"
                                    "jiangxinyu,江心屿景区,scenic_spot,鹿城区,\r\n"
                                    "wuma,五马街,landmark,鹿城区,五马街\r\n", bom=True)
    result = invoke(app, runner, "import", "venues", path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"imported": "venues", "created": 3, "updated": 0}
    venues = {v.code: v for v in db.scalars(sa.select(Venue))}
    assert venues["wz-lib"].kind is VenueKind.LIBRARY and venues["wuma"].bookable is False
    checkpoint = db.scalar(sa.select(Checkpoint).where(Checkpoint.ref == "venue:wz-lib"))
    assert (checkpoint.kind, checkpoint.name, venues["wz-lib"].checkpoint_id) == (
        CheckpointKind.VENUE, "温州市图书馆", checkpoint.id)

    path = write(tmp_path, HEADER + "wz-lib,温州市图书馆（新馆）,library,鹿城区,府东路\n")
    again = invoke(app, runner, "import", "venues", path)
    assert json.loads(again.stdout.strip().splitlines()[-1]) == {"imported": "venues", "created": 0, "updated": 1}
    db.rollback()  # a fresh snapshot: the command wrote in its own session
    assert db.scalar(sa.select(sa.func.count(Venue.id))) == 3
    assert db.scalar(sa.select(sa.func.count(Checkpoint.id))) == 3
    assert db.scalar(sa.select(Venue.name).where(Venue.code == "wz-lib")) == "温州市图书馆（新馆）"
    assert db.scalar(sa.select(Checkpoint.name).where(Checkpoint.ref == "venue:wz-lib")) == "温州市图书馆（新馆）"


def test_a_bad_line_is_named_and_nothing_is_written(app, runner, db, tmp_path):
    path = write(tmp_path, HEADER + "\n".join([
        "wz-lib,温州市图书馆,library,鹿城区,",
        "wz gym,体育中心,sports,鹿城区,",          # a space in the code
        "museum,温州博物馆,museum,鹿城区,",         # unknown kind
        "centre,,workers_centre,鹿城区,",          # no name
        "park,公园,culture,,",                     # no district
        "wz-lib,重复,library,鹿城区,",
        "short,only,three",
    ]) + "\n")
    result = invoke(app, runner, "import", "venues", path)
    assert result.exit_code == 1
    for line, reason in [(3, "code: "), (4, "kind: Unknown kind of venue. (got 'museum')"), (5, "name: "),
                         (6, "district: "), (7, "code: repeats line 2"), (8, "expected 5 fields")]:
        assert f"line {line}: {reason}" in result.stderr, (line, result.stderr)
    assert "line 2:" not in result.stderr
    assert "nothing was imported" in result.stderr
    assert db.scalar(sa.select(sa.func.count(Venue.id))) == 0
    assert db.scalar(sa.select(sa.func.count(Checkpoint.id))) == 0


def test_slots_create_prints_the_slots_as_json_and_refuses_bad_input_writing_nothing(app, runner, db):
    venue = make_venue(db, code="wz-lib")
    make_venue(db, code="wuma", kind=VenueKind.LANDMARK)
    day = future_day()
    make_slot(db, venue, datetime.fromisoformat(f"{day}T16:30:00+08:00").astimezone(UTC))
    db.commit()
    args = ["slots", "create", "--venue", "WZ-LIB", "--date", day, "--from", "09:00", "--to", "12:00",
            "--length", "60", "--capacity", "30"]
    result = invoke(app, runner, *args)
    assert result.exit_code == 0, result.output
    slots = json.loads(result.stdout.strip().splitlines()[-1])
    assert [(s["starts_at"], s["ends_at"], s["capacity"]) for s in slots] == [
        (f"{day}T09:00:00+08:00", f"{day}T10:00:00+08:00", 30),
        (f"{day}T10:00:00+08:00", f"{day}T11:00:00+08:00", 30),
        (f"{day}T11:00:00+08:00", f"{day}T12:00:00+08:00", 30)]
    stored = db.scalars(sa.select(Slot).where(Slot.venue_id == venue.id).order_by(Slot.starts_at)).all()
    assert [s.id for s in stored[:3]] == [s["id"] for s in slots]
    assert stored[0].starts_at == datetime.fromisoformat(f"{day}T01:00:00+00:00")  # stored in UTC

    def refused(*changes, expect):
        bad = list(args)
        for flag, value in changes:
            bad[bad.index(flag) + 1] = value
        outcome = invoke(app, runner, *bad)
        assert outcome.exit_code == 1, outcome.output
        assert expect in outcome.stderr and "no slots were created" in outcome.stderr, outcome.stderr

    refused(("--venue", "nowhere"), expect="--venue: No such venue.")
    refused(("--venue", "wuma"), expect="--venue: This is a check-in point")
    refused(("--date", "08/02/2021"), expect="--date: Enter a date as YYYY-MM-DD.")
    refused(("--date", "2021-02-08"), expect="--date: Slots must start in the future.")
    refused(("--from", "9h"), expect="--from: Enter a time as HH:MM.")
    refused(("--to", "08:00"), expect="--to: The end must be after the start.")
    refused(("--to", "11:30"), expect="--to: 09:00–11:30 is not a whole number of 60-minute slots.")
    refused(("--length", "0"), expect="--length: A slot lasts between 5 and 480 minutes.")
    refused(("--length", "sixty"), expect="--length:")
    refused(("--capacity", "-3"), expect="--capacity: Capacity is between 1 and 10000 places.")
    refused(("--from", "14:00"), ("--to", "18:00"),
            expect=f"--from: This overlaps an existing slot ({day} 16:30–17:30)")
    refused(("--from", "10:30"), ("--to", "11:30"), expect="overlaps")
    db.rollback()  # a fresh snapshot: the command wrote in its own session
    assert db.scalar(sa.select(sa.func.count(Slot.id))) == 4


def test_slots_create_as_a_real_command(server_database, tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text(HEADER + "ouhai-lib,瓯海区图书馆,library,瓯海区,娄桥街道\n", encoding="utf-8")
    run_cli(server_database, "import", "venues", str(path))
    day = future_day(3)
    result = run_cli(server_database, "slots", "create", "--venue", "ouhai-lib", "--date", day, "--from", "14:00",
                     "--to", "15:30", "--length", "45", "--capacity", "12")
    slots = json.loads(result.stdout.strip().splitlines()[-1])
    assert [s["starts_at"][11:16] for s in slots] == ["14:00", "14:45"]
    assert set(slots[0]) == {"id", "starts_at", "ends_at", "capacity"}


def test_staff_are_given_a_venue_by_its_code_as_imported(app, runner, db, tmp_path):
    """Venues imported as ``LIB1`` are stored as ``lib1``: ``user create --checkpoint venue:LIB1``
    finds it, as does ``Venue:lib1``; an unknown code is refused and writes no account."""
    path = write(tmp_path, HEADER + "LIB1,温州市图书馆,library,鹿城区,市府路\n")
    assert invoke(app, runner, "import", "venues", path).exit_code == 0
    created = invoke(app, runner, "user", "create", "--role", "venue_staff", "--phone", "13900001111",
                     "--password", "door-keeper-1", "--checkpoint", "venue:LIB1")
    assert created.exit_code == 0, created.output
    again = invoke(app, runner, "user", "create", "--role", "venue_staff", "--phone", "13900001112",
                   "--password", "door-keeper-2", "--checkpoint", " Venue:lib1 ")
    assert again.exit_code == 0, again.output
    refused = invoke(app, runner, "user", "create", "--role", "venue_staff", "--phone", "13900001113",
                     "--password", "door-keeper-3", "--checkpoint", "venue:LIB2")
    assert refused.exit_code == 1 and "checkpoint" in refused.output
    db.rollback()
    from wzcheckin.accounts.models import User

    checkpoint = db.scalar(sa.select(Checkpoint).where(Checkpoint.ref == "venue:lib1"))
    users = db.scalars(sa.select(User).where(User.checkpoint_id.is_not(None))).all()
    assert [user.checkpoint_id for user in users] == [checkpoint.id, checkpoint.id]
