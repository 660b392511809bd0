"""Admin room, pages: the figures people ask for (``/admin/figures``) — workers staying per day,
retention by district and enterprise, health alerts per district per day, wage complaints per
district — each a chart and its table, as of a stated instant (``?at=``, default now). The
programme office and the auditor see every figure; 卫健委 the health alerts; 人社局 the wage
complaints (``figures.FIGURE_READERS``). The figures come from ``figures.py``; this module only
puts them into words and charts in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.admin import charts, figures
from wzcheckin.admin.charts import Series, thousands
from wzcheckin.admin.forms import FORMATS, FiguresDownloadForm
from wzcheckin.admin.views import bp, send_audited_table
from wzcheckin.core import context
from wzcheckin.core.auth import roles_required
from wzcheckin.core.dates import shown
from wzcheckin.reporting import reporting_session

TOP_ENTERPRISES_CHART = 12
TOP_ENTERPRISES_TABLE = 50

def money(fen: int) -> str:
    whole, cents = divmod(int(fen), 100)
    return f"¥{whole:,}" + (f".{cents:02d}" if cents else "")


def _district(district: str, none_text: str) -> str:
    return district or none_text


@dataclass
class Board:
    as_of: object
    asked: str
    problem: str | None
    shown: tuple[str, ...]
    data: figures.Figures
    staying_chart: charts.DailyChart | None = None
    staying_series: list[Series] | None = None
    retention_district_chart: charts.BarChart | None = None
    retention_enterprise_chart: charts.BarChart | None = None
    health_day_chart: charts.DailyChart | None = None
    health_district_chart: charts.BarChart | None = None
    health_series: list[Series] | None = None
    complaints_chart: charts.BarChart | None = None
    complaint_series: list[Series] | None = None


def staying_series() -> list[Series]:
    return [Series("non_local", _("Non-local hukou"), "s-non-local"),
            Series("other", _("Wenzhou hukou or to be reviewed"), "s-other")]


def health_series(reasons) -> list[Series]:
    words = {"fever": _("Fever"), "symptoms": _("Symptoms")}
    return [Series(reason, words.get(reason, reason), f"s-{reason}" if reason in words else "s-other")
            for reason in reasons]


def complaint_series() -> list[Series]:
    return [Series("received", _("Received"), "s-received"), Series("handling", _("Being handled"), "s-handling"),
            Series("resolved", _("Resolved"), "s-resolved")]


def _day_tip(day, series: Series, count: int) -> str:
    return f"{day.isoformat()} · {series.label}: {thousands(count)}"


def _staying_chart(table: figures.StayingTable) -> tuple[charts.DailyChart, list[Series]]:
    series = staying_series()
    busiest = max(table.days, key=lambda day: (table.day_total(day), -day.toordinal()))
    chart = charts.daily_chart(
        "chart-staying", _("Workers staying per day"),
        _("Workers with an accepted staff scan per Wenzhou day from %(first)s to %(last)s, as known at %(at)s; "
          "the most on %(day)s: %(count)s, of whom %(non_local)s with a non-local hukou.",
          first=shown(table.days[0]), last=shown(table.days[-1]),
          at=shown(table.as_of), day=shown(busiest),
          count=thousands(table.day_total(busiest)), non_local=thousands(table.value(busiest, "non_local"))),
        table.days, series, table.value, _day_tip)
    return chart, series


def _retention_rows(rows, none_text: str, registered: Series, staying: Series) -> list[tuple]:
    lines = []
    for row in rows:
        name = row.name or _district(row.district, none_text)
        share = f" ({row.share:.0%})" if row.share is not None else ""
        lines.append((name, f"{thousands(row.staying)} / {thousands(row.registered)}{share}",
                      [(registered, row.registered, f"{name} · {registered.label}: {thousands(row.registered)}"),
                       (staying, row.staying, f"{name} · {staying.label}: {thousands(row.staying)}")]))
    return lines


def retention_word(retention: figures.Retention) -> str:
    return _("On track") if retention.basis == "preview" else _("Confirmed")


def _retention_charts(retention: figures.Retention) -> tuple[charts.BarChart, charts.BarChart]:
    registered = Series("registered", _("Registered"), "s-pledged")
    staying = Series("staying", retention_word(retention), "s-confirmed")
    summary = _("Registered workers and, of them, those %(word)s: %(staying)s of %(registered)s.",
                word=retention_word(retention), staying=thousands(retention.staying),
                registered=thousands(retention.registered))
    by_district = charts.bar_chart("chart-retention-districts", _("Retention by district"), summary,
                                   [registered, staying],
                                   _retention_rows(retention.by_district, _("No employer"), registered, staying),
                                   overlay=True)
    shown = retention.by_enterprise[:TOP_ENTERPRISES_CHART]
    by_enterprise = charts.bar_chart(
        "chart-retention-enterprises", _("Retention by enterprise"),
        _("The %(n)s enterprises with the most registered workers: registered and %(word)s.", n=len(shown),
          word=retention_word(retention)),
        [registered, staying], _retention_rows(shown, "", registered, staying), overlay=True)
    return by_district, by_enterprise


def _health_charts(table: figures.HealthTable) -> tuple[charts.DailyChart, charts.BarChart, list[Series]]:
    series = health_series(table.reasons)
    by_day = charts.daily_chart(
        "chart-health-days", _("Health alerts per day"),
        _("Fever and symptom alerts raised at enterprise gates per Wenzhou day from %(first)s to %(last)s: "
          "%(total)s in all.", first=shown(table.days[0]), last=shown(table.days[-1]),
          total=thousands(table.total)),
        table.days, series, table.day_value, _day_tip)
    rows = []
    for row in table.by_district():
        name = _district(row["district"], _("No district"))
        rows.append((name, thousands(row["total"]),
                     [(s, row.get(s.key, 0), f"{name} · {s.label}: {thousands(row.get(s.key, 0))}") for s in series]))
    by_district = charts.bar_chart("chart-health-districts", _("Health alerts by district"),
                                   _("Health alerts per district and reason: %(total)s in all.",
                                     total=thousands(table.total)), series, rows)
    return by_day, by_district, series


def _complaints_chart(table: figures.ComplaintTable) -> tuple[charts.BarChart, list[Series]]:
    series = complaint_series()
    rows = []
    for row in table.rows:
        name = _district(row.district, _("Employer not registered"))
        rows.append((name, _("%(n)s · %(amount)s", n=thousands(row.total), amount=money(row.amount_fen)),
                     [(s, row.counts.get(s.key, 0), f"{name} · {s.label}: {thousands(row.counts.get(s.key, 0))}")
                      for s in series]))
    chart = charts.bar_chart(
        "chart-complaints", _("Wage complaints by district"),
        _("Wage-arrears complaints per district and status: %(total)s in all, for %(amount)s claimed.",
          total=thousands(table.total), amount=money(table.amount_fen)), series, rows)
    return chart, series


def build(session, programme, now, asked: str, role) -> Board:
    problem = None
    try:
        as_of = figures.parse_as_of(programme, asked, now)
    except figures.InstantRefused as error:
        as_of, problem = now, error.message
    shown = figures.figures_for(role)
    data = figures.compute(session, programme, as_of, shown)
    board = Board(as_of, asked, problem, shown, data)
    if data.staying is not None and data.staying.total:
        board.staying_chart, board.staying_series = _staying_chart(data.staying)
    if data.retention is not None and data.retention.by_district:
        board.retention_district_chart, board.retention_enterprise_chart = _retention_charts(data.retention)
    if data.health is not None and data.health.total:
        board.health_day_chart, board.health_district_chart, board.health_series = _health_charts(data.health)
    if data.complaints is not None and data.complaints.total:
        board.complaints_chart, board.complaint_series = _complaints_chart(data.complaints)
    return board


@bp.get("/admin/figures", endpoint="figures")
@roles_required(*figures.FIGURES_ROLES)
def figures_page():
    programme, now = context.programme(), clock.now()
    asked = (request.args.get("at") or "").strip()[:40]
    board = build(reporting_session(), programme, now, asked, current_user.role)
    local = board.as_of.astimezone(programme.tz)
    return render_template("admin/figures.html", board=board, figures=figures,
                           at_value=local.strftime("%Y-%m-%dT%H:%M"), now_shown=board.as_of == now,
                           top_table=TOP_ENTERPRISES_TABLE, download_form=FiguresDownloadForm(at=board.as_of.isoformat()))


@bp.post("/admin/figures/download", endpoint="figures_download")
@roles_required(*figures.FIGURES_ROLES)
def figures_download():
    """The figures the page showed, as a file: the long table of ``wzcheckin report figures
    --format csv`` (one value a line), only the figures that concern the reader, as of the page's
    instant. Recorded in the audit log like every export (aggregates: nothing to mask)."""
    form = FiguresDownloadForm()
    if not form.validate_on_submit() or form.format.data not in FORMATS:
        abort(400)
    programme, now = context.programme(), clock.now()
    try:
        as_of = figures.parse_as_of(programme, (form.at.data or "").strip()[:40], now)
    except figures.InstantRefused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("admin.figures"), 303)
    chosen = figures.figures_for(current_user.role)
    rows = list(figures.compute(reporting_session(), programme, as_of, chosen).csv_rows())
    fmt = form.format.data
    stamp = as_of.astimezone(programme.tz).strftime("%Y%m%dT%H%M")
    return send_audited_table(
        fmt, title=_("Figures"), header=figures.FIGURES_CSV_HEADER, rows=lambda: rows, count=len(rows),
        filename=f"wzcheckin-figures-{stamp}.{fmt}", dataset="figures", at=now,
        details={"dataset": "figures", "format": fmt, "rows": len(rows), "masked": True,
                 "as_of": as_of.isoformat(), "figures": list(chosen)})


@bp.app_template_global("admin_money")
def _money(fen: int) -> str:
    return money(fen)
