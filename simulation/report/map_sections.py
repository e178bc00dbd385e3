"""The maps of report.html and comparison.html, drawn from report.json and district outlines.

report.html: the share acknowledged within the notification target by district (with its 95%
confidence interval over replications in the hover title, from `ranking.districts`, when the
run was replicated), small multiples of the share acknowledged 1, 2, 3, 5 and 15 minutes after
issue, risk points reached within the response target, and the storm: peak cell outage and
rainfall.
comparison.html: the difference between two runs in the share acknowledged within the target
(B minus A), district by district, on a diverging palette.

Maps are drawn when every district of the report has an outline; otherwise a note says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from simulation.geo.shapes import MapShapes
from simulation.report.maps import (
    Cell,
    Scale,
    amount_scale,
    difference_scale,
    district_map,
    floor_share,
    legend,
    outlines,
    share_scale,
)

__all__ = ["MAP_CSS", "comparison_map", "report_maps"]

MARKS_S = ("60", "120", "180", "300", "900")
MAP_CSS = """
.map-row{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start;margin:8px 0}
.map-row figure{flex:1 1 300px}
figure.map-figure{margin:0}
figure.map-figure figcaption{font-size:.85rem;color:#374151;text-align:center}
.multiples{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:6px;margin:8px 0}
svg.map use:hover{stroke:#111827;stroke-width:2}
"""


def _interval(report: dict[str, Any], code: str) -> str:
    """ "; mean ..., 95% CI ... over n replications" when the report ranks this district with
    an interval over replications (`ranking.districts`), else ""."""
    ranked = (report.get("ranking") or {}).get("districts") or []
    for entry in ranked:
        if entry.get("code") == code and entry.get("ci95_low") is not None:
            return (
                f"; mean {floor_share(entry['mean'])}, 95% CI {floor_share(entry['ci95_low'])} "
                f"to {floor_share(entry['ci95_high'])} over {entry['n']} replications"
            )
    return ""


def _covered(report: dict[str, Any], shapes: MapShapes | None) -> str | None:
    """Why the maps cannot be drawn, or None when they can."""
    if shapes is None:
        return "no district outlines could be read to draw them with"
    missing = [d["code"] for d in report["by_district"] if d["code"] not in shapes.paths]
    if missing:
        return f"the district outlines have no shape for {', '.join(missing)}"
    return None


def _compliance(report: dict[str, Any]) -> dict[str, Cell]:
    minutes = report["targets"]["notify_target_s"] / 60
    cells = {}
    for i, d in enumerate(report["by_district"]):
        share = d["within_target_share"]
        cells[d["code"]] = Cell(
            share,
            f"{d['name']} ({d['code']}): {floor_share(share)} of {d['targeted']:,} acknowledged "
            f"within {minutes:g} min" + _interval(report, d["code"]),
            f"by_district.{i}.within_target_share",
        )
    return cells


def _at_mark(report: dict[str, Any], mark: str) -> dict[str, Cell]:
    cells = {}
    for i, d in enumerate(report["by_district"]):
        share = d["acknowledged_within_s"][mark]
        cells[d["code"]] = Cell(
            share,
            f"{d['name']} ({d['code']}): {floor_share(share)} acknowledged "
            f"{int(mark) / 60:g} min after issue",
            f"by_district.{i}.acknowledged_within_s.{mark}",
        )
    return cells


def _risk_points(report: dict[str, Any]) -> dict[str, Cell]:
    minutes = report["targets"]["respond_target_s"] / 60
    cells = {}
    for i, d in enumerate(report["by_district"]):
        points = d.get("risk_points", 0)
        if not points:
            cells[d["code"]] = Cell(None, f"{d['name']} ({d['code']}): no risk points")
            continue
        share = d["response_within_target_share"]
        cells[d["code"]] = Cell(
            share,
            f"{d['name']} ({d['code']}): {floor_share(share)} of {points:,} risk points "
            f"reached within {minutes:g} min",
            f"by_district.{i}.response_within_target_share",
        )
    return cells


def _storm(
    report: dict[str, Any], figure: str, scale_of: Callable[[float], Scale]
) -> tuple[dict[str, Cell], Scale]:
    rows = report["hazard_by_district"]
    scale = scale_of(max((r[figure] for r in rows), default=0.0))
    sources = (report.get("rainfall_source") or {}).get("sources") or {}
    cells = {}
    for j, r in enumerate(rows):
        level = r["level"] or "none"
        title = (
            f"{r['name']} ({r['code']}): {r['rainfall_mm']:,.1f} mm of rain, "
            f"{r['max_3h_mm']:,.1f} mm in the wettest 3 h; highest warning signal {level}; "
            f"{floor_share(r['outage_peak_share'])} of cell sites down at the peak"
        )
        if r["code"] in sources:
            title += f"; rain from {sources[r['code']]}"
        cells[r["code"]] = Cell(r[figure], title, f"hazard_by_district.{j}.{figure}")
    return cells, scale


def _mm(value: float) -> str:
    return f"{value:,.0f} mm" if value >= 10 else f"{value:g} mm"


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


def report_maps(report: dict[str, Any], shapes: MapShapes | None) -> str:
    """The Maps section of report.html (a note instead when it cannot be drawn)."""
    head = '<section id="maps"><h2>Maps</h2>'
    why_not = _covered(report, shapes)
    if why_not is not None or shapes is None:
        return f'{head}<p class="note">No maps: {escape(why_not or "")}.</p></section>'
    shares = share_scale()
    minutes = report["targets"]["notify_target_s"] / 60
    parts = [
        head,
        outlines(shapes),
        '<p class="note">Hover over a district for its figures. Colours are classes (match the '
        "swatch): viridis for shares, cividis for rain and outages, both readable with "
        "colour-vision deficiencies; grey districts were not in this run.</p>",
        _area_note(report),
        '<div class="map-row">',
        district_map(
            "compliance",
            f"Share acknowledged within {minutes:g} minutes, by district",
            shapes,
            _compliance(report),
            shares,
        ),
        legend("share", "share acknowledged", shares, no_data="not in this run"),
        "</div>",
    ]
    if all("acknowledged_within_s" in d for d in report["by_district"]):
        parts.append("<h3>Acknowledged 1, 2, 3, 5 and 15 minutes after issue</h3>")
        parts.append('<div class="multiples">')
        for mark in MARKS_S:
            label = f"{int(mark) / 60:g} min"
            parts.append(
                district_map(
                    f"acknowledged-{mark}",
                    f"Share acknowledged {label} after issue, by district",
                    shapes,
                    _at_mark(report, mark),
                    shares,
                    width=200,
                    caption=label,
                )
            )
        parts.append("</div>")
        respond = report["targets"]["respond_target_s"] / 60
        parts += [
            f"<h3>Risk points reached within {respond:g} minutes</h3>",
            '<div class="map-row">',
            district_map(
                "risk-points",
                f"Share of risk points with a responder on scene within {respond:g} minutes",
                shapes,
                _risk_points(report),
                shares,
            ),
            legend("risk-share", "share of risk points", shares, no_data="no risk points"),
            "</div>",
        ]
    if "hazard_by_district" in report:
        parts.append(_storm_maps(report, shapes))
    parts.append("</section>")
    return "".join(parts)


def _area_note(report: dict[str, Any]) -> str:
    """What a drawn alert area was made of, when the run had one ("" otherwise)."""
    area = report.get("hazard_area")
    if not area:
        return ""
    parts = [
        f"{len(area[name])} {label}"
        for name, label in (
            ("files", "GeoJSON file(s)"),
            ("polygons", "polygon(s)"),
            ("circles", "circle(s)"),
            ("geocodes", "geocode(s)"),
        )
        if area.get(name)
    ]
    return (
        '<p class="note">Alerts went only to the towns inside a drawn area '
        f"({escape(', '.join(parts))}, towns selected by {escape(area['select_by'])}): a "
        "district's figures are those of its towns inside it.</p>"
    )


def _storm_maps(report: dict[str, Any], shapes: MapShapes) -> str:
    rows = report["hazard_by_district"]
    storms = {(r["rainfall_mm"], r["outage_peak_share"]) for r in rows}
    if len(storms) == 1:
        # A storm alike everywhere (a `default` series): two maps of one colour would say less
        # than a sentence does.
        [(rain_mm, outage_share)] = storms
        where = "In the run's one district" if len(rows) == 1 else "Alike in every district"
        return (
            "<h3>The storm: cell outages and rainfall</h3>"
            f'<p class="note" data-storm="uniform">{where}: '
            f"{rain_mm:,.1f} mm of rain over the storm, {floor_share(outage_share)} of cell sites "
            "down at its peak.</p>"
        )
    outage, outage_scale = _storm(report, "outage_peak_share", lambda top: amount_scale(top, _pct))
    rain, rain_scale = _storm(report, "rainfall_mm", lambda top: amount_scale(top, _mm))
    return "".join(
        [
            "<h3>The storm: cell outages and rainfall</h3>",
            '<div class="map-row">',
            district_map(
                "outage",
                "Largest share of cell sites down, by district",
                shapes,
                outage,
                outage_scale,
                width=420,
            ),
            legend("outage", "cell sites down at the peak", outage_scale, no_data="not in run"),
            "</div>",
            '<div class="map-row">',
            district_map(
                "rainfall",
                "Rainfall over the whole storm, by district",
                shapes,
                rain,
                rain_scale,
                width=420,
            ),
            legend("rainfall", "rainfall, whole storm", rain_scale, no_data="not in run"),
            "</div>",
        ]
    )


def _shares_by_code(report: dict[str, Any]) -> Mapping[str, tuple[str, float]]:
    return {d["code"]: (d["name"], d["within_target_share"]) for d in report["by_district"]}


def comparison_map(a: dict[str, Any], b: dict[str, Any], shapes: MapShapes | None) -> str:
    """The difference B - A in the share acknowledged within the target, district by district."""
    head = "<h2>Difference by district</h2>"
    why_not = _covered(a, shapes) or _covered(b, shapes)
    if why_not is not None or shapes is None:
        return f"{head}<p>No map: {escape(why_not or '')}.</p>"
    first, second = _shares_by_code(a), _shares_by_code(b)
    cells: dict[str, Cell] = {}
    for code in sorted(set(first) | set(second)):
        name = (second.get(code) or first[code])[0]
        if code not in first or code not in second:
            run = "B" if code in first else "A"
            cells[code] = Cell(None, f"{name} ({code}): not in run {run}")
            continue
        share_a, share_b = first[code][1], second[code][1]
        difference = round(share_b - share_a, 6)
        cells[code] = Cell(
            difference,
            f"{name} ({code}): A {floor_share(share_a)}, B {floor_share(share_b)}, "
            f"B - A {difference * 100:+.1f} points",
            data=(("a", share_a), ("b", share_b), ("difference", difference)),
        )
    largest = max((abs(c.value) for c in cells.values() if c.value is not None), default=0.0)
    scale = difference_scale(largest, 0.002, lambda v: f"{v * 100:+g} pt")
    minutes = a["targets"]["notify_target_s"] / 60
    return "".join(
        [
            head,
            outlines(shapes),
            f"<p>Share acknowledged within {minutes:g} min, B minus A, in percentage points: "
            "purple where B did better, orange where it did worse (PuOr, readable with "
            "colour-vision deficiencies). Hover over a district for both figures.</p>",
            '<div class="map-row">',
            district_map(
                "difference",
                f"Share acknowledged within {minutes:g} minutes: B minus A, by district",
                shapes,
                cells,
                scale,
            ),
            legend("difference", "B - A, percentage points", scale, no_data="not in both runs"),
            "</div>",
        ]
    )
