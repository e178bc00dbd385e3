"""Every targeted recipient ends acknowledged or flagged, exactly once, whatever happens."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from simulation.experiment.virtual import run_virtual
from tests.support.scenarios import load

lognormal = st.builds(
    lambda median, spread: {"kind": "lognormal", "median": median, "p90": median * spread},
    st.floats(0.5, 120),
    st.floats(1.0, 8.0),
)
probability = st.floats(0.0, 1.0)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
    # Each example is a whole run; shrinking a failure took minutes. The failing example as
    # generated is printed all the same.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    strategy=st.sampled_from(["cascade", "direct", "hybrid"]),
    seed=st.integers(0, 2**32),
    loss=st.floats(0.0, 0.5),
    duplicate=st.floats(0.0, 0.5),
    failure=probability,
    missed=probability,
    availability=probability,
    read=lognormal,
    latency=lognormal,
    timeout_s=st.floats(5, 300),
)
def test_acknowledged_plus_flagged_equals_targeted(
    strategy: str,
    seed: int,
    loss: float,
    duplicate: float,
    failure: float,
    missed: float,
    availability: float,
    read: dict[str, float],
    latency: dict[str, float],
    timeout_s: float,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load(
            Path(tmp),
            strategy=strategy,
            seed=seed,
            network={"loss": loss, "duplicate": duplicate, "latency_s": latency},
            channels={"app_push": {"failure": failure, "missed": missed}},
            behaviour={"availability": availability, "read_s": read},
            escalation={"timeout_s": [timeout_s] * 4},
            alert={"expires_s": 3 * timeout_s},
        )
        result = run_virtual(loaded)
    records = result.records
    ids = [(r.alert_id, r.recipient_id) for r in records]
    assert len(ids) == len(set(ids)), "a recipient was recorded twice"
    acknowledged = sum(1 for r in records if r.acknowledged_at_s is not None)
    flagged = sum(1 for r in records if r.flag is not None)
    assert acknowledged + flagged == len(records)
    for r in records:
        assert (r.acknowledged_at_s is None) != (r.flag is None), r
        if r.latency_s is not None:
            assert r.latency_s >= 0
            assert r.read_at_s is not None
            assert r.read_at_s <= r.acknowledged_at_s
    # Nothing vanishes: every message is delivered, lost, or still in flight when the run ends
    # (extra QoS 1 copies are counted apart), and every channel attempt has one outcome.
    t = result.transport
    assert t["in_flight"] >= 0
    assert t["published"] == t["delivered"] + t["lost"] + t["in_flight"]
    for name, c in result.channels.items():
        assert c["in_flight"] >= 0, name
        outcomes = c["delivered"] + c["failed"] + c["cell_outage"] + c["lost"] + c["in_flight"]
        assert c["sent"] == outcomes, (name, c)


def test_duplicated_acknowledgements_are_counted_not_double_counted(tmp_path: Path) -> None:
    loaded = load(tmp_path, network={"duplicate": 1.0}, strategy="direct")
    result = run_virtual(loaded)
    assert all(r.acknowledged_at_s is not None for r in result.records)
    # Every push and every acknowledgement arrived twice: one accepted, one a counted duplicate.
    assert sum(r.duplicates for r in result.records) == len(result.records)
    assert result.transport["duplicates"] == result.transport["published"]


def test_unavailable_responders_are_found_absent_at_the_door(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        behaviour={"availability": 0.0},
        escalation={"timeout_s": [30, 30, 30, 900]},
        alert={"expires_s": 5000},
    )
    result = run_virtual(loaded)
    causes = {r.flag for r in result.records}
    assert causes == {"unavailable"}
    # The door-knock rung was tried for everyone.
    assert all("door_knock" in r.escalations for r in result.records)


def test_unreached_recipients_are_flagged_unreachable_and_their_points_reassigned(
    tmp_path: Path,
) -> None:
    failing = {"failure": 1.0}
    loaded = load(
        tmp_path,
        channels=dict.fromkeys(("app_push", "sms", "voice_call", "door_knock"), failing),
        escalation={"timeout_s": [10, 10, 10, 10]},
        tiers={"town": {"staff": 50}},
    )
    result = run_virtual(loaded)
    assert {r.flag for r in result.records} == {"unreachable"}
    assert result.risk_points
    assert all(p.reassigned for p in result.risk_points)


def test_expiry_flags_whoever_is_still_pending(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        behaviour={"read_s": {"kind": "constant", "value": 5000}},
        alert={"expires_s": 1000},
    )
    result = run_virtual(loaded)
    assert {r.flag for r in result.records} == {"expired"}
    assert all(r.flagged_at_s == r.issued_at_s + 1000 for r in result.records)
