"""Benefits room, API: the worker's data bonus (SPEC §6: ``POST /api/v1/me/data-bonus`` → 201, or
409 ``already_claimed``), points, courses, poster check-ins, complaints, the services directory,
and the carriers' claims (export and results, for integration)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field, ValidationError

from wzcheckin import clock
from wzcheckin.api import api_route
from wzcheckin.api.shapes import (
    CsvText,
    Day,
    ErrorBody,
    Instant,
    QueryModel,
    Refuse,
    RequestModel,
    Shape,
    choice,
)
from wzcheckin.benefits import activities as acts
from wzcheckin.benefits import data_bonus as bonus
from wzcheckin.benefits import directory, rights
from wzcheckin.benefits.attendance import enrol
from wzcheckin.benefits.courses import CODE_PATTERN, courses_for_worker, enrolment_counts, find_course
from wzcheckin.benefits.errors import BenefitRefused, refusal_message
from wzcheckin.benefits.home import data_bonus_standing
from wzcheckin.benefits.models import ClaimStatus, ComplaintStatus, CourseMode, ServiceKind
from wzcheckin.benefits.money import fen_to_yuan
from wzcheckin.benefits.points import points_balance, points_history
from wzcheckin.codes.context import current_keyring
from wzcheckin.core import context
from wzcheckin.core.api_errors import ApiError, refusal_error
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import current_worker
from wzcheckin.core.csv_import import CsvFormatError, read_text
from wzcheckin.core.refusals import Refusal
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db

MAX_CSV_BYTES = 5 * 1024 * 1024
COURSE_MODES = ["online", "offline"]
SERVICE_KINDS = ["canteen", "market", "shop", "childcare", "bus"]
CLAIM_STATUSES = ["pending", "fulfilled", "failed"]


def _message(code: str):
    return lambda: refusal_message(code)


def _one_of(name: str, values: list[str]) -> Refuse:
    return Refuse(f"invalid_{name}", lambda: _("%(name)s: one of %(values)s", name=name, values=", ".join(values)))


ModeFilter = choice(COURSE_MODES, _one_of("mode", COURSE_MODES))
KindFilter = choice(SERVICE_KINDS, _one_of("kind", SERVICE_KINDS))
StatusFilter = choice(CLAIM_STATUSES, _one_of("status", CLAIM_STATUSES))


class CourseQuery(QueryModel):
    district: str | None = None
    mode: ModeFilter = None


class ServiceQuery(QueryModel):
    district: str | None = None
    kind: KindFilter = None


class ClaimQuery(QueryModel):
    status: StatusFilter = None


class ExportQuery(QueryModel):
    only_new: Annotated[str | None, Field(description="1, true or yes: only the claims not exported before")] = None


class CarrierRequest(RequestModel):
    """The carrier of a data-bonus claim; absent or null: derived from the phone number."""

    carrier: Annotated[Literal[bonus.CARRIERS] | None, Refuse("carrier_unknown", _message("carrier_unknown"))] = None


class ClaimOut(Shape):
    """The worker's data-bonus claim. Not claimed and not claimable now: ``blocked_by`` names the
    refusal a claim would get."""

    status: Literal["not_claimed", "pending", "fulfilled", "failed", "not_eligible"]
    id: int | None = None
    carrier: str | None = None
    carrier_derived: str | None = None  # the carrier the number suggested, when one was chosen
    gigabytes: int | None = None
    phone: str | None = None  # masked
    claimed_at: Instant | None = None
    resolved_at: Instant | None = None
    reason: str | None = None
    blocked_by: Literal["claim_not_open", "claim_window_closed", "departed"] | None = None


class PointsEntry(Shape):
    amount: int
    reason: str
    description: str | None
    source: str | None
    at: Instant


class Points(Shape):
    balance: int
    entries: list[PointsEntry]


class CourseOut(Shape):
    code: str
    title: str
    mode: CourseMode
    provider: str | None
    class_hours: int
    cost_per_person_yuan: str
    enterprise: str | None
    district: str | None
    address: str | None
    starts_on: Day
    ends_on: Day
    capacity: int | None
    enrolled: int | None


class Courses(Shape):
    courses: list[CourseOut]


class Enrolled(Shape):
    course: str
    enrolled_at: Instant


class PosterCheckinRequest(RequestModel):
    token: Annotated[str, Refuse("poster_invalid", _message("poster_invalid"))]


class CheckedIn(Shape):
    activity: str
    title: str
    gift: str | None
    checked_in_at: Instant


class ComplaintRequest(RequestModel):
    """A wage-arrears complaint. Every field's value is checked by the domain (``rights.file_complaint``),
    which names each bad one; a value of the wrong JSON type is refused alike (422 ``invalid``)."""

    credit_code: str | None = None
    employer_name: str | None = None
    months: int | str
    amount_yuan: str | float | int
    description: str

    WRONG_TYPE: ClassVar[dict[str, str]] = {"months": "number_format", "amount_yuan": "amount_format"}

    @classmethod
    def refusal(cls, error: ValidationError) -> ApiError:
        errors = error.errors(include_url=False, include_context=False, include_input=False)
        if any(e["type"] == "extra_forbidden" for e in errors):
            return super().refusal(error)
        codes = {}
        for e in errors:
            name = str(e["loc"][0])
            codes.setdefault(name, "required" if e["type"] == "missing" else cls.WRONG_TYPE.get(name, "required"))
        return _invalid(BenefitRefused.fields(codes))

    def complaint_input(self) -> rights.ComplaintInput:
        return rights.ComplaintInput(**{name: "" if value is None else str(value)
                                        for name, value in self.model_dump().items()})


class ComplaintNote(Shape):
    at: Instant
    status: str | None
    note: str


class ComplaintOut(Shape):
    id: int
    employer: str | None
    months: int
    amount_yuan: str
    status: ComplaintStatus
    filed_at: Instant
    notes: list[ComplaintNote]


class Complaints(Shape):
    complaints: list[ComplaintOut]


class ServiceOut(Shape):
    kind: ServiceKind
    name: str
    district: str | None
    address: str | None
    hours: str | None
    contact: str | None
    opens_on: Day | None
    closes_on: Day | None
    notes: str | None


class Services(Shape):
    services: list[ServiceOut]


class CarrierClaim(Shape):
    id: int
    phone: str  # masked
    status: ClaimStatus
    gigabytes: int
    claimed_at: Instant
    exported_at: Instant | None


class CarrierClaims(Shape):
    counts: dict[str, int]
    claims: list[CarrierClaim]


class ResultsReport(Shape):
    fulfilled: int
    failed: int
    unchanged: int
    errors: list[str]


def _refused(refusal: Refusal) -> ApiError:
    return refusal_error(refusal, **({"why": refusal.params["why"]} if "why" in refusal.params else {}))


def _invalid(exc: Refusal) -> ApiError:
    return refusal_error(exc)


# --- the worker's data bonus and points ----------------------------------------------------------

@api_route("/me/data-bonus", methods=["POST"], roles=(Role.WORKER,), tag="worker",
           summary="Claim the data bonus once (carrier derived from the number unless given)",
           body=CarrierRequest, body_required=False,
           responses={201: ClaimOut, 403: ErrorBody, 409: ErrorBody, 422: ErrorBody})
def claim_data_bonus(body: CarrierRequest | None):
    carrier = body.carrier if body else None  # an empty POST: the carrier derived from the number
    worker = current_worker()
    try:
        with unit_of_work(db.session):
            claim = bonus.claim_data_bonus(db.session, context.vault(), context.programme(), worker, clock.now(),
                                           carrier=carrier)
            body = bonus.claim_json(claim)
    except BenefitRefused as refusal:
        raise _refused(refusal) from None
    response = jsonify(body)
    response.status_code = 201
    return response


@api_route("/me/data-bonus", methods=["GET"], roles=(Role.WORKER,), tag="worker",
           summary="The worker's data-bonus claim and its status", responses={200: ClaimOut})
def get_data_bonus():
    return jsonify(data_bonus_standing(db.session, current_worker(), context.programme(), clock.now()))


@api_route("/me/data-bonus", methods=["PATCH"], roles=(Role.WORKER,), tag="worker",
           summary="Correct the carrier of the claim (a ported number)", body=CarrierRequest, body_required=False,
           responses={200: ClaimOut, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody})
def change_data_bonus_carrier(body: CarrierRequest | None):
    carrier = body.carrier if body else None
    try:
        with unit_of_work(db.session):
            claim = bonus.change_carrier(db.session, current_worker(), carrier or "", clock.now())
            body = bonus.claim_json(claim)
    except BenefitRefused as refusal:
        raise _refused(refusal) from None
    return jsonify(body)


@api_route("/me/points", methods=["GET"], roles=(Role.WORKER,), tag="worker",
           summary="The worker's new-resident points: balance and history",
           responses={200: Points})
def my_points():
    worker = current_worker()
    return jsonify({
        "balance": points_balance(db.session, worker.id),
        "entries": [{"amount": e.amount, "reason": e.reason, "description": e.description, "source": e.source,
                     "at": e.created_at.isoformat()} for e in points_history(db.session, worker.id)],
    })


# --- training --------------------------------------------------------------------------------------

def _course_json(course, taken: int | None = None) -> dict:
    return {
        "code": course.code, "title": course.title, "mode": course.mode.value, "provider": course.provider,
        "class_hours": course.class_hours, "cost_per_person_yuan": fen_to_yuan(course.cost_per_person_fen),
        "enterprise": course.enterprise.name if course.enterprise else None, "district": course.district,
        "address": course.address, "starts_on": course.starts_on.isoformat(), "ends_on": course.ends_on.isoformat(),
        "capacity": course.capacity, "enrolled": taken,
    }


@api_route("/courses", methods=["GET"], roles=(Role.WORKER,), tag="training",
           summary="Courses the worker may join (filters: district, mode)",
           query=CourseQuery, responses={200: Courses})
def list_courses(query: CourseQuery):
    courses = courses_for_worker(db.session, current_worker(), context.programme(), clock.now(),
                                          district=query.district or None, mode=query.mode)
    taken = enrolment_counts(db.session, [c.id for c in courses])
    return jsonify({"courses": [_course_json(c, taken.get(c.id, 0)) for c in courses]})


@api_route("/courses/<code>/enrolment", methods=["POST"], roles=(Role.WORKER,), tag="training",
           summary="Enrol in a course",
           responses={201: Enrolled, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody})
def enrol_course(code: str):
    course = find_course(db.session, code) if CODE_PATTERN.match(code) else None
    worker = current_worker()
    if course is None or (course.enterprise_id is not None and course.enterprise_id != worker.enterprise_id):
        raise ApiError(404, "not_found")
    try:
        with unit_of_work(db.session):
            enrolment = enrol(db.session, context.programme(), course, worker, clock.now())
            body = {"course": course.code, "enrolled_at": enrolment.enrolled_at.isoformat()}
    except BenefitRefused as refusal:
        raise _refused(refusal) from None
    response = jsonify(body)
    response.status_code = 201
    return response


# --- activities ------------------------------------------------------------------------------------

@api_route("/me/checkins", methods=["POST"], roles=(Role.WORKER,), tag="activities",
           summary="Check in at an activity with a scanned poster code (or its link)",
           body=PosterCheckinRequest, responses={201: CheckedIn, 409: ErrorBody, 422: ErrorBody})
def poster_checkin(body: PosterCheckinRequest):
    token = body.token
    try:
        with unit_of_work(db.session):
            checkin = acts.poster_checkin(db.session, context.programme(), current_keyring(), current_worker(),
                                          token, clock.now())
            body = {"activity": checkin.activity.public_id, "title": checkin.activity.title,
                    "gift": checkin.activity.gift, "checked_in_at": checkin.checked_in_at.isoformat()}
    except BenefitRefused as refusal:
        raise _refused(refusal) from None
    response = jsonify(body)
    response.status_code = 201
    return response


# --- rights and services ---------------------------------------------------------------------------

def _complaint_json(complaint) -> dict:
    return {"id": complaint.id, "employer": complaint.employer_name, "months": complaint.months,
            "amount_yuan": fen_to_yuan(complaint.amount_fen), "status": complaint.status.value,
            "filed_at": complaint.filed_at.isoformat(),
            "notes": [{"at": n.at.isoformat(), "status": n.status, "note": n.note} for n in complaint.notes]}


@api_route("/me/complaints", methods=["GET"], roles=(Role.WORKER,), tag="rights",
           summary="The worker's wage-arrears complaints and their status",
           responses={200: Complaints})
def my_complaints_api():
    return jsonify({"complaints": [_complaint_json(c) for c in rights.worker_complaints(db.session,
                                                                                         current_worker().id)]})


@api_route("/me/complaints", methods=["POST"], roles=(Role.WORKER,), tag="rights",
           summary="File a wage-arrears complaint",
           body=ComplaintRequest, responses={201: ComplaintOut, 422: ErrorBody})
def file_complaint_api(body: ComplaintRequest):
    data = body.complaint_input()
    try:
        with unit_of_work(db.session):
            complaint = rights.file_complaint(db.session, current_worker(), data, clock.now())
            result = _complaint_json(complaint)
    except Refusal as exc:
        raise _invalid(exc) from None
    response = jsonify(result)
    response.status_code = 201
    return response


@api_route("/services", methods=["GET"], roles=None, tag="services",
           summary="Services open over the festival (filters: district, kind)",
           query=ServiceQuery, responses={200: Services})
def services_api(query: ServiceQuery):
    listings = directory.browse_services(db.session, district=query.district or None, kind=query.kind)
    return jsonify({"services": [{
        "kind": s.kind.value, "name": s.name, "district": s.district, "address": s.address, "hours": s.hours,
        "contact": s.contact, "opens_on": s.opens_on.isoformat() if s.opens_on else None,
        "closes_on": s.closes_on.isoformat() if s.closes_on else None, "notes": s.notes} for s in listings]})


# --- carriers --------------------------------------------------------------------------------------

def _carrier() -> str:
    if current_user.carrier not in bonus.CARRIERS:
        raise ApiError(403, "forbidden")
    return current_user.carrier


@api_route("/carrier/claims", methods=["GET"], roles=(Role.CARRIER,), tag="carriers",
           summary="The carrier's own claims (masked), by status",
           query=ClaimQuery, responses={200: CarrierClaims})
def carrier_claims_api(query: ClaimQuery):
    carrier = _carrier()
    status = ClaimStatus(query.status) if query.status else None
    claims = bonus.carrier_claims(db.session, carrier, status=status, limit=1000)
    return jsonify({"counts": bonus.carrier_counts(db.session, carrier), "claims": [
        {"id": c.id, "phone": c.phone_masked, "status": c.status.value, "gigabytes": c.gigabytes,
         "claimed_at": c.claimed_at.isoformat(), "exported_at": c.exported_at.isoformat() if c.exported_at else None}
        for c in claims]})


@api_route("/carrier/claims/export", methods=["POST"], roles=(Role.CARRIER,), tag="carriers",
           summary="Pending claims as CSV with full phone numbers (audited)",
           query=ExportQuery, responses={200: CsvText}, response_media_type="text/csv")
def carrier_export_api(query: ExportQuery):
    carrier = _carrier()
    now = clock.now()
    only_new = query.only_new in {"1", "true", "yes"}
    with unit_of_work(db.session):
        export = bonus.export_pending(db.session, context.vault(), carrier, now, only_new=only_new,
                                    timezone=context.programme().tz)
        record_audit(db.session, at=now, actor=current_user._get_current_object(), action="data_bonus.export",
                     target_type="carrier", target_id=carrier, ip=request.remote_addr,
                     details={"claims": len(export.claim_ids), "revealed": ["phone"], "only_new": only_new,
                              "api": True})
    response = Response(export.csv_text.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    return response


@api_route("/carrier/claims/results", methods=["POST"], roles=(Role.CARRIER,), tag="carriers",
           summary="Upload results (text/csv: claim_id,result,reason); all or nothing",
           body=CsvText, request_media_type="text/csv",
           responses={200: ResultsReport, 422: ErrorBody}, max_body_bytes=MAX_CSV_BYTES)
def carrier_results_api():
    carrier = _carrier()
    if request.content_length is not None and request.content_length > MAX_CSV_BYTES:
        raise ApiError(413, "too_large")
    if request.mimetype != "text/csv":
        raise ApiError(415, "unsupported_media_type", _("Send the results as text/csv."))

    try:
        text = read_text(request.get_data(cache=False))
    except CsvFormatError as exc:
        raise ApiError(422, "bad_file", _("The file cannot be read: %(problem)s", problem=exc.localised())) from None
    now = clock.now()
    actor = current_user._get_current_object()

    class _Rejected(Exception):
        pass

    try:
        with unit_of_work(db.session):
            report = bonus.apply_results(db.session, carrier, text, now, actor=actor)
            if not report.ok:
                raise _Rejected
            record_audit(db.session, at=now, actor=actor, action="data_bonus.results", target_type="carrier",
                         target_id=carrier, ip=request.remote_addr,
                         details={"fulfilled": report.fulfilled, "failed": report.failed, "api": True})
    except _Rejected:
        raise ApiError(422, "bad_lines", _("Nothing was changed: the file has bad lines."),
                       lines=[str(error) for error in report.errors]) from None
    except CsvFormatError as exc:
        raise ApiError(422, "bad_file", _("The file cannot be read: %(problem)s", problem=exc.localised())) from None
    return jsonify(report.as_dict())
