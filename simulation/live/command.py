"""The CLI's live pieces: `alertsim run --mode live` and `alertsim swarm`, kept out of cli.py."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
from pathlib import Path
from typing import Any

from rich.console import Console

from dispatcher.transport import TransportError
from simulation.live.driver import LiveLagError
from simulation.report.build import RunResult
from simulation.scenario import LoadedScenario

EXIT_LIVE_FAILED = 3


class LiveCommandError(Exception):
    """A live run or swarm could not do its job; the message says where and why."""


def run_live_for_cli(
    loaded: LoadedScenario,
    *,
    broker: str,
    speed: float,
    strict: bool,
    max_lag_ms: float,
    local_swarm: bool,
    responders_per_connection: int,
    console: Console | None,
) -> tuple[RunResult, dict[str, Any]]:
    from simulation.live.run import run_live

    if console is not None:
        console.print(
            f"live run of {loaded.scenario.name} over {broker} at {speed:g}x "
            f"({'in-process' if local_swarm else 'external'} swarm)"
        )
    try:
        outcome = run_live(
            loaded,
            broker_url=broker,
            speed=speed,
            strict=strict,
            max_lag_s=max_lag_ms / 1000.0,
            local_swarm=local_swarm,
            responders_per_connection=responders_per_connection,
        )
    except (TransportError, LiveLagError) as exc:
        raise LiveCommandError(str(exc)) from exc
    if console is not None:
        live = outcome.live
        console.print(
            f"driver lag p99 {live['driver_lag_p99_ms']:.1f} ms, max "
            f"{live['driver_lag_max_ms']:.1f} ms; transport {outcome.result.transport}"
        )
    return outcome.result, outcome.live


async def _swarm_worker_async(
    scenario_path: Path, broker: str, speed: float, per_connection: int, worker: int, workers: int
) -> dict[str, int]:
    from simulation.live.run import mqtt_factory
    from simulation.live.swarm import Swarm
    from simulation.runner import build_city
    from simulation.scenario import load_scenario

    loaded = load_scenario(scenario_path)
    swarm = Swarm(
        loaded.scenario,
        build_city(loaded),
        mqtt_factory(broker),
        speed=speed,
        responders_per_connection=per_connection,
        worker=worker,
        workers=workers,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await swarm.start()
    try:
        await stop.wait()
    finally:
        await swarm.stop()
    return swarm.counters.as_dict()


def _swarm_worker(
    scenario_path: Path, broker: str, speed: float, per_connection: int, worker: int, workers: int
) -> None:
    asyncio.run(_swarm_worker_async(scenario_path, broker, speed, per_connection, worker, workers))


def run_swarm(
    scenario_path: Path, *, broker: str, speed: float, responders_per_connection: int, workers: int
) -> None:
    """Play the scenario's responders until SIGINT/SIGTERM; `workers` processes share them."""
    try:
        if workers == 1:
            _swarm_worker(scenario_path, broker, speed, responders_per_connection, 0, 1)
            return
        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(
                target=_swarm_worker,
                args=(scenario_path, broker, speed, responders_per_connection, i, workers),
                name=f"swarm-{i}",
            )
            for i in range(workers)
        ]
        for p in processes:
            p.start()
        try:
            for p in processes:
                p.join()
        finally:
            for p in processes:
                if p.is_alive():
                    p.terminate()
                    p.join(5)
    except TransportError as exc:
        raise LiveCommandError(str(exc)) from exc
