"""`alertsim loadtest --metrics-port`: the load test's progress, then its result, for Prometheus.

While the test runs, the latest `Progress` (connections up, deliveries received and owed, the
phase); once it is done, the loadtest.json figures too (sent, lost, duplicates, delivery
latency quantiles). Needs prometheus-client (the `metrics` extra); without it the command
says what to install. The load tester's own module: it shares nothing but the wire vocabulary
with the rest of the project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.util import find_spec
from typing import Any

from loadtest.runner import LoadtestError, Progress

__all__ = ["LoadtestCollector", "observed", "serve_metrics"]

RunFn = Callable[..., dict[str, Any]]


class LoadtestCollector:
    """The latest progress and, at the end, the report, served when scraped."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.report: dict[str, Any] | None = None

    def observe(self, progress: Progress) -> None:
        self.progress = progress

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        p = self.progress
        if p is not None:
            phase = GaugeMetricFamily(
                "alertsim_loadtest_phase", "The phase the test is in (1)", labels=["phase"]
            )
            phase.add_metric([p.phase], 1)
            yield phase
            yield GaugeMetricFamily(
                "alertsim_loadtest_connections_up", "Connections up", p.connected
            )
            yield GaugeMetricFamily(
                "alertsim_loadtest_connections", "Connections of this shard", p.connections
            )
            yield CounterMetricFamily(
                "alertsim_loadtest_received", "Deliveries received", p.received
            )
            yield GaugeMetricFamily("alertsim_loadtest_owed", "Deliveries owed", p.owed)
        r = self.report
        if r is not None:
            for key in ("sent", "lost", "duplicates", "out_of_order", "failed_connects"):
                yield CounterMetricFamily(
                    f"alertsim_loadtest_{key}", f"loadtest.json {key}", r[key]
                )
            latency = GaugeMetricFamily(
                "alertsim_loadtest_delivery_latency_seconds",
                "Delivery latency quantiles of the finished test",
                labels=["quantile"],
            )
            for name, q in (("p50", "0.5"), ("p90", "0.9"), ("p99", "0.99"), ("p999", "0.999")):
                value = r["latency_ms"].get(name)
                if value is not None:
                    latency.add_metric([q], value / 1000)
            yield latency


def serve_metrics(port: int) -> LoadtestCollector:
    """A collector served on 127.0.0.1:port/metrics from a thread; LoadtestError if it can't."""
    if find_spec("prometheus_client") is None:
        raise LoadtestError(
            "--metrics-port: expected the 'metrics' extra installed "
            "(pip install 'alertsim[metrics]'), got no prometheus_client"
        )
    from prometheus_client import CollectorRegistry, start_http_server

    collector = LoadtestCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    try:
        start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as exc:
        raise LoadtestError(f"--metrics-port: expected a free port, got {port}") from exc
    return collector


def observed(run: RunFn, collector: LoadtestCollector) -> RunFn:
    """`run` (run_loadtest's signature) with every progress and the report shown to `collector`."""

    def wrapped(config: Any, show: Callable[[Progress], None] | None = None) -> dict[str, Any]:
        def both(progress: Progress) -> None:
            collector.observe(progress)
            if show is not None:
                show(progress)

        report = run(config, both)
        collector.report = report
        return report

    return wrapped
