"""`alertsim loadtest` explains itself: every knob in --help, one clear line for each failure."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from loadtest import LoadtestConfig
from loadtest.schedule import descriptor_problem
from simulation.cli import app
from tests.support.broker import free_port

# LoadtestConfig field -> the option that sets it (run_tag is internal: it names topics).
OPTIONS = {
    "broker_url": "--broker", "profile": "--profile", "responders": "--responders",
    "connections": "--connections", "qos": "--qos", "payload_bytes": "--payload-bytes",
    "rate_per_s": "--rate", "duration_s": "--duration", "messages": "--messages",
    "ramp_per_s": "--ramp", "clean_session": "--clean", "workers": "--workers",
    "shard_index": "--shard", "shard_count": "--shard", "publishers": "--publishers",
    "max_inflight": "--max-inflight", "drain_timeout_s": "--drain-timeout",
    "connect_timeout_s": "--connect-timeout", "run_tag": None,
}  # fmt: skip


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_help_documents_every_setting_and_every_profile() -> None:
    result = CliRunner().invoke(app, ["loadtest", "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert set(OPTIONS) == set(LoadtestConfig.model_fields)
    for option in filter(None, OPTIONS.values()):
        assert option in result.output
    for profile in ("broadcast", "unicast", "tiered", "storm"):
        assert f"{profile}:" in one_line(result.output)


def test_bad_broker_url_is_rejected_before_anything_starts() -> None:
    result = CliRunner().invoke(app, ["loadtest", "--broker", "http://127.0.0.1:1883"])

    assert result.exit_code == 2
    assert one_line(result.output) == (
        "loadtest: --broker: expected mqtt://host[:port], got 'http://127.0.0.1:1883'"
    )


def test_broker_down_is_one_clear_error_not_a_report_of_losses() -> None:
    port = free_port()
    result = CliRunner().invoke(
        app, ["loadtest", "--broker", f"mqtt://127.0.0.1:{port}", "--workers", "1", "-q"]
    )

    assert result.exit_code == 1
    output = one_line(result.output)
    assert output.startswith(
        f"loadtest: --broker mqtt://127.0.0.1:{port}: could not connect to an MQTT broker at "
        f"127.0.0.1:{port} ("
    )
    assert output.endswith("expected a running broker there (for a local one: mosquitto -p PORT)")


@pytest.mark.parametrize(
    ("workers", "expected"),
    [
        (1, "use --workers 3 or more"),
        (2, "use --workers 3 or more"),
        (3, None),
    ],
)
def test_more_sockets_than_a_process_may_open_suggests_workers_or_shards(
    workers: int, expected: str | None
) -> None:
    config = LoadtestConfig(responders=2_500, connections=2_500, workers=workers)

    problem = descriptor_problem(config, limit=1_024)

    if expected is None:
        assert problem is None
    else:
        assert problem is not None
        assert problem.startswith(f"connections: 2,500 connections over --workers {workers} put ")
        assert "a process may open 1,024 files here (ulimit -n)" in problem
        assert f"{expected}, or split the swarm across hosts with --shard i/n" in problem


def test_tiered_town_relay_beyond_the_limit_points_to_shards() -> None:
    config = LoadtestConfig(profile="tiered", responders=2_500, connections=2_500, workers=4)

    problem = descriptor_problem(config, limit=1_024)

    assert problem is not None
    assert "town relay holds one connection per town, 2,500 in one process" in problem
    assert problem.endswith("split the swarm across hosts with --shard i/n")
    assert descriptor_problem(config.model_copy(update={"shard_count": 3}), limit=1_024) is None
