"""District maps in inline SVG: outlines defined once, choropleths that reuse them, legends.

The page defines every district's outline once (`outlines`: a hidden `<svg>` of `<path
id="district-CODE">`, projected by `simulation.geo.shapes`), and each map is an `<svg
class="map" data-map=NAME>` of `<use href="#district-CODE">` filled by class, so nine maps cost
one set of coordinates. Every district carries a hover `<title>` with its figures and, where the
value comes from report.json, `data-key` / `data-value` as the rest of the page does. No script,
nothing fetched.

Colours are classed (a reader matches a swatch, not a shade) from palettes made for readers
with colour-vision deficiencies: viridis for shares (dark is low, yellow is high), cividis for
amounts (rain, outages), and the orange-purple diverging PuOr for differences (orange is B below
A, purple above, grey-white no change). Districts without a figure are light grey.
"""

from __future__ import annotations

import itertools
import json
import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from simulation.geo.shapes import MapShapes
from simulation.report.svg import FONT, nice_step

__all__ = [
    "NO_DATA",
    "Cell",
    "Scale",
    "amount_scale",
    "difference_scale",
    "district_map",
    "floor_share",
    "legend",
    "outlines",
    "share_scale",
]

VIRIDIS = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725")
CIVIDIS = ("#00224e", "#35456c", "#666970", "#948e77", "#c8b866", "#fee838")
PUOR = ("#b35806", "#f1a340", "#fee0b6", "#f7f7f7", "#d8daeb", "#998ec3", "#542788")
NO_DATA = "#e5e7eb"
# Even classes where a city misses by far, finer ones near a compliance target.
SHARE_BREAKS = (0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class Scale:
    """Classes: value < breaks[0] is class 0, breaks[i - 1] <= value < breaks[i] class i."""

    breaks: tuple[float, ...]
    colours: tuple[str, ...]
    labels: tuple[str, ...]

    def colour(self, value: float | None) -> str:
        if value is None:
            return NO_DATA
        return self.colours[bisect_right(self.breaks, value)]


@dataclass(frozen=True, slots=True)
class Cell:
    """One district on one map: its value (None: no figure), where it comes from, its title."""

    value: float | None
    title: str
    key: str | None = None  # dotted path in report.json, when the value is one of its figures
    data: tuple[tuple[str, object], ...] = ()  # more data-NAME attributes (JSON values)


def floor_share(share: float) -> str:
    """A share as a percentage to one decimal, rounded down: 99.97% is never shown as 100%."""
    tenths = math.floor(share * 1000 + 1e-9)
    return f"{tenths / 10:.1f}%"


def _percent(value: float) -> str:
    return f"{value * 100:g}%"


def share_scale() -> Scale:
    """Shares of 0 to 1, in the classes a compliance target cares about."""
    edges = [_percent(b) for b in SHARE_BREAKS]
    labels = (
        f"< {edges[0]}",
        *(f"{a} to {b}" for a, b in itertools.pairwise(edges)),
        f"≥ {edges[-1]}",
    )
    return Scale(SHARE_BREAKS, VIRIDIS, labels)


def amount_scale(top: float, fmt: Callable[[float], str]) -> Scale:
    """Six classes of a round width from 0, the last one open and holding `top`, for rain or
    outages; one class when every value is 0."""
    if top <= 0:
        return Scale((), (CIVIDIS[0],), (f"{fmt(0.0)} everywhere",))
    step = _round_down(top / 5)
    breaks = tuple(round(step * i, 9) for i in range(1, 6))
    labels = (
        f"< {fmt(breaks[0])}",
        *(f"{fmt(a)} to {fmt(b)}" for a, b in itertools.pairwise(breaks)),
        f"≥ {fmt(breaks[-1])}",
    )
    return Scale(breaks, CIVIDIS, labels)


def _round_down(value: float) -> float:
    """The largest 1, 2, 2.5 or 5 times a power of ten at or under `value` (> 0)."""
    magnitude = 10.0 ** math.floor(math.log10(value))
    return max(m * magnitude for m in (1, 2, 2.5, 5) if m * magnitude <= value * (1 + 1e-9))


def difference_scale(largest: float, least: float, fmt: Callable[[float], str]) -> Scale:
    """Seven classes symmetric about no change, the middle one |difference| < step / 2, the
    step round and at least `least` (so that no change at all still gets sensible classes)."""
    step = nice_step(max(largest / 2.5, least), 1)
    breaks = tuple(round(step * k, 9) for k in (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5))
    labels = (
        f"below {fmt(breaks[0])}",
        *(f"{fmt(a)} to {fmt(b)}" for a, b in itertools.pairwise(breaks)),
        f"above {fmt(breaks[-1])}",
    )
    return Scale(breaks, PUOR, labels)


def outlines(shapes: MapShapes) -> str:
    """The hidden `<svg>` that defines every district's outline once for all maps on the page."""
    paths = "".join(
        f'<path id="district-{code}" d="{d}" vector-effect="non-scaling-stroke"/>'
        for code, d in shapes.paths.items()
    )
    return (
        '<svg class="map-outlines" width="0" height="0" aria-hidden="true" '
        'style="position:absolute" xmlns="http://www.w3.org/2000/svg">'
        f"<defs>{paths}</defs></svg>"
    )


def district_map(
    name: str,
    title: str,
    shapes: MapShapes,
    cells: Mapping[str, Cell],
    scale: Scale,
    *,
    width: int = 560,
    caption: str = "",
) -> str:
    """One choropleth: every district of `shapes`, filled by `scale` from its cell."""
    out = [
        f'<figure class="map-figure"><svg class="map" data-map="{escape(name)}" role="img" '
        f'viewBox="0 0 {shapes.width:g} {shapes.height:g}" width="100%" '
        f'style="max-width:{width}px" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title><g stroke="#ffffff" stroke-width="0.8">'
    ]
    for code in shapes.paths:
        cell = cells.get(code)
        if cell is None:
            cell = Cell(None, f"{shapes.names.get(code, code)} ({code}): not in this run")
        data = ""
        if cell.key is not None:
            value = escape(json.dumps(cell.value), quote=True)
            data = f" data-key=\"{escape(cell.key)}\" data-value='{value}'"
        for attribute, item in cell.data:
            data += f" data-{attribute}='{escape(json.dumps(item), quote=True)}'"
        out.append(
            f'<use href="#district-{code}" data-district="{code}" '
            f'fill="{scale.colour(cell.value)}"{data}><title>{escape(cell.title)}</title></use>'
        )
    out.append("</g></svg>")
    if caption:
        out.append(f"<figcaption>{escape(caption)}</figcaption>")
    out.append("</figure>")
    return "".join(out)


def legend(name: str, title: str, scale: Scale, *, no_data: str = "no figure") -> str:
    """The swatches of `scale`, each with its range in words, and the grey of no figure."""
    entries: Sequence[tuple[str, str]] = [
        *zip(scale.colours, scale.labels, strict=True),
        (NO_DATA, no_data),
    ]
    row_h, width = 20, 260
    height = 22 + row_h * len(entries)
    out = [
        f'<svg class="map-legend" data-legend="{escape(name)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'style="{FONT}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<text x="0" y="13" font-size="12" font-weight="600" fill="#111827">'
        f"{escape(title)}</text>"
    ]
    for i, (colour, label) in enumerate(entries):
        y = 22 + i * row_h
        out.append(
            f'<rect x="0" y="{y}" width="26" height="14" fill="{colour}" stroke="#9ca3af" '
            f'stroke-width="0.5"/><text x="34" y="{y + 11}" font-size="12" fill="#111827">'
            f"{escape(label)}</text>"
        )
    out.append("</svg>")
    return "".join(out)
