"""docker-compose.yml, checked without a docker engine: services, images, paths, ports, CLI."""

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


def test_compose_has_the_broker_swarm_and_live_run_with_images() -> None:
    services = _compose()["services"]
    assert set(services) == {"mosquitto", "swarm", "live"}
    for name, service in services.items():
        assert re.fullmatch(r"[a-z0-9./_-]+:[A-Za-z0-9._-]+", service["image"]), name
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto:2")
    assert services["live"]["depends_on"] == ["mosquitto", "swarm"]


def test_every_mounted_host_path_exists() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            assert (ROOT / host).exists(), f"{name}: mounts {host}, which does not exist"


def test_broker_port_agrees_with_mosquitto_config_and_clients() -> None:
    services = _compose()["services"]
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
    cli = get_command(app)
    speeds = set()
    for name in ("swarm", "live"):
        command = _compose()["services"][name]["command"]
        assert command[0] == "alertsim"
        sub = cli.commands[command[1]]  # type: ignore[attr-defined]
        ctx = sub.make_context(command[1], list(command[2:]))
        assert (ROOT / ctx.params["scenario"]).is_file()
        speeds.add(ctx.params["speed"])
        if name == "live":
            assert ctx.params["mode"] == "live"
            assert ctx.params["local_swarm"] is False
    assert len(speeds) == 1, f"swarm and live run at different speeds: {speeds}"
