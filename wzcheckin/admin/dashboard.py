"""Admin room, the dashboard: the figures of ``stats`` turned into charts with words in the
reader's language (titles, descriptions for screen readers, tooltips, row labels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from wzcheckin.admin import charts, stats
from wzcheckin.admin.charts import Series, thousands
from wzcheckin.admin.labels import CHANNEL_LABELS, CLAIM_STATUS_LABELS, SCAN_KIND_LABELS, carrier_label, label
from wzcheckin.core.dates import shown
from wzcheckin.programme import Programme

TOP_PICKUP_POINTS = 12


def yuan(amount: int) -> str:
    return f"¥{amount:,}"


def tier_label(tier: int) -> str:
    return _("%(n)s+ retained", n=tier) if tier else _("no tier")


def district_label(district: str) -> str:
    return district or _("No employer")


@dataclass
class Dashboard:
    day_range: stats.DayRange
    range_ok: bool
    choice: stats.SnapshotChoice
    cutoff_text: str
    after_cutoff: bool
    headline: stats.Headline
    registrations: stats.DailyTable
    registrations_chart: charts.DailyChart
    scans: stats.DailyTable
    scans_chart: charts.DailyChart
    districts: stats.DistrictTable
    districts_chart: charts.BarChart
    tiers: stats.TierTable
    tiers_chart: charts.BarChart
    welfare: stats.WelfareTable
    welfare_chart: charts.BarChart
    carriers: list[stats.CarrierRow]
    carriers_chart: charts.BarChart
    registration_series: list[Series]
    scan_series: list[Series]
    claim_series: list[Series]

    @property
    def claims_total(self) -> int:
        return sum(row.total for row in self.carriers)


def _busiest(table: stats.DailyTable):
    best = max(table.range.days, key=lambda day: (table.day_total(day), -day.toordinal()))
    return best, table.day_total(best)


def _period_text(day_range: stats.DayRange) -> tuple[str, str]:
    return shown(day_range.first), shown(day_range.last)


def _day_tip(day, series: Series, count: int) -> str:
    return f"{day.isoformat()} · {series.label}: {thousands(count)}"


def _daily(chart_id: str, title: str, summary: str, table: stats.DailyTable, series: list[Series]) -> charts.DailyChart:
    return charts.daily_chart(chart_id, title, summary, table.range.days, series, table.value, _day_tip)


def build(session: Session, programme: Programme, now: datetime, day_range: stats.DayRange,
          range_ok: bool, english: bool) -> Dashboard:
    first, last = _period_text(day_range)
    choice = stats.dashboard_snapshot(session, programme)

    registration_series = [Series(key, label(CHANNEL_LABELS, key), f"s-{key}") for key in stats.REGISTRATION_CHANNELS]
    registrations = stats.registrations_by_day(session, programme, day_range)
    day, count = _busiest(registrations)
    registrations_chart = _daily(
        "chart-registrations", _("Registrations per day"),
        _("Workers registered per day from %(first)s to %(last)s (Wenzhou time): %(total)s in all; the busiest "
          "day was %(day)s with %(count)s.", first=first, last=last, total=thousands(registrations.total),
          day=shown(day), count=thousands(count)),
        registrations, registration_series)

    scan_series = [Series(key, label(SCAN_KIND_LABELS, key), f"s-{key}") for key in stats.SCAN_KINDS]
    scans = stats.scans_by_day(session, programme, day_range)
    day, count = _busiest(scans)
    scans_chart = _daily(
        "chart-scans", _("Accepted scans per day"),
        _("Accepted staff scans per day from %(first)s to %(last)s (Wenzhou time), by kind of checkpoint: "
          "%(total)s in all; the busiest day was %(day)s with %(count)s.", first=first, last=last,
          total=thousands(scans.total), day=shown(day), count=thousands(count)),
        scans, scan_series)

    districts = stats.district_confirmation(session, choice)
    confirmed_word = _("Confirmed") if choice.is_official else _("On track")
    pledged_series, confirmed_series = Series("pledged", _("Pledged"), "s-pledged"), Series(
        "confirmed", confirmed_word, "s-confirmed")
    rows = []
    for row in districts.rows:
        name = district_label(row.district)
        parts = [(pledged_series, row.pledged, f"{name} · {pledged_series.label}: {thousands(row.pledged)}")]
        if row.confirmed is None:
            figure = thousands(row.pledged)
        else:
            parts.append((confirmed_series, row.confirmed,
                          f"{name} · {confirmed_word}: {thousands(row.confirmed)}"))
            share = f" ({row.share:.0%})" if row.share is not None else ""
            figure = f"{thousands(row.confirmed)} / {thousands(row.pledged)}{share}"
        rows.append((name, figure, parts))
    if districts.confirmed is None:
        summary = _("Workers who pledged to stay, by district: %(pledged)s in all. No snapshot yet, so no one "
                    "is confirmed.", pledged=thousands(districts.pledged))
    else:
        summary = _("Workers who pledged to stay and, of them, those %(word)s, by district: %(confirmed)s of "
                    "%(pledged)s in all.", word=confirmed_word.lower() if english else confirmed_word,
                    confirmed=thousands(districts.confirmed), pledged=thousands(districts.pledged))
    series = [pledged_series] if districts.confirmed is None else [pledged_series, confirmed_series]
    districts_chart = charts.bar_chart("chart-districts", _("Pledged and confirmed by district"), summary, series,
                                       rows, overlay=True)

    tiers = stats.subsidies_by_tier(session, programme, choice)
    tier_series = Series("enterprises", _("Enterprises"), "s-tier")
    tiers_chart = charts.bar_chart(
        "chart-tiers", _("Retention subsidies by tier"),
        _("Enterprises per subsidy tier: %(qualifying)s qualify, for %(amount)s in all.",
          qualifying=thousands(tiers.qualifying), amount=yuan(tiers.amount_yuan)),
        [tier_series],
        [(tier_label(row.tier), _("Enterprises: %(n)s · %(amount)s", n=thousands(row.enterprises),
                                  amount=yuan(row.amount_yuan)),
          [(tier_series, row.enterprises, f"{tier_label(row.tier)}: {thousands(row.enterprises)}")])
         for row in tiers.rows])

    welfare = stats.welfare_by_point(session)
    handed_series, left_series = Series("handed_out", _("Handed out"), "s-handed"), Series(
        "stock", _("Left"), "s-left")
    top, rest = welfare.rows[:TOP_PICKUP_POINTS], welfare.rows[TOP_PICKUP_POINTS:]
    point_rows = [(point.name, f"{thousands(point.handed_out)} / {thousands(point.delivered)}",
                   [(handed_series, point.handed_out, f"{point.name} · {handed_series.label}: {point.handed_out}"),
                    (left_series, point.stock, f"{point.name} · {left_series.label}: {point.stock}")])
                  for point in top]
    if rest:
        handed, left = sum(p.handed_out for p in rest), sum(p.stock for p in rest)
        others = _("%(n)s other points", n=len(rest))
        point_rows.append((others, f"{thousands(handed)} / {thousands(handed + left)}",
                           [(handed_series, handed, f"{others} · {handed_series.label}: {handed}"),
                            (left_series, left, f"{others} · {left_series.label}: {left}")]))
    welfare_chart = charts.bar_chart(
        "chart-welfare", _("Welfare packs by pickup point"),
        _("Packs handed out and left at each pickup point: %(handed)s handed out, %(left)s left.",
          handed=thousands(welfare.handed_out), left=thousands(welfare.stock)),
        [handed_series, left_series], point_rows)

    carriers = stats.data_bonus_by_carrier(session, programme)
    claim_series = [Series(key, label(CLAIM_STATUS_LABELS, key), f"s-{key}") for key in
                    ("fulfilled", "pending", "failed")]
    carrier_rows = []
    for row in carriers:
        name = carrier_label(row.carrier, english)
        carrier_rows.append((name, thousands(row.total),
                             [(s, row.counts.get(s.key, 0), f"{name} · {s.label}: {row.counts.get(s.key, 0)}")
                              for s in claim_series]))
    carriers_chart = charts.bar_chart(
        "chart-data-bonus", _("Data bonuses by carrier"),
        _("Data-bonus claims per carrier and status: %(total)s in all.",
          total=thousands(sum(row.total for row in carriers))),
        claim_series, carrier_rows)

    return Dashboard(
        day_range=day_range, range_ok=range_ok, choice=choice,
        cutoff_text=shown(programme.cutoff), after_cutoff=now >= programme.cutoff,
        headline=stats.headline(session, programme, now),
        registrations=registrations, registrations_chart=registrations_chart,
        scans=scans, scans_chart=scans_chart,
        districts=districts, districts_chart=districts_chart,
        tiers=tiers, tiers_chart=tiers_chart,
        welfare=welfare, welfare_chart=welfare_chart,
        carriers=carriers, carriers_chart=carriers_chart,
        registration_series=registration_series, scan_series=scan_series, claim_series=claim_series,
    )
