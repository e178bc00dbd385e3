"""City-scale fan-out benchmark: alertsim loadtest against a native C client, same broker, same run.

Starts a private mosquitto, compiles bench/native/fanout.c (gcc + libmosquitto-dev), then for each
case runs the native baseline and `alertsim loadtest` back to back, on the same topics, payload
(a real CAP alert) and stamp (MQTT 5 User Property with the scheduled send time):

  unicast QoS 0 and QoS 1: 121,000 responders over 1,031 connections (one topic each)
  broadcast QoS 0: one alert to 10,000 connections

Both sides use two receiving processes (the native subscriber split in two, `--workers 2`), each
under the 20,000-descriptor per-process limit. Prints throughputs (deliveries / time from the
scheduled send to the last delivery), their ratio, last-delivery times and p50/p99 against the
issue's goals. Not a timed test: this machine is shared, so figures vary run to run
(`--repeat N` runs every case N times).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.publisher import alert_payloads  # noqa: E402
from loadtest.schedule import (  # noqa: E402
    LoadtestConfig,
    connection_plan,
    publish_topics,
)
from tests.support.broker import Broker  # noqa: E402

CASES = (
    ("unicast QoS 0", "unicast", 121_000, 1_031, 0),
    ("unicast QoS 1", "unicast", 121_000, 1_031, 1),
    ("broadcast QoS 0", "broadcast", 10_000, 10_000, 0),
)
SUBSCRIBERS = 2
GOAL_LAST_S = {0: 2.5, 1: 4.0}


def compile_native(workdir: Path) -> Path:
    binary = workdir / "fanout"
    source = ROOT / "bench" / "native" / "fanout.c"
    try:
        subprocess.run(
            ["gcc", "-O2", "-o", str(binary), str(source), "-lmosquitto"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        hint = "apt-get install gcc libmosquitto-dev"
        sys.exit(f"bench: could not build {source} ({hint}): {detail}")
    return binary


def percentile_ms(sorted_ns: list[int], q: float) -> float:
    """Nearest-rank percentile, as HdrHistogram reports it."""
    if not sorted_ns:
        return float("nan")
    rank = max(1, min(len(sorted_ns), round(q / 100.0 * len(sorted_ns) + 0.5)))
    return sorted_ns[rank - 1] / 1e6


def run_native(
    binary: Path, broker: Broker, workdir: Path, profile: str, responders: int,
    connections: int, qos: int,
) -> dict[str, Any]:  # fmt: skip
    config = LoadtestConfig(
        broker_url=broker.url, profile=profile, responders=responders,
        connections=connections, qos=qos, run_tag=f"n{int(time.time()) % 100000}",
    )  # fmt: skip
    subs = []
    for index in range(SUBSCRIBERS):
        lines = [
            f"{c}\t{topic}"
            for c in range(index, connections, SUBSCRIBERS)
            for topic in connection_plan(config, c).topics
        ]
        owed = (
            len(range(index, connections, SUBSCRIBERS))
            if profile == "broadcast"
            else sum(len(config.responders_of(c)) for c in range(index, connections, SUBSCRIBERS))
        )
        topics_path = workdir / f"sub{index}.txt"
        topics_path.write_text("\n".join(lines) + "\n")
        out = workdir / f"latencies{index}.bin"
        process = subprocess.Popen(
            [str(binary), "sub", broker.host, str(broker.port), str(topics_path), str(qos),
             str(owed), str(out)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        subs.append((process, out))
    for process, _ in subs:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if line != "ready":
            sys.exit(f"bench: native subscriber did not become ready (said {line!r})")
    topics_path = workdir / "pub.txt"
    topics_path.write_text("\n".join(publish_topics(config)) + "\n")
    payload_path = workdir / "payload.bin"
    payload_path.write_bytes(alert_payloads(config)[0])
    published = subprocess.run(
        [str(binary), "pub", broker.host, str(broker.port), str(topics_path), str(qos),
         str(payload_path)],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    start_ns = int(published[3])
    received = 0
    last_ns = 0
    latencies: list[int] = []
    for process, out in subs:
        stdout, _ = process.communicate(timeout=120)
        words = stdout.split()
        received += int(words[1])
        last_ns = max(last_ns, int(words[5]))
        samples = array("q")
        samples.frombytes(out.read_bytes())
        latencies.extend(samples)
    latencies.sort()
    last_s = (last_ns - start_ns) / 1e9
    sent = connections if profile == "broadcast" else responders
    return {
        "sent": sent,
        "received": received,
        "delivered_per_s": received / last_s if last_s > 0 else 0.0,
        "last_delivery_s": last_s,
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
    }


def run_alertsim(
    broker: Broker, workdir: Path, profile: str, responders: int, connections: int, qos: int
) -> dict[str, Any]:
    out = workdir / f"alertsim-{profile}-{qos}"
    subprocess.run(
        [sys.executable, "-m", "simulation.cli", "loadtest", "--broker", broker.url,
         "--profile", profile, "--responders", str(responders), "--connections",
         str(connections), "--qos", str(qos), "--workers", "2", "--out", str(out), "--quiet"],
        check=True, cwd=ROOT,
    )  # fmt: skip
    report = json.loads((out / "loadtest.json").read_text())
    return {
        "sent": report["sent"],
        "received": report["received"],
        "delivered_per_s": report["delivered_per_s"],
        "last_delivery_s": report["last_delivery_s"] or float("nan"),
        "p50_ms": report["latency_ms"]["p50"] or float("nan"),
        "p99_ms": report["latency_ms"]["p99"] or float("nan"),
        "fell_behind": report["fell_behind"],
    }


def describe(name: str, figures: dict[str, Any]) -> str:
    return (
        f"  {name:<8} {figures['received']:>7,}/{figures['sent']:,} delivered, "
        f"{figures['delivered_per_s']:>8,.0f}/s, last {figures['last_delivery_s']:.2f} s, "
        f"p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms"
        + (f", fell behind: {figures['fell_behind']}" if "fell_behind" in figures else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=[c[1] for c in CASES], default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        binary = compile_native(workdir)
        broker = Broker(workdir).start()
        try:
            for _ in range(args.repeat):
                for label, profile, responders, connections, qos in CASES:
                    if args.only and profile != args.only:
                        continue
                    native = run_native(
                        binary, broker, workdir, profile, responders, connections, qos
                    )
                    ours = run_alertsim(broker, workdir, profile, responders, connections, qos)
                    ratio = ours["delivered_per_s"] / native["delivered_per_s"]
                    print(f"{label}: {responders:,} responders over {connections:,} connections")
                    print(describe("native", native))
                    print(describe("alertsim", ours))
                    verdicts = [f"throughput ratio {ratio:.2f} (goal >= 0.85)"]
                    if profile == "unicast":
                        goal = GOAL_LAST_S[qos]
                        verdicts.append(
                            f"last delivery {ours['last_delivery_s']:.2f} s (goal <= {goal} s)"
                        )
                    else:
                        verdicts.append(
                            f"p99 {ours['p99_ms'] / native['p99_ms']:.2f}x native (goal <= 2x)"
                        )
                    print("  " + "; ".join(verdicts), flush=True)
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
