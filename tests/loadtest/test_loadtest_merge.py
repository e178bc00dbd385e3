"""Merging shard results is exact: one histogram over the union of the samples."""

from __future__ import annotations

import random

import pytest

from loadtest import histogram, merge_reports
from loadtest.report import build_report

CONFIG = {"profile": "unicast", "qos": 0, "responders": 10, "connections": 2, "rate_per_s": None}


def raw(latencies_ns: list[int], *, started: int, last: int, sent: int) -> dict[str, object]:
    latencies = histogram.new_histogram()
    histogram.record_ns(latencies, latencies_ns)
    return {
        "sent": sent, "published": sent, "publish_failed": 0, "received": len(latencies_ns),
        "duplicates": 1, "out_of_order": 2, "unstamped": 0, "connected": 1,
        "failed_connects": 0, "disconnects": 0, "started_unix_ns": started,
        "last_delivery_unix_ns": last, "connect_s": 0.5, "swarm_max_queue_bytes": 0,
        "swarm_max_loop_lag_ms": 1.0, "publish_max_lag_ms": 0.0, "publish_max_queued_bytes": 0,
        "memory_per_connection_bytes": 1000.0, "histogram": histogram.encode(latencies),
    }  # fmt: skip


def shard(latencies_ns: list[int], index: int, **times: int) -> dict[str, object]:
    return build_report(
        config=CONFIG, broker={"url": "mqtt://x", "version": "v"},
        raw=raw(latencies_ns, sent=len(latencies_ns) + 3, **times), hosts=[{}],
        shards=[f"{index}/2"],
    )  # fmt: skip


def test_merged_shards_equal_one_histogram_over_the_same_samples() -> None:
    rng = random.Random(7)
    samples = [rng.randrange(50_000, 900_000_000) for _ in range(5_000)]
    left, right = samples[:1_700], samples[1_700:]

    merged = merge_reports(
        [
            shard(left, 0, started=1_000_000_000, last=3_000_000_000),
            shard(right, 1, started=1_200_000_000, last=5_000_000_000),
        ]
    )
    whole = histogram.new_histogram()
    histogram.record_ns(whole, samples)

    assert merged["latency_ms"] == histogram.percentiles_ms(whole)
    assert histogram.decode(merged["raw"]["histogram"]).get_total_count() == 5_000
    assert merged["received"] == 5_000
    assert merged["sent"] == 5_006
    assert merged["lost"] == 6
    assert merged["duplicates"] == 2
    assert merged["out_of_order"] == 4
    assert merged["last_delivery_s"] == pytest.approx(4.0)
    assert merged["delivered_per_s"] == pytest.approx(5_000 / 4.0)
    assert merged["shards"] == ["0/2", "1/2"]


def test_merge_refuses_results_of_different_runs() -> None:
    other = shard([1_000_000], 1, started=0, last=1) | {"qos": 1}

    with pytest.raises(ValueError, match=r"input 1: qos: expected 0 as in input 0, got 1"):
        merge_reports([shard([1_000_000], 0, started=0, last=1), other])
