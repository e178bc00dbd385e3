"""A warning's life in the model: a rising district is updated, a falling one cancelled.

The storm: orange after 10 min, red after 20 (an Update), below orange after 3 h 20 min (a
Cancel). Half the app pushes go unseen, so some responders are still being chased when the
Update comes and carry on in it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dispatcher.core.commands import Command, Notify
from dispatcher.wire.capxml import decode_cap, encode_cap
from simulation.cli import app
from simulation.experiment.virtual import build_city, run_virtual
from simulation.model.world import World
from simulation.report.build import build_report
from simulation.scenario import LoadedScenario
from tests.support.scenarios import load

STORM = {
    "step_s": 600,
    "rainfall_mm": {"default": [60, 50] + [0] * 20},
    "alert_level": "orange",
    "scope": "district",
}


def storm(tmp_path: Path, lifecycle: str = "updates", **overrides: Any) -> LoadedScenario:
    return load(
        tmp_path,
        hazard=STORM,
        channels={"app_push": {"missed": 0.5}},
        alert={"expires_s": 20000, "lifecycle": lifecycle},
        **overrides,
    )


def test_the_rise_is_an_update_of_the_alert_and_the_fall_a_cancel(tmp_path: Path) -> None:
    result = run_virtual(storm(tmp_path))
    kinds = [(a["msg_type"], a["level"], a["issued_at_s"], a["references"]) for a in result.alerts]
    first, update, _ = (a["id"] for a in result.alerts)
    assert kinds == [
        ("Alert", "orange", 600.0, []),
        ("Update", "red", 1200.0, [first]),
        ("Cancel", "red", 12000.0, [update]),
    ]
    outcomes = Counter((r.alert_id, r.flag) for r in result.records)
    # 20 targeted; 13 had acknowledged within 10 min and keep it; 7 carry on in the Update
    assert outcomes == {(first, None): 13, (first, "superseded"): 7, (update, None): 7}
    assert result.alerts[1]["recipients"] == 7
    assert result.alerts[2]["recipients"] == 0
    carried = {r.recipient_id for r in result.records if r.flag == "superseded"}
    assert carried == {r.recipient_id for r in result.records if r.alert_id == update}
    # the messages are valid CAP with their references, and read back the same
    for alert in result.cap_alerts:
        assert decode_cap(encode_cap(alert)) == alert
    assert [
        (a.msg_type.value, [r.identifier for r in a.references]) for a in result.cap_alerts
    ] == [
        ("Alert", []),
        ("Update", [first]),
        ("Cancel", [update]),
    ]
    assert result.cap_alerts[2].info.headline == "解除暴雨红色预警"
    report = build_report(result)
    notification = report["notification"]
    assert notification["superseded"] == 7
    assert notification["targeted"] == notification["acknowledged"] + sum(
        notification["flagged"].values()
    )


def test_separate_keeps_every_rise_an_alert_of_its_own(tmp_path: Path) -> None:
    result = run_virtual(storm(tmp_path, "separate"))
    assert [(a["msg_type"], a["level"], a["recipients"]) for a in result.alerts] == [
        ("Alert", "orange", 20),
        ("Alert", "red", 20),
    ]
    assert not [r for r in result.records if r.flag in ("superseded", "cancelled")]


@pytest.mark.parametrize("strategy", ["cascade", "direct", "hybrid"])
def test_a_cancel_stops_every_ladder_and_walk_of_its_episode(tmp_path: Path, strategy: str) -> None:
    # Alert after 10 min, Cancel 3 h later. Pushes and SMS go unseen, half the calls fail: who
    # answers a call sets off only after 20,000 s, the rest wait for a door knock of 30,000 s.
    loaded = load(
        tmp_path,
        strategy=strategy,
        hazard={**STORM, "rainfall_mm": {"default": [60] + [0] * 21}},
        channels={
            "app_push": {"missed": 1.0},
            "sms": {"missed": 1.0},
            "voice_call": {"failure": 0.5},
            "door_knock": {"delay_s": {"kind": "constant", "value": 30000}},
        },
        escalation={"timeout_s": [600, 600, 600, 40000]},
        behaviour={"depart_s": {"kind": "constant", "value": 20000}},
        alert={"expires_s": 50000},
    )
    sent: list[tuple[float, Command]] = []
    world = World(
        loaded.scenario,
        build_city(loaded),
        on_command=lambda command, now_s: sent.append((now_s, command)),
    )
    world.start()
    world.run()
    alert, cancel = world.alerts
    assert (alert.msg_type, cancel.msg_type, cancel.issued_at_s) == ("Alert", "Cancel", 11400.0)
    notifies = [at for at, c in sent if isinstance(c, Notify)]
    assert notifies
    assert max(notifies) < cancel.issued_at_s
    records = world.records()
    assert {r.flag for r in records} == {None, "cancelled"}
    assert all(r.acknowledged_at_s < cancel.issued_at_s for r in records if r.flag is None)
    points = world.risk_point_records()
    assert all(p.on_scene_at_s is None for p in points)  # called off before setting off
    assert {p.withdrawn for p in points} == {"cancelled"}
    assert any(p.dispatched_at_s is not None for p in points)


# A burst (maybe rising: an Update), three dry hours (a Cancel), maybe a second burst (a new
# episode), in half-hour steps.
storms = st.tuples(
    st.sampled_from([0, 30, 60]), st.sampled_from([0, 60, 100]), st.sampled_from([0, 60])
).map(lambda rain: [rain[0], rain[1], *[0] * 6, rain[2], rain[2]])


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    storms,
    storms,
    st.sampled_from(["cascade", "direct", "hybrid"]),
)
def test_any_storm_ends_every_state_once_and_sends_nothing_after_a_cancel(
    tmp_path_factory: pytest.TempPathFactory, wanzhou: list[int], yubei: list[int], strategy: str
) -> None:
    loaded = load(
        tmp_path_factory.mktemp("storm"),
        strategy=strategy,
        topology={"districts": ["500101", "500112"], "scale": 0.02},
        hazard={
            **STORM,
            "step_s": 1800,
            "rainfall_mm": {"default": [0] * 10, "500101": wanzhou, "500112": yubei},
        },
        channels={"app_push": {"missed": 0.5}, "sms": {"missed": 0.5}},
        alert={"expires_s": 20000},
    )
    sent: list[tuple[float, Command]] = []
    world = World(loaded.scenario, build_city(loaded), on_command=lambda c, t: sent.append((t, c)))
    world.start()
    world.run()
    records = world.records()
    # once per message each was targeted by: one record per (alert, recipient), ended once
    assert len({(r.alert_id, r.recipient_id) for r in records}) == len(records)
    assert all((r.acknowledged_at_s is None) != (r.flag is None) for r in records)
    district_of = {r.recipient_id: r.district for r in records}
    acknowledged: set[tuple[str, str]] = set()
    cancelled_at: dict[str, list[float]] = {}
    event(" ".join(sorted({a.msg_type for a in world.alerts})))  # hypothesis: what was covered
    for alert in world.alerts:
        for district in alert.districts:
            if alert.msg_type == "Cancel":
                cancelled_at.setdefault(district, []).append(alert.issued_at_s)
    episode_start = {a.alert_id: a.issued_at_s for a in world.alerts}
    for at_s, command in sent:
        if isinstance(command, Notify):
            district = district_of[command.recipient.id]
            opened = episode_start[command.alert_id]
            # nothing is sent for an episode after its Cancel
            assert not [c for c in cancelled_at.get(district, []) if opened <= c <= at_s]
    for r in records:  # one acknowledgement per person per episode
        if r.acknowledged_at_s is not None:
            key = (r.recipient_id, str(_episode(world, r.alert_id, r.district)))
            assert key not in acknowledged
            acknowledged.add(key)


def _episode(world: World, alert_id: str, district: str) -> float:
    """When the episode of ``alert_id`` in ``district`` opened (its Alert's issue time)."""
    opened = 0.0
    for alert in world.alerts:
        if district in alert.districts and alert.msg_type == "Alert":
            opened = alert.issued_at_s
        if alert.alert_id == alert_id:
            return opened
    raise AssertionError(alert_id)


def test_the_run_folder_holds_valid_cap_of_each_message_and_the_summary_lists_them(
    tmp_path: Path,
) -> None:
    storm(tmp_path)
    out = tmp_path / "run"
    scenario = str(tmp_path / "scenario.yaml")
    ran = CliRunner().invoke(app, ["run", scenario, "--replications", "1", "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    assert "1 Alert, 1 Cancel, 1 Update" in ran.output
    assert "carried on into an Update" in ran.output
    written = sorted((out / "alerts").glob("*.xml"))
    assert len(written) == 3
    checked = CliRunner().invoke(app, ["cap", "validate", *map(str, written)])
    assert checked.exit_code == 0, checked.output
    assert checked.output.count("valid CAP 1.2") == 3
    update, cancel = (decode_cap(path.read_bytes()) for path in written[1:])
    assert [r.identifier for r in update.references] == [written[0].stem]
    assert [r.identifier for r in cancel.references] == [written[1].stem]
    assert cancel.references[0].sent == update.sent
