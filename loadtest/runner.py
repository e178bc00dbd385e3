"""Run one load test: start swarm workers, wait until all are subscribed, publish, drain, report.

The coordinator owns the clock of the run: nothing is published until every worker has reported
every SUBACK, and the drain ends when every owed delivery arrived, when every swarm connection is
gone, when deliveries stopped for ``idle_s``, or ``drain_timeout_s`` after the last publish,
whichever comes first, so a dead broker yields a finished report with its losses, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Final

from dispatcher.errors import AlertsimError
from loadtest import histogram
from loadtest.mqtt.connection import MqttConnection, MqttError, open_connection
from loadtest.publisher import (
    alert_payloads,
    connect_publishers,
    encoded_topics,
    packet_templates,
    publish_plan,
)
from loadtest.relay import relay_main
from loadtest.report import build_report, host_info
from loadtest.schedule import (
    RELAY_TIERS,
    LoadtestConfig,
    descriptor_problem,
    owed_deliveries,
    parse_broker_url,
)
from loadtest.subscribers import rss_bytes, worker_main

__all__ = ["LoadtestError", "Progress", "run_loadtest"]

_IDLE_S: Final = 3.0
_START_LEAD_NS: Final = 20_000_000
_JOIN_TIMEOUT_S: Final = 10.0


class LoadtestError(AlertsimError, RuntimeError):
    """The run could not start (no broker, no swarm); a run that started always reports."""


@dataclass(frozen=True)
class Progress:
    """What the display shows: connections up, deliveries in, and what is owed."""

    phase: str
    connected: int
    connections: int
    received: int
    owed: int


@dataclass
class _WorkerHandle:
    process: BaseProcess
    pipe: Connection
    connected: int = 0
    received: int = 0
    disconnects: int = 0
    ready: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    failure: str | None = None


def run_loadtest(
    config: LoadtestConfig, progress: Callable[[Progress], None] | None = None
) -> dict[str, Any]:
    """Run the configured test (this shard of it) and return the loadtest.json document."""
    return asyncio.run(_run(config, progress or (lambda _p: None)))


async def _run(config: LoadtestConfig, show: Callable[[Progress], None]) -> dict[str, Any]:
    _check_descriptors(config)
    await _probe_broker(config)
    payloads = alert_payloads(config)
    templates = packet_templates(encoded_topics(config), payloads, config.qos)
    owed = owed_deliveries(config)
    connections = config.shard_connections()
    workers = _start_workers(config, connections)
    relays = _start_relays(config, sorted({len(p) for p in payloads}))
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    for handle in workers + relays:
        loop.add_reader(handle.pipe.fileno(), _drain_pipe, handle, changed)

    def tell(phase: str) -> None:
        show(
            Progress(
                phase,
                sum(h.connected for h in workers),
                len(connections),
                sum(h.received for h in workers),
                owed,
            )
        )

    try:
        everyone = workers + relays
        await _until_subscribed(config, everyone, relays, changed, lambda: tell("connecting"))
        tell("subscribed")
        broker = {"url": config.broker_url, "version": await _broker_version(config)}
        try:
            publishers = await connect_publishers(config)
        except (OSError, TimeoutError, MqttError) as exc:
            raise LoadtestError(f"{config.broker_url}: publisher could not connect: {exc}") from exc
        start_ns = time.time_ns() + _START_LEAD_NS
        publishing = asyncio.create_task(
            publish_plan(config, publishers, payloads, templates, start_ns)
        )
        while not publishing.done():
            await asyncio.wait({publishing}, timeout=0.1)
            tell("publishing")
        tally = publishing.result()
        await _drain(config, workers, owed, changed, lambda: tell("draining"))
        for handle in everyone:
            _send(handle, ("stop",))
        await _wait(
            everyone, changed, _JOIN_TIMEOUT_S, lambda: all(h.result or h.failure for h in everyone)
        )
        tell("done")
        await asyncio.gather(*(p.disconnect() for p in publishers))
    finally:
        for handle in workers + relays:
            loop.remove_reader(handle.pipe.fileno())
        _stop_workers(workers + relays)
    results = [h.result for h in workers if h.result is not None]
    missing = [h.failure or "no result" for h in workers + relays if h.result is None]
    raw = _raw(config, results, tally, owed, missing)
    raw["relays"] = [h.result for h in relays if h.result is not None]
    return build_report(
        config=_config_summary(config),
        broker=broker,
        raw=raw,
        hosts=[host_info() | {"coordinator_rss_bytes": rss_bytes()}],
        shards=[f"{config.shard_index}/{config.shard_count}"],
    )


async def _until_subscribed(
    config: LoadtestConfig,
    everyone: list[_WorkerHandle],
    relays: list[_WorkerHandle],
    changed: asyncio.Event,
    tick: Callable[[], None],
) -> None:
    """Wait until every worker and relay has subscribed; a failure is one LoadtestError."""
    await _wait(
        everyone, changed, config.connect_timeout_s + 30.0, lambda: _all_ready(everyone), tick
    )
    failures = [h.failure for h in everyone if h.failure]
    if failures or not _all_ready(everyone):
        raise LoadtestError("; ".join(failures) or "swarm workers did not become ready")
    unready = [
        f"{h.process.name}: {h.ready['failed_connects']:,} connection(s) failed, e.g. "
        + "; ".join(h.ready.get("connect_errors", [])[:1])
        for h in relays
        if h.ready is not None and h.ready["failed_connects"]
    ]
    if unready:
        raise LoadtestError("relays could not subscribe: " + "; ".join(unready))


async def _drain(
    config: LoadtestConfig,
    workers: list[_WorkerHandle],
    owed: int,
    changed: asyncio.Event,
    tick: Callable[[], None],
) -> None:
    """Wait for the deliveries still owed: until all arrived, the swarm is gone, nothing has
    arrived for a while, or the drain timeout passed."""
    drain_deadline = time.monotonic() + config.drain_timeout_s
    last_received, last_change = -1, time.monotonic()
    while time.monotonic() < drain_deadline:
        received = sum(h.received for h in workers)
        if received >= owed or _swarm_gone(workers):
            return
        if received != last_received:
            last_received, last_change = received, time.monotonic()
        elif time.monotonic() - last_change > min(_IDLE_S, config.drain_timeout_s):
            return
        changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), 0.1)
        tick()


def _start_workers(config: LoadtestConfig, connections: list[int]) -> list[_WorkerHandle]:
    # spawn: the coordinator may already run threads (rich's display), which fork would copy.
    context = multiprocessing.get_context("spawn")
    count = min(config.workers, len(connections))
    config_json = config.model_dump_json()
    handles = []
    for index in range(count):
        ours, theirs = context.Pipe()
        process = context.Process(
            target=worker_main,
            args=(config_json, connections[index::count], theirs),
            name=f"alertsim-loadtest-worker-{index}",
            daemon=True,
        )
        process.start()
        theirs.close()
        handles.append(_WorkerHandle(process, ours))
    return handles


def _start_relays(config: LoadtestConfig, payload_sizes: list[int]) -> list[_WorkerHandle]:
    """The tiered profile's district and town relay processes (none for other profiles)."""
    if config.profile != "tiered":
        return []
    context = multiprocessing.get_context("spawn")
    config_json = config.model_dump_json()
    handles = []
    for tier in RELAY_TIERS:
        ours, theirs = context.Pipe()
        process = context.Process(
            target=relay_main,
            args=(config_json, tier, payload_sizes, theirs),
            name=f"alertsim-loadtest-{tier}-relay",
            daemon=True,
        )
        process.start()
        theirs.close()
        handles.append(_WorkerHandle(process, ours))
    return handles


def _check_descriptors(config: LoadtestConfig) -> None:
    """Raise the open-file limit to its hard limit; LoadtestError if a process still cannot fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        # Spawned workers inherit the raised limit.
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    problem = descriptor_problem(config, soft if soft != resource.RLIM_INFINITY else 1 << 30)
    if problem:
        raise LoadtestError(problem)


async def _probe_broker(config: LoadtestConfig) -> None:
    """One connection before anything starts, so a down broker is one clear error, not N."""
    address = parse_broker_url(config.broker_url)
    try:
        client = await open_connection(
            address.host,
            address.port,
            f"alertsim-lt{config.run_tag}-probe{config.shard_index}",
            min(5.0, config.connect_timeout_s),
        )
    except (OSError, TimeoutError, MqttError) as exc:
        detail = str(exc) or type(exc).__name__
        raise LoadtestError(
            f"--broker {config.broker_url}: could not connect to an MQTT broker at "
            f"{address.host}:{address.port} ({detail}); expected a running broker there "
            "(for a local one: mosquitto -p PORT)"
        ) from exc
    await client.disconnect()


def _drain_pipe(handle: _WorkerHandle, changed: asyncio.Event) -> None:
    try:
        while handle.pipe.poll():
            message = handle.pipe.recv()
            kind = message[0]
            if kind == "connected":
                handle.connected = message[1]
            elif kind == "ready":
                handle.ready = message[1]
                handle.connected = message[1]["connected"]
            elif kind == "progress":
                handle.received, handle.disconnects = message[1], message[2]
            elif kind == "result":
                handle.result = message[1]
                handle.received = message[1]["received"]
            elif kind == "failed":
                handle.failure = message[1]
    except (EOFError, OSError):
        if handle.result is None and handle.failure is None:
            handle.failure = f"{handle.process.name} exited without a result"
        asyncio.get_running_loop().remove_reader(handle.pipe.fileno())
    changed.set()


def _all_ready(workers: list[_WorkerHandle]) -> bool:
    return all(h.ready is not None or h.failure is not None for h in workers)


def _swarm_gone(workers: list[_WorkerHandle]) -> bool:
    return all(h.ready is not None and h.disconnects >= h.connected for h in workers)


async def _wait(
    workers: list[_WorkerHandle],
    changed: asyncio.Event,
    timeout_s: float,
    done: Callable[[], bool],
    tick: Callable[[], None] = lambda: None,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), min(0.1, deadline - time.monotonic()))
        tick()
        if all(not h.process.is_alive() for h in workers):
            await asyncio.sleep(0.05)  # let the last messages in the pipes be read
            return


def _send(handle: _WorkerHandle, message: tuple[str, ...]) -> None:
    try:
        handle.pipe.send(message)
    except (BrokenPipeError, OSError):
        return


def _stop_workers(workers: list[_WorkerHandle]) -> None:
    for handle in workers:
        handle.process.join(_JOIN_TIMEOUT_S)
        if handle.process.is_alive():
            handle.process.kill()
            handle.process.join(1.0)
        handle.pipe.close()


async def _broker_version(config: LoadtestConfig) -> str:
    """The broker's $SYS version where it publishes one (mosquitto, EMQX); 'unknown' otherwise."""
    from loadtest.schedule import parse_broker_url

    address = parse_broker_url(config.broker_url)
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_publishes(batch: list[Any], _now_ns: int) -> None:
        if batch and not found.done():
            found.set_result(bytes(batch[0].payload).decode("utf-8", "replace"))

    client: MqttConnection | None = None
    try:
        client = await open_connection(
            address.host,
            address.port,
            f"alertsim-lt{config.run_tag}-sys{config.shard_index}",
            2.0,
            on_publishes=on_publishes,
        )
        await asyncio.wait_for(client.subscribe([b"$SYS/broker/version"], 0), 2.0)
        return await asyncio.wait_for(found, 0.5)
    except (OSError, TimeoutError, MqttError):
        return "unknown"
    finally:
        if client is not None:
            await client.disconnect()


def _config_summary(config: LoadtestConfig) -> dict[str, Any]:
    return config.model_dump(mode="json") | {"shard": f"{config.shard_index}/{config.shard_count}"}


def _raw(
    config: LoadtestConfig,
    results: list[dict[str, Any]],
    tally: Any,
    owed: int,
    missing: list[str],
) -> dict[str, Any]:
    lasts = [r["last_delivery_unix_ns"] for r in results if r["last_delivery_unix_ns"]]
    connected = sum(r["connected"] for r in results)
    return {
        "sent": owed,
        "published": tally.published,
        "publish_failed": tally.failed,
        "received": sum(r["received"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "out_of_order": sum(r["out_of_order"] for r in results),
        "unstamped": sum(r["unstamped"] for r in results),
        "connected": connected,
        "failed_connects": sum(r["failed_connects"] for r in results)
        + (len(config.shard_connections()) - sum(r["connections"] for r in results)),
        "disconnects": sum(r["disconnects"] for r in results),
        "started_unix_ns": tally.started_unix_ns,
        "last_delivery_unix_ns": max(lasts) if lasts else None,
        "connect_s": max((r["connect_s"] for r in results), default=0.0),
        "swarm_max_queue_bytes": max((r["max_queue_bytes"] for r in results), default=0),
        "swarm_max_loop_lag_ms": max((r["max_loop_lag_ms"] for r in results), default=0.0),
        "publish_max_lag_ms": tally.max_lag_ms,
        "publish_max_queued_bytes": tally.max_queue_bytes,
        "publish_acked": tally.acked,
        "publish_unknown_acks": tally.unknown_acks,
        "publish_max_inflight": tally.max_inflight,
        "memory_per_connection_bytes": (
            sum(r["rss_per_connection_bytes"] * r["connected"] for r in results) / connected
            if connected
            else 0.0
        ),
        "histogram": histogram.encode(
            histogram.merged(histogram.decode(r["histogram"]) for r in results)
        ),
        "missing_workers": missing,
    }
