"""Residence room, API: a worker's departure; the enterprise's retention figures and subsidy
application; the officials' snapshot and headcounts."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.accounts.models import Role
from wzcheckin.api import api_route, json_body
from wzcheckin.api.errors import ApiError
from wzcheckin.api.openapi import ERROR_SCHEMA
from wzcheckin.core import context
from wzcheckin.core.auth import current_enterprise, current_worker
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.residence import queries
from wzcheckin.residence.appeals import file_worker_appeal, worker_appeals
from wzcheckin.residence.departures import active_departure, record_departure, withdraw_departure
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.subsidies import application_of, apply_for_subsidy, headcount_of, official_snapshot

CONFLICTS = {"already_departed", "cutoff_passed", "no_departure", "already_applied", "not_qualified", "no_snapshot",
             "appeal_window_closed", "nothing_to_appeal", "already_open"}

DEPARTURE_REQUEST = {
    "type": "object",
    "required": ["departed_on"],
    "properties": {"departed_on": {"type": "string", "format": "date"},
                   "note": {"type": ["string", "null"], "maxLength": 200}},
    "additionalProperties": False,
}
DEPARTURE_SCHEMA = {
    "type": "object",
    "required": ["departed_on", "recorded_at"],
    "properties": {"departed_on": {"type": "string", "format": "date"},
                   "recorded_at": {"type": "string", "format": "date-time"}},
}
HEADCOUNT_ITEM = {
    "type": "object",
    "required": ["credit_code", "name", "ownership", "retained", "tier", "amount_yuan"],
    "properties": {"credit_code": {"type": "string"}, "name": {"type": "string"}, "ownership": {"type": "string"},
                   "retained": {"type": "integer"}, "tier": {"type": "integer"}, "amount_yuan": {"type": "integer"}},
}
SNAPSHOT_SCHEMA = {
    "type": "object",
    "required": ["snapshot"],
    "properties": {"snapshot": {"type": ["object", "null"]}, "cutoff": {"type": "string", "format": "date-time"}},
}
RETENTION_SCHEMA = {
    "type": "object",
    "required": ["stage"],
    "properties": {"stage": {"enum": ["preview", "pending", "snapshot"]}},
}


def _raise(error: ResidenceError):
    status = 409 if error.code in CONFLICTS else 422
    raise ApiError(status, error.code, error.message)


def _departure_json(departure) -> dict:
    return {"departed_on": departure.departed_on.isoformat(), "note": departure.note,
            "recorded_at": departure.recorded_at.isoformat(), "recorded_by": departure.recorded_by_role}


@api_route("/me/departure", methods=["POST"], roles=(Role.WORKER,), tag="worker",
           summary="Record that the worker left Wenzhou (closes at the cutoff)",
           request_schema=DEPARTURE_REQUEST, responses={201: DEPARTURE_SCHEMA, 409: ERROR_SCHEMA})
def residence_post_departure():
    body = json_body()
    unknown = set(body) - set(DEPARTURE_REQUEST["properties"])
    if unknown:
        raise ApiError(422, "unknown_field", _("Unknown field(s): %(fields)s", fields=", ".join(sorted(unknown))))
    try:
        departed_on = date.fromisoformat(body.get("departed_on") or "")
    except (TypeError, ValueError):
        raise ApiError(422, "invalid_date", _("departed_on: a date as YYYY-MM-DD")) from None
    note = body.get("note") or ""
    if not isinstance(note, str):
        raise ApiError(422, "invalid_note", _("note: a string"))
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
           responses={204: None, 409: ERROR_SCHEMA})
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
           responses={200: DEPARTURE_SCHEMA, 404: ERROR_SCHEMA})
def residence_get_departure():
    departure = active_departure(db.session, current_worker().id)
    if departure is None:
        raise ApiError(404, "no_departure", ResidenceError("no_departure").message)
    return jsonify(_departure_json(departure))


@api_route("/enterprise/retention", methods=["GET"], roles=(Role.ENTERPRISE_ADMIN,), tag="enterprise",
           summary="Before the cutoff: the projected headcount and tier; after: the snapshot's figures and the "
                   "subsidy application", responses={200: RETENTION_SCHEMA})
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
           responses={201: {"type": "object", "required": ["id", "status", "retained", "tier", "amount_yuan"]},
                      409: ERROR_SCHEMA})
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
           summary="The latest snapshot's summary (null before the cutoff has run)", responses={200: SNAPSHOT_SCHEMA})
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
           responses={200: {"type": "array", "items": HEADCOUNT_ITEM}})
def residence_snapshot_headcounts():
    snapshot = queries.latest_snapshot(db.session, context.programme())
    if snapshot is None:
        raise ApiError(404, "no_snapshot", ResidenceError("no_snapshot").message)
    return jsonify([{"credit_code": row.credit_code, "name": row.name, "ownership": row.ownership,
                     "retained": row.retained, "tier": row.tier, "amount_yuan": row.amount_yuan}
                    for row in queries.iter_headcounts(db.session, snapshot.id)])


APPEAL_REQUEST = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 1000}},
    "additionalProperties": False,
}
APPEAL_SCHEMA = {
    "type": "object",
    "required": ["id", "kind", "status"],
    "properties": {"id": {"type": "integer"}, "kind": {"enum": ["worker", "hukou", "enterprise"]},
                   "status": {"enum": ["open", "accepted", "rejected"]}, "reason": {"type": "string"},
                   "filed_at": {"type": "string", "format": "date-time"},
                   "decided_at": {"type": ["string", "null"], "format": "date-time"},
                   "decision_reason": {"type": ["string", "null"]}},
}


def _my_appeal_json(appeal) -> dict:
    return {"id": appeal.id, "kind": appeal.kind.value, "status": appeal.status.value, "reason": appeal.reason,
            "appealed_reason": appeal.appealed_reason, "filed_at": appeal.filed_at.isoformat(),
            "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
            "decision_reason": appeal.decision_reason or None}


@api_route("/me/appeals", methods=["POST"], roles=(Role.WORKER,), tag="worker",
           summary="Appeal the cutoff's decision, within the appeal window (409 appeal_window_closed, "
                   "nothing_to_appeal, already_open)",
           request_schema=APPEAL_REQUEST, responses={201: APPEAL_SCHEMA, 409: ERROR_SCHEMA})
def residence_post_appeal():
    body = json_body()
    unknown = set(body) - set(APPEAL_REQUEST["properties"])
    if unknown:
        raise ApiError(422, "unknown_field", _("Unknown field(s): %(fields)s", fields=", ".join(sorted(unknown))))
    reason = body.get("reason")
    if not isinstance(reason, str):
        raise ApiError(422, "appeal_reason_required", ResidenceError("appeal_reason_required").message)
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
           responses={200: {"type": "array", "items": APPEAL_SCHEMA}})
def residence_get_appeals():
    return jsonify([_my_appeal_json(appeal) for appeal in worker_appeals(db.session, current_worker().id)])
