"""The review queue (issue 14 item 2): signals beside each application, an acknowledgement per
signal to approve, a second official above the programme's amount, a seeded on-site sample,
every decision audited — statuses moved by the rooms that own them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.builders import make_user
from tests.residence.builders import make_site
from tests.review.builders import NOW, fraud_scenario, official_snapshot, p6_claim, p7_application, p8_declaration
from wzcheckin.benefits.models import SubsidyClaimStatus
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.residence.models import ApplicationStatus, DeclarationStatus
from wzcheckin.review import queue
from wzcheckin.review.errors import ReviewError
from wzcheckin.review.models import Acknowledgement, Approval, OnsiteCheck, Policy, Sample
from wzcheckin.review.signals import compute_signals


@pytest.fixture
def officials(db, vault):
    """Two officials of 人社局, which owns P6 and P7 (review.ownership)."""
    return [make_user(db, vault, Role.HR_OFFICIAL) for _ in range(2)]


@pytest.fixture
def economy(db, vault):
    """Two officials of 经信局, which owns P8."""
    return [make_user(db, vault, Role.ECONOMY_OFFICIAL) for _ in range(2)]


def audit_actions(db) -> list[str]:
    return list(db.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_approval_is_refused_until_every_signal_is_acknowledged(db, vault, programme, officials):
    """Approving needs a note on each of the enterprise's signals; the notes are stored."""
    site = fraud_scenario(db, vault)
    application = p7_application(db, official_snapshot(db, programme), site, amount_yuan=50000)
    run = compute_signals(db, programme, now=NOW)
    signals = queue.review_of(db, programme, queue.load_item(db, programme, Policy.P7, application.id)).signals
    # (the official snapshot here has no worker statuses, so no self-registered share is read)
    assert len(signals) == 4 and all(s.run_id == run.id for s in signals)

    notes = {s.id: "已电话核实" for s in signals[:-1]}
    with pytest.raises(ReviewError) as refused, db.begin_nested():
        queue.approve(db, programme, policy=Policy.P7, application_id=application.id, notes=notes,
                      actor=officials[0], now=NOW)
    assert refused.value.code == "acknowledgement_required" and refused.value.field == f"note-{signals[-1].id}"
    db.refresh(application)
    assert application.status is ApplicationStatus.APPLIED
    with pytest.raises(ReviewError), db.begin_nested():  # a blank note is no acknowledgement
        queue.approve(db, programme, policy=Policy.P7, application_id=application.id,
                      notes={**notes, signals[-1].id: "   "}, actor=officials[0], now=NOW)

    notes[signals[-1].id] = "现场核查过门岗记录"
    outcome = queue.approve(db, programme, policy=Policy.P7, application_id=application.id, notes=notes,
                            actor=officials[0], now=NOW)
    assert outcome.decided and outcome.needed == 1
    db.refresh(application)
    assert application.status is ApplicationStatus.APPROVED and application.decided_by_user_id == officials[0].id
    stored = db.scalars(sa.select(Acknowledgement)).all()
    assert {a.signal_id for a in stored} == {s.id for s in signals}
    assert {a.kind for a in stored} == {"scan_burst", "late_upload", "bulk_confirmation", "single_desk"}
    assert "review.approve" in audit_actions(db) and "residence.subsidy.approved" in audit_actions(db)


def test_above_the_programmes_amount_a_second_different_official_must_approve(db, vault, programme, economy):
    """P8's 100,000 yuan is above ``second_approval_yuan`` (50,000): the first approval leaves it
    pending, the same official cannot approve twice, a second official completes it."""
    site = make_site(db, vault)
    declaration = p8_declaration(db, site)
    first = queue.approve(db, programme, policy=Policy.P8, application_id=declaration.id, notes={},
                          actor=economy[0], now=NOW)
    assert (first.decided, first.approvals, first.needed) == (False, 1, 2)
    db.refresh(declaration)
    assert declaration.status is DeclarationStatus.DECLARED
    with pytest.raises(ReviewError) as again, db.begin_nested():
        queue.approve(db, programme, policy=Policy.P8, application_id=declaration.id, notes={},
                      actor=economy[0], now=NOW)
    assert again.value.code == "already_approved_by_you"
    second = queue.approve(db, programme, policy=Policy.P8, application_id=declaration.id, notes={},
                           actor=economy[1], now=NOW + timedelta(minutes=5))
    assert second.decided
    db.refresh(declaration)
    assert declaration.status is DeclarationStatus.APPROVED
    approvals = db.scalars(sa.select(Approval).order_by(Approval.id)).all()
    assert [(a.official_user_id, a.final) for a in approvals] == [(economy[0].id, False), (economy[1].id, True)]
    assert audit_actions(db).count("review.approve") == 2


def test_at_or_below_the_amount_one_official_approves(db, vault, programme, officials):
    """50,000 yuan is not above 50,000: one approval decides (P6 too, in fen)."""
    site = make_site(db, vault)
    claim = p6_claim(db, site, amount_fen=5_000_000)
    outcome = queue.approve(db, programme, policy=Policy.P6, application_id=claim.id, notes={}, actor=officials[0],
                            now=NOW)
    assert outcome.decided
    db.refresh(claim)
    assert claim.status is SubsidyClaimStatus.APPROVED
    assert "training.claim_approve" in audit_actions(db)
    assert queue.approvals_needed(programme, 5_000_001) == 2


def test_a_rejection_needs_a_reason_and_goes_through_the_owning_room(db, vault, programme, officials):
    site = make_site(db, vault)
    application = p7_application(db, official_snapshot(db, programme), site, amount_yuan=100000, retained=120)
    with pytest.raises(ReviewError) as refused:
        queue.reject(db, programme, policy=Policy.P7, application_id=application.id, reason=" ", actor=officials[0],
                     now=NOW)
    assert refused.value.code == "reason_required"
    queue.reject(db, programme, policy=Policy.P7, application_id=application.id, reason="花名册与社保不符",
                 actor=officials[0], now=NOW)
    db.refresh(application)
    assert application.status is ApplicationStatus.REJECTED and application.decision_reason == "花名册与社保不符"
    assert "review.reject" in audit_actions(db)
    with pytest.raises(ReviewError) as late:
        queue.approve(db, programme, policy=Policy.P7, application_id=application.id, notes={}, actor=officials[1],
                      now=NOW)
    assert late.value.code == "already_decided"


def test_a_seeded_sample_is_stored_and_repeatable_and_blocks_approval_until_checked(db, vault, programme, officials):
    """The draw stores its seed, rate and population; the same seed gives the same selection; a
    drawn application is approved only after its on-site check is recorded."""
    snapshot = official_snapshot(db, programme)
    applications = [p7_application(db, snapshot, make_site(db, vault)) for _ in range(12)]
    sample, selected = queue.draw_sample(db, programme, seed=20210228, actor=officials[0], now=NOW, rate=0.5)
    assert selected and len(selected) < 12
    stored = db.get(Sample, sample.id)
    assert stored.seed == 20210228 and stored.population == [f"P7:{a.id}" for a in applications]
    assert queue.replay_sample(stored) == selected
    assert queue.select_sample(stored.population, 20210228, 0.5) == selected
    assert {f"{c.policy}:{c.application_id}" for c in db.scalars(sa.select(OnsiteCheck))} == set(selected)
    assert "review.sample" in audit_actions(db)

    drawn_id = int(selected[0].split(":")[1])
    with pytest.raises(ReviewError) as pending, db.begin_nested():
        queue.approve(db, programme, policy=Policy.P7, application_id=drawn_id, notes={}, actor=officials[0],
                      now=NOW)
    assert pending.value.code == "onsite_check_pending"
    queue.record_onsite_check(db, policy=Policy.P7, application_id=drawn_id, note="现场核实员工在岗",
                              actor=officials[1], now=NOW)
    assert queue.approve(db, programme, policy=Policy.P7, application_id=drawn_id, notes={}, actor=officials[0],
                         now=NOW).decided
    # a second draw only draws applications never drawn before
    second, _selected = queue.draw_sample(db, programme, seed=7, actor=officials[0], now=NOW, rate=1.0)
    assert not set(second.population) & set(selected)


def test_paying_p6_and_p8_is_recorded_once_and_p7_through_its_own_status(db, vault, programme, officials):
    site = make_site(db, vault)
    claim = p6_claim(db, site, amount_fen=100_00)
    with pytest.raises(ReviewError) as early:
        queue.mark_paid(db, programme, policy=Policy.P6, application_id=claim.id, reference="", actor=officials[0],
                        now=NOW)
    assert early.value.code == "not_approved"
    queue.approve(db, programme, policy=Policy.P6, application_id=claim.id, notes={}, actor=officials[0], now=NOW)
    queue.mark_paid(db, programme, policy=Policy.P6, application_id=claim.id, reference="BANK-1", actor=officials[0],
                    now=NOW)
    with pytest.raises(ReviewError) as twice, db.begin_nested():
        queue.mark_paid(db, programme, policy=Policy.P6, application_id=claim.id, reference="", actor=officials[0],
                        now=NOW)
    assert twice.value.code == "already_paid"
    application = p7_application(db, official_snapshot(db, programme), make_site(db, vault))
    queue.approve(db, programme, policy=Policy.P7, application_id=application.id, notes={}, actor=officials[0], now=NOW)
    queue.mark_paid(db, programme, policy=Policy.P7, application_id=application.id, reference="BANK-2",
                    actor=officials[0], now=NOW)
    db.refresh(application)
    assert application.status is ApplicationStatus.PAID and application.payment_reference == "BANK-2"


def test_the_queue_lists_pending_applications_of_every_policy_with_their_signals(db, vault, programme):
    fraud = fraud_scenario(db, vault)
    p7_application(db, official_snapshot(db, programme), fraud)
    p8_declaration(db, make_site(db, vault))
    p6_claim(db, make_site(db, vault))
    compute_signals(db, programme, now=NOW)
    reviews = queue.queue(db, programme)
    assert sorted(r.item.policy.value for r in reviews) == ["P6", "P7", "P8"]
    by_policy = {r.item.policy.value: r for r in reviews}
    assert len(by_policy["P7"].signals) == 4 and by_policy["P8"].signals == []
    assert [r.item.policy.value for r in queue.queue(db, programme, Policy.P8)] == ["P8"]


# --- each bureau decides only its own policies (issue 14 item 5) ------------------------------------

@pytest.mark.parametrize("role", [Role.OFFICIAL, Role.AUDITOR, Role.ECONOMY_OFFICIAL, Role.HEALTH_OFFICIAL,
                                  Role.POLICE_OFFICIAL])
def test_only_the_owning_bureau_decides_a_p7_application(db, vault, programme, role):
    """P7 is 人社局's: the programme office, the auditor and every other bureau are refused
    every decision on it — approve, reject, the on-site check, the payment — and nothing moves."""
    application = p7_application(db, official_snapshot(db, programme), make_site(db, vault))
    outsider = make_user(db, vault, role)
    attempts = [
        lambda: queue.approve(db, programme, policy=Policy.P7, application_id=application.id, notes={},
                              actor=outsider, now=NOW),
        lambda: queue.reject(db, programme, policy=Policy.P7, application_id=application.id, reason="不符合",
                             actor=outsider, now=NOW),
        lambda: queue.record_onsite_check(db, policy=Policy.P7, application_id=application.id, note="看过",
                                          actor=outsider, now=NOW),
        lambda: queue.mark_paid(db, programme, policy=Policy.P7, application_id=application.id, reference="",
                                actor=outsider, now=NOW),
    ]
    for attempt in attempts:
        with pytest.raises(ReviewError) as refused, db.begin_nested():
            attempt()
        assert refused.value.code == "not_your_policy"
    db.refresh(application)
    assert application.status is ApplicationStatus.APPLIED
    assert db.scalar(sa.select(sa.func.count(Approval.id))) == 0
    assert "review.approve" not in audit_actions(db) and "review.reject" not in audit_actions(db)


def test_p8_is_decided_by_the_economy_bureau_and_not_by_human_resources(db, vault, programme, officials, economy):
    declaration = p8_declaration(db, make_site(db, vault))
    with pytest.raises(ReviewError) as refused, db.begin_nested():
        queue.approve(db, programme, policy=Policy.P8, application_id=declaration.id, notes={}, actor=officials[0],
                      now=NOW)
    assert refused.value.code == "not_your_policy"
    outcome = queue.approve(db, programme, policy=Policy.P8, application_id=declaration.id, notes={},
                            actor=economy[0], now=NOW)
    assert outcome.approvals == 1


def test_each_bureau_sees_its_own_policies_in_the_queue(db, vault, programme):
    from wzcheckin.review.ownership import policies_seen_by

    site = make_site(db, vault)
    p6_claim(db, site)
    p7_application(db, official_snapshot(db, programme), make_site(db, vault))
    p8_declaration(db, make_site(db, vault))
    seen = {role: sorted(r.item.policy.value for r in queue.queue(db, programme, policies=policies_seen_by(role)))
            for role in (Role.HR_OFFICIAL, Role.ECONOMY_OFFICIAL, Role.OFFICIAL, Role.AUDITOR, Role.HEALTH_OFFICIAL)}
    assert seen == {Role.HR_OFFICIAL: ["P6", "P7"], Role.ECONOMY_OFFICIAL: ["P8"], Role.OFFICIAL: ["P6", "P7", "P8"],
                    Role.AUDITOR: ["P6", "P7", "P8"], Role.HEALTH_OFFICIAL: []}
