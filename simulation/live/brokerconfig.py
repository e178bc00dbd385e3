"""A city's locked-down broker: users, passwords, ACLs and mosquitto.conf, and reading them back.

``write_city_broker_config`` is ``alertsim broker-config``: one user per responder of the
scenario's city plus the dispatcher (:mod:`dispatcher.trust.brokerauth` writes the files).
``read_credentials`` reads the credentials.json it leaves, for live runs and swarms that log in.
"""

from __future__ import annotations

import json
from pathlib import Path

from dispatcher.errors import AlertsimError
from dispatcher.trust.brokerauth import BrokerFiles, write_broker_config
from simulation.scenario import LoadedScenario

__all__ = ["CredentialsError", "read_credentials", "write_city_broker_config"]


class CredentialsError(AlertsimError, ValueError):
    """A credentials.json that cannot be read; the message names the file and what is wrong."""


def write_city_broker_config(
    loaded: LoadedScenario,
    out: Path,
    *,
    port: int,
    tls_port: int | None,
    host: str = "127.0.0.1",
) -> tuple[BrokerFiles, int]:
    """Users (one per responder, plus the dispatcher), passwords, ACL and mosquitto.conf."""
    from simulation.experiment.virtual import build_city
    from simulation.live.swarm import responders_of

    responders = responders_of(build_city(loaded))
    files = write_broker_config(out, responders, port=port, host=host, tls_port=tls_port)
    return files, len(responders)


def read_credentials(path: Path) -> dict[str, str]:
    """user -> password from the credentials.json of `alertsim broker-config`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"{path}: expected credentials.json, got {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise CredentialsError(f"{path}: expected an object of user name -> password")
    return data
