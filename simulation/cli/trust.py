"""`alertsim keys init` and `alertsim broker-config`: signing keys and a locked-down broker."""

from pathlib import Path
from typing import Annotated

import typer

from simulation.cli.common import console, errors, load_or_exit

__all__ = ["broker_config", "keys_app"]

keys_app = typer.Typer(help="Signing keys of the centers (see docs/trust-and-faults.md).")


@keys_app.command("init")
def keys_init(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file (its city's centers)")],
    out: Annotated[Path, typer.Option(help="folder for private/*.pem and trust.json")] = Path(
        "keys"
    ),
    valid_days: Annotated[int, typer.Option(min=1, help="days the keys are trusted")] = 365,
) -> None:
    """Create an Ed25519 key per center (municipal, districts, towns) and the public trust.json."""
    from simulation.live.keys import init_keys

    counts = init_keys(load_or_exit(scenario), out, valid_days=valid_days)
    console.print(f"{out}: {counts} keys; give each center its private/<key id>.pem only")


def broker_config(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file (its responders)")],
    out: Annotated[Path, typer.Option(help="folder for mosquitto.conf, passwd, acl")] = Path(
        "broker"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="plain listener port")] = 1883,
    tls_port: Annotated[
        int | None, typer.Option(help="also a TLS listener on this port, with a test CA")
    ] = None,
    host: Annotated[
        str, typer.Option(help="address the listeners bind (0.0.0.0 inside a container)")
    ] = "127.0.0.1",
) -> None:
    """Write a locked-down mosquitto config: passwords, per-user ACLs, optional TLS."""
    from simulation.live.brokerconfig import write_city_broker_config

    files, users = write_city_broker_config(
        load_or_exit(scenario), out, port=port, tls_port=tls_port, host=host
    )
    console.print(f"{files.conf}: {users} responders + dispatcher; secrets in {files.credentials}")
    from dispatcher.trust.brokerauth import blocked_ancestor, conf_user

    user = conf_user(files.conf)
    blocked = blocked_ancestor(files.conf.parent, user) if user else None
    if blocked is not None:
        errors.print(
            f"warning: mosquitto started as root runs as {user}, which cannot enter {blocked}; "
            "write the files elsewhere (--out) or let it through (chmod o+x)",
            soft_wrap=True,
        )
