"""Events the policy is fed: what happened (an alert issued, a delivery, an acknowledgement, ...).

Drivers make them (the SimPy world in virtual time, the live driver and the service over MQTT);
`dispatcher.core.policy.Policy.handle` is the only reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatcher.core.plan import AlertPlan, Center


@dataclass(frozen=True, slots=True)
class AlertIssued:
    plan: AlertPlan


@dataclass(frozen=True, slots=True)
class RelayReceived:
    """A relayed alert reached a center: over the broker, or by a call from the tier above."""

    alert_id: str
    center: Center
    via: str = "broker"  # "call": the tier above phoned it through


@dataclass(frozen=True, slots=True)
class RelayConfirmed:
    """The tier above heard that `center` holds the alert (its confirmation arrived)."""

    alert_id: str
    center: Center


@dataclass(frozen=True, slots=True)
class RelayTimerFired:
    """The time to hear `center`'s confirmation of relay `attempt` has passed."""

    alert_id: str
    center: Center
    attempt: int


@dataclass(frozen=True, slots=True)
class CenterProcessed:
    """A center finished processing an alert and is ready to pass it on."""

    alert_id: str
    center: Center


@dataclass(frozen=True, slots=True)
class Delivered:
    alert_id: str
    recipient_id: str
    channel: str
    rung: int


@dataclass(frozen=True, slots=True)
class Acknowledged:
    alert_id: str
    recipient_id: str
    channel: str
    rung: int
    read_at_s: float | None = None
    acked_at_s: float | None = None


@dataclass(frozen=True, slots=True)
class FoundAbsent:
    """A door-knock found the responder away: nobody will acknowledge."""

    alert_id: str
    recipient_id: str


@dataclass(frozen=True, slots=True)
class TimerFired:
    alert_id: str
    recipient_id: str
    rung: int


@dataclass(frozen=True, slots=True)
class AlertExpired:
    alert_id: str


@dataclass(frozen=True, slots=True)
class DeadlinePassed:
    """The driver stops waiting on this alert: whoever is still open is flagged unacknowledged.

    The live dispatcher feeds it when its ``--deadline-s`` passes before the alert expires.
    """

    alert_id: str


@dataclass(frozen=True, slots=True)
class OnScene:
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
