"""This room's part of ``wzcheckin demo``: a morning at the first enterprise's gate."""

import sqlalchemy as sa

from tests.builders import make_worker
from tests.scanning.builders import gate_setup
from tests.support.clock import at
from wzcheckin.core.demo import DemoContext
from wzcheckin.enterprises import demo
from wzcheckin.enterprises.models import HealthAlert
from wzcheckin.scanning.models import Scan


def test_the_gate_demo_records_a_morning_once(db, vault, programme):
    enterprise, _gate, _gatekeeper, first = gate_setup(db, vault, programme)
    workers = [first] + [make_worker(db, vault, programme, enterprise=enterprise) for _ in range(5)]
    context = DemoContext(enterprises={enterprise.credit_code: enterprise}, workers=workers)
    for _ in range(2):
        demo.load(db, vault, programme, at("2021-02-08 09:00"), context)
    reasons = sorted(db.scalars(sa.select(Scan.reason)))
    assert reasons == ["entry_allowed"] * 4 + ["fever", "no_mask"]
    assert db.scalar(sa.select(sa.func.count()).select_from(HealthAlert)) == 1
