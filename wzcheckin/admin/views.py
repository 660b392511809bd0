"""Admin room, pages: the officials' desk — the dashboard with its charts, the exports (masked by
default; an unmasked export is its own action with a reason), the audit-log viewer, the programme
file and the hotline case log. The dashboard and the programme file are every official's (the
programme office, the bureaus, the auditor); the exports the programme office's; the audit log the
programme office's and the auditor's; the hotline 经信局's (the auditor reads it). Every export and
every hotline case is written to the audit log."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

from wzcheckin import clock
from wzcheckin.admin import audit_log, dashboard, programme_file, stats
from wzcheckin.admin.exports import (
    DATASETS,
    REASON_MIN_CHARS,
    WEB_XLSX_MAX_ROWS,
    Dataset,
    ExportContext,
    ExportUnavailable,
    ReasonRefused,
    clean_reason,
    export_details,
    file_name,
    record_export,
)
from wzcheckin.admin.figures import FIGURES_ROLES
from wzcheckin.admin.forms import FORMATS, ExportForm, FullExportForm
from wzcheckin.admin.hotline import HOTLINE_READERS
from wzcheckin.admin.labels import ACTION_LABELS, ROLE_LABELS, label
from wzcheckin.admin.spreadsheets import csv_chunks, file_chunks, write_xlsx
from wzcheckin.core import context
from wzcheckin.core.auth import roles_required
from wzcheckin.core.dates import shown
from wzcheckin.core.i18n import selected_language
from wzcheckin.core.navigation import OVERVIEW, SYSTEM, NavItem
from wzcheckin.core.roles import OFFICIAL_ROLES, Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.programme import ProgrammeError, parse_programme
from wzcheckin.reporting import reporting_session

bp = Blueprint("admin", __name__)

AUDIT_READERS = (Role.OFFICIAL, Role.AUDITOR)

NAV_ITEMS = [
    NavItem(OFFICIAL_ROLES, "admin.dashboard", _l("Dashboard"), group=OVERVIEW),
    NavItem(FIGURES_ROLES, "admin.figures", _l("Figures"), group=OVERVIEW),
    NavItem((Role.OFFICIAL,), "admin.exports", _l("Exports"), group=OVERVIEW),
    NavItem(HOTLINE_READERS, "admin.hotline", _l("Hotline cases")),
    NavItem(AUDIT_READERS, "admin.audit_log", _l("Audit log"), group=SYSTEM),
    NavItem(OFFICIAL_ROLES, "admin.programme_file", _l("Programme file"), group=SYSTEM),
]

# The other rooms' pages for officials, grouped on the dashboard (endpoints a room does not
# have are left out, so the desk never breaks when a room changes).
DESK_LINKS = (
    (_l("Cutoff and subsidies"), (
        ("residence.official_snapshot", _l("Cutoff snapshot")),
        ("residence.official_enterprises", _l("Every enterprise")),
        ("residence.official_workers", _l("Every worker")),
        ("residence.official_applications", _l("Subsidy applications")),
        ("residence.official_production", _l("Production reward")),
        ("residence.official_sms", _l("SMS outbox")),
    )),
    (_l("Health and venues"), (
        ("enterprises.health", _l("Health alerts")),
        ("venues.manage_venues", _l("Venues")),
    )),
    (_l("Benefits"), (
        ("benefits.data_bonus_overview", _l("Data bonus")),
        ("benefits.points_admin", _l("Points export")),
        ("benefits.training_desk", _l("Training")),
        ("benefits.activities_admin", _l("Activities")),
        ("benefits.complaints_admin", _l("Wage complaints")),
        ("benefits.services_admin", _l("Services")),
    )),
)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


OWN_LINKS = (
    ("admin.figures", _l("Figures")),
    ("admin.exports", _l("Exports")),
    ("admin.audit_log", _l("Audit log")),
    ("admin.programme_file", _l("Programme file")),
    ("admin.hotline", _l("Hotline cases")),
)


def _links_for_role(links) -> list[tuple[str, str]]:
    """The links the reader's role may open (a bureau sees its own pages only)."""
    found = []
    for endpoint, text in links:
        view = current_app.view_functions.get(endpoint)
        if view is None or current_user.role not in getattr(view, "wz_roles", ()):
            continue
        try:
            found.append((url_for(endpoint), str(text)))
        except BuildError:
            continue
    return found


def _desk_links() -> list[tuple[str, list[tuple[str, str]]]]:
    groups = []
    for title, links in DESK_LINKS:
        found = _links_for_role(links)
        if found:
            groups.append((str(title), found))
    return groups


def _english() -> bool:
    return selected_language() == "en"


# --- the dashboard ------------------------------------------------------------------------------

# "admin.dashboard": where officials land after log-in (core.navigation.ROLE_HOMES).
@bp.get("/admin", endpoint="dashboard")
@roles_required(*OFFICIAL_ROLES)
def dashboard_page():
    programme, now = context.programme(), clock.now()
    day_range, range_ok = stats.parse_range(programme, now, request.args.get("from"), request.args.get("to"))
    board = dashboard.build(reporting_session(), programme, now, day_range, range_ok, _english())
    return render_template("admin/dashboard.html", board=board, desk=_desk_links(), own_links=_links_for_role(OWN_LINKS),
                           default_range=stats.default_range(programme, now))


# --- exports ---------------------------------------------------------------------------------------

def _dataset(name: str) -> Dataset:
    dataset = DATASETS.get(name)
    if dataset is None:
        abort(404)
    return dataset


@bp.get("/admin/exports")
@roles_required(Role.OFFICIAL)
def exports():
    programme, now = context.programme(), clock.now()
    day_range, _ok = stats.parse_range(programme, now, request.args.get("from"), request.args.get("to"))
    choice = stats.dashboard_snapshot(reporting_session(), programme)
    return render_template("admin/exports.html", datasets=list(DATASETS.values()),
                           day_range=day_range, choice=choice, cutoff_text=shown(programme.cutoff),
                           after_cutoff=now >= programme.cutoff)


@bp.post("/admin/exports/<name>")
@roles_required(Role.OFFICIAL)
def export(name: str):
    """A masked export (the only kind the dashboard's buttons make)."""
    dataset = _dataset(name)
    form = ExportForm()
    if not form.validate_on_submit() or form.format.data not in FORMATS:
        abort(400)
    return _export(dataset, form.format.data, reveal=False, reason=None, first=form.first.data, last=form.last.data)


@bp.route("/admin/exports/<name>/full", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def export_full(name: str):
    """An unmasked export: full names, ID and phone numbers, for a reason that is logged."""
    dataset = _dataset(name)
    if not dataset.personal:
        abort(404)
    form = FullExportForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and form.format.data in FORMATS:
            try:
                reason = clean_reason(form.reason.data)
            except ReasonRefused as error:
                form.reason.errors = [error.message]
            else:
                return _export(dataset, form.format.data, reveal=True, reason=reason, first=form.first.data,
                               last=form.last.data)
        status = 422
    choice = stats.dashboard_snapshot(reporting_session(), context.programme())
    return render_template("admin/export_full.html", dataset=dataset, form=form, choice=choice,
                           min_chars=REASON_MIN_CHARS), status


def _export(dataset: Dataset, fmt: str, *, reveal: bool, reason: str | None, first: str | None, last: str | None):
    programme, now = context.programme(), clock.now()
    day_range, _ok = stats.parse_range(programme, now, first, last)
    choice = stats.dashboard_snapshot(reporting_session(), programme)
    ctx = ExportContext(reporting_session(), programme, context.vault(), now, day_range, choice, _english())
    try:
        plan = dataset.plan(ctx, reveal)
    except ExportUnavailable as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("admin.exports"))
    if fmt == "xlsx" and plan.count > current_app.config.get("ADMIN_WEB_XLSX_MAX_ROWS", WEB_XLSX_MAX_ROWS):
        rows_text = f"{plan.count:,}"
        flash(_("%(rows)s rows are too many for a spreadsheet download here: choose CSV, or run "
                "\"wzcheckin export %(name)s --format xlsx --output FILE\".", rows=rows_text,
                name=dataset.name), "error")
        return redirect(url_for("admin.exports"))
    name = file_name(dataset, plan, fmt, reveal=reveal, today=programme.local_date(now))
    return send_audited_table(fmt, title=str(dataset.title), header=dataset.header, rows=plan.rows,
                              count=plan.count, filename=name, dataset=dataset.name, at=now,
                              details=export_details(dataset, plan, fmt, reveal=reveal, reason=reason))


def send_audited_table(fmt: str, *, title: str, header, rows, count: int, filename: str, dataset: str, at,
                       details: dict) -> Response:
    """A table as a CSV (streamed) or XLSX download, its export written to the audit log (the
    dataset's name, ``details``, the rows sent) and committed before a byte of the file leaves, so
    no export goes unrecorded: for an XLSX once the workbook is written and its rows counted.
    ``rows``: a function giving the rows; ``count``: how many (a CSV is streamed as it is read)."""

    def audit(sent: int) -> None:
        with unit_of_work(db.session):
            record_export(db.session, name=dataset, details=details, rows=sent, at=at,
                          actor=current_user._get_current_object(), ip=request.remote_addr)

    if fmt == "xlsx":
        output, written = write_xlsx(title, header, rows())
        try:
            audit(written)
        except BaseException:
            output.close()
            raise
        response = Response(file_chunks(output), content_type=XLSX_MIMETYPE)
    else:
        audit(count)
        response = Response(stream_with_context(csv_chunks(header, rows())), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- the audit log ------------------------------------------------------------------------------------

def _int_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and value >= 0 else None


AUDIT_DATE_LIMITS = (date(2000, 1, 1), date(2999, 12, 31))


@bp.get("/admin/audit", endpoint="audit_log")
@roles_required(*AUDIT_READERS)
def audit_log_page():
    programme = context.programme()
    role = (request.args.get("role") or "").strip()[:24] or None
    action = (request.args.get("action") or "").strip()[:64] or None
    problems = []
    start = end = None
    first_text, last_text = request.args.get("from") or "", request.args.get("to") or ""
    try:
        first = date.fromisoformat(first_text) if first_text else None
        last = date.fromisoformat(last_text) if last_text else None
        if any(day is not None and not AUDIT_DATE_LIMITS[0] <= day <= AUDIT_DATE_LIMITS[1] for day in (first, last)):
            raise ValueError("outside the years an audit entry can have")  # 0001-01-01 would overflow in UTC
    except ValueError:
        first = last = None
        first_text = last_text = ""
        problems.append(_("The dates were not understood; showing every date."))
    if first and last and last < first:
        first, last = last, first
        first_text, last_text = first.isoformat(), last.isoformat()
    if first:
        start = programme.local_day_start(first)
    if last:
        end = programme.local_day_end(last)
    filters = audit_log.AuditFilters(role=role, action=action, start=start, end=end)
    page = audit_log.audit_page(db.session, filters, before=_int_arg("before"), after=_int_arg("after"))
    roles = sorted({*ROLE_LABELS, *audit_log.known_roles(db.session)}, key=lambda code: (code not in ROLE_LABELS,
                                                                                         code))
    base_args = {key: value for key, value in (("role", role), ("action", action), ("from", first_text),
                                               ("to", last_text)) if value}
    return render_template("admin/audit_log.html", page=page, role=role, action=action, first=first_text,
                           last=last_text, roles=roles, actions=audit_log.known_actions(db.session),
                           problems=problems, base_args=base_args)


# --- the programme file -----------------------------------------------------------------------------

@bp.get("/admin/programme", endpoint="programme_file")
@roles_required(*OFFICIAL_ROLES)
def programme_file_page():
    programme = context.programme()
    text = programme_file.file_text(programme)
    disk = "unreadable"
    problem = None
    if text is not None:
        try:
            on_disk = parse_programme(text, programme.source_path)
        except ProgrammeError as error:
            disk, problem = "invalid", str(error)
        else:
            disk = "same" if on_disk.model_dump() == programme.model_dump() else "changed"
    return render_template("admin/programme.html", sections=programme_file.sections(programme),
                           path=programme.source_path, text=text, disk=disk, problem=problem)


# --- template helpers (namespaced: used by this room's templates) --------------------------------------

@bp.app_template_global("admin_role_label")
def _role_label(code: str | None) -> str:
    return label(ROLE_LABELS, code)


@bp.app_template_global("admin_action_label")
def _action_label(code: str | None) -> str:
    return label(ACTION_LABELS, code)


@bp.app_template_global("admin_tier_label")
def _tier_label(tier: int) -> str:
    return dashboard.tier_label(tier)


@bp.app_template_global("admin_district_label")
def _district_label(district: str) -> str:
    return dashboard.district_label(district)


from wzcheckin.admin import figures_pages, hotline_pages  # noqa: E402, F401 - their routes, on this blueprint
