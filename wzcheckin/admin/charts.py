"""Admin room, charts: the geometry of the dashboard's server-rendered SVG (no chart library, no
script). Templates draw what these dataclasses describe (``templates/admin/_charts.html``).

Two shapes, both legible from a 360-px phone to a laptop because text is never scaled:

* :class:`DailyChart` — stacked columns, one per local day. The columns sit in a nested ``<svg>``
  whose viewBox is stretched to the width (``preserveAspectRatio="none"``); the labels sit in the
  outer SVG in CSS pixels at percentage positions.
* :class:`BarChart` — one horizontal bar per row (district, tier, pickup point, carrier), its
  label and figure on the line above it, widths in percent of the largest row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

PLOT_TOP = 18
PLOT_HEIGHT = 160
X_LABELS = 24
ROW_HEIGHT = 42
BAR_OFFSET = 21
BAR_HEIGHT = 14
LABEL_WIDTH = 20  # in half-width characters: a Chinese character counts two


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    css: str  # class giving the fill colour (admin.css)


@dataclass(frozen=True)
class Segment:
    css: str
    x: float
    y: float
    width: float
    height: float
    title: str


def nice_step(value: float) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ (at least 1) not below ``value``."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return int(factor * magnitude)
    return int(10 * magnitude)  # pragma: no cover - the loop always returns


def _width(char: str) -> int:
    return 2 if ord(char) >= 0x1100 else 1


def short(text: str, limit: int = LABEL_WIDTH) -> str:
    """``text`` cut to fit ``limit`` half-width columns (the whole text stays in the tooltip and the table)."""
    if sum(_width(char) for char in text) <= limit:
        return text
    kept, used = [], 0
    for char in text:
        if used + _width(char) > limit - 1:
            break
        kept.append(char)
        used += _width(char)
    return "".join(kept) + "…"


def thousands(value: int) -> str:
    return f"{value:,}"


# --- stacked columns per day ------------------------------------------------------------------

@dataclass
class DailyChart:
    chart_id: str
    title: str
    desc: str
    series: list[Series]
    days: int
    y_max: int
    segments: list[Segment] = field(default_factory=list)
    gridlines: list[tuple[str, float]] = field(default_factory=list)  # (label, y in px)
    ticks: list[tuple[float, str, str]] = field(default_factory=list)  # (x in %, anchor, label)

    plot_top: int = PLOT_TOP
    plot_height: int = PLOT_HEIGHT

    @property
    def height(self) -> int:
        return PLOT_TOP + PLOT_HEIGHT + X_LABELS

    @property
    def baseline(self) -> int:
        return PLOT_TOP + PLOT_HEIGHT

    @property
    def tick_y(self) -> int:
        return PLOT_TOP + PLOT_HEIGHT + 17


def daily_chart(chart_id: str, title: str, desc: str, days: list[date], series: list[Series],
                value, tooltip) -> DailyChart:
    """``value(day, key)`` gives a count; ``tooltip(day, series, count)`` a segment's title."""
    totals = [sum(value(day, s.key) for s in series) for day in days]
    peak = max(totals, default=0)
    step = nice_step(peak / 4) if peak else 1
    y_max = max(step, step * math.ceil(peak / step)) if peak else 4
    chart = DailyChart(chart_id, title, desc, series, len(days), y_max)
    for index, day in enumerate(days):
        bottom = 0
        for s in series:
            count = value(day, s.key)
            if count <= 0:
                continue
            chart.segments.append(Segment(s.css, round(index + 0.12, 2), y_max - bottom - count, 0.76, count,
                                          tooltip(day, s, count)))
            bottom += count
    for n in range(0, y_max + 1, step if peak else y_max):
        chart.gridlines.append((thousands(n), round(PLOT_TOP + PLOT_HEIGHT * (1 - n / y_max), 2)))
    every = max(1, math.ceil(len(days) / 5))
    for index in range(0, len(days), every):
        day = days[index]
        label = f"{day.month}/{day.day}"
        left = index / len(days) * 100
        if left > 80:
            chart.ticks.append((round(min(100.0, (index + 1) / len(days) * 100), 3), "end", label))
        else:
            chart.ticks.append((round(left, 3), "start", label))
    return chart


# --- horizontal bars ------------------------------------------------------------------------------

@dataclass
class BarRow:
    label: str
    full_label: str
    figure: str
    segments: list[Segment]


@dataclass
class BarChart:
    chart_id: str
    title: str
    desc: str
    series: list[Series]
    rows: list[BarRow] = field(default_factory=list)

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.rows) + 4

    def row_top(self, index: int) -> int:
        return ROW_HEIGHT * index

    label_y: int = 15
    bar_offset: int = BAR_OFFSET
    bar_height: int = BAR_HEIGHT


def percent(value: int, scale: int) -> float:
    if value <= 0 or scale <= 0:
        return 0.0
    return max(0.6, round(value / scale * 100, 3))  # a sliver stays visible


def bar_chart(chart_id: str, title: str, desc: str, series: list[Series], rows: list[tuple[str, str, list]],
              *, overlay: bool = False) -> BarChart:
    """``rows``: (label, figure text, [(series, value, title), …]). Stacked left to right, or,
    with ``overlay``, each bar drawn from zero over the previous one (confirmed over pledged)."""
    chart = BarChart(chart_id, title, desc, series)
    scale = max((max((v for _s, v, _t in parts), default=0) if overlay else sum(v for _s, v, _t in parts)
                 for _label, _figure, parts in rows), default=0)
    for index, (label, figure, parts) in enumerate(rows):
        top = chart.row_top(index) + BAR_OFFSET
        left = 0.0
        segments = []
        for s, count, tip in parts:
            width = percent(count, scale) if overlay else min(percent(count, scale), round(100 - left, 3))
            if width > 0:
                segments.append(Segment(s.css, 0.0 if overlay else left, top, width, BAR_HEIGHT, tip))
            if not overlay:
                left += width
        chart.rows.append(BarRow(short(label), label, figure, segments))
    return chart
