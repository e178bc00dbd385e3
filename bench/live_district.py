"""Benchmark: one large district (Wanzhou, all towns) live over a private mosquitto.

Prints the driver's lag (p99, max, wall ms), the swarm's messages per second and the ratio of wall
time to scaled duration. Goals (issue 3): lag p99 < 100 ms at --speed 60; ratio < 1.2.
Usage: .venv/bin/python bench/live_district.py [--speed 60] [--towns 52]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from simulation.live.run import run_live  # noqa: E402
from simulation.scenario import load_scenario  # noqa: E402
from tests.support.broker import Broker  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--towns", type=int, default=52)
    parser.add_argument("--responders-per-connection", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alertsim-bench-"))
    data = yaml.safe_load((ROOT / "scenarios" / "smoke-one-town.yaml").read_text())
    data["name"] = "bench-wanzhou"
    data["topology"]["path"] = str(ROOT / "config" / "topology" / "chongqing.yaml")
    data["topology"]["towns_per_district"] = args.towns
    path = work / "bench-wanzhou.yaml"
    path.write_text(yaml.safe_dump(data))
    broker = Broker(work).start()
    try:
        started = time.perf_counter()
        outcome = run_live(
            load_scenario(path),
            broker_url=broker.url,
            speed=args.speed,
            responders_per_connection=args.responders_per_connection,
        )
        wall_s = time.perf_counter() - started
    finally:
        broker.stop()
    live, transport = outcome.live, outcome.result.transport
    swarm = outcome.swarm
    assert swarm is not None
    swarm_messages = swarm.received + swarm.duplicates + swarm.receipts + swarm.acknowledged
    print(f"recipients        {len(outcome.result.records):,}")
    print(f"speed             {args.speed:g}x")
    print(f"driver lag p99    {live['driver_lag_p99_ms']:.1f} ms")
    print(f"driver lag max    {live['driver_lag_max_ms']:.1f} ms")
    rate_per_s = swarm_messages / wall_s
    print(f"swarm messages/s  {rate_per_s:,.0f} ({swarm_messages:,} in {wall_s:.1f} s)")
    print(f"wall / scaled     {live['wall_over_scaled']}")
    print(f"transport         {transport}")


if __name__ == "__main__":
    main()
