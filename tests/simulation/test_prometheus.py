"""Prometheus metrics: scraped during a live run over mosquitto, equal to its report at the end."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from simulation.cli import app
from simulation.extras import MissingExtra
from simulation.live.run import run_live_async
from simulation.prometheus import LATENCY_BUCKETS_S, LiveCollector, require_metrics, start_exporter
from simulation.report.build import build_report
from simulation.scenario import load_scenario
from tests.support.broker import Broker, free_port
from tests.support.scenarios import load_live_town

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"


def scrape(port: int) -> dict[str, float]:
    """sample name{labels} -> value, parsed by prometheus_client's own text parser."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


async def test_metrics_during_a_live_run_equal_its_report_at_the_end(
    mosquitto: Broker, tmp_path: Path
) -> None:
    loaded = load_live_town(tmp_path)
    registry = CollectorRegistry()
    port = free_port()
    server = start_exporter(port, registry)
    seen: list[dict[str, float]] = []
    finished = asyncio.Event()

    def on_world(world: Any, driver: Any) -> None:
        registry.register(LiveCollector(world, driver, target_s=180.0))

    async def watch() -> None:
        # scrapes while the run goes on, until one shows an acknowledgement counted mid-run
        while not finished.is_set():
            try:
                sample = await asyncio.to_thread(scrape, port)
            except OSError:
                continue
            seen.append(sample)
            if sample.get("alertsim_recipients_acknowledged_total", 0) > 0:
                return
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        outcome = await run_live_async(
            loaded, broker_url=mosquitto.url, speed=400, on_world=on_world
        )
        finished.set()
        await watcher
        final = await asyncio.to_thread(scrape, port)
    finally:
        server.shutdown()
        server.server_close()
    report = build_report(outcome.result)
    note = report["notification"]
    # mid-run: something counted, not yet all of it
    assert seen, "no scrape answered during the run"
    assert 0 < seen[-1]["alertsim_recipients_acknowledged_total"] <= note["acknowledged"]
    assert seen[-1]["alertsim_model_time_seconds"] < final["alertsim_model_time_seconds"]
    # the end: the same figures as report.json
    assert final["alertsim_alerts_issued_total"] == len(outcome.result.alerts)
    assert final["alertsim_recipients_targeted_total"] == note["targeted"]
    assert final["alertsim_recipients_acknowledged_total"] == note["acknowledged"]
    for cause, count in note["flagged"].items():
        assert final.get(f"alertsim_recipients_flagged_total{{cause={cause}}}", 0) == count
    within = final["alertsim_notification_latency_seconds_bucket{le=180.0}"]
    assert within == final["alertsim_recipients_acknowledged_within_target_total"]
    assert round(within / note["targeted"], 6) == note["within_target_share"]  # report: 6 places
    assert final["alertsim_notification_latency_seconds_count"] == note["acknowledged"]
    assert final["alertsim_notification_latency_seconds_bucket{le=+Inf}"] == note["acknowledged"]
    transport = report["transport"]
    for name in ("published", "delivered", "duplicates", "acknowledged"):
        assert final[f"alertsim_transport_{name}_total"] == transport[name], name
    rejected = {
        key.split("reason=")[1].rstrip("}"): value
        for key, value in final.items()
        if key.startswith("alertsim_rejected_total{")
    }
    assert rejected == outcome.live["rejected_by_reason"]
    assert final["alertsim_driver_lag_seconds_count"] == outcome.live["events_stepped"]


def test_latency_buckets_have_edges_at_both_targets() -> None:
    assert {180.0, 900.0} <= set(LATENCY_BUCKETS_S)


def test_metrics_port_needs_live_mode_and_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(
        app, ["run", str(SMOKE), "--out", str(tmp_path), "--metrics-port", "9999"]
    )
    assert result.exit_code == 2
    assert "--metrics-port: expected --mode live, got --mode virtual" in result.output
    from simulation import extras

    monkeypatch.setattr(extras, "find_spec", lambda name: None)
    with pytest.raises(MissingExtra, match=r"pip install 'alertsim\[metrics\]'"):
        require_metrics("--metrics-port")


def test_swarm_collector_shows_the_swarm_counters() -> None:
    from collections import Counter

    from prometheus_client import generate_latest

    from simulation.live.swarm import SwarmCounters
    from simulation.prometheus import SwarmCollector

    counters = SwarmCounters(received=44, acknowledged=21, missed=6)
    counters.rejected = Counter({"signature": 2})
    registry = CollectorRegistry()
    registry.register(SwarmCollector(counters, 3))
    text = generate_latest(registry).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    worker = (("worker", "3"),)
    assert samples[("alertsim_swarm_received_total", worker)] == 44
    assert samples[("alertsim_swarm_acknowledged_total", worker)] == 21
    assert samples[("alertsim_swarm_missed_total", worker)] == 6
    reason = (("reason", "signature"), ("worker", "3"))
    assert samples[("alertsim_swarm_rejected_total", reason)] == 2


def test_alertsim_swarm_serves_its_metrics(mosquitto: Broker, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from tests.support.waiting import wait_until

    port = free_port()
    swarm = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulation.cli",
            "swarm",
            str(SMOKE),
            "--broker",
            mosquitto.url,
            "--accept-unsigned",
            "--metrics-port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    answered: list[dict[str, float]] = []

    def scraped() -> bool:
        if swarm.poll() is not None:
            return True
        try:
            answered.append(scrape(port))
        except OSError:
            return False
        return True

    try:
        wait_until(scraped, "alertsim swarm to serve /metrics", timeout_s=60)
        assert swarm.poll() is None, swarm.stderr.read().decode() if swarm.stderr else ""
        assert answered[-1]["alertsim_swarm_received_total{worker=0}"] == 0
    finally:
        swarm.send_signal(signal.SIGTERM)
        swarm.wait(30)


def test_the_run_commands_exporter_serves_the_run_it_is_handed() -> None:
    import typer

    from dispatcher.core.tracker import Tracker
    from simulation.cli.live import _metrics
    from simulation.live.reach import LiveCounters

    port = free_port()
    on_world = _metrics(port, "127.0.0.1", load_scenario(SMOKE), None)
    assert on_world is not None
    world = type("W", (), {"tracker": Tracker(), "env": type("E", (), {"now": 12.5})()})()
    driver = type("D", (), {"counters": LiveCounters(), "pacer": type("P", (), {"lags_s": []})()})()
    on_world(world, driver)
    metrics = scrape(port)
    assert metrics["alertsim_model_time_seconds"] == 12.5
    assert metrics["alertsim_alerts_issued_total"] == 0
    with pytest.raises(typer.Exit) as taken:  # the port is in use now: one line, exit 2
        _metrics(port, "127.0.0.1", load_scenario(SMOKE), None)
    assert taken.value.exit_code == 2
