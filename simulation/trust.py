"""What the trust-and-faults commands do: key sets and broker configs for a scenario's city,
and a fault proxy in a thread of its own for `alertsim run --mode live --fault`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from dispatcher.trust.brokerauth import BrokerFiles, write_broker_config
from dispatcher.trust.signing import write_key_set
from simulation.experiment.virtual import build_city
from simulation.faults import parse_fault
from simulation.live.proxy import FaultProxy
from simulation.live.swarm import responders_of
from simulation.scenario import LoadedScenario

__all__ = ["init_keys", "start_fault_proxy", "write_city_broker_config"]


def init_keys(loaded: LoadedScenario, out: Path, *, valid_days: int = 365) -> dict[str, int]:
    """One key per center of the scenario's city, written to ``out``."""
    city = build_city(loaded)
    districts = {d.code: [t.code for t in d.towns] for d in city.districts}
    return write_key_set(out, districts, valid_days=valid_days)


def write_city_broker_config(
    loaded: LoadedScenario,
    out: Path,
    *,
    port: int,
    tls_port: int | None,
    host: str = "127.0.0.1",
) -> tuple[BrokerFiles, int]:
    """Users (one per responder, plus the dispatcher), passwords, ACL and mosquitto.conf."""
    responders = responders_of(build_city(loaded))
    files = write_broker_config(out, responders, port=port, host=host, tls_port=tls_port)
    return files, len(responders)


def start_fault_proxy(broker_url: str, specs: list[str]) -> tuple[str, Callable[[], None]]:
    """A `FaultProxy` to ``broker_url`` running the faults ``specs`` (the --fault syntax).

    Runs in a daemon thread with its own event loop, so the live run needs no change: it only
    gets the proxy's URL as its broker. Returns that URL and a function that stops the proxy.
    """
    from dispatcher.transport.mqtt import BrokerAddress

    faults = [parse_fault(s) for s in specs]
    address = BrokerAddress.parse(broker_url)
    loop = asyncio.new_event_loop()
    proxy = FaultProxy(address.host, address.port, faults)
    thread = threading.Thread(target=loop.run_forever, name="fault-proxy", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(10)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(proxy.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    return f"mqtt://127.0.0.1:{proxy.port}", stop
