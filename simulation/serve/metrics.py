"""`GET /metrics` of `alertsim serve`: its runs, its queue and what it refused, for Prometheus.

Read when scraped from the server's own state (its jobs, its run queue, its counter of refused
requests), in the Prometheus text format; without the `metrics` extra the route answers 501 with
the line saying what to install. docs/metrics.md lists the metrics.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from simulation.extras import MissingExtra
from simulation.serve.jobs import Job, RunQueue

__all__ = ["STATUSES", "ServeCollector", "metrics_response", "serve_registry"]

STATUSES = ("queued", "running", "done", "failed")


class ServeCollector:
    """The server's runs by status, its queue's bounds and the requests it refused, by reason."""

    def __init__(self, jobs: dict[str, Job], queue: RunQueue, refused: Counter[str]) -> None:
        self.jobs = jobs
        self.queue = queue
        self.refused = refused

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        by_status = Counter(job.status for job in list(self.jobs.values()))
        runs = GaugeMetricFamily(
            "alertsim_serve_runs", "Runs started here, by status", labels=["status"]
        )
        for status in STATUSES:
            runs.add_metric([status], by_status.get(status, 0))
        yield runs
        yield CounterMetricFamily(
            "alertsim_serve_runs_started", "Runs admitted since the server started", len(self.jobs)
        )
        yield GaugeMetricFamily(
            "alertsim_serve_max_running", "Runs at most at once", self.queue.max_running
        )
        yield GaugeMetricFamily(
            "alertsim_serve_max_waiting", "Runs at most waiting", self.queue.max_waiting
        )
        refused = CounterMetricFamily(
            "alertsim_serve_refused", "Requests refused, by reason", labels=["reason"]
        )
        for reason, count in sorted(dict(self.refused).items()):
            refused.add_metric([reason], count)
        yield refused


def serve_registry(collector: ServeCollector) -> Any:
    """A registry holding `collector`, or the MissingExtra line when the extra is not installed."""
    from simulation.prometheus import require_metrics

    try:
        require_metrics("GET /metrics")
    except MissingExtra as exc:
        return str(exc)
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(collector)
    return registry


def metrics_response(registry: Any) -> web.Response:
    """The registry in the Prometheus text format, or 501 with the missing extra's line."""
    if isinstance(registry, str):
        return web.Response(
            status=501, text=json.dumps({"error": registry}), content_type="application/json"
        )
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
