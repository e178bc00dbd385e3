"""docker-compose.yml, checked without a docker engine: services, images, paths, ports, CLI, order.

The default profile (what `docker compose up` starts) must be exactly the broker, the swarm and a
live run; services that declare `profiles:` (an optional broker cluster, say) are allowed beside
them and get the same checks of images, mounted paths, dependencies and alertsim commands.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from typer.main import get_command

from simulation.cli import app

ROOT = Path(__file__).resolve().parents[3]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _default_services() -> dict[str, Any]:
    return {name: s for name, s in _services().items() if not s.get("profiles")}


def _alertsim_context(service: dict[str, Any]) -> Any:
    command = service.get("command")
    if not isinstance(command, list) or not command or command[0] != "alertsim":
        return None
    cli = get_command(app)
    sub = cli.commands[command[1]]  # type: ignore[attr-defined]
    return sub.make_context(command[1], list(command[2:]))  # a click Context


def test_default_profile_is_the_broker_swarm_and_live_run_with_images() -> None:
    services = _services()
    assert set(_default_services()) == {"mosquitto", "swarm", "live"}
    for name, service in services.items():
        assert re.fullmatch(r"[a-z0-9./_-]+:[A-Za-z0-9._-]+", service["image"]), name
        profiles = service.get("profiles")
        if profiles is not None:
            assert isinstance(profiles, list), f"{name}: profiles must be a list"
            assert profiles, f"{name}: profiles must not be empty"
            assert all(isinstance(p, str) and p for p in profiles), name
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto:2")


def test_start_order_waits_for_health_not_for_sleep() -> None:
    services = _services()
    assert services["swarm"]["depends_on"] == {"mosquitto": {"condition": "service_healthy"}}
    assert services["live"]["depends_on"] == {
        "mosquitto": {"condition": "service_healthy"},
        "swarm": {"condition": "service_healthy"},
    }
    for name, service in services.items():
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            depends = {target: {} for target in depends}
        if not service.get("profiles"):
            entry = " ".join(service.get("entrypoint", []))
            assert not re.search(r"\bsleep\b", entry), f"{name}: orders its start with sleep"
            assert all(rule.get("condition") for rule in depends.values()), (
                f"{name}: every dependency of a default service needs a condition"
            )
        for target, rule in depends.items():
            assert target in services, f"{name}: depends on {target}, which is not a service"
            if rule.get("condition") == "service_healthy":
                check = services[target].get("healthcheck")
                assert check is not None, f"{name}: waits for {target}'s health; it has none"
                assert check["test"][0] in ("CMD", "CMD-SHELL"), target
            if not service.get("profiles"):
                assert not services[target].get("profiles"), (
                    f"{name} (default profile) depends on {target}, which is only in a profile"
                )


def test_broker_healthcheck_publishes_to_the_configured_port() -> None:
    mosquitto = _services()["mosquitto"]
    test = mosquitto["healthcheck"]["test"]
    assert test[1] == "mosquitto_pub"
    port = mosquitto["ports"][0].split(":")[-1]
    assert test[test.index("-p") + 1] == port
    assert test[test.index("-q") + 1] == "1"


def test_swarm_health_is_the_ready_file_it_writes() -> None:
    swarm = _services()["swarm"]
    ctx = _alertsim_context(swarm)
    assert ctx is not None
    ready = ctx.params["ready_file"]
    assert ready is not None, "swarm: needs --ready-file for its healthcheck"
    assert swarm["healthcheck"]["test"] == ["CMD", "test", "-f", str(ready)]


def test_every_mounted_host_path_exists() -> None:
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            if not host.startswith((".", "/")):
                continue  # a named volume, not a host path
            assert (ROOT / host).exists(), f"{name}: mounts {host}, which does not exist"


def test_broker_port_agrees_with_mosquitto_config_and_clients() -> None:
    services = _services()
    mosquitto = services["mosquitto"]
    mount = next(v for v in mosquitto["volumes"] if "mosquitto" in v)
    host_conf, container_conf = mount.split(":")[:2]
    assert container_conf in mosquitto["command"]
    listener = re.search(r"^listener (\d+)", (ROOT / host_conf).read_text(), re.M)
    assert listener is not None
    port = listener.group(1)
    assert mosquitto["ports"] == [f"{port}:{port}"]
    for name in ("swarm", "live"):
        command = services[name]["command"]
        assert command[command.index("--broker") + 1] == f"mqtt://mosquitto:{port}"


def test_commands_parse_with_the_cli_and_name_existing_scenarios() -> None:
    speeds = set()
    for name, service in _services().items():
        ctx = _alertsim_context(service)
        if ctx is None:
            assert name not in ("swarm", "live"), f"{name}: expected an alertsim command"
            continue
        if "scenario" in ctx.params:
            assert (ROOT / ctx.params["scenario"]).is_file(), name
        if "speed" in ctx.params and not service.get("profiles"):
            speeds.add(ctx.params["speed"])
        if name == "live":
            assert ctx.params["mode"] == "live"
            assert ctx.params["local_swarm"] is False
    assert len(speeds) == 1, f"swarm and live run at different speeds: {speeds}"
