"""Prometheus metrics of a live run and of `alertsim serve`: names, collectors and the exporter.

Needs the `metrics` extra (prometheus-client); `require_metrics` says so in one line when it is
missing. The collectors read the run's own state when scraped (the tracker, the driver's
counters, the pacer's lags) rather than counting beside it, so a scrape after the run shows the
same figures as its report.json: `alertsim_recipients_acknowledged_total` is the report's
`notification.acknowledged`, and the latency histogram's buckets include 180 s and 900 s, so the
share acknowledged within the 3-minute target is one PromQL ratio:

    alertsim_notification_latency_seconds_bucket{le="180.0"}
      / ignoring(le) alertsim_recipients_targeted_total

Latencies are model seconds (acknowledgement received minus issue), as in the report; the lag
is wall seconds. docs/metrics.md lists every metric.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from simulation.extras import require

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from simulation.live.driver import LiveDriver
    from simulation.model.world import World

__all__ = [
    "LAG_BUCKETS_S",
    "LATENCY_BUCKETS_S",
    "LiveCollector",
    "SwarmCollector",
    "histogram",
    "require_metrics",
    "start_exporter",
]

# Edges at the two targets (3 and 15 minutes) so "share within target" is one bucket.
LATENCY_BUCKETS_S: Final = (30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
LAG_BUCKETS_S: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def require_metrics(feature: str) -> None:
    """MissingExtra naming `feature` and `pip install 'alertsim[metrics]'` unless installed."""
    require("metrics", feature)


def histogram(
    name: str, doc: str, values: Sequence[float], edges: Sequence[float], unit: str = ""
) -> Any:
    """A HistogramMetricFamily of `values` over `edges` (cumulative buckets, +Inf, sum)."""
    from prometheus_client.core import HistogramMetricFamily

    ordered = sorted(values)
    buckets = [(f"{edge}", bisect.bisect_right(ordered, edge)) for edge in edges]
    buckets.append(("+Inf", len(ordered)))
    family = HistogramMetricFamily(name, doc, unit=unit)
    family.add_metric([], buckets, sum_value=sum(ordered))
    return family


class LiveCollector:
    """Everything a live run has done so far, read from its world and driver when scraped."""

    def __init__(self, world: World, driver: LiveDriver, *, target_s: float) -> None:
        self.world = world
        self.driver = driver
        self.target_s = target_s

    def describe(self) -> list[Any]:
        return []  # collected on demand: no fixed description to check at registration

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        # list() of a dict's values is one C call: safe beside the loop that adds alerts
        alerts = list(self.world.tracker.alerts.values())
        states = [s for a in alerts for s in list(a.recipients.values())]
        latencies = [
            s.acknowledged_at_s - a.issued_at_s
            for a in alerts
            for s in list(a.recipients.values())
            if s.acknowledged_at_s is not None
        ]
        yield CounterMetricFamily("alertsim_alerts_issued", "Alerts issued", value=len(alerts))
        yield CounterMetricFamily(
            "alertsim_recipients_targeted", "Recipients targeted, over all alerts", len(states)
        )
        yield CounterMetricFamily(
            "alertsim_recipients_acknowledged", "Recipients acknowledged", len(latencies)
        )
        within = sum(1 for latency in latencies if latency <= self.target_s)
        yield CounterMetricFamily(
            "alertsim_recipients_acknowledged_within_target",
            f"Recipients acknowledged within the scenario's target ({self.target_s:g} s)",
            within,
        )
        flagged = CounterMetricFamily(
            "alertsim_recipients_flagged", "Recipients flagged, by cause", labels=["cause"]
        )
        causes: dict[str, int] = {}
        for state in states:
            if state.flag is not None:
                causes[state.flag] = causes.get(state.flag, 0) + 1
        for cause, count in sorted(causes.items()):
            flagged.add_metric([cause], count)
        yield flagged
        yield histogram(
            "alertsim_notification_latency_seconds",
            "Acknowledgement received minus issue, model seconds",
            latencies,
            LATENCY_BUCKETS_S,
        )
        yield from self._transport(CounterMetricFamily)
        lags = list(self.driver.pacer.lags_s)
        yield histogram(
            "alertsim_driver_lag_seconds",
            "How late the driver stepped events, wall",
            lags,
            LAG_BUCKETS_S,
        )
        yield GaugeMetricFamily(
            "alertsim_model_time_seconds", "The model clock of the live run", self.world.env.now
        )

    def _transport(self, counter: Any) -> Iterator[Any]:
        c = self.driver.counters
        for name, value, doc in (
            ("published", c.published, "Deliveries and relays published"),
            ("delivered", c.delivered, "Distinct receipts from devices"),
            ("duplicates", c.duplicates, "Repeated receipts"),
            ("acknowledged", c.acknowledged, "Acknowledgements received over the broker"),
            ("relays_received", c.relays_received, "Center relays received"),
            ("outbox_full_waits", c.outbox_full_waits, "Waits for room in the outbox"),
        ):
            yield counter(f"alertsim_transport_{name}", doc, value)
        rejected = counter(
            "alertsim_rejected", "Incoming messages rejected, by reason", labels=["reason"]
        )
        for reason, count in sorted(dict(c.rejected).items()):
            rejected.add_metric([reason], count)
        yield rejected


class SwarmCollector:
    """One swarm worker's counters (`SwarmCounters`), read when scraped, labelled by worker."""

    def __init__(self, counters: Any, worker: int) -> None:
        self.counters = counters
        self.worker = str(worker)

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily

        c = self.counters
        for name, doc in (
            ("received", "Distinct deliveries received"),
            ("duplicates", "Repeated deliveries"),
            ("receipts", "Delivery receipts sent"),
            ("acknowledged", "Acknowledgements sent"),
            ("reacknowledged", "Acknowledgements sent again for a later rung"),
            ("absent", "Deliveries to responders away"),
            ("missed", "Deliveries missed (device off, no attention)"),
            ("unavailable", "Deliveries to unavailable responders"),
        ):
            family = CounterMetricFamily(f"alertsim_swarm_{name}", doc, labels=["worker"])
            family.add_metric([self.worker], getattr(c, name))
            yield family
        rejected = CounterMetricFamily(
            "alertsim_swarm_rejected",
            "Alerts the swarm rejected, by reason",
            labels=["worker", "reason"],
        )
        for reason, count in sorted(dict(c.rejected).items()):
            rejected.add_metric([self.worker, reason], count)
        yield rejected


def start_exporter(port: int, registry: CollectorRegistry, host: str = "127.0.0.1") -> Any:
    """Serve `registry` on http://host:port/metrics from a thread; returns the server."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
