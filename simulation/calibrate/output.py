"""What `alertsim calibrate` writes: calibration.json and .html, overlay.yaml, scenario.yaml.

``scenario.yaml`` is the scenario with every fitted hop replaced, its file paths rewritten to
point where the original's did, so `alertsim run OUT/scenario.yaml` runs the calibrated model;
``overlay.yaml`` holds only the fitted paths and values, for reading and for `--set`.
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simulation.calibrate.hops import Calibration, Hop
from simulation.report.html_parts import section, table
from simulation.report.style import CSS
from simulation.report.svg import Series, line_chart
from simulation.scenario import LoadedScenario

__all__ = ["calibration_html", "calibration_json", "write_calibration"]

FIT_COLOUR, DATA_COLOUR = "#b45309", "#1d4ed8"  # orange and blue: apart for colour-blind eyes


def _hop_json(hop: Hop) -> dict[str, Any]:
    out: dict[str, Any] = {"path": hop.path, "title": hop.title, "scenario": hop.current}
    if hop.lognormal is not None:
        fit = hop.lognormal
        out["fitted"] = hop.fitted
        out["interval95"] = {
            "median": [round(v, 3) for v in fit.median_ci],
            "p90": [round(v, 3) for v in fit.p90_ci],
        }
        out["observed"], out["censored"], out["ks"] = fit.observed, fit.censored, round(fit.ks, 4)
    elif hop.share is not None:
        share = hop.share
        out["fitted"] = hop.fitted
        out["interval95"] = [round(share.low, 4), round(share.high, 4)]
        out["events"], out["trials"] = share.events, share.trials
    if hop.note:
        out["note"] = hop.note
    out["applied"] = hop.applied
    return out


def calibration_json(calibration: Calibration, loaded: LoadedScenario) -> dict[str, Any]:
    log = calibration.log
    return {
        "log": {
            "path": str(log.path),
            "form": log.form,
            "rows": log.rows,
            "recipients": log.recipients,
            "attempts": len(log.attempts),
            "unavailable": log.unavailable,
        },
        "scenario": {"name": loaded.scenario.name, "file": str(loaded.path)},
        "hops": [_hop_json(hop) for hop in calibration.hops],
        "not_fitted": [{"path": p, "why": why} for p, why in calibration.not_fitted],
    }


def _cdf_chart(hop: Hop) -> str:
    fit = hop.lognormal
    assert fit is not None
    x_max = max(fit.p90 * 2.0, max((t for t, _ in hop.curve), default=1.0) * 0.5, 1.0)
    xs = np.linspace(0.0, x_max, 120)
    scale = 1.0
    if fit.missed:  # the curve of the data tops out at the share that was noticed
        scale = 1.0 - max(s.value for s in fit.missed.values())
    fitted = [(float(x), float(y) * scale) for x, y in zip(xs, fit.cdf(xs), strict=True)]
    data = [(t, f) for t, f in hop.curve if t <= x_max]
    return line_chart(
        f"cdf-{hop.path}",
        f"{hop.path}: data (Kaplan-Meier) and the fitted lognormal",
        [
            Series("data", DATA_COLOUR, data, step=True),
            Series("fit", FIT_COLOUR, fitted, step=False, dashed=True),
        ],
        x_max=x_max,
        x_label="seconds",
        y_label="share",
        height=240,
    )


def _row(hop: Hop) -> list[str]:
    if hop.lognormal is not None:
        fit = hop.lognormal
        value = f"median {fit.median:.3g} s, p90 {fit.p90:.3g} s"
        interval = (
            f"median {fit.median_ci[0]:.3g}-{fit.median_ci[1]:.3g}, "
            f"p90 {fit.p90_ci[0]:.3g}-{fit.p90_ci[1]:.3g}"
        )
        n, ks = f"{fit.observed:,} + {fit.censored:,} censored", f"{fit.ks:.3f}"
    else:
        assert hop.share is not None
        share = hop.share
        value = f"{share.value:.2%}"
        interval = f"{share.low:.2%}-{share.high:.2%}"
        n, ks = f"{share.events:,} of {share.trials:,}", ""
    note = hop.note + ("" if hop.applied else " (not put into scenario.yaml)")
    return [
        f"<code>{escape(hop.path)}</code><br><span class='note'>{escape(note)}</span>",
        escape(value),
        escape(interval),
        escape(n),
        ks,
        f"<code>{escape(json.dumps(hop.current))}</code>",
    ]


def calibration_html(calibration: Calibration, loaded: LoadedScenario) -> str:
    log = calibration.log
    head = ["scenario path", "fitted", "95% interval", "data", "KS", "scenario had"]
    fits = table(head, [_row(h) for h in calibration.hops], numeric_from=99)
    charts = "".join(
        f"<h3>{escape(h.title)}</h3><p class='note'>{escape(h.note)}</p>{_cdf_chart(h)}"
        for h in calibration.hops
        if h.lognormal is not None
    )
    skipped = table(
        ["scenario path", "why it was not fitted"],
        [[f"<code>{escape(p)}</code>", escape(why)] for p, why in calibration.not_fitted],
        numeric_from=99,
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Calibration of {escape(loaded.scenario.name)}</title><style>{CSS}</style>"
        "</head><body><main>"
        f"<h1>Calibration of {escape(loaded.scenario.name)}</h1>"
        f"<p class='sub'>{log.rows:,} rows of {escape(str(log.path))} ({log.form}): "
        f"{log.recipients:,} recipients, {len(log.attempts):,} attempts, "
        f"{log.unavailable:,} found absent. Maximum likelihood with right censoring; "
        "intervals from the observed information.</p>"
        + section("fits", "Fitted hops", fits)
        + section("cdfs", "Data against the fit", charts)
        + (section("not-fitted", "Not fitted", skipped) if calibration.not_fitted else "")
        + "</main></body></html>"
    )


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    node = data
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value


def _calibrated_scenario(
    calibration: Calibration, loaded: LoadedScenario, out_dir: Path
) -> dict[str, Any]:
    data: dict[str, Any] = loaded.scenario.model_dump(mode="json", exclude_none=True)
    data["name"] = f"{loaded.scenario.name}-calibrated"
    for path, value in calibration.overlay().items():
        _set(data, path, value)
    here = loaded.path.parent
    # file paths are relative to the scenario file: keep them pointing at the same files
    data["topology"]["path"] = os.path.relpath(
        (here / loaded.scenario.topology.path).resolve(), out_dir.resolve()
    )
    source = data.get("hazard", {}).get("rainfall_source")
    if isinstance(source, dict) and "path" in source:
        source["path"] = os.path.relpath((here / source["path"]).resolve(), out_dir.resolve())
    return data


def write_calibration(calibration: Calibration, loaded: LoadedScenario, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = calibration_json(calibration, loaded)
    (out_dir / "calibration.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "calibration.html").write_text(calibration_html(calibration, loaded))
    (out_dir / "overlay.yaml").write_text(_yaml(calibration.overlay()))
    scenario = _calibrated_scenario(calibration, loaded, out_dir)
    (out_dir / "scenario.yaml").write_text(
        f"# {loaded.scenario.name} with the hops fitted from {calibration.log.path}\n"
        + _yaml(scenario)
    )


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None)
