"""alertsim keys init, broker-config and --fault, through the CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from dispatcher.trust.signing import load_keyring
from simulation.cli import app

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
    assert (tmp_path / "passwd").stat().st_mode & 0o077 == 0


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
