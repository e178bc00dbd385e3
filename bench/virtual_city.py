"""Benchmark: the full-city virtual run against a bare SimPy loop, in the same run.

Prints the full-city model in this process (events, us/event, ratio to the bare loop), the
report and run folder written from it (`finish_run`), then the whole `alertsim run SCENARIO
--replications 1` as a process of its own, as a planner would run it (start-up, scenario and
city, model, report, records, report.html; bytecode written once beforehand, as a planner's
first run leaves it), with its peak RSS. Each is timed between two bare SimPy loops (1,000,000
timeouts: 100,000 processes x 10) and its ratio taken against their mean, so that a machine
whose speed drifts moves both alike. Goals (issue 14): the whole process within 4x the bare
loop, under 1 GB. Run: `.venv/bin/python bench/virtual_city.py [SCENARIO] [--repeat N]` (N
whole-process runs).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.experiment.folder import finish_run  # noqa: E402
from simulation.experiment.virtual import run_virtual  # noqa: E402
from simulation.report.build import RunResult  # noqa: E402
from simulation.scenario import load_scenario  # noqa: E402

PROCESSES, STEPS = 100_000, 10


def bare_loop() -> float:
    env = simpy.Environment()

    def proc() -> Generator[simpy.Event, object, None]:
        for _ in range(STEPS):
            yield env.timeout(1.0)

    for _ in range(PROCESSES):
        env.process(proc())
    start = time.perf_counter()
    env.run()
    return time.perf_counter() - start


def beside(measure: Callable[[], float]) -> tuple[float, float]:
    """`measure()`'s seconds and the mean of two bare loops run just before and just after it:
    a machine whose speed drifts (other tenants) moves both alike, so their ratio holds."""
    before = bare_loop()
    seconds = measure()
    return seconds, (before + bare_loop()) / 2


# A planner's machine writes bytecode once and reuses it; an environment that forbids it (CI
# images often do) would add recompiling every module to each whole-process run.
PLANNER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def whole_process(scenario: Path) -> float:
    """Wall seconds of `alertsim run SCENARIO --replications 1`, as a planner runs it."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            *(sys.executable, "-m", "simulation.cli", "run", str(scenario)),
            *("--replications", "1", "--quiet", "--out", out),
        ]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=PLANNER_ENV)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", nargs="?", type=Path, default=ROOT / "scenarios/chongqing-record-rainfall.yaml"
    )
    parser.add_argument("--repeat", type=int, default=1, help="whole-process runs (default 1)")
    args = parser.parse_args()

    loaded = load_scenario(args.scenario)
    results: list[RunResult] = []

    def model() -> float:
        start = time.perf_counter()
        results.append(run_virtual(loaded))
        return time.perf_counter() - start

    city_s, bare_s = beside(model)
    result = results.pop()
    print(f"bare SimPy loop: {PROCESSES * STEPS:,} timeouts in {bare_s:.2f} s (either side)")
    print(
        f"{loaded.scenario.name}, model in this process: {len(result.records):,} recipients, "
        f"{len(result.risk_points):,} risk points, {result.sim_events:,} events in {city_s:.2f} s "
        f"({city_s / result.sim_events * 1e6:.1f} us/event); ratio to the bare loop "
        f"{city_s / bare_s:.2f}"
    )

    def post() -> float:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            finish_run(result, Path(out))
            return time.perf_counter() - start

    post_s, bare_s = beside(post)
    print(
        f"report and run folder in this process (report.json, report.html, records.csv.gz, "
        f"alerts): {post_s:.2f} s; ratio to the bare loops either side {post_s / bare_s:.2f}"
    )
    # bytecode written once, as the first of a planner's runs would
    compile_all = [sys.executable, "-m", "compileall", "-q", "simulation", "dispatcher"]
    subprocess.run(compile_all, cwd=ROOT, check=True, env=PLANNER_ENV)
    for run in range(1, args.repeat + 1):
        whole_s, bare_s = beside(lambda: whole_process(args.scenario))
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"whole process, run {run}: {whole_s:.2f} s; bare loops either side {bare_s:.2f} s; "
            f"ratio {whole_s / bare_s:.2f} (goal <= 4); peak RSS {peak_mb:,.0f} MB "
            "(goal < 1,024)"
        )


if __name__ == "__main__":
    main()
