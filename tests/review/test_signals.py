"""Risk signals (issue 14 item 1), each as the policy sentence an auditor reads."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.builders import make_user
from tests.residence.builders import bulk_workers, make_site
from tests.review.builders import NOW, fraud_scenario, honest_enterprise, scan
from tests.support.clock import at
from wzcheckin.core.roles import Role
from wzcheckin.review.models import RiskSignal, SignalRun
from wzcheckin.review.signals import compute_signals, latest_run


def kinds(db, run, site) -> dict[str, RiskSignal]:
    return {s.kind: s for s in db.scalars(sa.select(RiskSignal).where(RiskSignal.run_id == run.id,
                                                                      RiskSignal.enterprise_id == site.enterprise.id))}


def test_the_fraud_scenario_raises_its_signals_and_an_honest_enterprise_none(db, vault, programme):
    """50 self-registered workers, two scans each from one desk in bursts of 2–3 seconds, uploaded
    two days late, confirmed on the roster 50 in one minute: bursts, late uploads, the
    self-registered share, the bulk confirmation and the single desk are all flagged."""
    fraud = fraud_scenario(db, vault)
    honest = honest_enterprise(db, vault)
    run = compute_signals(db, programme, now=NOW, kind="manual")
    db.commit()

    found = kinds(db, run, fraud)
    assert set(found) == {"scan_burst", "late_upload", "self_registered_share", "bulk_confirmation", "single_desk"}
    assert found["scan_burst"].count == 100
    assert found["late_upload"].count == 100
    assert found["self_registered_share"].count == 50
    assert found["self_registered_share"].params["retained"] == 50
    assert found["bulk_confirmation"].params["max_in_a_minute"] == 50
    assert found["single_desk"].count == 100
    # the rows behind each signal are kept, and the explanation is plain Chinese
    assert len(found["scan_burst"].row_ids) == 100 and found["scan_burst"].row_type == "scan"
    assert "同一扫码账号" in found["scan_burst"].explanation and "100" in found["scan_burst"].explanation
    assert "自行注册" in found["self_registered_share"].explanation
    assert kinds(db, run, honest) == {}
    assert latest_run(db).id == run.id
    assert run.summary["by_kind"]["scan_burst"] == 1
    assert run.parameters["burst_max_gap_seconds"] == 3


def test_a_burst_shorter_than_the_threshold_is_not_a_burst(db, vault, programme):
    """A run of fewer than ``burst_min_scans`` rapid scans from one desk is not flagged."""
    site = make_site(db, vault)
    ids = bulk_workers(db, vault, site, programme.review.burst_min_scans - 1, windows=())
    when = at("2021-02-05 10:00")
    for worker_id in ids:
        when += timedelta(seconds=2)
        scan(db, worker_id, site, when)
    run = compute_signals(db, programme, now=NOW)
    assert "scan_burst" not in kinds(db, run, site)


def test_scans_at_night_are_flagged_from_the_programmes_count(db, vault, programme):
    """Scans at local night hours [0, 5) are flagged once there are ``night_min_scans`` of them."""
    site = make_site(db, vault)
    ids = bulk_workers(db, vault, site, programme.review.night_min_scans, windows=())
    staff = [make_user(db, vault, Role.GATEKEEPER, checkpoint=site.gate) for _ in range(2)]
    for index, worker_id in enumerate(ids):
        scan(db, worker_id, site, at("2021-02-05 02:00") + timedelta(minutes=10 * index), staff=staff[index % 2])
    run = compute_signals(db, programme, now=NOW)
    assert kinds(db, run, site)["night_scan"].count == programme.review.night_min_scans
    db.rollback()
    # one fewer at night is not enough
    site = make_site(db, vault)
    ids = bulk_workers(db, vault, site, programme.review.night_min_scans, windows=())
    for index, worker_id in enumerate(ids):
        scan(db, worker_id, site, at("2021-02-05 02:00" if index else "2021-02-05 09:00") + timedelta(minutes=10 * index))
    run = compute_signals(db, programme, now=NOW)
    assert "night_scan" not in kinds(db, run, site)


def test_one_worker_in_two_far_districts_too_quickly_is_impossible_travel(db, vault, programme):
    """鹿城 to 泰顺 is 105 km in the programme's table: ten minutes apart is 630 km/h, over the
    programme's 120 km/h; two hours apart is not."""
    lucheng = make_site(db, vault, district="鹿城区")
    taishun = make_site(db, vault, district="泰顺县")
    fast, slow = bulk_workers(db, vault, lucheng, 2, windows=())
    scan(db, fast, lucheng, at("2021-02-05 10:00"))
    scan(db, fast, taishun, at("2021-02-05 10:10"))
    scan(db, slow, lucheng, at("2021-02-06 10:00"))
    scan(db, slow, taishun, at("2021-02-06 12:00"))
    run = compute_signals(db, programme, now=NOW)
    signal = kinds(db, run, lucheng)["impossible_travel"]
    assert signal.count == 1 and signal.params["workers"] == 1 and signal.params["fastest_kmh"] == 630
    assert kinds(db, run, taishun) == {}


def test_evidence_crowded_into_the_last_minutes_of_a_window_is_flagged(db, vault, programme):
    """Half or more of an enterprise's evidence (of at least ``window_end_min_scans``) in the last
    30 minutes of the evidence windows is flagged."""
    site = make_site(db, vault)
    ids = bulk_workers(db, vault, site, programme.review.window_end_min_scans, windows=())
    other = make_user(db, vault, Role.GATEKEEPER, checkpoint=site.gate)
    for index, worker_id in enumerate(ids):  # 10 Feb ends the first window at 24:00
        scan(db, worker_id, site, at("2021-02-10 23:35") + timedelta(minutes=1, seconds=20 * index),
             staff=other if index % 2 else None)
    run = compute_signals(db, programme, now=NOW)
    assert set(kinds(db, run, site)) == {"window_end_cluster"}


def test_rows_behind_a_signal_are_capped_but_counted(db, vault, programme):
    small = programme.model_copy(update={"review": programme.review.model_copy(update={"rows_kept": 7})})
    site = fraud_scenario(db, vault)
    run = compute_signals(db, small, now=NOW)
    burst = kinds(db, run, site)["scan_burst"]
    assert burst.count == 100 and len(burst.row_ids) == 7


def test_each_run_is_kept_and_the_latest_is_the_signals(db, vault, programme):
    fraud_scenario(db, vault)
    first = compute_signals(db, programme, now=NOW)
    second = compute_signals(db, programme, now=NOW + timedelta(days=1), kind="nightly")
    assert latest_run(db).id == second.id
    assert db.scalar(sa.select(sa.func.count()).select_from(SignalRun)) == 2
    assert db.scalar(sa.select(sa.func.count()).where(RiskSignal.run_id == first.id)) == 5


def test_scans_received_after_now_are_not_read(db, vault, programme):
    """A run as of an instant knows only the uploads received by then."""
    site = fraud_scenario(db, vault)
    run = compute_signals(db, programme, now=at("2021-02-06 12:00"))
    assert "late_upload" not in kinds(db, run, site)  # the backdated uploads arrive on 7 and 15 Feb
