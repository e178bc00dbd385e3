"""alertsim keys init, broker-config and --fault, through the CLI."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dispatcher.trust.signing import load_keyring
from simulation.cli import app
from tests.support.broker import free_port, mosquitto_binary
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"


def test_keys_init_one_key_per_center(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["keys", "init", str(SMOKE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    ring = load_keyring(tmp_path)
    kinds = sorted(r.scope.kind for r in ring.records.values())
    assert kinds == ["district", "municipal", "town"]
    assert len(list((tmp_path / "private").glob("*.pem"))) == 3


def test_broker_config_writes_locked_down_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["broker-config", str(SMOKE), "--out", str(tmp_path), "--tls-port", "8883"]
    )
    assert result.exit_code == 0, result.output
    conf = (tmp_path / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf
    assert "use_username_as_clientid true" in conf
    assert "listener 8883" in conf
    users = [line.split(":")[0] for line in (tmp_path / "passwd").read_text().splitlines()]
    assert users[0] == "dispatcher"
    assert len(users) == len(set(users)) > 1
    assert (tmp_path / "passwd").stat().st_mode & 0o007 == 0  # never world-readable
    assert stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode) == 0o600
    assert (tmp_path / "server.key").stat().st_mode & 0o007 == 0


def _running_as(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid in /proc/{pid}/status")


def _logs_in(port: int, user: str, password: str) -> bool:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=user)
    client.username_pw_set(user, password)
    try:
        return client.connect("127.0.0.1", port, keepalive=5) == 0 and _connack(client)
    finally:
        client.disconnect()


def _connack(client: Any) -> bool:
    codes: list[Any] = []
    client.on_connect = lambda _c, _u, _f, code, _p: codes.append(code)
    wait_until(lambda: client.loop(0.05) != 0 or codes, "a CONNACK", timeout_s=10)
    return bool(codes) and not codes[0].is_failure


@pytest.mark.skipif(os.geteuid() != 0, reason="mosquitto drops privileges only when root")
def test_the_generated_conf_starts_mosquitto_as_root() -> None:
    # Not under pytest's tmp_path: its folders are 0700, so no user but root could reach them,
    # which is what broker-config warns about; /tmp itself lets everyone through.
    out = Path(tempfile.mkdtemp(prefix="alertsim-broker-", dir="/tmp")) / "broker"
    out.parent.chmod(0o711)  # like a home folder: others may pass through, not list it
    port = free_port()
    try:
        result = CliRunner().invoke(
            app, ["broker-config", str(SMOKE), "--out", str(out), "--port", str(port)]
        )
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output
        conf = (out / "mosquitto.conf").read_text()
        assert "user mosquitto\n" in conf
        assert stat.S_IMODE((out / "credentials.json").stat().st_mode) == 0o600
        log = (out.parent / "mosquitto.log").open("wb")
        process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(out / "mosquitto.conf")], stdout=log, stderr=log
        )
        try:
            wait_until(
                lambda: process.poll() is not None or _accepts(port),
                "mosquitto to listen",
                state=(out.parent / "mosquitto.log").read_text,
            )
            assert process.poll() is None, (out.parent / "mosquitto.log").read_text()
            assert _running_as(process.pid) == pwd.getpwnam("mosquitto").pw_uid
            password = json.loads((out / "credentials.json").read_text())["dispatcher"]
            assert _logs_in(port, "dispatcher", password)
            assert not _logs_in(port, "dispatcher", "wrong")
        finally:
            process.terminate()
            process.wait(10)
            log.close()
    finally:
        shutil.rmtree(out.parent)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_broker_config_warns_when_the_broker_user_cannot_reach_the_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["broker-config", str(SMOKE), "--out", str(tmp_path / "broker")]
    )
    assert result.exit_code == 0, result.output
    if os.geteuid() == 0:  # pytest's folders are 0700 root: user mosquitto cannot enter them
        assert "warning: mosquitto started as root runs as mosquitto" in result.stderr
    else:
        assert "warning" not in result.stderr


def _error(result: Result) -> str:
    """The command's error output as one line (the console wraps long lines at its width)."""
    return " ".join(result.stderr.split())


def test_fault_needs_live_mode_and_a_valid_spec(tmp_path: Path) -> None:
    # Exit status 2 alone proves little: click returns it for any mistyped option as well.
    runner = CliRunner()
    args = ["run", str(SMOKE), "--out", str(tmp_path), "-q"]
    virtual = runner.invoke(app, [*args, "--fault", "all:cut"])
    assert virtual.exit_code == 2
    assert _error(virtual) == "--fault: expected --mode live, got --mode virtual"
    bad = runner.invoke(app, [*args, "--mode", "live", "--fault", "district:1:cut"])
    assert bad.exit_code == 2
    assert _error(bad) == (
        "--fault: expected target:kind[:<seconds>s][:<ms>ms][@<start>s][%<share>] with target "
        "all, district:<6 digits> or client:<id> and kind cut, delay or blackhole, "
        "got 'district:1:cut'"
    )
    assert not (tmp_path / "report.json").exists()
