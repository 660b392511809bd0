"""What counts as evidence (SPEC §3, issue 12): a scan proves presence only when its claimed
``scanned_at`` lies within the validity of the code scanned, is not before the worker was
registered, and arrived within the programme's offline limit. Judged by ``record_scan`` itself
(plain Python, on the test's database), and once through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import gate_of, make_enterprise, make_user, make_worker
from tests.scanning.builders import bearer, post_scan, scan_id
from wzcheckin.codes.passes import current_pass, issue_paper_pass
from wzcheckin.core.roles import Role
from wzcheckin.scanning.models import Scan
from wzcheckin.scanning.services import ScanInput, record_scan

CHECKS = {"mask": True, "temperature": 36.6}
# The programme's calendar: a pass issued at 01:04 on 12 Feb, and the server receiving uploads.
ISSUED = datetime(2021, 2, 11, 17, 4, tzinfo=UTC)   # 12 Feb 01:04 in Wenzhou
RECEIVED = ISSUED + timedelta(hours=1)


@pytest.fixture
def site(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    gate = gate_of(db, enterprise)
    gatekeeper = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate)
    worker = make_worker(db, vault, programme, enterprise=enterprise, now=datetime(2021, 1, 20, tzinfo=UTC))
    db.commit()
    return gate, gatekeeper, worker


def scan(db, programme, keyring, site, token: str, scanned_at: datetime, received_at: datetime) -> Scan:
    gate, gatekeeper, _worker = site
    recorded = record_scan(db, staff=gatekeeper, checkpoint=gate, keyring=keyring, programme=programme,
                           now=received_at, data=ScanInput(token=token, scan_id=scan_id(), scanned_at=scanned_at,
                                                           mask=True, temperature=Decimal("36.6")))
    db.flush()
    return recorded.scan


def test_a_pass_is_evidence_only_for_scans_during_its_validity(db, programme, keyring, site):
    _gate, _gatekeeper, worker = site
    token = current_pass(worker, keyring, programme, ISSUED).token
    skew = timedelta(seconds=programme.programme.scan_clock_skew_seconds)
    inside = scan(db, programme, keyring, site, token, ISSUED + timedelta(minutes=1), RECEIVED)
    a_little_early = scan(db, programme, keyring, site, token, ISSUED - skew + timedelta(seconds=1), RECEIVED)
    # The fraud of issue 12: a pass valid at 01:04 uploaded as if scanned 72 hours earlier.
    backdated = scan(db, programme, keyring, site, token, ISSUED - timedelta(hours=71), RECEIVED)
    before_skew = scan(db, programme, keyring, site, token, ISSUED - skew - timedelta(seconds=1), RECEIVED)
    assert (inside.result, inside.is_evidence) == ("accepted", True)
    assert (a_little_early.result, a_little_early.is_evidence) == ("accepted", True)
    for refused in (backdated, before_skew):
        assert (refused.result, refused.reason, refused.is_evidence) == ("rejected", "scanned_at_outside_code", False)


def test_one_pass_cannot_prove_presence_in_two_evidence_windows(db, programme, keyring, site):
    _gate, _gatekeeper, worker = site
    issued = datetime(2021, 2, 10, 17, 4, tzinfo=UTC)   # 11 Feb 01:04: the holiday window
    token = current_pass(worker, keyring, programme, issued).token
    first = scan(db, programme, keyring, site, token, issued + timedelta(minutes=1), issued + timedelta(hours=2))
    # The same pass stamped a day earlier, into the window before the holiday: refused.
    day_before = scan(db, programme, keyring, site, token, issued - timedelta(days=1), issued + timedelta(hours=2))
    assert first.is_evidence and programme.window_at(first.scanned_at).name == "春节假期"
    assert programme.window_at(day_before.scanned_at).name == "节前"
    assert (day_before.reason, day_before.is_evidence) == ("scanned_at_outside_code", False)


def test_a_paper_pass_is_evidence_from_its_issue_time_without_skew(db, programme, keyring, site):
    _gate, _gatekeeper, worker = site
    _paper, issued = issue_paper_pass(db, worker, keyring, programme, ISSUED)
    at_issue = scan(db, programme, keyring, site, issued.token, ISSUED, RECEIVED)
    before = scan(db, programme, keyring, site, issued.token, ISSUED - timedelta(seconds=1), RECEIVED)
    assert at_issue.is_evidence
    assert (before.reason, before.is_evidence) == ("scanned_at_outside_code", False)


def test_a_scan_dated_before_the_worker_was_registered_is_refused(db, vault, programme, keyring, site):
    gate, gatekeeper, _worker = site
    newcomer = make_worker(db, vault, programme, enterprise=gate.enterprise, now=ISSUED + timedelta(minutes=30))
    db.commit()
    token = current_pass(newcomer, keyring, programme, ISSUED + timedelta(minutes=29)).token
    early = scan(db, programme, keyring, (gate, gatekeeper, newcomer), token, ISSUED + timedelta(minutes=29),
                 ISSUED + timedelta(minutes=40))
    assert (early.result, early.reason, early.is_evidence) == ("rejected", "before_registration", False)


def test_uploads_beyond_the_offline_limit_are_refused_and_late_ones_flagged(db, programme, keyring, site):
    _gate, _gatekeeper, worker = site
    limit = timedelta(hours=programme.programme.offline_scan_max_age_hours)
    flag_after = timedelta(minutes=programme.evidence.late_upload_flag_minutes)
    token = current_pass(worker, keyring, programme, ISSUED).token
    on_time = scan(db, programme, keyring, site, token, ISSUED, ISSUED + flag_after)
    late = scan(db, programme, keyring, site, token, ISSUED, ISSUED + flag_after + timedelta(seconds=1))
    too_late = scan(db, programme, keyring, site, token, ISSUED, ISSUED + limit + timedelta(seconds=1))
    assert on_time.is_evidence and not on_time.late_upload
    assert late.is_evidence and late.late_upload          # accepted, but flagged for review
    assert (too_late.reason, too_late.is_evidence) == ("scan_too_old", False)
    assert all(s.received_at >= s.scanned_at for s in (on_time, late, too_late))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scans=st.lists(st.tuples(st.integers(-80 * 3600, 80 * 3600), st.integers(0, 80 * 3600),
                                st.sampled_from(["phone", "paper"])), min_size=1, max_size=6))
def test_property_no_scan_outside_its_codes_validity_counts_as_evidence(db, programme, keyring, site, scans):
    _gate, _gatekeeper, worker = site
    phone = current_pass(worker, keyring, programme, ISSUED)
    _paper, paper = issue_paper_pass(db, worker, keyring, programme, ISSUED)
    skew = timedelta(seconds=programme.programme.scan_clock_skew_seconds)
    for offset, delay, kind in scans:
        scanned_at = ISSUED + timedelta(seconds=offset)
        token, valid_from, expires = ((phone.token, ISSUED - skew, phone.expires_at) if kind == "phone"
                                      else (paper.token, ISSUED, paper.expires_at))
        recorded = scan(db, programme, keyring, site, token, scanned_at, scanned_at + timedelta(seconds=delay))
        if recorded.is_evidence:
            assert valid_from <= recorded.scanned_at < expires
            assert recorded.scanned_at >= worker.created_at
            assert recorded.received_at - recorded.scanned_at <= timedelta(
                hours=programme.programme.offline_scan_max_age_hours)
    db.rollback()


def test_a_refusal_by_the_servers_clock_is_not_final_and_a_replay_is_judged_again(client, db, vault, programme,
                                                                                   keyring, site):
    from wzcheckin import clock

    _gate, gatekeeper, worker = site
    headers = bearer(db, gatekeeper, clock.now())
    db.commit()
    now = clock.now()
    sid = scan_id()
    ahead = now + timedelta(minutes=30)   # the device is right, the server's clock is behind
    token = current_pass(worker, keyring, programme, ahead).token
    first = post_scan(client, headers, token, scan_id=sid, scanned_at=ahead.isoformat(), **CHECKS).get_json()
    assert (first["reason"], first["final"]) == ("scan_in_future", False)
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Scan).where(Scan.scan_id == sid)) == 0
    # The same scan_id again once the scan time has passed on the server (here: a scan time now).
    token_now = current_pass(worker, keyring, programme, now).token
    again = post_scan(client, headers, token_now, scan_id=sid, scanned_at=now.isoformat(), **CHECKS).get_json()
    assert (again["result"], again["final"], again["replayed"]) == ("accepted", True, False)


def test_the_recorded_scan_is_the_stored_row_and_the_answer_its_facts(db, programme, keyring, site):
    """record_scan writes the row with one INSERT and answers from its facts; ``.scan`` (built on
    first use) is then the session's own persistent row, equal to what the database holds."""
    gate, gatekeeper, worker = site
    token = current_pass(worker, keyring, programme, ISSUED).token
    recorded = record_scan(db, staff=gatekeeper, checkpoint=gate, keyring=keyring, programme=programme,
                           now=RECEIVED, data=ScanInput(token=token, scan_id=scan_id(), scanned_at=ISSUED + timedelta(minutes=1),
                                                        mask=True, temperature=Decimal("36.6")))
    facts = recorded.facts
    assert (facts.result, facts.reason, recorded.replayed, recorded.final) == ("accepted", "entry_allowed", False, True)
    stored = recorded.scan
    assert sa.inspect(stored).persistent and db.get(Scan, stored.id) is stored and not db.dirty and not db.new
    assert stored.checkpoint is gate
    row = db.execute(sa.select(Scan.__table__).where(Scan.__table__.c.id == stored.id)).one()._mapping
    assert (row["scan_id"], row["reason"], row["worker_id"], row["staff_user_id"], row["temperature"]) == (
        facts.scan_id, facts.reason, worker.id, gatekeeper.id, Decimal("36.6"))
    assert (stored.scan_id, stored.reason, stored.worker_id, stored.subject, stored.scanned_at) == (
        facts.scan_id, facts.reason, worker.id, facts.subject, facts.scanned_at)
