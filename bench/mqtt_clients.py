"""Client-library comparison: one process receiving the same flood from a private mosquitto.

For each client (aiomqtt, aiomqtt on uvloop, paho-mqtt driven directly with loop_read, gmqtt if
installed, and alertsim's own receiver, loadtest/mqtt/connection.py) a fresh receiver
process subscribes to one topic at QoS 0 and says "ready"; then one publisher connection (ours,
prebuilt packets) writes N real CAP alerts carrying the loadtest stamp as fast as the socket takes
them. The receiver counts until it has N or nothing arrived for 3 s, and reports its rate: messages
received / (last receive - first receive). Prints msgs/s for each and the ratio to the fastest.

gmqtt is not a dependency of the project: install it into the venv for this bench only
(`.venv/bin/pip install gmqtt`); without it its row says "skipped". Not a timed test: this machine
is shared, so run it a few times (`--repeat N`) and read the spread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.mqtt.codec import fixed_stamp, publish_template  # noqa: E402
from loadtest.mqtt.connection import open_connection  # noqa: E402
from loadtest.publisher import alert_payloads  # noqa: E402
from loadtest.schedule import LoadtestConfig  # noqa: E402
from tests.support.broker import Broker  # noqa: E402

TOPIC = "alertsim/v1/alert/500101/500101001/all"
CLIENTS = ("aiomqtt", "aiomqtt+uvloop", "paho", "paho-3.1.1", "gmqtt", "alertsim")
IDLE_S = 3.0


class Counter:
    """Receive count and first/last receive wall times of one receiver."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.first_ns = 0
        self.last_ns = 0
        self.done = False

    def add(self, n: int = 1) -> None:
        now = time.monotonic_ns()
        if not self.count:
            self.first_ns = now
        self.count += n
        self.last_ns = now
        self.done = self.count >= self.expected

    def idle(self) -> bool:
        return bool(self.count) and time.monotonic_ns() - self.last_ns > IDLE_S * 1e9

    def result(self) -> dict[str, Any]:
        span_s = (self.last_ns - self.first_ns) / 1e9
        return {
            "received": self.count,
            "span_s": span_s,
            "rate": self.count / span_s if span_s else 0,
        }


def ready() -> None:
    print("ready", flush=True)


async def receive_aiomqtt(host: str, port: int, counter: Counter) -> None:
    import aiomqtt

    async with aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(TOPIC, qos=0)
        ready()

        async def count() -> None:
            async for _message in client.messages:
                counter.add()
                if counter.done:
                    return

        task = asyncio.create_task(count())
        while not task.done() and not counter.idle():
            await asyncio.sleep(0.2)
        task.cancel()


def receive_paho(host: str, port: int, counter: Counter, version: int = 5) -> None:
    import paho.mqtt.client as mqtt

    # MQTT 3.1.1 receives no properties at all (the broker drops the stamp): what paho costs
    # without parsing them, for comparison with figures measured that way.
    protocol = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
    client.on_message = lambda _c, _u, _m: counter.add()
    subscribed: list[bool] = []
    client.on_subscribe = lambda *_args: subscribed.append(True)
    client.connect(host, port)
    client.subscribe(TOPIC, qos=0)
    while not subscribed:
        client.loop(timeout=0.1)
    ready()
    sock = client.socket()
    while not counter.done and not counter.idle():
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            client.loop_read(max_packets=1000)
        client.loop_misc()
    client.disconnect()


async def receive_gmqtt(host: str, port: int, counter: Counter) -> None:
    from gmqtt import Client

    client = Client("bench-gmqtt")
    subscribed = asyncio.Event()
    client.on_message = lambda *_args: counter.add()
    client.on_subscribe = lambda *_args: subscribed.set()
    await client.connect(host, port)
    client.subscribe(TOPIC, qos=0)
    await subscribed.wait()
    ready()
    while not counter.done and not counter.idle():
        await asyncio.sleep(0.05)
    await client.disconnect()


async def receive_alertsim(host: str, port: int, counter: Counter) -> None:
    client = await open_connection(
        host, port, "bench-alertsim", 5.0, on_publishes=lambda batch, _now: counter.add(len(batch))
    )
    await client.subscribe([TOPIC.encode()], 0)
    ready()
    while not counter.done and not counter.idle():
        await asyncio.sleep(0.05)
    await client.disconnect()


def receiver_main(name: str, host: str, port: int, expected: int) -> None:
    counter = Counter(expected)
    if name.startswith("paho"):
        receive_paho(host, port, counter, 5 if name == "paho" else 4)
    else:
        runners: dict[str, Callable[..., Any]] = {
            "aiomqtt": receive_aiomqtt,
            "aiomqtt+uvloop": receive_aiomqtt,
            "gmqtt": receive_gmqtt,
            "alertsim": receive_alertsim,
        }
        if name == "aiomqtt+uvloop":
            import uvloop

            uvloop.run(runners[name](host, port, counter))
        else:
            asyncio.run(runners[name](host, port, counter))
    print(json.dumps(counter.result()), flush=True)


def available(name: str) -> str | None:
    """None when the client can run here, else why not."""
    module = {"aiomqtt+uvloop": "uvloop", "gmqtt": "gmqtt"}.get(name)
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError:
        return f"{module} not installed (.venv/bin/pip install {module}; not a project dependency)"
    return None


async def flood(broker: Broker, count: int) -> float:
    """Publish ``count`` stamped CAP alerts to TOPIC as fast as one connection takes them."""
    payload = alert_payloads(LoadtestConfig(profile="broadcast", responders=1, connections=1))[0]
    head, tail = publish_template(TOPIC.encode(), len(payload), 0)
    now_ns = time.time_ns()
    # Built before the clock starts, so the flood costs the publisher only its writes.
    chunks = [
        b"".join(
            b"".join((head, tail, fixed_stamp(now_ns, seq), payload))
            for seq in range(start, min(count, start + 1000))
        )
        for start in range(0, count, 1000)
    ]
    client = await open_connection(broker.host, broker.port, "bench-flood", 5.0)
    started = time.monotonic()
    for chunk in chunks:
        client.write(chunk)
        while client.queued_bytes() > 1 << 20:
            await asyncio.sleep(0.001)
    while client.queued_bytes():
        await asyncio.sleep(0.001)
    elapsed = time.monotonic() - started
    await client.disconnect()
    return count / elapsed


def run_one(name: str, broker: Broker, count: int) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--receiver", name, "--port", str(broker.port),
         "--count", str(count)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != "ready":
        process.kill()
        return {"error": f"receiver did not become ready (said {line!r})"}
    offered = asyncio.run(flood(broker, count))
    out, _ = process.communicate(timeout=120)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["offered"] = offered
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="messages in the flood")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--receiver", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        receiver_main(args.receiver, "127.0.0.1", args.port, args.count)
        return
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp)).start()
        try:
            for _ in range(args.repeat):
                rows: dict[str, dict[str, Any]] = {}
                for name in CLIENTS:
                    why_not = available(name)
                    rows[name] = (
                        {"skipped": why_not} if why_not else run_one(name, broker, args.count)
                    )
                rates = [r["rate"] for r in rows.values() if "rate" in r]
                fastest = max(rates, default=0.0)
                print(f"{args.count:,} QoS 0 alerts from mosquitto to one receiving process:")
                for name, row in rows.items():
                    if "rate" not in row:
                        print(f"  {name:<15} {row.get('skipped') or row.get('error')}")
                        continue
                    print(
                        f"  {name:<15} {row['rate']:>9,.0f} msg/s  {row['rate'] / fastest:>5.2f}x "
                        f"fastest  ({row['received']:,} received; offered {row['offered']:,.0f}/s)"
                    )
                sys.stdout.flush()
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
