"""Skills training (P6): courses and their class sessions, enrolment and its refusals, attendance
by a staff scan at the course's checkpoint (presence evidence), completion upload, invoices and the
costs officials approve, and the training subsidy at its boundaries — 95 % of the approved cost
capped per person, the online deadline day, the claim deadline, 25 ¥ per attended class hour
capped at 2,000 ¥ a person."""

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.benefits.builders import PDF_BYTES, PNG_BYTES, approve_cost, attend, enrol_directly, make_course, refusal
from tests.builders import BUILD_TIME, make_enterprise, make_phone, make_worker
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.accounts.staff import create_or_update_staff
from wzcheckin.benefits.attendance import enrol, find_enrolment, upload_completions
from wzcheckin.benefits.courses import (
    COURSE_COLUMNS,
    CourseInput,
    clean_course,
    course_sessions,
    find_course,
    save_course,
    sessions_text,
)
from wzcheckin.benefits.invoices import INVOICE_MAX_BYTES, InvoiceInput, review_invoice, upload_invoice
from wzcheckin.benefits.models import Attendance, Enrolment, InvoiceStatus, SubsidyClaimStatus, TrainingSubsidyClaim
from wzcheckin.benefits.training_subsidy import (
    compute_training_subsidy,
    review_subsidy_claim,
    sessions_held,
    submit_subsidy_claim,
)
from wzcheckin.codes.keys import load_keyring
from wzcheckin.codes.passes import current_pass
from wzcheckin.core.refusals import Refusal
from wzcheckin.core.roles import Role
from wzcheckin.residence.evidence import window_statuses
from wzcheckin.scanning.models import Checkpoint, CheckpointKind, Scan, ScanResult
from wzcheckin.scanning.services import ScanInput, record_scan

FEB = date(2021, 2, 1)


def day(n: int) -> date:
    return FEB + timedelta(days=n - 1)


# --- the subsidy arithmetic: online training ---------------------------------------------------------

def test_online_subsidy_is_95_percent_of_the_official_approved_cost_for_completions_dated_inside_the_programme(
        db, vault, programme):
    enterprise = make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, mode="online", cost_yuan="400", starts_on=date(2021, 1, 12),
                         ends_on=day(28))
    approve_cost(db, programme, course, proposed_yuan="400", approved_yuan="333.33")
    on_deadline, late, before_start, unfinished = (make_worker(db, vault, programme, enterprise=enterprise)
                                                   for _ in range(4))
    enrol_directly(db, course, on_deadline, completed_on=programme.training.online_deadline)       # 28 Feb: counts
    enrol_directly(db, course, late, completed_on=programme.training.online_deadline + timedelta(days=1))
    enrol_directly(db, course, before_start, completed_on=programme.programme.starts - timedelta(days=1))
    enrol_directly(db, course, unfinished)
    breakdown = compute_training_subsidy(db, programme, enterprise.id)
    [line] = breakdown.online
    # 333.33 ¥ (approved, not the 400 ¥ the enterprise proposed) × 0.95 = 316.6635 ¥ → 316.66 ¥: never rounded up.
    assert (line.cost_status, line.approved_cost_fen, line.cost_per_person_fen) == ("approved", 33333, 33333)
    assert (line.per_person_fen, line.completed, line.counted, line.late) == (31666, 3, 1, 2)
    assert line.amount_fen == breakdown.online_fen == breakdown.total_fen == 31666
    assert breakdown.rules["online_subsidy_rate"] == "0.95"


def test_an_online_course_earns_nothing_until_an_official_approves_a_cost_against_its_invoice(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, mode="online", cost_yuan="800", starts_on=day(1), ends_on=day(28))
    enrol_directly(db, course, make_worker(db, vault, programme, enterprise=enterprise), completed_on=day(20))

    def line():
        return compute_training_subsidy(db, programme, enterprise.id).online[0]

    assert (line().cost_status, line().amount_fen) == ("no_invoice", 0)  # the enterprise's own price: nothing
    assert refusal(lambda: submit_subsidy_claim(db, programme, enterprise, at("2021-03-02 10:00"))).code == \
        "nothing_to_claim"
    invoice = upload_invoice(db, programme, course, InvoiceInput(
        invoice_no="04400211", amount_yuan="8000", cost_yuan="800", data=PDF_BYTES), at("2021-03-01 10:00"))
    assert (line().cost_status, line().proposed_cost_fen, line().amount_fen) == ("submitted", 80000, 0)
    review_invoice(db, invoice.id, approve=False, cost_yuan="", note="发票抬头不符", now=at("2021-03-02 10:00"))
    assert (line().cost_status, line().amount_fen) == ("rejected", 0)
    again = upload_invoice(db, programme, course, InvoiceInput(
        invoice_no="04400212", amount_yuan="8000", cost_yuan="800", data=PDF_BYTES), at("2021-03-03 10:00"))
    review_invoice(db, again.id, approve=True, cost_yuan="750", note="", now=at("2021-03-04 10:00"))
    assert (line().cost_status, line().per_person_fen, line().amount_fen) == ("approved", 71250, 71250)
    # A newer invoice supersedes the approved one: nothing counts until it is approved in turn.
    upload_invoice(db, programme, course, InvoiceInput(
        invoice_no="04400213", amount_yuan="9000", cost_yuan="900", data=PDF_BYTES), at("2021-03-05 10:00"))
    assert (line().cost_status, line().amount_fen) == ("submitted", 0)
    assert refusal(lambda: review_invoice(db, again.id, approve=True, cost_yuan="900", note="",
                                                   now=at("2021-03-05 11:00"))).code == "invoice_superseded"


def test_fraud_an_online_course_an_enterprise_priced_at_100000_yuan_a_person_is_capped_per_person(db, vault, programme):
    """The ¥4,750,000 claim: 50 completions of an online course the enterprise priced at ¥100,000
    a person (50 × 100,000 × 95 %). The subsidy is computed from the official-approved cost,
    at most the programme's cap per person (1,000 ¥): 50 × 950 ¥ = 47,500 ¥."""
    assert programme.training.online_cost_cap_yuan_per_person == 1000
    enterprise = make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, mode="online", cost_yuan="100000", starts_on=day(1),
                         ends_on=day(28))
    for _ in range(50):
        enrol_directly(db, course, make_worker(db, vault, programme, enterprise=enterprise), completed_on=day(25))
    assert compute_training_subsidy(db, programme, enterprise.id).total_fen == 0  # no approved cost
    approve_cost(db, programme, course, proposed_yuan="100000")  # even an official approving the whole price
    [line] = compute_training_subsidy(db, programme, enterprise.id).online
    assert (line.approved_cost_fen, line.cost_per_person_fen, line.capped) == (10_000_000, 100_000, True)
    assert (line.per_person_fen, line.counted, line.amount_fen) == (95_000, 50, 4_750_000)  # 47,500 ¥
    claim = submit_subsidy_claim(db, programme, enterprise, at("2021-03-02 10:00"))
    assert claim.amount_fen == 4_750_000 and claim.amount_fen < 475_000_000


def test_completions_dated_outside_the_programme_or_uploaded_after_the_claim_deadline_are_refused(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, mode="online", starts_on=date(2020, 12, 1), ends_on=day(28))
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    id_number = vault.decrypt(worker.id_number_encrypted)
    deadline = programme.training.claim_deadline
    assert deadline == date(2021, 3, 31)

    def upload(completed_on: str, when):
        return upload_completions(db, vault, programme, course, f"id_number,completed_on\n{id_number},"
                                           f"{completed_on}\n", when)

    last_day = at("2021-03-31 23:59")
    for outside in ("2021-01-11", "2021-03-01"):  # before the programme; after the online deadline
        report = upload(outside, last_day)
        assert not report.ok and "completed_on: must lie between 2021-01-12 and 2021-02-28" in str(report.errors[0])
    after = refusal(lambda: upload("2021-02-20", at("2021-04-01 00:00")))
    assert (after.code, after.params["deadline"]) == ("claim_deadline_passed", "2021-03-31")
    assert find_enrolment(db, course.id, worker.id) is None
    assert upload("2021-02-20", last_day).ok  # on the deadline day
    enrolment = find_enrolment(db, course.id, worker.id)
    assert enrolment.completion_recorded_at == last_day
    approve_cost(db, programme, course, proposed_yuan="500", now=at("2021-03-02 10:00"))
    assert compute_training_subsidy(db, programme, enterprise.id).online[0].counted == 1
    # A completion written after the deadline (by any other route) is never counted.
    enrolment.completion_recorded_at = at("2021-04-01 00:00")
    db.flush()
    [line] = compute_training_subsidy(db, programme, enterprise.id).online
    assert (line.completed, line.counted, line.late, line.amount_fen) == (1, 0, 1, 0)


def test_invoices_are_checked_and_only_officials_set_the_approved_cost(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    online = make_course(db, enterprise=enterprise, mode="online", starts_on=day(1), ends_on=day(28))
    city_online = make_course(db, mode="online", starts_on=day(1), ends_on=day(28))
    offline = make_course(db, enterprise=enterprise, class_hours=8, starts_on=day(12), ends_on=day(12))
    now = at("2021-03-01 10:00")

    def upload(course=online, **fields):
        values = {"invoice_no": "04400211", "amount_yuan": "8000", "cost_yuan": "800", "data": PDF_BYTES, **fields}
        return upload_invoice(db, programme, course, InvoiceInput(**values), now)

    for course in (offline, city_online):
        assert refusal(lambda c=course: upload(c)).code == "invoice_online_only"
    for fields, errors in [
        ({"data": b"<html><script>alert(1)</script>"}, {"file": "invoice_type"}),
        ({"data": b""}, {"file": "invoice_required"}),
        ({"data": b"%PDF-" + b"0" * INVOICE_MAX_BYTES}, {"file": "invoice_too_large"}),
        ({"invoice_no": "04 4<>"}, {"invoice_no": "invoice_no_format"}),
        ({"cost_yuan": "9000"}, {"cost_yuan": "cost_above_invoice"}),
        ({"cost_yuan": "0"}, {"cost_yuan": "out_of_range"}),
        ({"cost_yuan": "100000.01", "amount_yuan": "200000"}, {"cost_yuan": "out_of_range"}),
    ]:
        with pytest.raises(Refusal) as caught:
            upload(**fields)
        assert caught.value.errors == errors
    assert refusal(lambda: upload_invoice(db, programme, online, InvoiceInput(
        invoice_no="1", amount_yuan="1", cost_yuan="1", data=PDF_BYTES), at("2021-04-01 00:00"))).code == \
        "claim_deadline_passed"
    invoice = upload(data=PNG_BYTES)
    assert (invoice.content_type, invoice.size, invoice.status) == ("image/png", len(PNG_BYTES), InvoiceStatus.SUBMITTED)
    above = refusal(lambda: review_invoice(db, invoice.id, approve=True, cost_yuan="800.01", note="", now=now))
    assert (above.code, above.field) == ("approved_above_proposed", "cost_yuan")
    no_reason = refusal(lambda: review_invoice(db, invoice.id, approve=False, cost_yuan="", note=" ", now=now))
    assert (no_reason.code, no_reason.field) == ("reason_required", "note")
    approved = review_invoice(db, invoice.id, approve=True, cost_yuan="640", note="按市场价核定", now=now)
    assert (approved.status, approved.approved_cost_per_person_fen) == (InvoiceStatus.APPROVED, 64000)
    assert refusal(lambda: review_invoice(db, invoice.id, approve=False, cost_yuan="", note="x",
                                                   now=now)).code == "already_reviewed"


# --- the subsidy arithmetic: project-based training ---------------------------------------------------

def test_a_16_hour_course_over_four_fully_attended_days_pays_400_yuan(db, vault, programme):
    """Each class session carries its hours: four 4-hour sessions fully attended are 16 hours ×
    25 ¥ = 400 ¥, however many calendar days the course's dates span (spreading 16 hours over the
    18 days 11–28 Feb paid 88.88 ¥)."""
    enterprise = make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, class_hours=16, starts_on=day(11), ends_on=day(28),
                         sessions="2021-02-15 4\n2021-02-16 4\n2021-02-22 4\n2021-02-23 4")
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    attend(db, enrol_directly(db, course, worker), day(15), day(16), day(22), day(23))
    [person] = compute_training_subsidy(db, programme, enterprise.id).project
    assert (person.hours, person.gross_fen, person.amount_fen, person.capped) == ("16", 40000, 40000, False)
    assert [(c.days, c.hours) for c in person.courses] == [(4, "16")]


@pytest.mark.parametrize(("hours", "expected_fen", "capped"), [
    (79, 197500, False),   # 79 h × 25 ¥ = 1,975 ¥
    (80, 200000, False),   # exactly the cap
    (81, 200000, True),    # 2,025 ¥ → capped at 2,000 ¥
])
def test_project_training_pays_25_yuan_per_attended_class_hour_at_most_2000_yuan_a_person(db, vault, programme, hours,
                                                                                         expected_fen, capped):
    enterprise = make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, class_hours=hours, starts_on=day(11), ends_on=day(20))
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    attend(db, enrol_directly(db, course, worker), *[day(n) for n in range(11, 21)])
    [person] = compute_training_subsidy(db, programme, enterprise.id).project
    assert (person.hours, person.amount_fen, person.capped) == (str(hours), expected_fen, capped)
    assert person.gross_fen == hours * 2500


def test_the_cap_is_per_person_across_courses_and_only_sessions_in_the_project_period_count(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    # 10 daily sessions of 6 h; the first (10 Feb) is before the project period (11–28 Feb).
    long = make_course(db, enterprise=enterprise, class_hours=60, starts_on=day(10), ends_on=day(19))
    short = make_course(db, enterprise=enterprise, class_hours=30, starts_on=day(27), ends_on=day(28))
    one, two = (make_worker(db, vault, programme, enterprise=enterprise) for _ in range(2))
    attend(db, enrol_directly(db, long, one), *[day(n) for n in range(10, 20)])   # 9 counted sessions: 54 h
    attend(db, enrol_directly(db, short, one), day(27), day(28))                   # 30 h (28 Feb counts)
    attend(db, enrol_directly(db, long, two), day(10), day(11))                    # 1 counted session: 6 h
    breakdown = compute_training_subsidy(db, programme, enterprise.id)
    people = {p.worker_id: p for p in breakdown.project}
    assert people[one.id].hours == "84" and people[one.id].gross_fen == 210000 and people[one.id].amount_fen == 200000
    assert [(c.days, c.hours) for c in people[one.id].courses] == [(9, "54"), (2, "30")]
    assert people[two.id].hours == "6" and people[two.id].amount_fen == 15000
    assert breakdown.project_fen == breakdown.total_fen == 215000


def test_a_day_without_a_class_session_earns_nothing(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, class_hours=10, starts_on=day(12), ends_on=day(14),
                         sessions="2021-02-12 4; 2021-02-14 6")
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    attend(db, enrol_directly(db, course, worker), day(12), day(13))  # 13 Feb: no session that day
    [person] = compute_training_subsidy(db, programme, enterprise.id).project
    assert (person.hours, person.amount_fen) == ("4", 10000)


def test_class_sessions_are_validated_and_an_attended_one_keeps_its_hours(db, vault, programme):
    base = {"code": "WZ-S-1", "title": "电工", "mode": "offline", "provider": "市培训中心", "class_hours": "8",
            "cost_yuan": "0", "address": "人民路", "starts_on": "2021-02-15", "ends_on": "2021-02-16"}
    for sessions, code in [("", "required"), ("2021-02-15 four", "session_format"), ("2021-02-30 8", "session_format"),
                           ("2021-02-15 0", "session_hours"), ("2021-02-15 25", "session_hours"),
                           ("2021-02-15 4; 2021-02-15 4", "session_repeated"),
                           ("2021-02-14 4; 2021-02-15 4", "session_outside_course"),
                           ("2021-02-15 4; 2021-02-16 5", "session_hours_total")]:
        with pytest.raises(Refusal) as caught:
            clean_course(db, CourseInput(**base, sessions=sessions))
        assert caught.value.errors == {"sessions": code}, sessions
    clean = clean_course(db, CourseInput(**base, sessions="2021-02-15:4\n2021-02-16=4"))
    course = save_course(db, clean, BUILD_TIME)
    attend(db, enrol_directly(db, course, make_worker(db, vault, programme)), day(15))
    moved = clean_course(db, CourseInput(**base, sessions="2021-02-15 2; 2021-02-16 6"))
    with pytest.raises(Refusal) as caught:
        save_course(db, moved, BUILD_TIME, course=course)
    assert caught.value.errors == {"sessions": "session_attended"}
    kept = clean_course(db, CourseInput(**{**base, "class_hours": "7"},
                                                          sessions="2021-02-15 4; 2021-02-16 3"))
    save_course(db, kept, BUILD_TIME, course=course)
    assert sessions_text(course_sessions(db, course.id)) == "2021-02-15 4\n2021-02-16 3"


def test_sessions_held_are_counted_against_the_100_promised(db, vault, programme):
    assert programme.training.sessions_offered == 100
    course = make_course(db, class_hours=12, starts_on=day(10), ends_on=day(12))  # sessions 10, 11 and 12 Feb
    other = make_course(db, class_hours=4, starts_on=day(11), ends_on=day(11))
    one, two = make_worker(db, vault, programme), make_worker(db, vault, programme)
    attend(db, enrol_directly(db, course, one), day(10), day(11))   # 10 Feb: before the project period
    attend(db, enrol_directly(db, course, two), day(11))            # the same session again
    enrol_directly(db, other, one)                                  # nobody came
    assert sessions_held(db, programme) == 1


def test_another_enterprises_and_city_courses_do_not_count(db, vault, programme):
    enterprise, other = make_enterprise(db, vault), make_enterprise(db, vault)
    city = make_course(db, class_hours=8, starts_on=day(12), ends_on=day(12))
    theirs = make_course(db, enterprise=other, class_hours=8, starts_on=day(12), ends_on=day(12))
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    attend(db, enrol_directly(db, city, worker), day(12))
    attend(db, enrol_directly(db, theirs, worker), day(12))
    assert compute_training_subsidy(db, programme, enterprise.id).total_fen == 0


# --- claims ----------------------------------------------------------------------------------------

def test_claim_submit_review_and_resubmit_after_rejection(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    now = at("2021-03-02 10:00")
    assert refusal(lambda: submit_subsidy_claim(db, programme, enterprise, now)).code == "nothing_to_claim"
    course = make_course(db, enterprise=enterprise, class_hours=8, starts_on=day(12), ends_on=day(12))
    attend(db, enrol_directly(db, course, make_worker(db, vault, programme, enterprise=enterprise)), day(12))
    claim = submit_subsidy_claim(db, programme, enterprise, now)
    assert claim.amount_fen == 20000 and claim.breakdown["project"][0]["hours"] == "8"
    assert refusal(lambda: submit_subsidy_claim(db, programme, enterprise, now)).code == "claim_exists"
    no_reason = refusal(lambda: review_subsidy_claim(db, claim.id, approve=False, reason=" ", now=now))
    assert (no_reason.code, no_reason.field) == ("reason_required", "reason")
    rejected = review_subsidy_claim(db, claim.id, approve=False, reason="签到表与名单不符", now=now)
    assert rejected.status is SubsidyClaimStatus.REJECTED and rejected.review_reason == "签到表与名单不符"
    assert refusal(lambda: review_subsidy_claim(db, claim.id, approve=True, reason="",
                                                         now=now)).code == "already_reviewed"
    again = submit_subsidy_claim(db, programme, enterprise, now)
    assert review_subsidy_claim(db, again.id, approve=True, reason="", now=now).status is \
        SubsidyClaimStatus.APPROVED


def test_a_concurrent_second_active_claim_is_refused_by_the_partial_unique_index(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    now = at("2021-03-02 10:00")
    fields = {"enterprise_id": enterprise.id, "online_fen": 0, "project_fen": 1, "amount_fen": 1, "breakdown": {},
              "submitted_at": now, "review_reason": ""}
    db.add(TrainingSubsidyClaim(status=SubsidyClaimStatus.REJECTED, **fields))
    db.add(TrainingSubsidyClaim(status=SubsidyClaimStatus.SUBMITTED, **fields))
    db.flush()  # a rejected one beside an active one is fine
    with pytest.raises(sa.exc.IntegrityError), db.begin_nested():
        db.add(TrainingSubsidyClaim(status=SubsidyClaimStatus.APPROVED, **fields))


# --- enrolment --------------------------------------------------------------------------------------

def test_enrolment_rules(db, vault, programme):
    enterprise, other = make_enterprise(db, vault), make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, capacity="1", starts_on=day(11), ends_on=day(20))
    employee, colleague = (make_worker(db, vault, programme, enterprise=enterprise) for _ in range(2))
    outsider = make_worker(db, vault, programme, enterprise=other)
    now = at("2021-02-08 09:00")
    assert refusal(lambda: enrol(db, programme, course, outsider, now)).code == "not_employee"
    enrol(db, programme, course, employee, now)
    assert refusal(lambda: enrol(db, programme, course, employee, now)).code == "already_enrolled"
    assert refusal(lambda: enrol(db, programme, course, colleague, now)).code == "course_full"
    assert refusal(lambda: enrol(db, programme, course, colleague, at("2021-02-21 00:00"))).code == \
        "course_closed"
    city = make_course(db, starts_on=day(11), ends_on=day(20))
    assert enrol(db, programme, city, outsider, now).enrolled_via == "self"


def test_course_validation_names_each_bad_field(db, vault):
    bad = CourseInput(code="a b", title="", mode="hybrid", provider="", class_hours="0", cost_yuan="1.234",
                               credit_code="91330304MA0000000X", starts_on="2021-02-20", ends_on="2021-02-10",
                               capacity="many")
    with pytest.raises(Refusal) as caught:
        clean_course(db, bad)
    assert caught.value.errors == {"code": "code_format", "title": "required", "mode": "choice_unknown",
                                   "provider": "required", "class_hours": "out_of_range", "cost_yuan": "amount_format",
                                   "capacity": "number_format", "credit_code": "credit_check", "ends_on": "date_order"}


# --- attendance by scan ----------------------------------------------------------------------------

@pytest.fixture
def class_scanner(db, vault):
    def make(course):
        staff, _created = create_or_update_staff(db, vault, role=Role.VENUE_STAFF, phone_raw=make_phone("137"),
                                                 password="scan-the-class", now=at("2021-02-01 08:00"),
                                                 checkpoint_ref=course.checkpoint_ref)
        return staff

    return make


def scan(db, vault, programme, staff, worker, when, scan_id=None):
    keyring = load_keyring(db, vault)
    token = current_pass(worker, keyring, programme, when).token
    return record_scan(db, staff=staff, checkpoint=staff.checkpoint, data=ScanInput(token=token, scan_id=scan_id),
                       keyring=keyring, programme=programme, now=when).scan


def test_an_offline_course_gets_a_training_checkpoint_only_venue_staff_may_hold(db, vault, programme, class_scanner):
    course = make_course(db, starts_on=day(11), ends_on=day(20))
    checkpoint = db.scalar(sa.select(Checkpoint).where(Checkpoint.ref == f"training:{course.code}"))
    assert checkpoint.kind is CheckpointKind.TRAINING and course.checkpoint_id == checkpoint.id
    assert class_scanner(course).checkpoint_id == checkpoint.id
    for role in (Role.GATEKEEPER, Role.PICKUP_STAFF):
        with pytest.raises(Refusal) as caught:
            create_or_update_staff(db, vault, role=role, phone_raw=make_phone("137"), password="scan-the-class",
                                   now=at("2021-02-01 08:00"), checkpoint_ref=course.checkpoint_ref)
        assert caught.value.errors == {"checkpoint": "checkpoint_wrong_kind"}
    online = make_course(db, mode="online")
    assert online.checkpoint_id is None


def test_attendance_scan_is_presence_evidence(db, vault, programme, class_scanner):
    enterprise = make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, starts_on=day(11), ends_on=day(20))
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    enrol(db, programme, course, worker, at("2021-02-08 09:00"))
    staff = class_scanner(course)
    first = scan(db, vault, programme, staff, worker, at("2021-02-12 09:00"))
    assert (first.result, first.reason, first.is_evidence) == (ScanResult.ACCEPTED, "attendance_recorded", True)
    assert first.subject["course"] == course.title and first.subject["name"] == "测**人"
    again = scan(db, vault, programme, staff, worker, at("2021-02-12 14:00"))
    assert again.result is ScanResult.ACCEPTED and again.details["first_today"] is False
    assert db.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 1
    statuses = window_statuses(db, programme, [worker.id], at("2021-02-13 09:00"))[worker.id]
    assert [s.satisfied for s in statuses] == [False, True, False]


def test_attendance_refusals_and_walk_ins(db, vault, programme, class_scanner):
    enterprise = make_enterprise(db, vault)
    course = make_course(db, enterprise=enterprise, class_hours=8, starts_on=day(11), ends_on=day(13), capacity="1",
                         sessions="2021-02-11 4; 2021-02-13 4")
    staff = class_scanner(course)
    outsider = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault))
    refused = scan(db, vault, programme, staff, outsider, at("2021-02-11 09:00"))
    assert (refused.result, refused.reason, refused.is_evidence) == (ScanResult.REJECTED, "not_enrolled", False)
    walk_in = make_worker(db, vault, programme, enterprise=enterprise)
    accepted = scan(db, vault, programme, staff, walk_in, at("2021-02-11 09:05"))
    assert accepted.reason == "attendance_recorded"
    assert db.scalar(sa.select(Enrolment.enrolled_via).where(Enrolment.worker_id == walk_in.id)) == "door"
    full = scan(db, vault, programme, staff, make_worker(db, vault, programme, enterprise=enterprise),
                at("2021-02-11 09:10"))
    assert full.reason == "course_full"
    too_early = scan(db, vault, programme, staff, walk_in, at("2021-02-10 23:59"))
    assert (too_early.reason, too_early.details["ends_on"]) == ("no_class_today", "2021-02-13")
    no_session = scan(db, vault, programme, staff, walk_in, at("2021-02-12 09:00"))  # inside the dates, no class
    assert (no_session.result, no_session.reason, no_session.is_evidence) == (ScanResult.REJECTED, "no_class_today",
                                                                             False)
    assert scan(db, vault, programme, staff, walk_in, at("2021-02-13 09:00")).reason == "attendance_recorded"


def test_attendance_through_the_scan_api(client, db, vault, programme, class_scanner):
    from wzcheckin import clock

    today = programme.local_date(clock.now())
    course = make_course(db, class_hours=6, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1))
    worker = make_worker(db, vault, programme)
    token = issue_api_token(db, class_scanner(course), clock.now())
    db.commit()
    pass_token = current_pass(worker, load_keyring(db, vault), programme, clock.now()).token
    response = client.post("/api/v1/scans", json={"token": pass_token, "scan_id": "training-scan-0001"},
                           headers={"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN"})
    body = response.get_json()
    assert response.status_code == 200 and body["result"] == "accepted" and body["reason"] == "attendance_recorded"
    db.rollback()
    assert db.scalar(sa.select(Scan.is_evidence).where(Scan.scan_id == "training-scan-0001")) is True


# --- completions and pages -------------------------------------------------------------------------

def test_completion_upload_is_all_or_nothing(client, db, vault, programme, login_as, set_clock):
    from tests.builders import make_user

    enterprise = make_enterprise(db, vault)
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN,
                      checkpoint=db.scalar(sa.select(Checkpoint).where(Checkpoint.ref == enterprise.gate_ref)))
    course = make_course(db, enterprise=enterprise, mode="online", starts_on=day(1), ends_on=day(28))
    employee = make_worker(db, vault, programme, enterprise=enterprise)
    outsider = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault))
    db.commit()
    ids = {w.id: vault.decrypt(w.id_number_encrypted) for w in (employee, outsider)}
    set_clock("2021-03-05 10:00")
    login_as(admin)
    url = f"/enterprise/training/courses/{course.code}"

    def upload(text):
        token = csrf_token_from(client.get(url).text)
        return client.post(url + "/completions",
                           data={"csrf_token": token, "file": (io.BytesIO(text.encode()), "c.csv")},
                           content_type="multipart/form-data")

    bad = upload("id_number,completed_on\n" + "\n".join([
        f"{ids[employee.id]},2021-02-20", f"{ids[outsider.id]},2021-02-20", "110105194912310021,2021-02-20",
        f"{ids[employee.id]},2021-13-01"]) + "\n")
    assert bad.status_code == 400
    assert all(f"第 {n} 行：" in bad.text for n in (3, 4, 5)) and "第 2 行：" not in bad.text  # the line, in Chinese
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0
    good = upload(f"id_number,completed_on\n{ids[employee.id]},2021-02-28\n")
    assert good.status_code == 302
    db.rollback()
    assert db.scalar(sa.select(Enrolment.completed_on)) == date(2021, 2, 28)
    set_clock("2021-04-01 08:00")  # after the claim deadline: refused, nothing changes
    late = upload(f"id_number,completed_on\n{ids[employee.id]},2021-02-27\n")
    assert late.status_code == 409 and "2021-03-31" in late.text
    db.rollback()
    assert db.scalar(sa.select(Enrolment.completed_on)) == date(2021, 2, 28)


def test_enterprise_claims_and_an_official_reviews_through_the_pages(client, db, vault, programme, login_as,
                                                                     hr_official, audit_entries, set_clock):
    official = hr_official  # 人社局: the training desk and wage complaints are its own
    from tests.builders import make_user

    enterprise, other = make_enterprise(db, vault), make_enterprise(db, vault)
    gate = db.scalar(sa.select(Checkpoint).where(Checkpoint.ref == enterprise.gate_ref))
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=gate)
    course = make_course(db, enterprise=enterprise, class_hours=16, starts_on=day(12), ends_on=day(13))
    theirs = make_course(db, enterprise=other)
    attend(db, enrol_directly(db, course, make_worker(db, vault, programme, enterprise=enterprise)), day(12))
    db.commit()
    set_clock("2021-03-02 10:00")
    login_as(admin)
    page = client.get("/enterprise/training")
    assert page.status_code == 200 and "<strong>200 ¥</strong>" in page.text  # 8 h × 25 ¥
    assert client.get(f"/enterprise/training/courses/{theirs.code}").status_code == 404
    assert client.get(f"/enterprise/training/courses/{theirs.code}/edit").status_code == 404
    assert client.post("/enterprise/training/claim", data={"csrf_token": csrf_token_from(page.text)}).status_code == 302
    [submitted] = audit_entries("training.claim_submit")
    assert submitted.details == {"amount_fen": 20000}
    claim_id = int(submitted.target_id)

    login_as(official)
    review = client.get(f"/admin/benefits/training/claims/{claim_id}")
    assert review.status_code == 200 and enterprise.name in review.text
    token = csrf_token_from(review.text)
    # Approving is the review queue's (signals acknowledged, a second official above the amount).
    sent = client.post(f"/admin/benefits/training/claims/{claim_id}", data={"csrf_token": token, "decision": "approve"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/official/review/P6/{claim_id}")
    assert audit_entries("training.claim_approve") == []
    no_reason = client.post(f"/admin/benefits/training/claims/{claim_id}", data={"csrf_token": token,
                                                                                 "decision": "reject"})
    assert no_reason.status_code == 200 and "请填写理由" in no_reason.text
    done = client.post(f"/admin/benefits/training/claims/{claim_id}", data={"csrf_token": token,
                                                                            "decision": "reject", "reason": "缺签到表"})
    assert done.status_code == 302
    assert audit_entries("training.claim_reject")[0].details["reason"] == "缺签到表"
    login_as(admin)
    assert "缺签到表" in client.get("/enterprise/training").text


def test_courses_are_created_in_pages_and_imported_from_csv(app, client, db, vault, programme, login_as, hr_official,
                                                            runner, tmp_path, audit_entries):
    """Offline courses carry their class sessions (the form's field, the file's optional
    ``sessions`` column); a file without the column still imports online courses."""
    official = hr_official  # 人社局: the training desk and wage complaints are its own
    enterprise = make_enterprise(db, vault)
    db.commit()
    login_as(official)
    form = client.get("/admin/benefits/training/courses/new")
    bad = client.post("/admin/benefits/training/courses/new", data={"csrf_token": csrf_token_from(form.text),
                                                                     "code": "X", "mode": "offline"})
    assert bad.status_code == 400 and "此项必填" in bad.text
    ok = client.post("/admin/benefits/training/courses/new", data={
        "csrf_token": csrf_token_from(form.text), "code": "WZ-WELD-1", "title": "焊工", "mode": "offline",
        "provider": "温州技师学院", "class_hours": "40", "cost_yuan": "800", "credit_code": enterprise.credit_code,
        "district": "瓯海区", "address": "娄桥", "starts_on": "2021-02-15", "ends_on": "2021-02-19",
        "sessions": "2021-02-15 8\n2021-02-16 8\n2021-02-17 8\n2021-02-18 8\n2021-02-19 8"})
    assert ok.status_code == 302 and audit_entries("training.course_create")[0].target_id == "WZ-WELD-1"
    db.rollback()
    assert [(s.day.day, s.class_hours) for s in course_sessions(db, find_course(db, "WZ-WELD-1").id)] \
        == [(15, 8), (16, 8), (17, 8), (18, 8), (19, 8)]
    edit = client.get("/admin/benefits/training/courses/WZ-WELD-1/edit").text
    assert "2021-02-19 8" in edit

    path = tmp_path / "courses.csv"
    header = ",".join((*COURSE_COLUMNS, "sessions"))
    path.write_text(f"\ufeff{header}\nWZ-WELD-1,焊工（更新）,offline,温州技师学院,48,800,{enterprise.credit_code},瓯海区,娄桥,"
                    f"2021-02-15,2021-02-20,,2021-02-15 8;2021-02-16 8;2021-02-17 8;2021-02-18 8;2021-02-19 8;2021-02-20 8\n"
                    f"CITY-2,电工,offline,市培训中心,8,0,,鹿城区,人民路,2021-02-12,2021-02-12,30,2021-02-12 8\n",
                    encoding="utf-8")
    result = runner.invoke(args=["import", "courses", str(path)])
    assert result.exit_code == 0, result.output
    assert '"created": 1, "updated": 1' in result.output
    db.rollback()
    assert find_course(db, "WZ-WELD-1").class_hours == 48
    assert db.scalar(sa.select(Checkpoint.kind).where(Checkpoint.ref == "training:CITY-2")) is CheckpointKind.TRAINING
    path.write_text(f"{header}\nCITY-3,,online,x,1,1,,,,2021-02-12,2021-02-12,,\nWZ-WELD-1,焊工,online,x,1,1,,,,"
                    f"2021-02-12,2021-02-12,,\n", encoding="utf-8")
    failed = runner.invoke(args=["import", "courses", str(path)])
    assert failed.exit_code == 1 and "line 2: title: required" in failed.output and "line 3: mode" in failed.output
    db.rollback()
    assert find_course(db, "CITY-3") is None
    old_header = ",".join(COURSE_COLUMNS)  # a file from before sessions: online lines import
    path.write_text(f"{old_header}\nCITY-4,在线课,online,x,4,0,,,,2021-02-12,2021-02-20,\n"
                    f"CITY-5,电工,offline,x,8,0,,鹿城区,人民路,2021-02-12,2021-02-12,\n", encoding="utf-8")
    with app.app_context():
        old = runner.invoke(args=["import", "courses", str(path)])
    assert old.exit_code == 1 and "line 3: sessions: required" in old.output and "line 2" not in old.output


def test_workers_browse_and_enrol_on_a_phone_page(client, db, vault, programme, login_as):
    from wzcheckin import clock

    today = programme.local_date(clock.now())
    worker = make_worker(db, vault, programme)
    course = make_course(db, starts_on=today, ends_on=today + timedelta(days=3))
    hidden = make_course(db, enterprise=make_enterprise(db, vault), class_hours=8, starts_on=today, ends_on=today)
    db.commit()
    login_as(worker.user)
    listing = client.get("/training")
    assert course.title in listing.text and hidden.title not in listing.text
    assert client.get(f"/training/{hidden.code}").status_code == 404
    page = client.get(f"/training/{course.code}")
    assert client.post(f"/training/{course.code}/enrol",
                       data={"csrf_token": csrf_token_from(page.text)}).status_code == 302
    assert "已报名" in client.get(f"/training/{course.code}").text
    api = client.get("/api/v1/courses").get_json()["courses"]
    assert [c["code"] for c in api] == [course.code] and api[0]["enrolled"] == 1


def test_the_enterprise_attaches_an_invoice_and_an_official_approves_the_cost_through_the_pages(
        client, db, vault, programme, login_as, hr_official, audit_entries, set_clock):
    official = hr_official  # 人社局: the training desk and wage complaints are its own
    from tests.builders import make_user

    enterprise = make_enterprise(db, vault)
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN,
                      checkpoint=db.scalar(sa.select(Checkpoint).where(Checkpoint.ref == enterprise.gate_ref)))
    course = make_course(db, enterprise=enterprise, mode="online", cost_yuan="100000", starts_on=day(1),
                         ends_on=day(28))
    for _ in range(2):
        enrol_directly(db, course, make_worker(db, vault, programme, enterprise=enterprise), completed_on=day(20))
    db.commit()
    set_clock("2021-03-02 10:00")
    login_as(admin)
    url = f"/enterprise/training/courses/{course.code}"
    page = client.get(url)
    assert 'id="invoice-upload"' in page.text and "发票" in page.text

    def attach(data: bytes, cost="100000"):
        return client.post(url + "/invoice", content_type="multipart/form-data", data={
            "csrf_token": csrf_token_from(page.text), "invoice_no": "04400211", "amount_yuan": "200000",
            "cost_yuan": cost, "file": (io.BytesIO(data), "invoice.pdf")})

    html_file = attach(b"<html><body>not an invoice</body></html>")
    assert html_file.status_code == 422 and "PDF" in html_file.text
    assert attach(PDF_BYTES).status_code == 302
    [uploaded] = audit_entries("training.invoice_upload")
    invoice_id = int(uploaded.target_id)
    assert client.get(f"/admin/benefits/training/invoices/{invoice_id}").status_code == 403  # not an official
    assert "<strong>0 ¥</strong>" in client.get("/enterprise/training").text  # nothing until approved

    login_as(official)
    roster = client.get(f"/admin/benefits/training/courses/{course.code}")
    assert 'id="invoice-review"' in roster.text
    download = client.get(f"/admin/benefits/training/invoices/{invoice_id}")
    assert download.status_code == 200 and download.data == PDF_BYTES and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert len(audit_entries("training.invoice_view")) == 1
    token = csrf_token_from(roster.text)
    above = client.post(f"/admin/benefits/training/invoices/{invoice_id}",
                        data={"csrf_token": token, "decision": "approve", "cost_yuan": "100000.01"})
    assert above.status_code == 422 and 'id="invoice-review"' in above.text
    done = client.post(f"/admin/benefits/training/invoices/{invoice_id}",
                       data={"csrf_token": token, "decision": "approve", "cost_yuan": "100000"})
    assert done.status_code == 302
    assert audit_entries("training.invoice_approve")[0].details["approved_fen"] == 10_000_000

    login_as(admin)
    # 2 completions × 95 % of min(100,000 ¥ approved, 1,000 ¥ cap) = 1,900 ¥, not 190,000 ¥.
    assert "<strong>1,900 ¥</strong>" in client.get("/enterprise/training").text
