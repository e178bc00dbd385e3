"""Benchmark: one large district (Wanzhou, all towns) live over a private mosquitto.

Prints the driver's lag (p99, max, wall ms), the swarm's messages per second and the ratio of wall
time to scaled duration. Goals: lag p99 < 100 ms at --speed 60; ratio < 1.2.
Usage: .venv/bin/python bench/live_district.py [--speed 60] [--towns 52] [--swarm-workers 1]
With --swarm-workers N the swarm is `alertsim swarm --workers N` in processes of its own (as
`--external-swarm` runs it); 0 plays it in the driver's process.
"""

from __future__ import annotations

import argparse
import subprocess
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


def _scenario(work: Path, towns: int) -> Path:
    """The smoke scenario with `towns` towns of Wanzhou, written in `work` (paths made absolute)."""
    data = yaml.safe_load((ROOT / "scenarios" / "smoke-one-town.yaml").read_text())
    data["name"] = "bench-wanzhou"
    data["topology"]["path"] = str(ROOT / "config" / "topology" / "chongqing.yaml")
    data["provenance"]["sources"] = str(ROOT / "config" / "sources.yaml")
    data["topology"]["towns_per_district"] = towns
    path = work / "bench-wanzhou.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--towns", type=int, default=52)
    parser.add_argument("--responders-per-connection", type=int, default=50)
    parser.add_argument("--swarm-workers", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alertsim-bench-"))
    path = _scenario(work, args.towns)
    broker = Broker(work).start()
    swarm_proc = None
    try:
        if args.swarm_workers > 0:
            ready = work / "swarm.ready"
            command = [sys.executable, "-c", "from simulation.cli import app; app()", "swarm"]
            command += [str(path), "--broker", broker.url, "--speed", f"{args.speed:g}"]
            command += ["--workers", str(args.swarm_workers), "--ready-file", str(ready)]
            # --accept-unsigned: the bench measures lag and throughput, not trust; the driver
            # still signs every alert.
            command += [
                "--responders-per-connection",
                str(args.responders_per_connection),
                "--accept-unsigned",
            ]
            swarm_proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
            while not ready.exists():
                if swarm_proc.poll() is not None:
                    raise SystemExit("alertsim swarm exited before it was ready")
                time.sleep(0.1)
        started = time.perf_counter()
        outcome = run_live(
            load_scenario(path),
            broker_url=broker.url,
            speed=args.speed,
            responders_per_connection=args.responders_per_connection,
            local_swarm=args.swarm_workers == 0,
        )
        wall_s = time.perf_counter() - started
    finally:
        if swarm_proc is not None:
            swarm_proc.terminate()
            swarm_proc.wait(30)
        broker.stop()
    live, transport = outcome.live, outcome.result.transport
    swarm = outcome.swarm
    if swarm is not None:
        swarm_messages = swarm.received + swarm.duplicates + swarm.receipts + swarm.acknowledged
    else:
        # An external swarm's counters stay in its process: count what the driver saw of it
        # (alerts it was sent, receipts and acknowledgements it sent back).
        swarm_messages = (
            transport["published"]
            + transport["delivered"]
            + transport["duplicates"]
            + transport["acknowledged"]
        )
    print(f"recipients        {len(outcome.result.records):,}")
    print(f"speed             {args.speed:g}x")
    print(f"driver lag p99    {live['driver_lag_p99_ms']:.1f} ms")
    print(f"driver lag max    {live['driver_lag_max_ms']:.1f} ms")
    rate_per_s = swarm_messages / wall_s
    print(f"swarm messages/s  {rate_per_s:,.0f} ({swarm_messages:,} in {wall_s:.1f} s)")
    print(
        f"wall / scaled     {live['wall_over_scaled']} "
        f"({wall_s:.1f} s wall, {live['scaled_duration_s']:.1f} s scaled)"
    )
    print(f"transport         {transport}")


if __name__ == "__main__":
    main()
