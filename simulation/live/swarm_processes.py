"""The swarm as a long-running service: its responders split over worker processes, until stopped.

`alertsim swarm` runs :func:`run_swarm`. Each worker plays its share of the connections of
:class:`simulation.live.swarm.Swarm` (``worker`` of ``workers``) in a process of its own, so one
swarm can use every core. With a ready file, the file is written once every connection of every
worker is subscribed (docker-compose's healthcheck waits for it), and removed first so a stale
one cannot lie.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulation.live.swarm import Swarm

__all__ = ["SwarmSettings", "run_swarm"]

JOIN_POLL_S = 0.2


@dataclass(frozen=True, slots=True)
class SwarmSettings:
    """What every worker of one swarm is started with."""

    scenario_path: Path
    broker: str
    speed: float  # model seconds per wall second, for alerts that do not say
    responders_per_connection: int
    workers: int = 1
    ready_file: Path | None = None
    keys: Path | None = None  # key set whose trust.json alerts are verified against
    credentials: dict[str, str] | None = None  # user -> password, for a locked-down broker
    metrics_port: int | None = None  # worker i serves Prometheus metrics on this + i
    metrics_host: str = "127.0.0.1"

    def ready_path(self, worker: int) -> Path | None:
        """The file ``worker`` writes when subscribed (the ready file itself with one worker)."""
        if self.ready_file is None or self.workers == 1:
            return self.ready_file
        return self.ready_file.with_name(f"{self.ready_file.name}.{worker}")


def run_swarm(settings: SwarmSettings) -> None:
    """Play the scenario's responders until SIGINT/SIGTERM; ``settings.workers`` processes."""
    if settings.ready_file is not None:
        for worker in range(settings.workers):
            path = settings.ready_path(worker)
            if path is not None:
                path.unlink(missing_ok=True)
        settings.ready_file.unlink(missing_ok=True)
    if settings.workers == 1:
        _worker_main(settings, 0)
        return
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker_main, args=(settings, i), name=f"swarm-{i}")
        for i in range(settings.workers)
    ]
    for p in processes:
        p.start()
    try:
        _wait(settings, processes)
    finally:
        for p in processes:
            if p.is_alive():
                p.terminate()
                p.join(5)


def _wait(settings: SwarmSettings, processes: Sequence[BaseProcess]) -> None:
    """Until every worker ends; writes the ready file once all of theirs exist."""
    pending = set(range(settings.workers)) if settings.ready_file is not None else set()
    for p in processes:
        while p.is_alive():
            p.join(JOIN_POLL_S)
            if settings.ready_file is not None and pending:
                pending = {w for w in pending if not _exists(settings.ready_path(w))}
                if not pending:
                    settings.ready_file.write_text("ready\n", encoding="utf-8")


def _exists(path: Path | None) -> bool:
    return path is not None and path.exists()


def _serve_metrics(settings: SwarmSettings, worker: int, swarm: Swarm) -> None:
    """Worker `worker`'s counters on port metrics_port + worker (`swarm --metrics-port`)."""
    from prometheus_client import CollectorRegistry

    from simulation.prometheus import SwarmCollector, start_exporter

    assert settings.metrics_port is not None
    registry = CollectorRegistry()
    registry.register(SwarmCollector(swarm.counters, worker))
    start_exporter(settings.metrics_port + worker, registry, settings.metrics_host)


def _worker_main(settings: SwarmSettings, worker: int) -> None:
    asyncio.run(_play(settings, worker))


async def _play(settings: SwarmSettings, worker: int) -> dict[str, int]:
    from dispatcher.trust.signing import load_keyring
    from simulation.experiment.virtual import build_city
    from simulation.live.run import mqtt_factory
    from simulation.live.swarm import Swarm
    from simulation.scenario import load_scenario

    loaded = load_scenario(settings.scenario_path)
    swarm = Swarm(
        loaded.scenario,
        build_city(loaded),
        mqtt_factory(settings.broker, settings.credentials),
        speed=settings.speed,
        responders_per_connection=settings.responders_per_connection,
        worker=worker,
        workers=settings.workers,
        keyring=load_keyring(settings.keys) if settings.keys is not None else None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if settings.metrics_port is not None:
        _serve_metrics(settings, worker, swarm)
    await swarm.start()
    ready = settings.ready_path(worker)
    if ready is not None:
        # Every connection is subscribed: a healthcheck may now let live runs start.
        ready.write_text("ready\n", encoding="utf-8")
    try:
        await stop.wait()
    finally:
        await swarm.stop()
    return swarm.counters.as_dict()
