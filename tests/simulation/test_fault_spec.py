"""The fault spec of --fault: its syntax, and which client ids a fault picks."""

from __future__ import annotations

import pytest

from simulation.faults import Fault, parse_fault


def test_parse_fault() -> None:
    assert parse_fault("district:500101:blackhole:300s") == Fault(
        "district:500101", "blackhole", duration_s=300.0
    )
    assert parse_fault("all:delay:60s:250ms@10s") == Fault(
        "all", "delay", start_s=10.0, duration_s=60.0, delay_s=0.25
    )
    assert parse_fault("all:cut%0.5").share == 0.5
    for bad in ("district:5001:cut", "all:melt", "all:blackhole", "all:cut%2"):
        with pytest.raises(ValueError, match="--fault"):
            parse_fault(bad)


def test_share_picks_about_half() -> None:
    fault = Fault("all", "cut", share=0.5)
    picked = sum(fault.matches(f"c-{i}") for i in range(1000))
    assert 400 < picked < 600
