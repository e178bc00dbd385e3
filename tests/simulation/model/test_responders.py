"""A responder without a world: what it sees and how it answers is all its Surroundings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import simpy

from dispatcher.core.plan import Recipient
from simulation.behaviour import ResponderBehaviour
from simulation.model.clock import Environment
from simulation.model.responders import ResponderModel
from tests.support.scenarios import load

MEMBER = Recipient("500101001-m0000", "grid", "500101", "500101001")
READ, ACK = 20.0, 5.0  # the base scenario's reading and acknowledging times
VERIFY = 3.0


@dataclass
class Around:
    """Records the answers; app push alone is signed, so it alone takes verifying."""

    env: simpy.Environment
    behaviour: ResponderBehaviour
    verify_s: dict[str, float] = field(
        default_factory=lambda: {
            "app_push": VERIFY,
            "sms": 0.0,
            "voice_call": 0.0,
            "door_knock": 0.0,
        }
    )
    absent: list[tuple[str, float]] = field(default_factory=list)
    acks: list[tuple[str, int, float, float]] = field(default_factory=list)

    def found_absent(self, alert_id: str, recipient_id: str) -> None:
        self.absent.append((recipient_id, self.env.now))

    def acknowledged(
        self, alert_id: str, recipient: Recipient, channel: str, rung: int, read_at_s: float
    ) -> None:
        self.acks.append((channel, rung, read_at_s, self.env.now))


def _responder(tmp_path: Path, **overrides: Any) -> tuple[ResponderModel, Around]:
    around = Around(Environment(), ResponderBehaviour(load(tmp_path, **overrides).scenario))
    return ResponderModel(around, "a-1", "001", MEMBER), around


def _deliver_at(
    around: Around, at_s: float, responder: ResponderModel, channel: str, rung: int
) -> None:
    around.env.timeout(at_s).callbacks.append(lambda _: responder.deliver(channel, rung))


def test_reads_after_verifying_and_answers_a_later_rung_again(tmp_path: Path) -> None:
    responder, around = _responder(tmp_path)
    responder.deliver("app_push", 0)
    around.env.run()
    assert around.acks == [("app_push", 0, VERIFY + READ, VERIFY + READ + ACK)]
    # An escalation that crossed the acknowledgement (or came because it was lost): they answer
    # it too, over its own channel, having read the alert when they did.
    responder.deliver("sms", 1)
    around.env.run()
    assert around.acks[1] == ("sms", 1, VERIFY + READ, VERIFY + READ + ACK + ACK)
    assert len(around.acks) == 2


def test_a_channel_noticed_sooner_takes_over_the_acknowledgement(tmp_path: Path) -> None:
    responder, around = _responder(tmp_path)
    responder.deliver("app_push", 0)  # would be read at 23 s
    _deliver_at(around, 1.0, responder, "voice_call", 2)  # read on the spot (read_s 0)
    around.env.run()
    assert around.acks == [("voice_call", 2, 1.0, 1.0 + ACK)]


def test_a_channel_noticed_no_sooner_changes_nothing(tmp_path: Path) -> None:
    responder, around = _responder(tmp_path)
    responder.deliver("app_push", 0)  # read at 23 s
    _deliver_at(around, 10.0, responder, "sms", 1)  # would be read at 30 s
    around.env.run()
    assert around.acks == [("app_push", 0, VERIFY + READ, VERIFY + READ + ACK)]


def test_nobody_at_home_is_found_absent_at_the_door_and_nowhere_else(tmp_path: Path) -> None:
    responder, around = _responder(tmp_path, behaviour={"availability": 0.0})
    responder.deliver("app_push", 0)
    _deliver_at(around, 50.0, responder, "door_knock", 3)
    around.env.run()
    assert around.acks == []
    assert around.absent == [(MEMBER.id, 50.0)]


def test_a_missed_alert_is_never_acknowledged(tmp_path: Path) -> None:
    responder, around = _responder(tmp_path, channels={"app_push": {"missed": 1.0}})
    responder.deliver("app_push", 0)
    around.env.run()
    assert around.acks == []
    assert around.absent == []
