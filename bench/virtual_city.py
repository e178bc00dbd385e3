"""Benchmark: the full-city virtual run against a bare SimPy loop, in one process.

Prints the bare loop's wall time (1,000,000 timeouts: 100,000 processes x 10), the full-city
scenario's wall time and event count, their ratio, and peak RSS. Goals: the city within
8x the bare loop and under 2 GB. Run: `.venv/bin/python bench/virtual_city.py [SCENARIO]`.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Generator
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def main() -> None:
    scenario = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else ROOT / "scenarios/chongqing-record-rainfall.yaml"
    )
    bare_s = bare_loop()
    print(f"bare SimPy loop: {PROCESSES * STEPS:,} timeouts in {bare_s:.2f} s")
    loaded = load_scenario(scenario)
    start = time.perf_counter()
    result = run_virtual(loaded)
    city_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    recipients = len(result.records)
    print(
        f"{loaded.scenario.name}: {recipients:,} recipients, {len(result.risk_points):,} risk "
        f"points, {result.sim_events:,} events in {city_s:.2f} s "
        f"({city_s / result.sim_events * 1e6:.1f} us/event)"
    )
    print(f"ratio city / bare loop: {city_s / bare_s:.2f} (goal <= 8)")
    print(f"peak RSS: {peak_mb:,.0f} MB (goal < 2,048)")


if __name__ == "__main__":
    main()
