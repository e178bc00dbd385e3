"""What each condition of the as-reported scenario is worth: give up one at a time, with CRN.

scenarios/chongqing-2025-as-reported.yaml names seven conditions under which the 3-minute
target is met. This script runs it as it is and with each condition given up (set back to the
value of the studied storm, scenarios/chongqing-record-rainfall.yaml), the same replications
(common random numbers) for every variant, and prints the share acknowledged within 3 minutes and
the share of risk points reached within 15, each with its 95% interval. Conditions that are
several parameters (reading, acknowledging and availability) are given up together; for one
parameter at a time use `alertsim sensitivity` with config/sensitivity/as-reported.yaml.

    .venv/bin/python scripts/what_it_takes.py [--replications 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.experiment.replications import aggregate, run_tasks  # noqa: E402
from simulation.scenario import load_scenario  # noqa: E402

AS_REPORTED = ROOT / "scenarios" / "chongqing-2025-as-reported.yaml"
STUDIED = ROOT / "scenarios" / "chongqing-record-rainfall.yaml"


def conditions(studied: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each condition given up: the paths it sets back to the studied storm's values."""
    return {
        "as reported": {},
        "1 relayed down three tiers (cascade)": {"strategy": "cascade"},
        "2 municipal processing as studied": {
            "tiers.municipal.processing_s": studied["tiers"]["municipal"]["processing_s"]
        },
        "3 push delay and failure as studied": {
            "channels.app_push.delay_s": studied["channels"]["app_push"]["delay_s"],
            "channels.app_push.failure": studied["channels"]["app_push"]["failure"],
        },
        "4 15% of pushes unseen": {"channels.app_push.missed": 0.15},
        "5 reading, acknowledging, availability as studied": {
            "behaviour.read_s": studied["behaviour"]["read_s"],
            "behaviour.ack_s": studied["behaviour"]["ack_s"],
            "behaviour.availability": studied["behaviour"]["availability"],
        },
        "6 cell outages as studied": {
            "hazard.outage.max_share": studied["hazard"]["outage"]["max_share"]
        },
        "7 broker loss as studied": {"network.loss": studied["network"]["loss"]},
    }


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data[key]
    data[last] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    base = yaml.safe_load(AS_REPORTED.read_text(encoding="utf-8"))
    studied = yaml.safe_load(STUDIED.read_text(encoding="utf-8"))
    tasks, names = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, changes in conditions(studied).items():
            data = copy.deepcopy(base)
            data["topology"]["path"] = str(ROOT / "config" / "topology" / "chongqing.yaml")
            data["provenance"]["sources"] = str(ROOT / "config" / "sources.yaml")
            for path, value in changes.items():
                _set(data, path, value)
            file = Path(tmp) / f"variant-{len(set(names))}.yaml"
            file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
            loaded = load_scenario(file)
            for r in range(args.replications):
                tasks.append((loaded, r))
                names.append(name)
        figures = run_tasks(tasks, workers=args.workers)
    print(f"{args.replications} replications each; share (95% interval)")
    for name in conditions(studied):
        agg = aggregate([f for n, f in zip(names, figures, strict=True) if n == name])
        cells = []
        for key in ("notification.within_target_share", "response.within_target_share"):
            v = agg[key]
            low, high = v["ci95_low"], v["ci95_high"]
            band = "" if low is None else f" ({low:.1%}-{high:.1%})"
            cells.append(f"{v['mean']:.1%}{band}")
        print(f"{name:52s} within 3 min {cells[0]:24s} risk points in 15 min {cells[1]}")


if __name__ == "__main__":
    main()
