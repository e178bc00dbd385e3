"""Benchmark: the same 2 x N replications on 1 and 2 local workers and on a Dask LocalCluster of 2.

Every executor runs replications 0..2N-1 of one scenario through the executor seam (the tasks
`alertsim run --replications` and `sweep` run); the figures must agree exactly, and the wall times
are printed with each one's speed-up and efficiency (speed-up / workers) against the 1-worker run
measured just before, in the same process. Goal: efficiency >= 0.85 at 2 workers for city-scale
replications on a quiet 2-core machine. The Dask time includes starting and stopping the cluster.

Run: `.venv/bin/python bench/scaling.py [SCENARIO] [--n N] [--scale S]` (default: the city,
N = 2, the scenario's own scale).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.experiment.executors import ExecutorSpec  # noqa: E402
from simulation.experiment.replications import run_replications  # noqa: E402
from simulation.scenario import LoadedScenario, load_scenario  # noqa: E402

EXECUTORS = (
    ("local, 1 worker", ExecutorSpec("local", 1)),
    ("local, 2 workers", ExecutorSpec("local", 2)),
    ("dask-local, 2 workers", ExecutorSpec("dask-local", 2)),
)


def _scaled(loaded: LoadedScenario, scale: float | None) -> LoadedScenario:
    if scale is None:
        return loaded
    topology = loaded.scenario.topology.model_copy(update={"scale": scale})
    scenario = loaded.scenario.model_copy(update={"topology": topology})
    return loaded.model_copy(update={"scenario": scenario})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", nargs="?", default=str(ROOT / "scenarios/chongqing-record-rainfall.yaml")
    )
    parser.add_argument("--n", type=int, default=2, help="replications per worker at 2 workers")
    parser.add_argument("--scale", type=float, default=None, help="topology.scale override")
    args = parser.parse_args()
    loaded = _scaled(load_scenario(Path(args.scenario)), args.scale)
    replications = range(2 * args.n)
    print(
        f"{loaded.scenario.name} (scale {loaded.scenario.topology.scale:g}): "
        f"{len(replications)} replications per executor"
    )
    baseline_s: float | None = None
    reference = None
    for label, spec in EXECUTORS:
        start = time.perf_counter()
        figures = run_replications(loaded, replications, executor=spec)
        wall_s = time.perf_counter() - start
        if reference is None:
            reference = figures
        elif figures != reference:
            raise SystemExit(f"{label}: figures differ from the 1-worker run")
        if baseline_s is None:
            baseline_s = wall_s
        speedup = baseline_s / wall_s
        print(
            f"{label:>22}: {wall_s:7.1f} s  speed-up {speedup:4.2f}  "
            f"efficiency {speedup / spec.workers:4.2f}"
        )
    print("figures identical on every executor")


if __name__ == "__main__":
    main()
