"""The worker's home page and /api/v1/me, composed from every room's contribution."""

from datetime import timedelta

from tests.builders import make_enterprise, make_user, make_worker
from tests.support.clock import at
from wzcheckin.benefits.points import award_points
from wzcheckin.core.roles import Role
from wzcheckin.residence.evidence import window_statuses
from wzcheckin.scanning.models import Checkpoint, Scan, ScanResult


def add_evidence(db, worker, staff, checkpoint, when, accepted=True):
    db.add(Scan(scan_id=f"s-{worker.id}-{when.timestamp():.0f}-{accepted}", checkpoint_id=checkpoint.id,
                staff_user_id=staff.id, scanned_at=when, received_at=when, worker_id=worker.id,
                result=ScanResult.ACCEPTED if accepted else ScanResult.REJECTED,
                reason="entry_allowed" if accepted else "fever", is_evidence=accepted))


def test_window_status_counts_only_accepted_staff_scans_inside_each_window(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    gate = db.query(Checkpoint).one()
    staff = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate)
    add_evidence(db, worker, staff, gate, at("2021-02-10 23:59"))                 # last minute of window 1
    add_evidence(db, worker, staff, gate, at("2021-02-12 08:00"), accepted=False)  # refused: not evidence
    add_evidence(db, worker, staff, gate, at("2021-03-01 00:00"))                 # the cutoff instant: never counts
    db.flush()
    statuses = window_statuses(db, programme, [worker.id], at("2021-03-02 00:00"))[worker.id]
    assert [s.satisfied for s in statuses] == [True, False, False]
    assert [s.state for s in statuses] == ["closed", "closed", "closed"]
    during = window_statuses(db, programme, [worker.id], at("2021-02-12 09:00"))[worker.id]
    assert [s.state for s in during] == ["closed", "open", "future"]
    assert during[1].missing and not during[2].missing


def test_home_page_and_me_api(client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    award_points(db, worker_id=worker.id, amount=5, reason="test", source="official", award_key="k1",
                 now=at("2021-02-01 09:00"))
    db.commit()
    login_as(worker.user)
    page = client.get("/me")
    assert page.status_code == 200
    assert "留温证明" in page.text and "节前" in page.text
    assert '<span class="glance-label">积分</span>' in page.text  # the points, in the at-a-glance strip
    assert '<span class="glance-value big-number">5</span>' in page.text
    body = client.get("/api/v1/me").get_json()
    assert body["points"] == 5
    assert [w["name"] for w in body["evidence_windows"]] == ["节前", "春节假期", "节后"]
    assert body["confirmed"] is None


def test_points_award_is_idempotent_by_key(db, vault, programme):
    from wzcheckin.benefits.points import points_balance, points_history

    worker = make_worker(db, vault, programme)
    now = at("2021-03-01 00:00")
    first = award_points(db, worker_id=worker.id, amount=5, reason="residence_permit_stay", source="cutoff",
                         award_key=f"p2:{worker.id}", now=now)
    again = award_points(db, worker_id=worker.id, amount=5, reason="residence_permit_stay", source="cutoff",
                         award_key=f"p2:{worker.id}", now=now + timedelta(hours=1))
    assert first is not None and again is None
    assert points_balance(db, worker.id) == 5 and len(points_history(db, worker.id)) == 1
