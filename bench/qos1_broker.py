"""Where QoS 1 time goes at city scale: broker settings and publisher window, with broker CPU.

Runs the city's unicast fan-out (121,000 responders over 1,031 connections, QoS 1) against a fresh
private mosquitto per variant, and prints, besides alertsim's throughput and last delivery, how
much CPU the broker process used over the run (from /proc/<pid>/stat): a broker near 1.0 core is
the ceiling whatever the client does. Variants: the project's broker config (unlimited in-flight
and queue, persistence off), mosquitto's defaults (20 in flight, 1,000 queued), persistence on,
and the publisher's in-flight window (--max-inflight) and connection count. ``--native`` adds the
libmosquitto client of bench/native/fanout.c on the project's config for the same-run reference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loadtest_city import compile_native, run_native  # noqa: E402

from tests.support.broker import Broker  # noqa: E402

RESPONDERS, CONNECTIONS = 121_000, 1_031
# (label, extra mosquitto config appended after config/mosquitto/alertsim.conf, loadtest options)
VARIANTS: tuple[tuple[str, str, list[str]], ...] = (
    ("project config (inflight 0, queued 0, no persistence)", "", []),
    ("mosquitto defaults: 20 in flight, 1000 queued", "max_inflight_messages 20\n"
     "max_queued_messages 1000\n", []),
    ("broker: 1000 in flight a client", "max_inflight_messages 1000\n", []),
    ("broker: persistence on (in memory until exit)", "persistence true\n"
     "autosave_interval 0\n", []),
    ("publisher window 1,000 in flight", "", ["--max-inflight", "1000"]),
    ("publisher window 100 in flight", "", ["--max-inflight", "100"]),
    ("4 publisher connections", "", ["--publishers", "4"]),
)  # fmt: skip
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def run_alertsim(broker: Broker, workdir: Path, options: list[str]) -> dict[str, Any]:
    out = workdir / f"qos1-{time.monotonic_ns()}"
    subprocess.run(
        [sys.executable, "-m", "simulation.cli", "loadtest", "--broker", broker.url,
         "--profile", "unicast", "--responders", str(RESPONDERS), "--connections",
         str(CONNECTIONS), "--qos", "1", "--workers", "2", "--out", str(out), "--quiet",
         "--drain-timeout", "30", *options],
        check=True, cwd=ROOT,
    )  # fmt: skip
    report: dict[str, Any] = json.loads((out / "loadtest.json").read_text())
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--native", action="store_true", help="add the libmosquitto reference")
    parser.add_argument("--only", type=int, nargs="*", help="variant indices to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.native:
            binary = compile_native(workdir)
            broker = Broker(workdir).start()
            try:
                assert broker.process is not None
                before = cpu_s(broker.process.pid)
                native = run_native(binary, broker, workdir, "unicast", RESPONDERS, CONNECTIONS, 1)
                used = cpu_s(broker.process.pid) - before
            finally:
                broker.stop()
            print(
                f"native libmosquitto, project config: {native['received']:,} delivered, "
                f"{native['delivered_per_s']:,.0f}/s, last {native['last_delivery_s']:.2f} s, "
                f"broker CPU {used:.1f} s = {used / native['last_delivery_s']:.2f} core",
                flush=True,
            )
        for index, (label, extra, options) in enumerate(VARIANTS):
            if args.only and index not in args.only:
                continue
            broker = Broker(workdir, extra_config=extra).start()
            try:
                assert broker.process is not None
                before = cpu_s(broker.process.pid)
                report = run_alertsim(broker, workdir, options)
                used = cpu_s(broker.process.pid) - before
            finally:
                broker.stop()
            last_s = report["last_delivery_s"] or float("nan")
            print(
                f"[{index}] {label}: {report['received']:,}/{report['sent']:,} delivered, "
                f"{report['delivered_per_s']:,.0f}/s, last {last_s:.2f} s, "
                f"publisher max in flight {report['raw']['publish_max_inflight']:,}, "
                f"broker CPU {used:.1f} s (whole run incl. connect)",
                flush=True,
            )


if __name__ == "__main__":
    main()
