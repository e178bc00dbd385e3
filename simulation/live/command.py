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
from dispatcher.trust.signing import SigningError
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
    keys: Path | None = None,
    sign: bool = True,
    faults: list[str] | None = None,
    credentials: Path | None = None,
) -> tuple[RunResult, dict[str, Any]]:
    from dispatcher.trust.brokerauth import DISPATCHER_USER
    from simulation.faults import parse_fault
    from simulation.live.run import mqtt_factory, run_live

    if not local_swarm and sign and keys is None:
        raise LiveCommandError(
            "--keys: expected the key folder the external swarm verifies with "
            "(alertsim keys init; alertsim swarm --keys), or --unsigned, got neither"
        )
    passwords = _read_credentials(credentials) if credentials is not None else None

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
            keys=keys,
            sign=sign,
            faults=[parse_fault(f) for f in faults or ()],
            transport_factory=mqtt_factory(broker, passwords),
            driver_client_id=DISPATCHER_USER if passwords is not None else None,
        )
    except (TransportError, LiveLagError, SigningError, ValueError) as exc:
        raise LiveCommandError(str(exc)) from exc
    if console is not None:
        live = outcome.live
        console.print(
            f"driver lag p99 {live['driver_lag_p99_ms']:.1f} ms, max "
            f"{live['driver_lag_max_ms']:.1f} ms; transport {outcome.result.transport}"
        )
    return outcome.result, outcome.live


def _read_credentials(path: Path) -> dict[str, str]:
    from simulation.live.brokerconfig import CredentialsError, read_credentials

    try:
        return read_credentials(path)
    except CredentialsError as exc:
        raise LiveCommandError(str(exc)) from None


def _ready_path(ready_file: Path, worker: int, workers: int) -> Path:
    return ready_file if workers == 1 else ready_file.with_name(f"{ready_file.name}.{worker}")


async def _swarm_worker_async(
    scenario_path: Path,
    broker: str,
    speed: float,
    per_connection: int,
    worker: int,
    workers: int,
    ready_file: Path | None = None,
    keys: Path | None = None,
    credentials: Path | None = None,
) -> dict[str, int]:
    from dispatcher.trust.signing import load_keyring
    from simulation.experiment.virtual import build_city
    from simulation.live.run import mqtt_factory
    from simulation.live.swarm import Swarm
    from simulation.scenario import load_scenario

    loaded = load_scenario(scenario_path)
    passwords = _read_credentials(credentials) if credentials is not None else None
    swarm = Swarm(
        loaded.scenario,
        build_city(loaded),
        mqtt_factory(broker, passwords),
        speed=speed,
        responders_per_connection=per_connection,
        worker=worker,
        workers=workers,
        keyring=load_keyring(keys) if keys is not None else None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await swarm.start()
    if ready_file is not None:
        # Every connection is subscribed: a healthcheck may now let live runs start.
        _ready_path(ready_file, worker, workers).write_text("ready\n", encoding="utf-8")
    try:
        await stop.wait()
    finally:
        await swarm.stop()
    return swarm.counters.as_dict()


def _swarm_worker(
    scenario_path: Path,
    broker: str,
    speed: float,
    per_connection: int,
    worker: int,
    workers: int,
    ready_file: Path | None = None,
    keys: Path | None = None,
    credentials: Path | None = None,
) -> None:
    asyncio.run(
        _swarm_worker_async(
            scenario_path,
            broker,
            speed,
            per_connection,
            worker,
            workers,
            ready_file,
            keys,
            credentials,
        )
    )


def run_swarm(
    scenario_path: Path,
    *,
    broker: str,
    speed: float,
    responders_per_connection: int,
    workers: int,
    ready_file: Path | None = None,
    keys: Path | None = None,
    credentials: Path | None = None,
) -> None:
    """Play the scenario's responders until SIGINT/SIGTERM; `workers` processes share them.

    With `ready_file`, the file is written once every connection of every worker is subscribed
    (docker-compose's healthcheck waits for it), and removed first so a stale one cannot lie.
    """
    if ready_file is not None:
        for worker in range(workers):
            _ready_path(ready_file, worker, workers).unlink(missing_ok=True)
        ready_file.unlink(missing_ok=True)
    try:
        if workers == 1:
            _swarm_worker(
                scenario_path,
                broker,
                speed,
                responders_per_connection,
                0,
                1,
                ready_file,
                keys,
                credentials,
            )
            return
        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(
                target=_swarm_worker,
                args=(
                    scenario_path,
                    broker,
                    speed,
                    responders_per_connection,
                    i,
                    workers,
                    ready_file,
                    keys,
                    credentials,
                ),
                name=f"swarm-{i}",
            )
            for i in range(workers)
        ]
        for p in processes:
            p.start()
        try:
            pending = set(range(workers)) if ready_file is not None else set()
            for p in processes:
                while p.is_alive():
                    p.join(0.2)
                    if ready_file is not None and pending:
                        pending = {
                            w for w in pending if not _ready_path(ready_file, w, workers).exists()
                        }
                        if not pending:
                            ready_file.write_text("ready\n", encoding="utf-8")
        finally:
            for p in processes:
                if p.is_alive():
                    p.terminate()
                    p.join(5)
    except (TransportError, SigningError, ValueError) as exc:
        raise LiveCommandError(str(exc)) from exc
