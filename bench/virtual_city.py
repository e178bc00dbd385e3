"""Benchmark: the full-city virtual run against a bare SimPy loop, in the same run.

Prints the bare loop's wall time (1,000,000 timeouts: 100,000 processes x 10), then the
full-city model in this process (events, us/event, ratio to the bare loop) and the report and
run folder written from it (`finish_run`), then the whole `alertsim run SCENARIO
--replications 1` as a process of its own, as a planner would run it (start-up, scenario and
city, model, report, records, report.html), with its ratio to the bare loop and its peak RSS.
Goals (issue 14): the whole process within 4x the bare loop, under 1 GB.
Run: `.venv/bin/python bench/virtual_city.py [SCENARIO] [--repeat N]` (N whole-process runs,
each followed by a fresh bare loop: the ratio is taken against the loop run beside it).
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.experiment.folder import finish_run  # noqa: E402
from simulation.experiment.virtual import run_virtual  # noqa: E402
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


def whole_process(scenario: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of `alertsim run SCENARIO --replications 1`."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            *(sys.executable, "-m", "simulation.cli", "run", str(scenario)),
            *("--replications", "1", "--quiet", "--out", out),
        ]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", nargs="?", type=Path, default=ROOT / "scenarios/chongqing-record-rainfall.yaml"
    )
    parser.add_argument("--repeat", type=int, default=1, help="whole-process runs (default 1)")
    args = parser.parse_args()

    bare_s = bare_loop()
    print(f"bare SimPy loop: {PROCESSES * STEPS:,} timeouts in {bare_s:.2f} s")
    loaded = load_scenario(args.scenario)
    start = time.perf_counter()
    result = run_virtual(loaded)
    city_s = time.perf_counter() - start
    recipients = len(result.records)
    print(
        f"{loaded.scenario.name}, model in this process: {recipients:,} recipients, "
        f"{len(result.risk_points):,} risk points, {result.sim_events:,} events in {city_s:.2f} s "
        f"({city_s / result.sim_events * 1e6:.1f} us/event); ratio to the bare loop "
        f"{city_s / bare_s:.2f}"
    )
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        finish_run(result, Path(out))
        post_s = time.perf_counter() - start
    print(
        f"report and run folder in this process (report.json, report.html, records.csv.gz, "
        f"alerts): {post_s:.2f} s; ratio to the bare loop {post_s / bare_s:.2f}"
    )
    del result, loaded
    gc.collect()
    for run in range(1, args.repeat + 1):
        whole_s, peak_mb = whole_process(args.scenario)
        beside_s = bare_loop()
        print(
            f"whole process, run {run}: {whole_s:.2f} s; bare loop beside it {beside_s:.2f} s; "
            f"ratio {whole_s / beside_s:.2f} (goal <= 4); peak RSS {peak_mb:,.0f} MB "
            "(goal < 1,024)"
        )


if __name__ == "__main__":
    main()
