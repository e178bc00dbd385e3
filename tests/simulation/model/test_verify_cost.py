"""Verifying a signed alert costs `trust.verify_s` per received app push, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.experiment.virtual import run_virtual
from tests.support.scenarios import load

# The base scenario's direct path (tests/support/scenarios.py): municipal processing, then
# broker, push, read, ack and the broker back, all constant.
MUNICIPAL, NET, PUSH, READ, ACK = 30.0, 0.5, 2.0, 20.0, 5.0
VERIFY_S = 0.002


@pytest.mark.parametrize("strategy", ["cascade", "direct", "hybrid"])
def test_verification_shifts_every_latency_by_exactly_its_cost(
    tmp_path: Path, strategy: str
) -> None:
    plain = run_virtual(load(tmp_path, strategy=strategy))
    signed = run_virtual(load(tmp_path, strategy=strategy, trust={"verify_s": VERIFY_S}))
    before = {r.recipient_id: r for r in plain.records}
    assert before
    assert len(signed.records) == len(before)
    for record in signed.records:
        old = before[record.recipient_id]
        assert record.channel == old.channel == "app_push"
        assert record.latency_s is not None
        assert old.latency_s is not None
        assert record.latency_s - old.latency_s == pytest.approx(VERIFY_S, abs=1e-9)
        assert record.delivered_at_s == old.delivered_at_s  # arrives as before, read later
        assert record.read_at_s is not None
        assert old.read_at_s is not None
        assert record.read_at_s - old.read_at_s == pytest.approx(VERIFY_S, abs=1e-9)


def test_direct_latency_is_the_hand_computed_sum_with_verification(tmp_path: Path) -> None:
    result = run_virtual(load(tmp_path, strategy="direct", trust={"verify_s": VERIFY_S}))
    expected = MUNICIPAL + NET + PUSH + VERIFY_S + READ + ACK + NET
    assert result.records
    for record in result.records:
        assert record.latency_s == pytest.approx(expected, abs=1e-9)


def test_channels_that_do_not_carry_the_signed_alert_are_not_slowed(tmp_path: Path) -> None:
    # Push always fails, so everyone is reached by SMS (no signature on the handset's SMS path).
    overrides = {
        "strategy": "direct",
        "channels": {"app_push": {"failure": 1.0}},
        "escalation": {"ladder": ["app_push", "sms"], "timeout_s": [60, 600]},
    }
    plain = run_virtual(load(tmp_path, **overrides))
    signed = run_virtual(load(tmp_path, **overrides, trust={"verify_s": 5.0}))
    assert {r.channel for r in signed.records} == {"sms"}
    assert [r.latency_s for r in signed.records] == [r.latency_s for r in plain.records]


def test_verify_cost_defaults_to_zero_and_rejects_negative(tmp_path: Path) -> None:
    from simulation.scenario import ScenarioError

    assert load(tmp_path).scenario.trust.verify_s == 0.0
    with pytest.raises(ScenarioError) as info:
        load(tmp_path, trust={"verify_s": -1})
    assert any("trust.verify_s" in e for e in info.value.errors)
