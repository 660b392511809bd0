"""``wzcheckin import pickup-points``: all or nothing, line-numbered errors, re-import updates."""

import sqlalchemy as sa

from tests.builders import make_worker
from tests.support.clock import at
from tests.welfare.builders import make_pickup_staff
from wzcheckin.scanning.models import Checkpoint, CheckpointKind
from wzcheckin.welfare.models import PickupPoint
from wzcheckin.welfare.services import hand_out_pack

HEADER = "code,name,district,address,stock\n"


def invoke(app, runner, *args):
    """The real click command on the test app (its commands push their own app context)."""
    return runner.invoke(args=list(args))


def write(tmp_path, text, name="points.csv", bom=False):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


def test_import_creates_points_and_their_checkpoints(app, runner, db, tmp_path):
    path = write(tmp_path, HEADER + "LC-01,五马街道社区卫生服务中心,鹿城区,解放街88号,300\n"
                                    "OH-02,娄桥新居民服务站,瓯海区,,0\n", bom=True)
    result = invoke(app, runner, "import", "pickup-points", path)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == '{"imported": "pickup-points", "created": 2, "updated": 0}'
    points = {p.code: p for p in db.scalars(sa.select(PickupPoint))}
    assert (points["LC-01"].stock, points["LC-01"].district, points["OH-02"].stock) == (300, "鹿城区", 0)
    checkpoint = db.scalar(sa.select(Checkpoint).where(Checkpoint.ref == "pickup:LC-01"))
    assert checkpoint.kind is CheckpointKind.PICKUP and checkpoint.name == "五马街道社区卫生服务中心"
    assert points["LC-01"].checkpoint_id == checkpoint.id


def test_a_bad_line_writes_nothing_and_every_bad_line_is_named(app, runner, db, tmp_path):
    path = write(tmp_path, HEADER + "OK-1,好的,鹿城区,,10\n"
                                    "BAD 2,名称,鹿城区,,10\n"
                                    "OK-3,,鹿城区,,10\n"
                                    "OK-4,名称,鹿城区,,-5\n"
                                    "OK-1,重复,鹿城区,,1\n"
                                    "OK-6,名称,鹿城区\n")
    result = invoke(app, runner, "import", "pickup-points", path)
    assert result.exit_code == 1
    for expected in ("line 3: code:", "line 4: name: required", "line 5: stock:", "line 6: code: repeats line 2",
                     "line 7: expected 5 fields", "5 bad line(s); nothing was imported"):
        assert expected in result.output
    assert db.scalar(sa.select(sa.func.count()).select_from(PickupPoint)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(Checkpoint)) == 0


def test_a_wrong_header_is_refused(app, runner, db, tmp_path):
    result = invoke(app, runner, "import", "pickup-points", write(tmp_path, "code,name,stock\nA,B,1\n"))
    assert result.exit_code == 1 and "missing column(s): district, address" in result.output


def test_reimport_updates_and_counts_what_was_handed_out(app, runner, db, vault, programme, tmp_path):
    first = write(tmp_path, HEADER + "LC-01,旧名称,鹿城区,,10\n")
    assert invoke(app, runner, "import", "pickup-points", first).exit_code == 0
    point = db.scalar(sa.select(PickupPoint))
    staff = make_pickup_staff(db, vault, point)
    for index in range(3):
        hand_out_pack(db, point=point, worker=make_worker(db, vault, programme), staff=staff,
                      scan_id=f"imp-{index}", at=at("2021-02-02 10:00"))
    db.commit()
    again = invoke(app, runner, "import", "pickup-points", write(tmp_path, HEADER + "LC-01,新名称,鹿城区,解放街,12\n",
                                                                 "again.csv"))
    assert again.exit_code == 0, again.output
    assert '"created": 0, "updated": 1' in again.output
    db.expire_all()
    point = db.scalar(sa.select(PickupPoint))
    # 12 delivered in all, 3 handed out: 9 left. The same file again changes nothing.
    assert (point.name, point.stock, point.handed_out) == ("新名称", 9, 3)
    assert db.scalar(sa.select(sa.func.count()).select_from(PickupPoint)) == 1
    few = write(tmp_path, HEADER + "LC-01,新名称,鹿城区,,2\n", "few.csv")
    too_few = invoke(app, runner, "import", "pickup-points", few)
    assert too_few.exit_code == 1 and "line 2: stock: 2 is below the 3 packs already handed out" in too_few.output
    db.expire_all()
    assert db.scalar(sa.select(PickupPoint.stock)) == 9


def test_pickup_staff_are_created_on_a_pickup_checkpoint(app, runner, db, tmp_path):
    points = write(tmp_path, HEADER + "LC-01,点,鹿城区,,5\n")
    assert invoke(app, runner, "import", "pickup-points", points).exit_code == 0
    created = invoke(app, runner, "user", "create", "--role", "pickup_staff", "--phone", "13957729999",
                                  "--password", "stay-in-wenzhou", "--checkpoint", "pickup:LC-01")
    assert created.exit_code == 0, created.output
    from wzcheckin.accounts.models import User

    user = db.scalar(sa.select(User).where(User.phone_masked == "139****9999"))
    assert user.checkpoint.ref == "pickup:LC-01"


def test_the_welfare_demo_loads_points_and_a_pickup_login_and_is_idempotent(db, vault, programme):
    # This room's part of ``wzcheckin demo`` (the command runs every room's ``demo.load``).
    from wzcheckin.demo import DemoContext
    from wzcheckin.welfare import demo

    for _ in range(2):
        context = DemoContext()
        demo.load(db, vault, programme, at("2021-02-08 09:00"), context)
        db.flush()
    assert [login["phone"] for login in context.logins] == [demo.PICKUP_STAFF_PHONE]
    points = db.scalars(sa.select(PickupPoint).order_by(PickupPoint.code)).all()
    assert len(points) == 3 and all(p.stock > 0 for p in points)
    from wzcheckin.accounts.lookups import find_user_by_phone

    assert find_user_by_phone(db, vault, demo.PICKUP_STAFF_PHONE).checkpoint.ref.startswith("pickup:")
