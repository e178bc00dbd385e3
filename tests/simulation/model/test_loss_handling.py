"""Lost and repeated messages are handled as the protocol and the centers handle them.

A center takes an alert once and confirms every copy; an unconfirmed relay is resent and a silent
center phoned; a lost acknowledgement is sent again and a later rung answered again; every
counter balances; names and progress bars change no figure.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dispatcher.core.commands import Command, Process
from dispatcher.core.plan import Recipient
from simulation.experiment.virtual import build_city, run_virtual
from simulation.model.reach import VirtualReach
from simulation.model.world import World
from simulation.report.build import build_report
from simulation.scenario import LoadedScenario
from tests.support.scenarios import constant, load

LOSSY = {"latency_s": constant(0.5), "loss": 0.5, "duplicate": 0.1}


class PressRecorder(VirtualReach):
    """The virtual reach, remembering who pressed acknowledge and when."""

    def __init__(self) -> None:
        self.pressed: dict[str, float] = {}

    def acknowledged(
        self, alert_id: str, recipient: Recipient, channel: str, rung: int, read_at_s: float
    ) -> None:
        self.pressed.setdefault(recipient.id, self.env.now)
        super().acknowledged(alert_id, recipient, channel, rung, read_at_s)


def _run(loaded: LoadedScenario, **kwargs: Any) -> World:
    world = World(loaded.scenario, build_city(loaded), **kwargs)
    world.start()
    world.run()
    return world


@pytest.mark.parametrize("strategy", ["cascade", "direct", "hybrid"])
def test_at_half_loss_everyone_who_acknowledged_ends_acknowledged(
    tmp_path: Path, strategy: str
) -> None:
    loaded = load(
        tmp_path,
        strategy=strategy,
        network=LOSSY,
        escalation={"timeout_s": [60, 60, 60, 600]},
        relay={"resend_after_s": 5, "call_after_s": 30},
    )
    reach = PressRecorder()
    world = _run(loaded, reach=reach)
    records = {r.recipient_id: r for r in world.records()}
    assert reach.pressed, "people pressed acknowledge"
    not_acknowledged = [i for i in reach.pressed if records[i].acknowledged_at_s is None]
    assert not_acknowledged == []
    protocol = world.tracker.counters
    if strategy != "direct":
        assert protocol["relays_resent"] > 0, "half the relays were lost and sent again"
        # no town is left un-notified by a lost relay while the alert is live
        assert all(r.relayed_town_at_s is not None for r in records.values() if r.town)
    assert world.channels["app_push"].counters["replies_resent"] > 0


def test_a_center_silent_through_every_resend_is_phoned_and_then_holds_the_alert(
    tmp_path: Path,
) -> None:
    loaded = load(
        tmp_path,
        network={"latency_s": constant(0.5), "loss": 0.97},
        relay={
            "resend_after_s": 10,
            "call_after_s": 40,
            "call_staff_s": constant(30),
            "call_failure": 0.0,
        },
        escalation={"timeout_s": [60, 60, 60, 600]},
    )
    world = _run(loaded)
    protocol = world.tracker.counters
    assert protocol["center_calls"] > 0
    records = world.records()
    assert all(r.relayed_district_at_s is not None for r in records if r.tier != "district")
    assert all(r.relayed_town_at_s is not None for r in records if r.town)


def test_a_duplicated_relay_is_confirmed_not_processed_again(tmp_path: Path) -> None:
    loaded = load(tmp_path, network={"latency_s": constant(0.5), "duplicate": 1.0})
    processed: Counter[tuple[str, str]] = Counter()

    def count(command: Command, now_s: float) -> None:
        if isinstance(command, Process):
            processed[(command.center.tier, command.center.code)] += 1

    world = _run(loaded, on_command=count)
    assert processed, "centers processed the alert"
    assert set(processed.values()) == {1}, "each center processes the alert once"
    assert world.tracker.counters["relays_duplicate"] > 0
    for record in world.records():
        # relay stamps are the first copy's: never overwritten after the recipient was notified
        notified = record.notified_at_s
        for relayed in (record.relayed_district_at_s, record.relayed_town_at_s):
            assert relayed is None or notified is None or relayed <= notified, record


def test_counters_balance_under_loss_duplicates_and_failures(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        network=LOSSY,
        channels={"app_push": {"failure": 0.2, "missed": 0.3}, "sms": {"failure": 0.3}},
        escalation={"timeout_s": [60, 60, 60, 600]},
    )
    result = run_virtual(loaded)
    t = result.transport
    assert t["published"] == t["delivered"] + t["lost"] + t["in_flight"]
    for name, c in result.channels.items():
        outcomes = c["delivered"] + c["failed"] + c["cell_outage"] + c["lost"] + c["in_flight"]
        assert c["sent"] == outcomes, name
    assert result.channels["app_push"]["lost"] > 0
    assert result.channels["app_push"]["duplicates"] > 0
    report = build_report(result)
    # conservation per tier, district and town: acknowledged + flagged = targeted
    groups = [*report["by_tier"], *report["by_district"], *report["worst_towns"]]
    assert len(groups) >= 4
    for group in groups:
        assert group["acknowledged"] + group["flagged"] == group["targeted"], group


def test_renaming_a_scenario_changes_no_figure(tmp_path: Path) -> None:
    def figures(name: str) -> list[tuple[Any, ...]]:
        loaded = load(tmp_path / name, name=name, network=LOSSY)
        return [r[1:] for r in run_virtual(loaded).records]  # all but the alert id

    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    assert figures("first") == figures("second")


def test_a_progress_bar_changes_no_event_count(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    quiet = run_virtual(loaded)
    ticks: list[float] = []
    watched = run_virtual(loaded, progress=lambda p: ticks.append(p.now_s))
    assert len(ticks) > 3, "the progress bar ticked"
    assert watched.sim_events == quiet.sim_events
    assert watched.records == quiet.records


def test_counters_balance_through_updates_and_a_cancel_under_loss(tmp_path: Path) -> None:
    # Orange after 10 min, red after 20 (an Update), below orange after 3 h 20 min (a Cancel);
    # only app pushes get through, and half go unseen: the unseen are chased until the Cancel.
    loaded = load(
        tmp_path,
        network=LOSSY,
        channels={
            "app_push": {"failure": 0.2, "missed": 0.5},
            "sms": {"failure": 1.0},
            "voice_call": {"failure": 1.0},
            "door_knock": {"failure": 1.0},
        },
        escalation={"timeout_s": [300, 300, 300, 20000]},
        hazard={
            "step_s": 600,
            "rainfall_mm": {"default": [60, 50] + [0] * 20},
            "alert_level": "orange",
            "scope": "district",
        },
        alert={"expires_s": 20000},
    )
    result = run_virtual(loaded)
    report = build_report(result)
    messages = report["messages"]
    assert [m["msg_type"] for m in messages] == ["Alert", "Update", "Cancel"]
    for m in messages:
        assert m["targeted"] == m["acknowledged"] + m["superseded"] + m["cancelled"] + m["flagged"]
    superseded = sum(m["superseded"] for m in messages)
    cancelled = sum(m["cancelled"] for m in messages)
    assert superseded > 0
    assert cancelled > 0
    assert (
        result.protocol["flagged_superseded"] == superseded == report["notification"]["superseded"]
    )
    assert result.protocol["flagged_cancelled"] == cancelled
    note = report["notification"]
    assert note["flagged"]["cancelled"] == cancelled
    assert note["targeted"] == note["acknowledged"] + sum(note["flagged"].values())
    assert note["targeted"] + superseded == len(result.records)
    for group in [*report["by_tier"], *report["by_district"], *report["worst_towns"]]:
        assert group["acknowledged"] + group["flagged"] == group["targeted"], group
    response = report["response"]
    assert response["cancelled"] + response["reached"] <= response["risk_points"]
