"""`alertsim dispatch --metrics-port`: the dispatcher's run summary as Prometheus metrics.

Read from the service's `RunSummary` and its transport when scraped (prometheus-client, the
`metrics` extra; `require` says what to install when it is missing). The acknowledgement latency
histogram has edges at 180 s and 900 s, as the simulator's, so the share acknowledged within the
3-minute target is one PromQL ratio over `alertsim_dispatch_recipients_total`. Wall seconds from
this run's issue (or replay) to each acknowledgement; docs/metrics.md lists the metrics.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Final

from dispatcher.errors import AlertsimError

if TYPE_CHECKING:
    from dispatcher.service.dispatch import DispatchService

__all__ = ["LATENCY_BUCKETS_S", "DispatchCollector", "MetricsMissing", "require", "serve_metrics"]

LATENCY_BUCKETS_S: Final = (30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


class MetricsMissing(AlertsimError, ImportError):
    """prometheus-client is not installed; the message names the extra to install."""


def require(feature: str) -> None:
    if find_spec("prometheus_client") is None:
        raise MetricsMissing(
            f"{feature}: expected the 'metrics' extra installed "
            "(pip install 'alertsim[metrics]'), got no prometheus_client"
        )


class DispatchCollector:
    """What one `alertsim dispatch` has sent, heard and flagged so far."""

    def __init__(self, service: DispatchService, recipients: int) -> None:
        self.service = service
        self.recipients = recipients

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        s = self.service.summary
        yield CounterMetricFamily(
            "alertsim_dispatch_recipients", "Recipients of the plan", self.recipients
        )
        yield CounterMetricFamily("alertsim_dispatch_published", "Alerts published", s.published)
        for name, counts, label, doc in (
            ("acks", s.acks, "kind", "Acknowledgements heard: done, duplicate, unknown, bad"),
            ("flagged", s.flagged, "cause", "Recipients flagged, by cause"),
            ("escalations", s.escalations, "channel", "Re-sends past the first rung"),
        ):
            family = CounterMetricFamily(f"alertsim_dispatch_{name}", doc, labels=[label])
            for key, count in sorted(dict(counts).items()):
                family.add_metric([key], count)
            yield family
        yield CounterMetricFamily(
            "alertsim_dispatch_replayed", "Recipients sent again after a restart", len(s.replayed)
        )
        latencies = sorted(dict(s.latency_s).values())
        buckets = [(f"{e}", bisect.bisect_right(latencies, e)) for e in LATENCY_BUCKETS_S]
        histogram = HistogramMetricFamily(
            "alertsim_dispatch_ack_latency_seconds", "Issue to acknowledgement, wall seconds"
        )
        histogram.add_metric([], [*buckets, ("+Inf", len(latencies))], sum(latencies))
        yield histogram
        stats = getattr(self.service.transport, "stats", None)
        if stats is not None:
            for name, value in stats.as_dict().items():
                yield CounterMetricFamily(
                    f"alertsim_dispatch_transport_{name}", f"Transport: {name}", value
                )


def serve_metrics(port: int, service: DispatchService, recipients: int) -> Any:
    """Start serving the collector on 127.0.0.1:port/metrics from a thread; returns the server."""
    require("--metrics-port")
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(DispatchCollector(service, recipients))
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    return server
