"""Small load tests against a real mosquitto: every delivery accounted for, figures consistent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loadtest import LoadtestConfig, Progress, run_loadtest
from simulation.cli import app
from tests.support.broker import Broker

pytestmark = pytest.mark.broker

REQUIRED_KEYS = {
    "schema_version", "profile", "broker", "qos", "responders", "connections", "sent",
    "received", "lost", "duplicates", "out_of_order", "delivered_per_s", "last_delivery_s",
    "connect_s", "latency_ms", "fell_behind",
}  # fmt: skip


def config(broker: Broker, **overrides: object) -> LoadtestConfig:
    settings: dict[str, object] = {
        "broker_url": broker.url,
        "profile": "unicast",
        "responders": 300,
        "connections": 12,
        "workers": 2,
        "drain_timeout_s": 5.0,
    }
    return LoadtestConfig.model_validate(settings | overrides)


def assert_accounted(report: dict[str, object]) -> None:
    assert set(report) >= REQUIRED_KEYS
    assert report["received"] + report["lost"] == report["sent"]  # type: ignore[operator]
    latency = report["latency_ms"]
    assert isinstance(latency, dict)
    assert set(latency) == {"p50", "p90", "p99", "p999", "max"}
    figures = [latency[name] for name in ("p50", "p90", "p99", "p999", "max")]
    assert figures == sorted(figures)
    assert figures[0] > 0


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_unicast_delivers_every_alert_once(mosquitto: Broker, qos: int) -> None:
    report = run_loadtest(config(mosquitto, qos=qos))

    assert report["sent"] == 300
    assert report["received"] == 300
    assert report["lost"] == 0
    assert report["duplicates"] == 0
    assert report["out_of_order"] == 0
    assert report["connected"] == 12
    assert report["qos"] == qos
    # At QoS 1/2 every publish was acknowledged, each packet id released exactly once.
    assert report["raw"]["publish_acked"] == (300 if qos else 0)
    assert report["raw"]["publish_unknown_acks"] == 0
    assert_accounted(report)
    assert report["last_delivery_s"] > 0
    assert report["delivered_per_s"] == pytest.approx(300 / report["last_delivery_s"])


def test_broadcast_reaches_every_connection_for_each_alert(mosquitto: Broker) -> None:
    seen: list[Progress] = []
    report = run_loadtest(
        config(mosquitto, profile="broadcast", responders=40, connections=40, messages=3),
        progress=seen.append,
    )

    assert report["sent"] == 120
    assert report["received"] == 120
    assert report["out_of_order"] == 0
    assert_accounted(report)
    assert seen[-1].phase == "done"
    assert max(p.connected for p in seen) == 40


def test_paced_storm_is_measured_from_the_schedule(mosquitto: Broker) -> None:
    report = run_loadtest(
        config(mosquitto, profile="storm", rate_per_s=400.0, duration_s=0.5, connections=6)
    )

    assert report["sent"] == 200
    assert report["received"] == 200
    assert_accounted(report)
    # Paced at 400/s, the last of 200 alerts is due at ~0.5 s: delivery cannot finish before.
    assert report["last_delivery_s"] >= 0.49


def test_killed_broker_yields_a_finished_report_with_losses(private_mosquitto: Broker) -> None:
    # 100/s for 4 s; the broker dies once 20 alerts have arrived, so most can never arrive.
    def kill_after_some(progress: Progress) -> None:
        if progress.phase == "publishing" and progress.received >= 20:
            private_mosquitto.kill()

    settings = config(
        private_mosquitto, profile="storm", rate_per_s=100.0, duration_s=4.0, drain_timeout_s=2.0
    )
    report = run_loadtest(settings, progress=kill_after_some)

    assert report["sent"] == 400
    assert 20 <= report["received"] < 400
    assert report["lost"] == 400 - report["received"]
    assert report["publish_failed"] > 0
    assert_accounted(report)


def test_cli_writes_loadtest_json(mosquitto: Broker, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["loadtest", "--broker", mosquitto.url, "--responders", "50", "--connections", "5",
         "--workers", "1", "--out", str(out), "--quiet"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    report = json.loads((out / "loadtest.json").read_text())
    assert report["received"] == 50
    assert_accounted(report)


def test_cli_rejects_broadcast_with_more_responders_than_connections(mosquitto: Broker) -> None:
    result = CliRunner().invoke(
        app,
        ["loadtest", "--broker", mosquitto.url, "--profile", "broadcast", "--responders",
         "300", "--connections", "10"],
    )  # fmt: skip

    assert result.exit_code == 2
    assert " ".join(result.output.split()) == (
        "loadtest: responders: broadcast delivers once per subscribed connection, "
        "so expected --responders equal to --connections (10), got 300"
    )


def test_metrics_show_progress_then_the_report(mosquitto: Broker) -> None:
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from loadtest.metrics import observed, serve_metrics
    from tests.support.broker import free_port

    def scrape(port: int) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
        return {
            s.name + "".join(f"{{{k}={v}}}" for k, v in s.labels.items()): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    port = free_port()
    mid: list[dict[str, float]] = []

    def show(progress: Progress) -> None:  # inside the run: what Prometheus sees right now
        if progress.received > 0 and not mid:
            mid.append(scrape(port))

    small = config(mosquitto, responders=60, connections=4, workers=1)
    report = observed(run_loadtest, serve_metrics(port))(small, show)
    assert mid, "no scrape while deliveries came in"
    assert 0 < mid[0]["alertsim_loadtest_received_total"] <= report["received"]
    assert "alertsim_loadtest_lost_total" not in mid[0]  # not before the end
    final = scrape(port)
    assert final["alertsim_loadtest_sent_total"] == report["sent"] == 60
    assert final["alertsim_loadtest_lost_total"] == report["lost"]
    assert final["alertsim_loadtest_received_total"] == report["received"]
    p99 = final["alertsim_loadtest_delivery_latency_seconds{quantile=0.99}"]
    assert p99 == pytest.approx(report["latency_ms"]["p99"] / 1000)


def test_metrics_port_without_the_extra_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from loadtest import metrics

    monkeypatch.setattr(metrics, "find_spec", lambda name: None)
    result = CliRunner().invoke(app, ["loadtest", "--metrics-port", "9999", "-q"])
    assert result.exit_code == 1
    assert "pip install 'alertsim[metrics]'" in result.output
