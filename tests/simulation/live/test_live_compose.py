"""docker-compose.yml, checked without a docker engine: services, images, paths, ports, CLI, order.

The default profile (what `docker compose up` starts) must be exactly the `init` step, the
locked-down broker, the swarm and a live run; services that declare `profiles:` (an optional broker
cluster, say) are allowed beside them and get the same checks of images, mounted paths,
dependencies and alertsim commands. The last test runs `init`'s own commands into a temporary
folder and starts a real mosquitto from what they wrote: everything of `docker compose up` but
docker itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import aiomqtt
import pytest
import yaml
from typer.main import get_command
from typer.testing import CliRunner

from dispatcher.trust.brokerauth import DISPATCHER_USER
from dispatcher.trust.signing import load_keyring
from dispatcher.wire.topics import topic_for
from simulation.cli import app
from simulation.experiment.virtual import build_city
from simulation.live.run import mqtt_factory
from simulation.live.swarm import Swarm, responders_of
from simulation.scenario import load_scenario
from tests.support.broker import Broker, free_port

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = {"init", "mosquitto", "swarm", "live"}


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _default_services() -> dict[str, Any]:
    return {name: s for name, s in _services().items() if not s.get("profiles")}


def _command_lines(service: dict[str, Any]) -> list[list[str]]:
    """The command's argv, or each `&&`-joined step of a `sh -c` command."""
    command = service.get("command")
    if not isinstance(command, list) or not command:
        return []
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(step) for step in command[2].split("&&")]
    return [[str(arg) for arg in command]]


def _context(argv: list[str]) -> Any:
    """A click Context of the real typer app for an `alertsim ...` argv (a usage error fails)."""
    assert argv[0] == "alertsim", argv
    command: Any = get_command(app)
    args = argv[1:]
    while hasattr(command, "commands") and args and args[0] in command.commands:
        command, args = command.commands[args[0]], args[1:]
    return command.make_context(" ".join(argv[:2]), list(args))


def _alertsim_contexts(service: dict[str, Any]) -> dict[str, Any]:
    """`keys init`, `swarm`, `run`, ... -> the parsed context of that alertsim command line."""
    contexts = {}
    for argv in _command_lines(service):
        if argv[0] == "alertsim":
            name = " ".join(argv[1:3]) if argv[1] == "keys" else argv[1]
            contexts[name] = _context(argv)
    return contexts


def _ctx(service: str, command: str) -> Any:
    return _alertsim_contexts(_services()[service])[command]


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool

    @property
    def named(self) -> bool:
        return not self.source.startswith((".", "/"))


def _mounts(service: dict[str, Any]) -> list[Mount]:
    mounts = []
    for volume in service.get("volumes", []):
        parts = volume.split(":")
        mounts.append(Mount(parts[0], parts[1], len(parts) > 2 and parts[2] == "ro"))
    return mounts


def _volume_at(service: dict[str, Any], path: str) -> Mount:
    """The mount that holds ``path`` inside the service's container."""
    holders = [m for m in _mounts(service) if PurePosixPath(path).is_relative_to(m.target)]
    assert holders, f"{path}: expected a volume mounted over it, got none"
    return max(holders, key=lambda m: len(m.target))


def test_default_profile_is_init_broker_swarm_and_live_run_with_images() -> None:
    services = _services()
    assert set(_default_services()) == DEFAULT
    for name, service in services.items():
        assert re.fullmatch(r"[a-z0-9./_-]+:[A-Za-z0-9._-]+", service["image"]), name
        profiles = service.get("profiles")
        if profiles is not None:
            assert isinstance(profiles, list), f"{name}: profiles must be a list"
            assert profiles, f"{name}: profiles must not be empty"
            assert all(isinstance(p, str) and p for p in profiles), name
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto:2")
    # init runs alertsim as the swarm and the live run do: same image, same install step
    for name in ("init", "live"):
        for key in ("image", "working_dir", "entrypoint"):
            assert services[name][key] == services["swarm"][key], f"{name}: {key}"


def test_start_order_waits_for_completion_and_health_not_for_sleep() -> None:
    services = _services()
    assert "depends_on" not in services["init"]
    assert services["mosquitto"]["depends_on"] == {
        "init": {"condition": "service_completed_successfully"}
    }
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
            entry = " ".join(service.get("entrypoint", []) + _compose_text(service))
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
            if rule.get("condition") == "service_completed_successfully":
                assert "restart" not in services[target], f"{target}: must run once and exit"
            if not service.get("profiles"):
                assert not services[target].get("profiles"), (
                    f"{name} (default profile) depends on {target}, which is only in a profile"
                )


def _compose_text(service: dict[str, Any]) -> list[str]:
    return [" ".join(argv) for argv in _command_lines(service)]


def test_default_profile_is_signed_and_never_anonymous() -> None:
    for name, service in _default_services().items():
        text = " ".join(_compose_text(service))
        for loose in ("--accept-unsigned", "--unsigned", "allow_anonymous"):
            assert loose not in text, f"{name}: {loose} in the default profile"
    swarm, live = _ctx("swarm", "swarm"), _ctx("live", "run")
    assert swarm.params["accept_unsigned"] is False
    assert live.params["sign"] is True
    assert live.params["mode"] == "live"
    assert live.params["local_swarm"] is False


def test_swarm_and_live_use_the_keys_and_credentials_init_writes() -> None:
    services = _services()
    keys_out = _ctx("init", "keys init").params["out"]
    broker_out = _ctx("init", "broker-config").params["out"]
    for name, command in (("swarm", "swarm"), ("live", "run")):
        ctx = _ctx(name, command)
        assert ctx.params["keys"] == keys_out, name
        assert ctx.params["credentials"] == broker_out / "credentials.json", name
        for path in (keys_out, broker_out):
            here, there = (
                _volume_at(services[name], str(path)),
                _volume_at(services["init"], str(path)),
            )
            assert here.named, f"{name}: expected {path} on a named volume"
            assert (here.source, here.target) == (there.source, there.target), (
                f"{name}: expected {path} on init's volume {there.source} at {there.target}"
            )
            assert here.read_only, f"{name}: mounts {here.source} writable; it only reads it"
    # the ACLs grant by user name, and a connection's user is its client id: one responder each
    assert _ctx("swarm", "swarm").params["responders_per_connection"] == 1


def test_broker_starts_from_the_config_init_writes() -> None:
    services = _services()
    mosquitto = services["mosquitto"]
    config = mosquitto["command"][mosquitto["command"].index("-c") + 1]
    broker_out = _ctx("init", "broker-config").params["out"]
    assert PurePosixPath(config) == PurePosixPath(broker_out) / "mosquitto.conf"
    here, there = _volume_at(mosquitto, config), _volume_at(services["init"], config)
    assert here.named
    assert (here.source, here.target) == (there.source, there.target)
    # the image's entrypoint chowns /mosquitto so that mosquitto, after dropping root, can read
    # the 0600 password file: the volume must sit under /mosquitto and be writable
    assert PurePosixPath(here.target).is_relative_to("/mosquitto")
    assert not here.read_only


def test_broker_ports_agree_with_broker_config_and_clients() -> None:
    services = _services()
    mosquitto = services["mosquitto"]
    config = _ctx("init", "broker-config").params
    assert config["host"] == "0.0.0.0", "other containers must reach the listener"
    port, tls_port = config["port"], config["tls_port"]
    expected = [f"{port}:{port}"] + ([f"{tls_port}:{tls_port}"] if tls_port else [])
    assert mosquitto["ports"] == expected
    for name, command in (("swarm", "swarm"), ("live", "run")):
        assert _ctx(name, command).params["broker"] == f"mqtt://mosquitto:{port}", name


def test_broker_healthcheck_needs_no_password_and_expects_the_refusal() -> None:
    mosquitto = _services()["mosquitto"]
    kind, script = mosquitto["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    argv = shlex.split(script.split(";")[0])
    assert argv[0] == "mosquitto_pub"
    assert "-u" not in argv
    assert "-P" not in argv
    assert argv[argv.index("-p") + 1] == str(_ctx("init", "broker-config").params["port"])
    assert script.split(";")[1].strip() == "test $$? -eq 5"  # CONNACK 5: not authorised


def test_swarm_health_is_the_ready_file_it_writes() -> None:
    swarm = _services()["swarm"]
    ready = _ctx("swarm", "swarm").params["ready_file"]
    assert ready is not None, "swarm: needs --ready-file for its healthcheck"
    assert swarm["healthcheck"]["test"] == ["CMD", "test", "-f", str(ready)]


def test_every_mount_exists_or_is_a_declared_volume() -> None:
    declared = set(_compose().get("volumes") or {})
    used = set()
    for name, service in _services().items():
        for mount in _mounts(service):
            if mount.named:
                assert mount.source in declared, f"{name}: volume {mount.source} not declared"
                used.add(mount.source)
            else:
                assert (ROOT / mount.source).exists(), f"{name}: mounts {mount.source}, missing"
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_commands_parse_with_the_cli_and_name_one_existing_scenario() -> None:
    speeds, scenarios = set(), set()
    for name, service in _services().items():
        contexts = _alertsim_contexts(service)
        if name in DEFAULT - {"mosquitto"}:
            assert contexts, f"{name}: expected an alertsim command"
        for ctx in contexts.values():
            if "scenario" in ctx.params:
                assert (ROOT / ctx.params["scenario"]).is_file(), name
                if not service.get("profiles"):
                    scenarios.add(ctx.params["scenario"])
            if "speed" in ctx.params and not service.get("profiles"):
                speeds.add(ctx.params["speed"])
    assert set(_alertsim_contexts(_services()["init"])) == {"keys init", "broker-config"}
    assert len(speeds) == 1, f"swarm and live run at different speeds: {speeds}"
    assert len(scenarios) == 1, f"init, swarm and live name different scenarios: {scenarios}"


# --- `init` for real, then the broker it configures -------------------------------------------


def _init_here(tmp_path: Path) -> tuple[dict[str, Path], int, int]:
    """Run init's alertsim commands with its volumes in tmp_path and listeners on free loopback
    ports; returns container path -> local folder, and the two ports."""
    init = _services()["init"]
    local = {m.target: tmp_path / m.source for m in _mounts(init) if m.named}
    port, tls_port = free_port(), free_port()
    replace = {"--host": "127.0.0.1", "--port": str(port), "--tls-port": str(tls_port)}
    for argv in _command_lines(init):
        args = list(argv[1:])
        for i, arg in enumerate(args[:-1]):
            if arg in replace:
                args[i + 1] = replace[arg]
            elif arg == "--out":
                target = next(t for t in local if PurePosixPath(args[i + 1]).is_relative_to(t))
                args[i + 1] = str(local[target] / PurePosixPath(args[i + 1]).relative_to(target))
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, f"{argv}: {result.output}"
    return local, port, tls_port


def _local(local: dict[str, Path], container_path: PurePosixPath | Path) -> Path:
    target = next(t for t in local if PurePosixPath(container_path).is_relative_to(t))
    return local[target] / PurePosixPath(container_path).relative_to(target)


@dataclass
class GeneratedBroker(Broker):
    """mosquitto from the mosquitto.conf `alertsim broker-config` wrote, unchanged."""

    conf: Path | None = None

    def write_config(self) -> Path:
        assert self.conf is not None
        # The image chowns the files to user mosquitto; here (pytest's 0700 folders), as root,
        # stay root to read them.
        conf = self.conf.read_text()
        if os.geteuid() == 0:
            conf = re.sub(r"(?m)^user .*$", "user root", conf)
        path = self.workdir / "mosquitto-generated.conf"
        path.write_text(conf)
        return path


def _healthcheck(port: int) -> int:
    script = _services()["mosquitto"]["healthcheck"]["test"][1]
    script = script.replace("$$", "$").replace("-p 1883", f"-p {port}")  # compose interpolation
    return subprocess.run(
        ["sh", "-c", script], check=False, capture_output=True, timeout=10
    ).returncode


async def _received(port: int, user: str, passwords: dict[str, str], topic: str) -> list[str]:
    """Topics ``user``, subscribed to ``topic``, receives when the dispatcher publishes to the
    topic of every responder (mosquitto grants any subscription and filters by ACL on delivery,
    so what arrives is the check, not the SUBACK)."""
    city = build_city(load_scenario(ROOT / _ctx("swarm", "swarm").params["scenario"]))

    def login(name: str) -> aiomqtt.Client:
        return aiomqtt.Client("127.0.0.1", port, username=name, password=passwords[name], timeout=5)

    async with login(user) as client, login(DISPATCHER_USER) as dispatcher:
        await client.subscribe(topic, qos=1)
        for responder in responders_of(city):
            await dispatcher.publish(topic_for(responder), b"x", qos=1)
        got: list[str] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                async for message in client.messages:
                    got.append(message.topic.value)
        return got


async def test_init_output_starts_a_locked_down_broker_the_swarm_logs_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # compose's working_dir /app is the repository
    local, port, tls_port = _init_here(tmp_path)
    swarm_ctx, live_ctx = _ctx("swarm", "swarm"), _ctx("live", "run")
    credentials_path = _local(local, swarm_ctx.params["credentials"])
    passwords: dict[str, str] = json.loads(credentials_path.read_text())
    keyring = load_keyring(_local(local, live_ctx.params["keys"]))
    assert keyring.records, "keys init: expected trusted keys in trust.json"
    conf = _local(local, PurePosixPath(_services()["mosquitto"]["command"][-1]))
    assert f"listener {port} 127.0.0.1" in conf.read_text()

    broker = GeneratedBroker(tmp_path, port=port, conf=conf).start()
    try:
        assert _healthcheck(port) == 0, "healthcheck: expected the not-authorised refusal"
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", port, identifier="anonymous", timeout=5):
                pass
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1", port, username=DISPATCHER_USER, password="wrong", timeout=5
            ):
                pass
        async with aiomqtt.Client(
            "127.0.0.1", port, username=DISPATCHER_USER, password=passwords[DISPATCHER_USER]
        ):
            pass

        # the swarm exactly as the compose file runs it: every responder logs in and subscribes
        loaded = load_scenario(ROOT / swarm_ctx.params["scenario"])
        swarm = Swarm(
            loaded.scenario,
            build_city(loaded),
            mqtt_factory(f"mqtt://127.0.0.1:{port}", passwords),
            speed=swarm_ctx.params["speed"],
            responders_per_connection=swarm_ctx.params["responders_per_connection"],
            keyring=keyring,
        )
        assert len(swarm.connections) == swarm.responders == len(passwords) - 1
        await asyncio.wait_for(swarm.start(), 20)
        await swarm.stop()
        # a member gets its own alerts, and only those even when it asks for everyone's
        member = next(r for r in responders_of(build_city(loaded)) if r.town)
        own = topic_for(member)
        assert await _received(port, member.id, passwords, own) == [own]
        assert await _received(port, member.id, passwords, "alertsim/v1/alert/#") == [own]

        # the TLS listener with the generated test CA, and one responder's credentials
        responder = next(user for user in passwords if user != DISPATCHER_USER)
        tls = ssl.create_default_context(cafile=str(credentials_path.parent / "ca.crt"))
        async with aiomqtt.Client(
            "127.0.0.1",
            tls_port,
            username=responder,
            password=passwords[responder],
            tls_context=tls,
            timeout=5,
        ) as client:
            await client.publish(f"alertsim/v1/status/{responder}", b"ok", qos=1)
    finally:
        broker.stop()
    assert _healthcheck(port) != 0, "healthcheck: passed with no broker listening"
