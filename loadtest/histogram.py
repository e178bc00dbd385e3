"""Mergeable latency histograms (HdrHistogram, microsecond resolution) and their percentiles.

Shards and workers each keep one histogram; merging adds bucket counts, so percentiles of the
merged histogram are exactly those of one histogram fed every sample (never averaged percentiles).
The encoded form (HdrHistogram's compressed base64) is what loadtest.json stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from hdrh.histogram import HdrHistogram

__all__ = [
    "HIGHEST_LATENCY_US",
    "PERCENTILES",
    "decode",
    "encode",
    "merged",
    "new_histogram",
    "percentiles_ms",
    "record_ns",
]

LOWEST_LATENCY_US: Final = 1
HIGHEST_LATENCY_US: Final = 3_600_000_000  # one hour; slower deliveries are clamped to it
SIGNIFICANT_DIGITS: Final = 3
PERCENTILES: Final = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9))


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_LATENCY_US, HIGHEST_LATENCY_US, SIGNIFICANT_DIGITS)


def record_ns(histogram: HdrHistogram, latencies_ns: Iterable[int]) -> None:
    """Record latencies (ns) at microsecond resolution; clamp to the histogram's range.

    A negative latency (a receiver clock behind the sender's, across hosts) is recorded as the
    lowest value rather than dropped, so every delivery stays counted.
    """
    record = histogram.record_value
    for latency_ns in latencies_ns:
        latency_us = latency_ns // 1000
        if latency_us < LOWEST_LATENCY_US:
            latency_us = LOWEST_LATENCY_US
        elif latency_us > HIGHEST_LATENCY_US:
            latency_us = HIGHEST_LATENCY_US
        record(latency_us)


def encode(histogram: HdrHistogram) -> str:
    return bytes(histogram.encode()).decode("ascii")


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


def merged(histograms: Iterable[HdrHistogram]) -> HdrHistogram:
    total = new_histogram()
    for histogram in histograms:
        total.add(histogram)
    return total


def percentiles_ms(histogram: HdrHistogram) -> dict[str, float | None]:
    """p50/p90/p99/p999/max in milliseconds; None for each when nothing was recorded."""
    if histogram.get_total_count() == 0:
        empty: dict[str, float | None] = {name: None for name, _ in PERCENTILES}
        return empty | {"max": None}
    figures: dict[str, float | None] = {
        name: histogram.get_value_at_percentile(q) / 1000.0 for name, q in PERCENTILES
    }
    figures["max"] = histogram.get_max_value() / 1000.0
    return figures
