"""Residence room, API: a worker's departure; the enterprise's retention figures and subsidy
application; the officials' snapshot and headcounts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import Field, PlainValidator, RootModel

from wzcheckin import clock
from wzcheckin.api import api_route
from wzcheckin.api.shapes import Day, ErrorBody, Instant, PydanticCustomError, Refuse, RequestModel, Shape
from wzcheckin.core import context
from wzcheckin.core.api_errors import ApiError
from wzcheckin.core.auth import current_enterprise, current_worker
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.residence import queries
from wzcheckin.residence.appeals import file_worker_appeal, worker_appeals
from wzcheckin.residence.departures import MAX_NOTE_LENGTH, active_departure, record_departure, withdraw_departure
from wzcheckin.residence.errors import ResidenceError, error_message
from wzcheckin.residence.models import AppealKind, AppealStatus, ApplicationStatus, SnapshotKind
from wzcheckin.residence.subsidies import application_of, apply_for_subsidy, headcount_of, official_snapshot

MAX_APPEAL_REASON = 1000  # residence.appeals.MAX_REASON_LENGTH (that module is imported late)

CONFLICTS = {"already_departed", "cutoff_passed", "no_departure", "already_applied", "not_qualified", "no_snapshot",
             "appeal_window_closed", "nothing_to_appeal", "already_open"}

def _day(value: object) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise PydanticCustomError("invalid_date", "a date as YYYY-MM-DD") from None


def _message(code: str):
    return lambda: error_message(code)


class DepartureRequest(RequestModel):
    departed_on: Annotated[date, PlainValidator(_day, json_schema_input_type=date),
                           Refuse("invalid_date", _l("departed_on: a date as YYYY-MM-DD"))]
    note: Annotated[str | None, Field(max_length=MAX_NOTE_LENGTH), Refuse(
        "invalid_note", _l("note: a string"),
        by_type={"string_too_long": Refuse("note_too_long", _message("note_too_long"))})] = None


class DepartureOut(Shape):
    departed_on: Day
    note: str | None = None
    recorded_at: Instant
    recorded_by: str | None = None


class ApplicationOut(Shape):
    id: int
    status: ApplicationStatus
    amount_yuan: int
    applied_at: Instant
    decision_reason: str | None
    paid_at: Instant | None


class RetentionPreview(Shape):
    """Before the cutoff: the projected headcount and tier."""

    stage: Literal["preview"]
    as_of: Instant
    cutoff: Instant
    roster: int
    projected_retained: int
    projected_tier: int
    projected_amount_yuan: int
    needs_scan_now: int
    not_on_roster: int
    by_reason: dict[str, int]


class RetentionPending(Shape):
    """After the cutoff, before its snapshot is written."""

    stage: Literal["pending"]
    cutoff: Instant


class RetentionFigures(Shape):
    """The official snapshot's figures and the subsidy application."""

    stage: Literal["snapshot"]
    snapshot_id: int
    as_of: Instant
    roster: int
    retained: int
    tier: int
    amount_yuan: int
    application: ApplicationOut | None


class Retention(RootModel[Annotated[RetentionPreview | RetentionPending | RetentionFigures,
                                    Field(discriminator="stage")]]):
    """The enterprise's retention figures: ``stage`` says which."""


class SubsidyApplicationOut(Shape):
    id: int
    status: ApplicationStatus
    retained: int
    tier: int
    amount_yuan: int


class SnapshotOut(Shape):
    id: int
    kind: SnapshotKind
    as_of: Instant
    completed_at: Instant | None
    summary: dict[str, Any] | None


class SnapshotSummary(Shape):
    cutoff: Instant
    snapshot: SnapshotOut | None


class HeadcountOut(Shape):
    credit_code: str
    name: str
    ownership: str
    retained: int
    tier: int
    amount_yuan: int


class Headcounts(RootModel[list[HeadcountOut]]):
    """Per-enterprise headcounts of the latest snapshot."""


def _raise(error: ResidenceError):
    status = 409 if error.code in CONFLICTS else 422
    raise ApiError(status, error.code, error.message)


def _departure_json(departure) -> dict:
    return {"departed_on": departure.departed_on.isoformat(), "note": departure.note,
            "recorded_at": departure.recorded_at.isoformat(), "recorded_by": departure.recorded_by_role}


@api_route("/me/departure", methods=["POST"], roles=(Role.WORKER,), tag="worker",
           summary="Record that the worker left Wenzhou (closes at the cutoff)",
           body=DepartureRequest, responses={201: DepartureOut, 409: ErrorBody, 422: ErrorBody})
def residence_post_departure(body: DepartureRequest):
    departed_on, note = body.departed_on, body.note or ""
    try:
        with unit_of_work(db.session):
            departure = record_departure(db.session, context.programme(), worker=current_worker(),
                                         departed_on=departed_on, note=note, actor=current_user, now=clock.now(),
                                         ip=request.remote_addr)
            result = _departure_json(departure)
    except ResidenceError as error:
        _raise(error)
    return jsonify(result), 201


@api_route("/me/departure", methods=["DELETE"], roles=(Role.WORKER,), tag="worker",
           summary="Withdraw the worker's recorded departure (before the cutoff)",
           responses={204: None, 409: ErrorBody})
def residence_delete_departure():
    try:
        with unit_of_work(db.session):
            withdraw_departure(db.session, context.programme(), worker=current_worker(), actor=current_user,
                               now=clock.now(), ip=request.remote_addr)
    except ResidenceError as error:
        _raise(error)
    return "", 204


@api_route("/me/departure", methods=["GET"], roles=(Role.WORKER,), tag="worker",
           summary="The worker's recorded departure, or 404",
           responses={200: DepartureOut, 404: ErrorBody})
def residence_get_departure():
    departure = active_departure(db.session, current_worker().id)
    if departure is None:
        raise ApiError(404, "no_departure", ResidenceError("no_departure").message)
    return jsonify(_departure_json(departure))


@api_route("/enterprise/retention", methods=["GET"], roles=(Role.ENTERPRISE_ADMIN,), tag="enterprise",
           summary="Before the cutoff: the projected headcount and tier; after: the snapshot's figures and the "
                   "subsidy application", responses={200: Retention})
def residence_enterprise_retention():
    enterprise = current_enterprise()
    programme = context.programme()
    now = clock.now()
    if now < programme.cutoff:
        preview = queries.enterprise_preview(db.session, programme, enterprise, now)
        return jsonify({
            "stage": "preview", "as_of": preview.as_of.isoformat(), "cutoff": programme.cutoff.isoformat(),
            "roster": preview.roster, "projected_retained": preview.on_track, "projected_tier": preview.tier,
            "projected_amount_yuan": preview.amount_yuan, "needs_scan_now": preview.needs_scan_now,
            "not_on_roster": preview.unconfirmed_employment, "by_reason": preview.by_reason,
        })
    snapshot = official_snapshot(db.session, programme)
    if snapshot is None:
        return jsonify({"stage": "pending", "cutoff": programme.cutoff.isoformat()})
    figures = headcount_of(db.session, snapshot, enterprise.id)
    application = application_of(db.session, snapshot, enterprise.id)
    return jsonify({
        "stage": "snapshot", "snapshot_id": snapshot.id, "as_of": snapshot.as_of.isoformat(),
        "roster": figures.roster if figures else 0, "retained": figures.retained if figures else 0,
        "tier": figures.tier if figures else 0, "amount_yuan": figures.amount_yuan if figures else 0,
        "application": None if application is None else {
            "id": application.id, "status": application.status.value, "amount_yuan": application.amount_yuan,
            "applied_at": application.applied_at.isoformat(), "decision_reason": application.decision_reason or None,
            "paid_at": application.paid_at.isoformat() if application.paid_at else None,
        },
    })


@api_route("/enterprise/subsidy-application", methods=["POST"], roles=(Role.ENTERPRISE_ADMIN,), tag="enterprise",
           summary="Apply for the P7 retention subsidy with the official snapshot's figures (409 already_applied, "
                   "not_qualified, no_snapshot)",
           responses={201: SubsidyApplicationOut, 409: ErrorBody})
def residence_post_subsidy_application():
    enterprise = current_enterprise()
    try:
        with unit_of_work(db.session):
            application = apply_for_subsidy(db.session, context.programme(), enterprise=enterprise,
                                            actor=current_user, now=clock.now(), ip=request.remote_addr)
            result = {"id": application.id, "status": application.status.value, "retained": application.retained,
                      "tier": application.tier, "amount_yuan": application.amount_yuan}
    except ResidenceError as error:
        _raise(error)
    return jsonify(result), 201


@api_route("/residence/snapshot", methods=["GET"], roles=(Role.OFFICIAL,), tag="residence",
           summary="The latest snapshot's summary (null before the cutoff has run)", responses={200: SnapshotSummary})
def residence_snapshot_summary():
    programme = context.programme()
    snapshot = queries.latest_snapshot(db.session, programme)
    body = {"cutoff": programme.cutoff.isoformat(), "snapshot": None}
    if snapshot is not None:
        body["snapshot"] = {"id": snapshot.id, "kind": snapshot.kind.value, "as_of": snapshot.as_of.isoformat(),
                            "completed_at": snapshot.completed_at.isoformat() if snapshot.completed_at else None,
                            "summary": snapshot.summary}
    return jsonify(body)


@api_route("/residence/headcounts", methods=["GET"], roles=(Role.OFFICIAL,), tag="residence",
           summary="The latest snapshot's per-enterprise headcounts (404 no_snapshot before the cutoff has run)",
           responses={200: Headcounts})
def residence_snapshot_headcounts():
    snapshot = queries.latest_snapshot(db.session, context.programme())
    if snapshot is None:
        raise ApiError(404, "no_snapshot", ResidenceError("no_snapshot").message)
    return jsonify([{"credit_code": row.credit_code, "name": row.name, "ownership": row.ownership,
                     "retained": row.retained, "tier": row.tier, "amount_yuan": row.amount_yuan}
                    for row in queries.iter_headcounts(db.session, snapshot.id)])


class AppealRequest(RequestModel):
    reason: Annotated[str, Field(min_length=1, max_length=MAX_APPEAL_REASON), Refuse(
        "appeal_reason_required", _message("appeal_reason_required"),
        by_type={"string_too_long": Refuse("appeal_reason_too_long", _message("appeal_reason_too_long"))})]


class AppealOut(Shape):
    id: int
    kind: AppealKind
    status: AppealStatus
    reason: str
    appealed_reason: str | None
    filed_at: Instant
    decided_at: Instant | None
    decision_reason: str | None


class Appeals(RootModel[list[AppealOut]]):
    """The worker's appeals, newest first."""


def _my_appeal_json(appeal) -> dict:
    return {"id": appeal.id, "kind": appeal.kind.value, "status": appeal.status.value, "reason": appeal.reason,
            "appealed_reason": appeal.appealed_reason, "filed_at": appeal.filed_at.isoformat(),
            "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
            "decision_reason": appeal.decision_reason or None}


@api_route("/me/appeals", methods=["POST"], roles=(Role.WORKER,), tag="worker",
           summary="Appeal the cutoff's decision, within the appeal window (409 appeal_window_closed, "
                   "nothing_to_appeal, already_open)",
           body=AppealRequest, responses={201: AppealOut, 409: ErrorBody, 422: ErrorBody})
def residence_post_appeal(body: AppealRequest):
    reason = body.reason
    try:
        with unit_of_work(db.session):
            appeal = file_worker_appeal(db.session, context.programme(), worker=current_worker(), reason=reason,
                                        actor=current_user, now=clock.now(), ip=request.remote_addr)
            result = _my_appeal_json(appeal)
    except ResidenceError as error:
        _raise(error)
    return jsonify(result), 201


@api_route("/me/appeals", methods=["GET"], roles=(Role.WORKER,), tag="worker",
           summary="The worker's appeals, newest first, with their decisions",
           responses={200: Appeals})
def residence_get_appeals():
    return jsonify([_my_appeal_json(appeal) for appeal in worker_appeals(db.session, current_worker().id)])
