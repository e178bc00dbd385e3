"""An inline SVG tornado chart: per parameter, the figure at its low and high value around a base.

One row per parameter, widest swing first (the caller orders them): a bar from the baseline to
the low value's figure and one to the high value's, each with its 95% interval as a whisker when
there is one. Plain SVG, no script, in the `svg.chart` conventions of the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from simulation.report import svg

__all__ = ["HIGH", "LOW", "TornadoRow", "tornado_chart"]

LOW = "#2563eb"
HIGH = "#d97706"


@dataclass(frozen=True, slots=True)
class TornadoRow:
    label: str
    low: float  # the figure at the parameter's low value
    high: float
    low_ci: tuple[float, float] | None = None
    high_ci: tuple[float, float] | None = None
    note: str = ""  # the text at the right end of the row (say, the swing)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _span(rows: Sequence[TornadoRow], base: float) -> tuple[float, float]:
    values = [base]
    for row in rows:
        values += [row.low, row.high]
        for ci in (row.low_ci, row.high_ci):
            if ci is not None:
                values += list(ci)
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.05, 1e-3)
    return lo - pad, hi + pad


def _bar(
    sx: Callable[[float], float],
    base: float,
    value: float,
    ci: tuple[float, float] | None,
    y: float,
    h: int,
    side: tuple[str, str, str],
) -> str:
    name, colour, title = side
    x0, x1 = sorted((sx(base), sx(value)))
    out = (
        f'<rect data-side="{name}" x="{_n(x0)}" y="{_n(y)}" width="{_n(max(x1 - x0, 1.0))}" '
        f'height="{h}" fill="{colour}" fill-opacity="0.85"><title>{escape(title)}</title></rect>'
    )
    if ci is not None:
        mid = _n(y + h / 2)
        out += (
            f'<line data-ci="{name}" x1="{_n(sx(ci[0]))}" x2="{_n(sx(ci[1]))}" y1="{mid}" '
            f'y2="{mid}" stroke="#111827" stroke-width="1.2"/>'
        )
    return out


def _legend(left: int, y: int) -> str:
    return (
        f'<rect x="{left}" y="{y - 10}" width="12" height="12" fill="{LOW}"/>'
        f'<text x="{left + 17}" y="{y}" font-size="12">low value</text>'
        f'<rect x="{left + 110}" y="{y - 10}" width="12" height="12" fill="{HIGH}"/>'
        f'<text x="{left + 127}" y="{y}" font-size="12">high value</text>'
        f'<text x="{left + 230}" y="{y}" font-size="12" fill="{svg.AXIS}">'
        "whiskers: 95% interval (paired, common random numbers)</text>"
    )


def tornado_chart(
    name: str,
    title: str,
    rows: Sequence[TornadoRow],
    *,
    base: float,
    x_format: Callable[[float], str],
    width: int = 900,
    label_w: int = 300,
    right_w: int = 80,
    row_h: int = 22,
) -> str:
    """The chart as one `<svg>` string; `base` is the baseline's figure (the central line)."""
    top, gap = 30, 6
    plot_w = width - label_w - right_w
    plot_h = max(1, len(rows)) * (row_h + gap)
    height = top + plot_h + 46
    lo, hi = _span(rows, base)

    def sx(x: float) -> float:
        return label_w + (x - lo) / (hi - lo) * plot_w

    out = svg.svg_open(name, title, width, height)
    grid = (top, top + plot_h)
    out.extend(svg.x_ticks(sx, hi, x_format, line_y=grid, label_y=top + plot_h + 16, x_min=lo))
    for i, row in enumerate(rows):
        y = top + i * (row_h + gap)
        half = row_h // 2
        out.append(
            f'<g data-row="{escape(row.label)}"><text x="{label_w - 8}" y="{_n(y + row_h * 0.7)}" '
            f'text-anchor="end" font-size="12" fill="#111827">{escape(row.label)}</text>'
        )
        out.append(
            _bar(sx, base, row.low, row.low_ci, y, half, ("low", LOW, f"low: {x_format(row.low)}"))
        )
        out.append(
            _bar(
                sx,
                base,
                row.high,
                row.high_ci,
                y + half,
                half,
                ("high", HIGH, f"high: {x_format(row.high)}"),
            )
        )
        out.append(
            f'<text x="{width - right_w + 6}" y="{_n(y + row_h * 0.7)}" font-size="11" '
            f'fill="#374151">{escape(row.note)}</text></g>'
        )
    bx = _n(sx(base))
    out.append(
        f'<line class="baseline" x1="{bx}" x2="{bx}" y1="{top - 6}" y2="{top + plot_h}" '
        f'stroke="#111827" stroke-width="1.5"/><text x="{bx}" y="{top - 12}" '
        f'text-anchor="middle" font-size="11" fill="#111827">'
        f"baseline {escape(x_format(base))}</text>"
    )
    out.append(_legend(label_w, top + plot_h + 36))
    out.append("</svg>")
    return "".join(out)
