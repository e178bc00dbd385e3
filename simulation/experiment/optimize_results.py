"""What an optimize study found: the Pareto front, the chosen plans, and their scenario files.

The front is the set of completed trials that no other trial beats on both cost (lower) and the
first target's lower 95% bound (higher). The chosen plan for a target is its cheapest trial whose
lower bound reaches the target (ties: the higher bound, then the earlier trial); with more than
one target, one more plan meets them all. Each chosen plan is written as a whole scenario file,
with the scenario's name and seed, so `alertsim run plans/NAME.yaml --replications N` reproduces
its figures exactly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from simulation.experiment.levers import Levers, Target, plan_scenario
from simulation.scenario import LoadedScenario

__all__ = ["build_document", "chosen_plans", "pareto_front", "write_outputs", "write_plan"]


def _lower(row: dict[str, Any], figure: str) -> float:
    low = row["figures"][figure]["ci95_low"]
    return 0.0 if low is None else float(low)


def pareto_front(rows: Sequence[dict[str, Any]], figure: str) -> list[int]:
    """Trial numbers on the cost vs lower-bound front, cheapest first."""
    ordered = sorted(rows, key=lambda r: (r["cost"], -_lower(r, figure), r["trial"]))
    front, best = [], -1.0
    for row in ordered:
        if _lower(row, figure) > best + 1e-12:
            front.append(row["trial"])
            best = _lower(row, figure)
    return front


def _cheapest(rows: Sequence[dict[str, Any]], meets: Sequence[bool], figure: str) -> Any:
    candidates = [r for r, ok in zip(rows, meets, strict=True) if ok]
    if not candidates:
        return None
    return min(candidates, key=lambda r: (r["cost"], -_lower(r, figure), r["trial"]))


def chosen_plans(rows: Sequence[dict[str, Any]], targets: Sequence[Target]) -> list[dict[str, Any]]:
    """Per target (and for all of them together when more than one): the cheapest plan."""
    out = []
    for i, target in enumerate(targets):
        best = _cheapest(rows, [r["meets"][i] for r in rows], target.figure)
        out.append({"target": target.label, "trial": None if best is None else best["trial"]})
    if len(targets) > 1:
        best = _cheapest(rows, [r["meets_all"] for r in rows], targets[0].figure)
        out.append({"target": "all targets", "trial": None if best is None else best["trial"]})
    return out


def build_document(
    meta: dict[str, Any],
    levers: Levers,
    baseline: dict[str, Any],
    rows: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """optimize.json: how it was made, the levers, the baseline, every trial, front and plans."""
    return {
        **meta,
        "targets": [t.model_dump(mode="json") for t in levers.targets],
        "levers": [
            {
                "path": lv.name,
                "kind": lv.kind,
                "base": lv.base if lv.kind != "scale" else "x1",
                **(
                    {"choices": list(lv.choices), "costs": list(lv.costs)}
                    if lv.kind == "choice"
                    else {"low": lv.low, "high": lv.high, "cost_per_unit": lv.cost_per_unit}
                ),
            }
            for lv in levers.levers
        ],
        "baseline": {
            "settings": {lv.name: "x1" if lv.kind == "scale" else lv.base for lv in levers.levers},
            "cost": 0.0,
            "figures": baseline,
            "meets": [
                (baseline[t.figure]["ci95_low"] or 0.0) >= t.at_least - 1e-12
                for t in levers.targets
            ],
        },
        "trials": list(rows),
        "front": pareto_front(rows, levers.targets[0].figure),
        "chosen": chosen_plans(rows, levers.targets),
    }


def write_plan(
    loaded: LoadedScenario, levers: Levers, raw: dict[str, Any], path: Path, note: str
) -> dict[str, Any]:
    """The plan as a whole scenario file at `path`; returns its overlay (path -> value)."""
    plan = plan_scenario(loaded, levers, raw)
    data = plan.scenario.model_dump(mode="json", exclude_none=True)
    topology = (loaded.path.parent / loaded.scenario.topology.path).resolve()
    data["topology"]["path"] = os.path.relpath(topology, path.parent.resolve())
    data["description"] = note
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# {note}\n# written by alertsim optimize from {loaded.path.name}\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return {lever.name: lever.value(raw[lever.name]) for lever in levers.levers}


def write_outputs(
    out_dir: Path,
    loaded: LoadedScenario,
    levers: Levers,
    document: dict[str, Any],
) -> tuple[Path, Path]:
    """Plans under plans/, then optimize.json and optimize.html; returns the two paths."""
    from simulation.report.optimize import render_html

    by_trial = {row["trial"]: row for row in document["trials"]}
    for stale in sorted((out_dir / "plans").glob("plan-*.yaml")):
        stale.unlink()  # plans chosen by an earlier call of a resumed study
    for plan in document["chosen"]:
        if plan["trial"] is None:
            continue
        row = by_trial[plan["trial"]]
        name = f"plan-{plan['trial']:04d}.yaml"
        note = f"optimize plan (trial {plan['trial']}, cost {row['cost']:g}) for {plan['target']}"
        plan["scenario_file"] = f"plans/{name}"
        plan["overlay"] = write_plan(loaded, levers, row["raw"], out_dir / "plans" / name, note)
    json_path, html_path = out_dir / "optimize.json", out_dir / "optimize.html"
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    html_path.write_text(render_html(document), encoding="utf-8")
    return json_path, html_path
