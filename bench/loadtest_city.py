"""City-scale fan-out benchmark: alertsim loadtest against a private mosquitto (not a timed test).

Runs (a) unicast, 121,000 responders over 1,031 connections, and (b) broadcast to 10,000
connections, each as a separate `alertsim loadtest` process (the fd limit is per process), and
prints throughput, time to the last delivery and percentiles.

Not built yet: the native C baseline the issue asks for (a libmosquitto program moving the same
alerts in the same run) and hence the alertsim/native ratio; see the README's "Load testing".
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.broker import Broker  # noqa: E402

RUNS = (
    ("unicast", ["--profile", "unicast", "--responders", "121000", "--connections", "1031"]),
    ("broadcast", ["--profile", "broadcast", "--responders", "10000", "--connections", "10000"]),
)


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        broker = Broker(Path(workdir)).start()
        try:
            for name, args in RUNS:
                out = Path(workdir) / name
                subprocess.run(
                    [sys.executable, "-m", "simulation.cli", "loadtest", "--broker", broker.url,
                     *args, "--workers", "2", "--out", str(out), "--quiet"],
                    check=True, cwd=ROOT,
                )  # fmt: skip
                report = json.loads((out / "loadtest.json").read_text())
                latency = report["latency_ms"]
                print(
                    f"{name}: {report['received']:,}/{report['sent']:,} delivered, "
                    f"{report['delivered_per_s']:,.0f}/s, "
                    f"last at {report['last_delivery_s']:.2f} s, "
                    f"p50 {latency['p50']:.0f} ms, p99 {latency['p99']:.0f} ms, "
                    f"fell behind: {report['fell_behind']}"
                )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
