"""Residence confirmation (SPEC §3) on hand-built cases at every boundary, through the real cutoff
run on the test's database."""

from datetime import date, timedelta

import sqlalchemy as sa

from tests.builders import make_enterprise, make_id_number, make_worker
from tests.residence.builders import add_departure, add_scan, bulk_workers, make_site
from tests.residence.conftest import headcount, statuses
from tests.support.clock import at
from wzcheckin.accounts.facts import decide_hukou_review, record_worker_facts
from wzcheckin.benefits.models import PointsEntry
from wzcheckin.enterprises.models import Ownership
from wzcheckin.programme import HukouStatus
from wzcheckin.residence.models import SmsMessage, Snapshot, SnapshotKind


def scan_all_windows(db, worker, site):
    for when in ("2021-02-05 09:00", "2021-02-13 09:00", "2021-02-22 09:00"):
        add_scan(db, worker.id, site.gate, site.staff, at(when))


def test_tiers_at_49_50_99_100_retained_and_private_only(db, vault, programme, cutoff):
    sites = {n: make_site(db, vault, name=f"留温{n}") for n in (49, 50, 99, 100)}
    state = make_site(db, vault, ownership=Ownership.STATE, name="国企")
    controlled = make_site(db, vault, ownership=Ownership.STATE_CONTROLLED, name="国控")
    for n, site in sites.items():
        bulk_workers(db, vault, site, n)
        bulk_workers(db, vault, site, 3, windows=(0, 1))      # missed the last window: never counted
    bulk_workers(db, vault, state, 100)
    bulk_workers(db, vault, controlled, 50)
    summary = cutoff()
    sid = summary["snapshot_id"]
    expected = {49: (0, 0), 50: (50, 50000), 99: (50, 50000), 100: (100, 100000)}
    for n, site in sites.items():
        row = headcount(db, sid, site.enterprise.id)
        assert (row.retained, row.roster) == (n, n + 3)
        assert (row.tier, row.amount_yuan) == expected[n], n
        assert (row.tier, row.amount_yuan) == programme.subsidy_for("private", n)
    assert (headcount(db, sid, state.enterprise.id).retained, headcount(db, sid, state.enterprise.id).amount_yuan) \
        == (100, 0)
    assert headcount(db, sid, controlled.enterprise.id).amount_yuan == 0
    assert summary["total_amount_yuan"] == 200000
    assert summary["enterprises"]["by_tier"] == {"0": 3, "50": 2, "100": 1}
    assert summary["workers"]["not_confirmed"]["missing_evidence"] == 12
    # P7 notices: one per qualifying enterprise (no admin phone here: recorded as no_recipient).
    notices = db.scalars(sa.select(SmsMessage).where(SmsMessage.kind == "p7_qualified")).all()
    assert sorted(m.enterprise_id for m in notices) == sorted(sites[n].enterprise.id for n in (50, 99, 100))
    assert {m.status.value for m in notices} == {"no_recipient"}


def test_each_window_needs_its_own_scan_at_its_local_day_boundaries(db, vault, programme, cutoff):
    site = make_site(db, vault)
    last_minute = make_worker(db, vault, programme, enterprise=site.enterprise)
    a_day_late = make_worker(db, vault, programme, enterprise=site.enterprise)
    a_day_early = make_worker(db, vault, programme, enterprise=site.enterprise)
    # Window 1 ends 10 Feb 24:00 local; window 2 is 11–17 Feb; window 3 is 18–28 Feb.
    for when in ("2021-02-10 23:59:59", "2021-02-11 00:00", "2021-02-18 00:00"):
        add_scan(db, last_minute.id, site.gate, site.staff, at(when))
    for when in ("2021-02-11 00:00", "2021-02-12 09:00", "2021-02-20 09:00"):   # window 1 missed by a day
        add_scan(db, a_day_late.id, site.gate, site.staff, at(when))
    for when in ("2021-02-05 09:00", "2021-02-13 09:00", "2021-02-17 23:59"):   # window 3 missed by a day
        add_scan(db, a_day_early.id, site.gate, site.staff, at(when))
    rows = statuses(db, cutoff()["snapshot_id"])
    assert rows[last_minute.id].confirmed and rows[last_minute.id].reason == "confirmed"
    assert (rows[a_day_late.id].reason, rows[a_day_late.id].windows_missed) == ("missing_evidence", 0b001)
    assert (rows[a_day_early.id].reason, rows[a_day_early.id].windows_missed) == ("missing_evidence", 0b100)
    assert rows[a_day_early.id].windows_satisfied == 0b011


def test_a_scan_one_second_before_the_cutoff_counts_and_one_at_it_does_not(db, vault, programme, cutoff):
    site = make_site(db, vault)
    before, at_cutoff, after = (make_worker(db, vault, programme, enterprise=site.enterprise) for _ in range(3))
    for worker in (before, at_cutoff, after):
        for when in ("2021-02-05 09:00", "2021-02-13 09:00"):
            add_scan(db, worker.id, site.gate, site.staff, at(when))
    add_scan(db, before.id, site.gate, site.staff, programme.cutoff - timedelta(seconds=1))
    add_scan(db, at_cutoff.id, site.gate, site.staff, programme.cutoff)
    add_scan(db, after.id, site.gate, site.staff, programme.cutoff + timedelta(seconds=1))
    rows = statuses(db, cutoff(now=at("2021-03-02 09:00"))["snapshot_id"])
    assert rows[before.id].confirmed
    assert not rows[at_cutoff.id].confirmed and rows[at_cutoff.id].windows_missed == 0b100
    assert not rows[after.id].confirmed


def test_refused_scans_are_not_evidence(db, vault, programme, cutoff):
    site = make_site(db, vault)
    worker = make_worker(db, vault, programme, enterprise=site.enterprise)
    add_scan(db, worker.id, site.gate, site.staff, at("2021-02-05 09:00"))
    add_scan(db, worker.id, site.gate, site.staff, at("2021-02-13 09:00"), accepted=False)   # fever: refused
    add_scan(db, worker.id, site.gate, site.staff, at("2021-02-22 09:00"))
    row = statuses(db, cutoff()["snapshot_id"])[worker.id]
    assert (row.confirmed, row.reason, row.windows_missed) == (False, "missing_evidence", 0b010)


def test_wenzhou_hukou_by_id_prefix_and_declarations_read_as_place_names(db, vault, programme, cutoff):
    site = make_site(db, vault)
    by_id = make_worker(db, vault, programme, enterprise=site.enterprise, id_number=make_id_number("330302"))
    yueqing_id_and_place = make_worker(db, vault, programme, enterprise=site.enterprise,
                                       id_number=make_id_number("330382"), hukou="浙江省乐清市")
    declared_wenzhou = make_worker(db, vault, programme, enterprise=site.enterprise, hukou="浙江省温州市鹿城区")
    declared_elsewhere = make_worker(db, vault, programme, enterprise=site.enterprise,
                                     id_number=make_id_number("330381"), hukou="四川省成都市")
    other_zhejiang = make_worker(db, vault, programme, enterprise=site.enterprise, id_number=make_id_number("330102"))
    everyone = (by_id, yueqing_id_and_place, declared_wenzhou, declared_elsewhere, other_zhejiang)
    for worker in everyone:
        scan_all_windows(db, worker, site)
    rows = statuses(db, cutoff()["snapshot_id"])
    assert {w.id: rows[w.id].reason for w in everyone} == {
        by_id.id: "wenzhou_hukou", yueqing_id_and_place.id: "wenzhou_hukou",
        # The declaration and the ID number disagree: not counted until an official decides.
        declared_wenzhou.id: "hukou_review", declared_elsewhere.id: "hukou_review",
        other_zhejiang.id: "confirmed",
    }
    assert headcount(db, rows[by_id.id].snapshot_id, site.enterprise.id).retained == 1


def test_a_hukou_decision_counts_from_when_it_was_made_never_before(db, vault, programme, cutoff):
    site = make_site(db, vault)
    decided_before = make_worker(db, vault, programme, enterprise=site.enterprise, hukou="河南省周口市",
                                 id_number=make_id_number("330304"))
    decided_after = make_worker(db, vault, programme, enterprise=site.enterprise, hukou="河南省周口市",
                                id_number=make_id_number("330304"))
    for worker in (decided_before, decided_after):
        scan_all_windows(db, worker, site)
    decide_hukou_review(db, decided_before, decision=HukouStatus.NON_LOCAL, reason="户籍迁出证明已核验",
                        decided_by_user_id=None, now=at("2021-02-25 10:00"))
    decide_hukou_review(db, decided_after, decision=HukouStatus.NON_LOCAL, reason="户籍迁出证明已核验",
                        decided_by_user_id=None, now=at("2021-03-02 10:00"))
    rows = statuses(db, cutoff()["snapshot_id"])
    assert rows[decided_before.id].reason == "confirmed"
    assert rows[decided_after.id].reason == "hukou_review"


def test_pledge_and_roster_as_they_stood_at_the_cutoff(db, vault, programme, cutoff):
    site = make_site(db, vault)
    unpledged = make_worker(db, vault, programme, enterprise=site.enterprise, pledged=False)
    late_pledge = make_worker(db, vault, programme, enterprise=site.enterprise, pledged=False)
    late_pledge.pledged_at = programme.cutoff   # pledged only at the cutoff: too late
    record_worker_facts(db, late_pledge, now=programme.cutoff, source="test")
    unconfirmed = make_worker(db, vault, programme, enterprise=site.enterprise)
    unconfirmed.employment_confirmed = False
    record_worker_facts(db, unconfirmed, now=at("2021-02-01 09:00"), source="test")
    no_employer = make_worker(db, vault, programme)
    for worker in (unpledged, late_pledge, unconfirmed, no_employer):
        scan_all_windows(db, worker, site)
    sid = cutoff()["snapshot_id"]
    rows = statuses(db, sid)
    assert rows[unpledged.id].reason == rows[late_pledge.id].reason == "not_pledged"
    assert rows[unconfirmed.id].confirmed and not rows[unconfirmed.id].on_roster
    assert rows[no_employer.id].confirmed and rows[no_employer.id].enterprise_id is None
    row = headcount(db, sid, site.enterprise.id)
    assert (row.roster, row.retained) == (2, 0)


def test_departures_before_the_cutoff_count_after_or_withdrawn_do_not(db, vault, programme, cutoff):
    site = make_site(db, vault)
    left, left_last_day, withdrawn, left_after = (
        make_worker(db, vault, programme, enterprise=site.enterprise) for _ in range(4))
    for worker in (left, left_last_day, withdrawn, left_after):
        scan_all_windows(db, worker, site)
    add_departure(db, left, date(2021, 2, 20), recorded_at=at("2021-02-20 18:00"))
    add_departure(db, left_last_day, date(2021, 2, 28), recorded_at=at("2021-02-28 22:00"))
    add_departure(db, withdrawn, date(2021, 2, 14), recorded_at=at("2021-02-14 08:00"),
                  withdrawn_at=at("2021-02-15 08:00"))
    add_departure(db, left_after, date(2021, 3, 1), recorded_at=at("2021-03-01 00:01"))
    rows = statuses(db, cutoff()["snapshot_id"])
    assert (rows[left.id].reason, rows[left.id].departed_on) == ("departed", date(2021, 2, 20))
    assert rows[left_last_day.id].reason == "departed"
    assert rows[withdrawn.id].confirmed
    assert rows[left_after.id].confirmed


def test_p2_points_need_a_permit_valid_through_28_february_with_a_known_expiry_and_come_once(
        db, vault, programme, cutoff):
    site = make_site(db, vault)
    valid = make_worker(db, vault, programme, enterprise=site.enterprise, permit="ZJ3303001",
                        permit_expiry=date(2021, 3, 1))
    # Expiring on 28 Feb: valid through 28 Feb 24:00, which is the cutoff itself.
    last_day = make_worker(db, vault, programme, enterprise=site.enterprise, permit="ZJ3303002",
                           permit_expiry=date(2021, 2, 28))
    # A blank expiry is not a valid permit: the worker is asked for it.
    no_expiry = make_worker(db, vault, programme, enterprise=site.enterprise, permit="ZJ3303005")
    expired = make_worker(db, vault, programme, enterprise=site.enterprise, permit="ZJ3303003",
                          permit_expiry=date(2021, 2, 27))
    no_permit = make_worker(db, vault, programme, enterprise=site.enterprise)
    not_confirmed = make_worker(db, vault, programme, enterprise=site.enterprise, permit="ZJ3303004", pledged=False)
    for worker in (valid, last_day, no_expiry, expired, no_permit, not_confirmed):
        scan_all_windows(db, worker, site)
    first = cutoff()
    again = cutoff(now=at("2021-03-01 09:00"))
    entries = db.scalars(sa.select(PointsEntry)).all()
    assert sorted(e.worker_id for e in entries) == sorted([valid.id, last_day.id])
    assert {(e.amount, e.reason, e.source) for e in entries} == {(5, "residence_permit_stay", "cutoff")}
    assert first["points_awarded"] == again["points_awarded"] == 2
    assert first["this_run"]["points_awarded"] == 2 and again["this_run"]["points_awarded"] == 0
    assert again["already_complete"] and again["snapshot_id"] == first["snapshot_id"]


def test_trial_and_preview_snapshots_count_but_award_nothing(db, vault, programme, cutoff):
    site = make_site(db, vault)
    bulk_workers(db, vault, site, 50, permit=True)
    on_track_so_far = bulk_workers(db, vault, site, 2, windows=(0, 1))
    trial = cutoff(as_of=at("2021-03-01 12:00"), now=at("2021-03-02 00:00"))
    assert trial["kind"] == "trial" and trial["workers"]["confirmed"] == 50 and trial["total_amount_yuan"] == 50000
    preview = cutoff(as_of=at("2021-02-20 02:30"), now=at("2021-02-20 02:30"), kind=SnapshotKind.PREVIEW)
    rows = statuses(db, preview["snapshot_id"])
    assert rows[on_track_so_far[0]].reason == "on_track"   # window 3 still open: not held against them
    assert preview["workers"]["confirmed"] == 52
    assert db.scalar(sa.select(sa.func.count()).select_from(PointsEntry)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(SmsMessage)) == 0


def test_the_official_snapshot_refuses_to_run_before_the_cutoff(db, vault, programme, cutoff):
    import pytest

    from wzcheckin.residence.cutoff import CutoffError

    make_enterprise(db, vault)
    with pytest.raises(CutoffError) as refused:
        cutoff(now=programme.cutoff - timedelta(seconds=1))
    assert refused.value.code == "as_of_in_future"


def test_self_checkins_count_only_where_the_programme_says_so(app, db, vault, programme):
    from wzcheckin.benefits.models import Activity, ActivityCheckin
    from wzcheckin.programme import EvidenceSection
    from wzcheckin.residence.cutoff import run_snapshot

    site = make_site(db, vault)
    worker = make_worker(db, vault, programme, enterprise=site.enterprise)
    add_scan(db, worker.id, site.gate, site.staff, at("2021-02-05 09:00"))
    add_scan(db, worker.id, site.gate, site.staff, at("2021-02-22 09:00"))
    activity = Activity(public_id="a" * 16, title="年夜饭打卡", kind="photo", gift="红包", starts_on=date(2021, 2, 1),
                        ends_on=date(2021, 2, 28), created_at=at("2021-02-01 00:00"), updated_at=at("2021-02-01 00:00"))
    db.add(activity)
    db.flush()
    db.add(ActivityCheckin(activity_id=activity.id, worker_id=worker.id, checked_in_at=at("2021-02-11 20:00"),
                           method="photo"))
    db.commit()
    lenient = programme.model_copy(update={"evidence": EvidenceSection(self_checkins_count=True)})
    with app.app_context():
        strict_run = run_snapshot(db, programme, as_of=programme.cutoff, now=at("2021-03-01 00:05"))
        assert statuses(db, strict_run["snapshot_id"])[worker.id].reason == "missing_evidence"
        db.execute(sa.delete(Snapshot))
        db.commit()
        lenient_run = run_snapshot(db, lenient, as_of=programme.cutoff, now=at("2021-03-01 00:05"))
    assert statuses(db, lenient_run["snapshot_id"])[worker.id].reason == "confirmed"


def test_a_run_begun_under_other_rules_is_not_resumed_with_new_ones(app, db, vault, programme):
    import pytest

    from wzcheckin.programme import SubsidyTier
    from wzcheckin.residence.cutoff import CutoffError, run_snapshot

    site = make_site(db, vault)
    bulk_workers(db, vault, site, 3)
    db.commit()

    class Crash(Exception):
        pass

    def crash_after_first_chunk(message):
        if "statuses up to" in message:
            raise Crash

    with app.app_context():
        with pytest.raises(Crash):
            run_snapshot(db, programme, as_of=programme.cutoff, now=at("2021-03-01 00:05"), status_chunk=1,
                         progress=crash_after_first_chunk)
        db.rollback()
        subsidy = programme.retention_subsidy.model_copy(
            update={"tiers": [SubsidyTier(min_retained=2, amount_yuan=1000)]})
        edited = programme.model_copy(update={"retention_subsidy": subsidy})
        with pytest.raises(CutoffError) as refused:
            run_snapshot(db, edited, as_of=programme.cutoff, now=at("2021-03-01 00:06"))
        assert refused.value.code == "programme_changed"
        resumed = run_snapshot(db, programme, as_of=programme.cutoff, now=at("2021-03-01 00:07"))
    assert resumed["resumed"] and resumed["workers"]["confirmed"] == 3
