"""`alertsim dispatch` explains itself: every option in --help, one line and exit 2 per bad input.

Every case here fails before anything connects (the broker URL names a port nobody listens
on, so a check that came too late would show up as exit 3 instead).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatcher.service.cli import EXIT_FAILED, EXIT_INVALID, app
from dispatcher.trust.signing import write_key_set
from tests.support.broker import free_port

OPTIONS = (
    "--plan", "--journal", "--keys", "--key-id", "--broker", "--username", "--password-env",
    "--ca-file", "--deadline-s", "--ladder", "--timeout-s", "--restamp-after-s", "--crash-at",
    "--metrics-port",
)  # fmt: skip


@pytest.fixture
def setup(tmp_path: Path) -> list[str]:
    """Arguments of a valid run (plan, journal, keys) against a broker that is not there."""
    write_key_set(
        tmp_path / "keys", {"500101": ["500101001"]}, now=datetime.now(UTC) - timedelta(1)
    )
    plan = {
        "alertId": "cli-1",
        "level": "red",
        "recipients": [{"id": "500101001-m0000", "tier": "grid", "district": "500101"}],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    return [
        "--plan", str(tmp_path / "plan.json"),
        "--journal", str(tmp_path / "journal.db"),
        "--keys", str(tmp_path / "keys"),
        "--broker", f"mqtt://127.0.0.1:{free_port()}",
        "--deadline-s", "1",
    ]  # fmt: skip


def test_help_documents_every_option() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    for option in OPTIONS:
        assert option in result.output


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            ["--timeout-s", "60,x,120"],
            "--timeout-s: expected seconds like 60,60,120, got '60,x,120'",
        ),
        (["--timeout-s", "60,0,120"], "--timeout-s: expected positive seconds like 60,60,120"),
        (["--timeout-s", "60,60"], "--timeout-s: expected one timeout per --ladder rung (3)"),
        (["--ladder", "app_push,,sms"], "--ladder: expected channels, comma-separated"),
        (["--broker", "http://x"], "--broker: expected mqtt://host[:port]"),
        (["--key-id", "nobody"], "--keys/--key-id: "),
        (["--crash-at", "after_lunch"], "--crash-at: ALERTSIM_CRASH_AT: expected <point>[:<n>]"),
    ],
)
def test_bad_option_is_one_line_and_exit_2(
    setup: list[str], extra: list[str], expected: str
) -> None:
    result = CliRunner().invoke(app, [*setup, *extra])

    assert result.exit_code == EXIT_INVALID, result.output
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(expected)


def test_missing_files_are_named(setup: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    for option, expected in (
        ("--plan", f"--plan {missing}: expected a plan file, got No such file or directory"),
        ("--keys", f"--keys/--key-id: {missing}/private/municipal.pem: expected an Ed25519"),
        ("--journal", f"--journal {missing}/journal.db: expected a journal to open or create"),
    ):
        args = list(setup)
        args[args.index(option) + 1] = str(
            missing / "journal.db" if option == "--journal" else missing
        )
        result = CliRunner().invoke(app, args)

        assert result.exit_code == EXIT_INVALID, result.output
        assert result.stderr.startswith(expected), result.stderr


def test_a_broker_that_is_not_there_is_one_line_and_exit_3(setup: list[str]) -> None:
    result = CliRunner().invoke(app, [*setup, "--connect-timeout-s", "1"])

    assert result.exit_code == EXIT_FAILED, result.output
    # stdout carries the service's structured log (reconnect attempts); stderr the one verdict
    assert result.stderr.startswith("dispatch failed: connect: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_metrics_port_serves_the_summary_while_it_runs(setup: list[str]) -> None:
    import subprocess
    import sys
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from tests.support.waiting import wait_until

    port = free_port()
    args = [*setup, "--connect-timeout-s", "20", "--metrics-port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dispatcher.service.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seen: dict[str, float] = {}

    def scraped() -> bool:
        if proc.poll() is not None:
            return True
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
                text = reply.read().decode()
        except OSError:
            return False
        for family in text_string_to_metric_families(text):
            seen.update({s.name: s.value for s in family.samples if not s.labels})
        return True

    try:
        wait_until(scraped, "alertsim dispatch to serve /metrics", timeout_s=30)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        proc.terminate()
        proc.wait(30)
    assert seen["alertsim_dispatch_recipients_total"] == 1
    assert seen["alertsim_dispatch_published_total"] == 0  # still trying to reach the broker
    assert seen["alertsim_dispatch_ack_latency_seconds_count"] == 0


def test_dispatch_collector_reads_the_summary() -> None:
    from collections import Counter
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from dispatcher.service.dispatch import RunSummary
    from dispatcher.service.metrics import DispatchCollector
    from dispatcher.transport import TransportStats

    summary = RunSummary(published=5, acks=Counter({"done": 3, "duplicate": 1}))
    summary.flagged["unreachable"] = 1
    summary.latency_s.update({"a": 12.0, "b": 170.0, "c": 600.0})
    service = SimpleNamespace(summary=summary, transport=SimpleNamespace(stats=TransportStats()))
    registry = CollectorRegistry()
    registry.register(DispatchCollector(service, 4))  # type: ignore[arg-type]
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    assert samples[("alertsim_dispatch_published_total", ())] == 5
    assert samples[("alertsim_dispatch_acks_total", (("kind", "done"),))] == 3
    assert samples[("alertsim_dispatch_flagged_total", (("cause", "unreachable"),))] == 1
    within = samples[("alertsim_dispatch_ack_latency_seconds_bucket", (("le", "180.0"),))]
    assert within / samples[("alertsim_dispatch_recipients_total", ())] == 2 / 4
    assert samples[("alertsim_dispatch_ack_latency_seconds_bucket", (("le", "900.0"),))] == 3
