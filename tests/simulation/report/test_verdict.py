"""The verdict: MET, MISSED or cannot tell from the interval; shares never rounded up."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from simulation.report.verdict import CANNOT_TELL, MET, MISSED, floor_pct, outcome, verdict


@pytest.mark.parametrize(
    ("share", "text"),
    [(0.9997, "99.9%"), (1.0, "100.0%"), (0.57, "57.0%"), (0.29, "29.0%"), (0.1234, "12.3%")],
)
def test_shares_are_floored_to_a_tenth_of_a_percent(share: float, text: str) -> None:
    assert floor_pct(share) == text


def test_outcome_reads_the_interval_against_the_target() -> None:
    assert outcome(0.96, 0.951, 0.97, 0.95) == MET
    assert outcome(0.93, 0.92, 0.949, 0.95) == MISSED
    assert outcome(0.95, 0.94, 0.96, 0.95) == CANNOT_TELL
    # one draw: the point decides
    assert outcome(0.951, None, None, 0.95) == MET
    assert outcome(0.949, None, None, 0.95) == MISSED
    # 100%: met only when every replication reached everyone; any shortfall is a miss
    assert outcome(1.0, 1.0, 1.0, 1.0) == MET
    assert outcome(0.9997, 0.9990, 1.0, 1.0) == MISSED


def _report(share: float, target: float = 1.0) -> dict[str, Any]:
    return {
        "targets": {"notify_target_s": 180, "notify_target_share": target, "respond_target_s": 900},
        "notification": {
            "within_target_share": share,
            "targeted": 1000,
            "time_to_share_s": {"1.0": None},
        },
        "response": {"risk_points": 0, "within_target_share": 0.0, "reached": 0},
    }


def _with_interval(report: dict[str, Any], mean: float, low: float, high: float) -> dict[str, Any]:
    out = copy.deepcopy(report)
    out["replications"] = {
        "notification.within_target_share": {
            "mean": mean,
            "ci95_low": low,
            "ci95_high": high,
            "n": 8,
        }
    }
    return out


def test_a_near_miss_is_never_printed_as_the_target() -> None:
    (sentence,) = verdict(_report(0.9997))
    assert sentence.startswith("MISSED: universal notification within 3 min - 99.9% of 1,000")
    assert "100.0% of" not in sentence
    assert "one replication, one draw: no interval" in sentence


def test_a_straddling_interval_cannot_tell_and_says_the_target_below_100() -> None:
    (sentence,) = verdict(_with_interval(_report(0.95, target=0.95), 0.952, 0.941, 0.963))
    assert sentence.startswith(
        "cannot tell: notification of 95.0% of responders (not universal) within 3 min - 95.2%"
    )
    assert "mean of 8 replications, 95% CI 94.1% to 96.3%; target 95.0%" in sentence
    (met,) = verdict(_with_interval(_report(0.97, target=0.95), 0.97, 0.96, 0.98))
    assert met.startswith("MET: notification of 95.0% of responders (not universal)")
    (missed,) = verdict(_with_interval(_report(0.9, target=0.95), 0.90, 0.88, 0.92))
    assert missed.startswith("MISSED: notification of 95.0%")


def test_the_interval_is_clipped_to_shares() -> None:
    (sentence,) = verdict(_with_interval(_report(0.2, target=0.5), 0.19, -0.12, 0.51))
    assert "95% CI 0.0% to 51.0%" in sentence
    assert sentence.startswith("cannot tell:")
