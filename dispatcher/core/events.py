"""Events the policy is fed: what happened (an alert issued, a delivery, an acknowledgement, ...).

Drivers make them (the SimPy world in virtual time, the live driver and the service over MQTT);
`dispatcher.core.policy.Policy.handle` is the only reader.

Each is a NamedTuple, not a frozen dataclass: as immutable, and made in half the time (248
against 544 ns for four fields: a frozen dataclass sets each through object.__setattr__); a city
run makes hundreds of thousands.
"""

from __future__ import annotations

from typing import NamedTuple

from dispatcher.core.plan import AlertPlan, Center


class AlertIssued(NamedTuple):
    plan: AlertPlan


class RelayReceived(NamedTuple):
    """A relayed alert reached a center: over the broker, or by a call from the tier above."""

    alert_id: str
    center: Center
    via: str = "broker"  # "call": the tier above phoned it through


class RelayConfirmed(NamedTuple):
    """The tier above heard that `center` holds the alert (its confirmation arrived)."""

    alert_id: str
    center: Center


class RelayTimerFired(NamedTuple):
    """The time to hear `center`'s confirmation of relay `attempt` has passed."""

    alert_id: str
    center: Center
    attempt: int


class CenterProcessed(NamedTuple):
    """A center finished processing an alert and is ready to pass it on."""

    alert_id: str
    center: Center


class Delivered(NamedTuple):
    alert_id: str
    recipient_id: str
    channel: str
    rung: int


class Acknowledged(NamedTuple):
    alert_id: str
    recipient_id: str
    channel: str
    rung: int
    read_at_s: float | None = None
    acked_at_s: float | None = None


class FoundAbsent(NamedTuple):
    """A door-knock found the responder away: nobody will acknowledge."""

    alert_id: str
    recipient_id: str


class TimerFired(NamedTuple):
    alert_id: str
    recipient_id: str
    rung: int


class AlertExpired(NamedTuple):
    alert_id: str


class DeadlinePassed(NamedTuple):
    """The driver stops waiting on this alert: whoever is still open is flagged unacknowledged.

    The live dispatcher feeds it when its ``--deadline-s`` passes before the alert expires.
    """

    alert_id: str


class OnScene(NamedTuple):
    alert_id: str
    risk_point_id: str
    responder_id: str


Event = (
    AlertIssued
    | RelayReceived
    | RelayConfirmed
    | RelayTimerFired
    | CenterProcessed
    | Delivered
    | Acknowledged
    | FoundAbsent
    | TimerFired
    | AlertExpired
    | DeadlinePassed
    | OnScene
)


# Makers of the commonest events: what the class call makes, without its overhead. A named
# tuple's class call goes through `type.__call__` to a `__new__` generated in Python; these
# build the tuple at once, in about two thirds of the machine instructions (cachegrind), and a
# city run makes some 800,000 of these events. The class call stays the way to make any
# other, and where a one is not made by the hundred thousand.
_new = tuple.__new__


def make_delivered(alert_id: str, recipient_id: str, channel: str, rung: int) -> Delivered:
    """`Delivered(alert_id, recipient_id, channel, rung)`."""
    return _new(Delivered, (alert_id, recipient_id, channel, rung))


def make_acknowledged(
    alert_id: str,
    recipient_id: str,
    channel: str,
    rung: int,
    read_at_s: float | None,
    acked_at_s: float | None,
) -> Acknowledged:
    """`Acknowledged(alert_id, recipient_id, channel, rung, read_at_s, acked_at_s)`."""
    return _new(Acknowledged, (alert_id, recipient_id, channel, rung, read_at_s, acked_at_s))


def make_timer_fired(alert_id: str, recipient_id: str, rung: int) -> TimerFired:
    """`TimerFired(alert_id, recipient_id, rung)`."""
    return _new(TimerFired, (alert_id, recipient_id, rung))


def make_on_scene(alert_id: str, risk_point_id: str, responder_id: str) -> OnScene:
    """`OnScene(alert_id, risk_point_id, responder_id)`."""
    return _new(OnScene, (alert_id, risk_point_id, responder_id))
