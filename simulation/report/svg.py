"""Inline SVG chart primitives for the HTML report: step/line charts and horizontal bar charts.

Plain strings, no JavaScript and nothing fetched: a report stays one file that opens anywhere.
Every chart is an `<svg class="chart" data-chart=NAME role="img">` with a `<title>`, so a browser
test (and a screen reader) can find it by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"
AXIS = "#6b7280"
GRID = "#e5e7eb"
TARGET = "#b91c1c"


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    colour: str
    points: Sequence[Sequence[float]]  # (x, y) pairs
    step: bool = True  # an empirical CDF is a staircase, a time series is not
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class Marker:
    """A vertical line at a target, labelled at the top."""

    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    value: float
    colour: str


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    colour: str
    segments: Sequence[Segment] = field(default_factory=tuple)
    value_label: str | None = None  # the text at the end of the bar (default: the value)


def _n(value: float) -> str:
    """Coordinates to a tenth of a pixel: enough for the eye, and short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_step(span: float, ticks: int = 6) -> float:
    """A 1-2-5 step that divides `span` into about `ticks` intervals."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def time_step_s(span_s: float, ticks: int = 7) -> float:
    """A tick step in round seconds or minutes for a time axis."""
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200):
        if span_s / step <= ticks:
            return step
    return nice_step(span_s / 3600, ticks) * 3600


def _trim(value: float) -> str:
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def format_time_s(value_s: float) -> str:
    """Seconds under two minutes, then minutes (and hours past two hours), to one decimal."""
    if value_s < 120 and value_s != 60:
        return f"{_trim(value_s)} s"
    if value_s < 7200:
        return f"{_trim(value_s / 60)} min"
    return f"{_trim(value_s / 3600)} h"


def format_share(value: float) -> str:
    return f"{value * 100:g}%"


def svg_open(name: str, title: str, width: int, height: int) -> list[str]:
    """A chart's opening tags: its `svg` element, named for tests and styles, and its title."""
    return [
        f'<svg class="chart" data-chart="{escape(name)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px;{FONT}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]


def x_ticks(
    sx: Callable[[float], float],
    x_max: float,
    x_format: Callable[[float], str],
    *,
    line_y: tuple[float, float],
    label_y: float,
    stroke: str = GRID,
    ticks: int = 6,
    x_min: float = 0.0,
) -> list[str]:
    """An x axis's ticks from `x_min` (0, or below it) to `x_max`: at each, a line from
    `line_y[0]` down to `line_y[1]` (a grid line, or a short tick) and its label at `label_y`.

    A time axis (`format_time_s`) steps in round seconds, minutes or hours (`time_step_s`); any
    other in 1-2-5 steps, about `ticks` intervals. Ticks fall on multiples of the step.
    """
    span = x_max - x_min
    step = time_step_s(span) if x_format is format_time_s else nice_step(span, ticks)
    y1, y2 = line_y
    out = []
    x = step * -(-x_min // step)  # the first multiple of the step at or above x_min
    while x <= x_max + 1e-9:
        at = _n(sx(x))
        out.append(
            f'<line x1="{at}" x2="{at}" y1="{_n(y1)}" y2="{_n(y2)}" stroke="{stroke}"/>'
            f'<text x="{at}" y="{_n(label_y)}" text-anchor="middle" font-size="11" '
            f'fill="{AXIS}">{escape(x_format(x))}</text>'
        )
        x += step
    return out


@dataclass(frozen=True, slots=True)
class _Frame:
    """A line chart's plot area: where model values land in SVG coordinates."""

    left: int
    top: int
    plot_w: int
    plot_h: int
    x_max: float
    y_max: float

    def sx(self, x: float) -> float:
        return self.left + min(max(x, 0.0), self.x_max) / self.x_max * self.plot_w

    def sy(self, y: float) -> float:
        return self.top + self.plot_h - min(max(y, 0.0), self.y_max) / self.y_max * self.plot_h


def line_chart(
    name: str,
    title: str,
    series: Sequence[Series],
    *,
    x_max: float,
    x_label: str,
    y_label: str,
    markers: Sequence[Marker] = (),
    y_max: float = 1.0,
    x_format: Callable[[float], str] = format_time_s,
    y_format: Callable[[float], str] = format_share,
    width: int = 760,
    height: int = 340,
) -> str:
    """Lines (or staircases) over a shared x axis from 0 to `x_max`, y from 0 to `y_max`."""
    left, right, top, bottom = 56, 150, 26, 46
    frame = _Frame(left, top, width - left - right, height - top - bottom, max(x_max, 1e-9), y_max)
    out = svg_open(name, title, width, height)
    out.extend(_axes(frame, x_format, y_format))
    plot_h, plot_w = frame.plot_h, frame.plot_w
    out.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{AXIS}"/>'
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" font-size="12" '
        f'fill="#374151">{escape(x_label)}</text>'
        f'<text x="14" y="{top + plot_h / 2}" text-anchor="middle" font-size="12" '
        f'fill="#374151" transform="rotate(-90 14 {top + plot_h / 2})">{escape(y_label)}</text>'
    )
    for marker in markers:
        if marker.x > frame.x_max:
            continue
        mx = _n(frame.sx(marker.x))
        out.append(
            f'<line class="target" x1="{mx}" x2="{mx}" y1="{top}" y2="{top + plot_h}" '
            f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="5 4"/>'
            f'<text x="{mx}" y="{top - 8}" text-anchor="middle" font-size="11" '
            f'fill="{TARGET}">{escape(marker.label)}</text>'
        )
    out.extend(_polyline(frame, s) for s in series if s.points)
    for i, s in enumerate(series):
        ly = top + 8 + i * 20
        lx = left + plot_w + 16
        out.append(
            f'<line x1="{lx}" x2="{lx + 22}" y1="{ly}" y2="{ly}" stroke="{s.colour}" '
            f'stroke-width="3"/><text x="{lx + 28}" y="{ly + 4}" font-size="12" '
            f'fill="#111827">{escape(s.name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _axes(
    frame: _Frame, x_format: Callable[[float], str], y_format: Callable[[float], str]
) -> list[str]:
    """Grid lines with y labels, and x ticks with their labels."""
    out = []
    left, top, plot_w, plot_h = frame.left, frame.top, frame.plot_w, frame.plot_h
    y_step = nice_step(frame.y_max, 5)
    for y in [i * y_step for i in range(int(frame.y_max / y_step + 1e-9) + 1)]:
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{_n(frame.sy(y))}" '
            f'y2="{_n(frame.sy(y))}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{_n(frame.sy(y) + 4)}" text-anchor="end" font-size="11" '
            f'fill="{AXIS}">{escape(y_format(y))}</text>'
        )
    bottom = top + plot_h
    ticks = (bottom, bottom + 4)
    out.extend(
        x_ticks(
            frame.sx, frame.x_max, x_format, ticks=6, line_y=ticks, label_y=bottom + 17, stroke=AXIS
        )
    )
    return out


def _polyline(frame: _Frame, s: Series) -> str:
    """One series as a polyline; a step series holds each value until the next point."""
    sx, sy = frame.sx, frame.sy
    coords: list[str] = []
    if s.step:
        previous_y = 0.0
        coords.append(f"{_n(sx(0))},{_n(sy(0))}")
        for px, py in s.points:
            coords.append(f"{_n(sx(px))},{_n(sy(previous_y))}")
            coords.append(f"{_n(sx(px))},{_n(sy(py))}")
            previous_y = py
        coords.append(f"{_n(sx(frame.x_max))},{_n(sy(previous_y))}")
    else:
        coords.extend(f"{_n(sx(px))},{_n(sy(py))}" for px, py in s.points)
    dash = ' stroke-dasharray="6 3"' if s.dashed else ""
    return (
        f'<polyline data-series="{escape(s.name)}" fill="none" stroke="{s.colour}" '
        f'stroke-width="2"{dash} stroke-linejoin="round" points="{" ".join(coords)}"/>'
    )


def bar_chart(
    name: str,
    title: str,
    bars: Sequence[Bar],
    *,
    x_max: float,
    x_format: Callable[[float], str],
    target: Marker | None = None,
    legend: Sequence[Segment] = (),
    width: int = 760,
    bar_h: int = 16,
    label_w: int = 150,
    right_w: int = 70,
) -> str:
    """Horizontal bars, one per row; a bar with segments is stacked left to right."""
    left, right, top = label_w, right_w, 28 if target else 12
    per_row = 3
    legend_h = 22 * math.ceil(len(legend) / per_row) if legend else 0
    gap = max(4, bar_h // 3)
    plot_w = width - left - right
    plot_h = len(bars) * (bar_h + gap)
    height = top + plot_h + 30 + legend_h
    x_max = max(x_max, 1e-9)

    def sx(x: float) -> float:
        return left + min(max(x, 0.0), x_max) / x_max * plot_w

    out = svg_open(name, title, width, height)
    out.extend(
        x_ticks(sx, x_max, x_format, ticks=5, line_y=(top, top + plot_h), label_y=top + plot_h + 16)
    )
    for i, bar in enumerate(bars):
        y = top + i * (bar_h + gap)
        out.append(
            f'<text x="{left - 8}" y="{_n(y + bar_h * 0.75)}" text-anchor="end" font-size="12" '
            f'fill="#111827">{escape(bar.label)}</text>'
        )
        segments = bar.segments or (Segment(bar.label, bar.value, bar.colour),)
        at = 0.0
        for seg in segments:
            if seg.value <= 0:
                continue
            x0, x1 = sx(at), sx(at + seg.value)
            out.append(
                f'<rect data-segment="{escape(seg.name)}" x="{_n(x0)}" y="{y}" '
                f'width="{_n(max(x1 - x0, 0.5))}" height="{bar_h}" fill="{seg.colour}">'
                f"<title>{escape(bar.label)}: {escape(seg.name)} "
                f"{escape(x_format(seg.value))}</title></rect>"
            )
            at += seg.value
        out.append(
            f'<text x="{_n(sx(bar.value) + 6)}" y="{_n(y + bar_h * 0.75)}" font-size="11" '
            f'fill="#374151">{escape(bar.value_label or x_format(bar.value))}</text>'
        )
    if target is not None and target.x <= x_max:
        tx = _n(sx(target.x))
        out.append(
            f'<line class="target" x1="{tx}" x2="{tx}" y1="{top - 4}" y2="{top + plot_h}" '
            f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="5 4"/>'
            f'<text x="{tx}" y="{top - 10}" text-anchor="middle" font-size="11" '
            f'fill="{TARGET}">{escape(target.label)}</text>'
        )
    for i, seg in enumerate(legend):
        lx = left + (i % per_row) * ((width - left) / per_row)
        ly = top + plot_h + 34 + (i // per_row) * 22
        out.append(
            f'<rect x="{_n(lx)}" y="{ly - 10}" width="12" height="12" fill="{seg.colour}"/>'
            f'<text x="{_n(lx + 17)}" y="{ly}" font-size="12" fill="#111827">'
            f"{escape(seg.name)}</text>"
        )
    out.append("</svg>")
    return "".join(out)
