"""Commands the policy returns: what to do (process, relay, notify, start a timer, dispatch, ...).

The policy decides; a driver carries each command out in its own time and over its own network.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatcher.core.plan import Center, FlagCause, Recipient


@dataclass(frozen=True, slots=True)
class Process:
    """Have a center's staff process the alert, then report CenterProcessed."""

    alert_id: str
    center: Center


@dataclass(frozen=True, slots=True)
class Relay:
    """Send the alert from one center to another over the network (`attempt` 0, then resends)."""

    alert_id: str
    source: Center
    target: Center
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Confirm:
    """`center` tells `to`, the tier above, that it holds the alert (over the network)."""

    alert_id: str
    center: Center
    to: Center


@dataclass(frozen=True, slots=True)
class StartRelayTimer:
    """Report RelayTimerFired at `at_s` unless `center`'s confirmation has arrived by then."""

    alert_id: str
    center: Center
    attempt: int
    at_s: float


@dataclass(frozen=True, slots=True)
class CallCenter:
    """The source center's staff phone a silent center; a call answered delivers the alert."""

    alert_id: str
    source: Center
    target: Center


@dataclass(frozen=True, slots=True)
class Notify:
    alert_id: str
    recipient: Recipient
    channel: str
    rung: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    alert_id: str
    recipient_id: str
    rung: int
    at_s: float


@dataclass(frozen=True, slots=True)
class ExpireAt:
    alert_id: str
    at_s: float


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Send a responder to risk points; `reassigned` when covering an unreached grid member."""

    alert_id: str
    responder_id: str
    town: str
    risk_points: tuple[str, ...]
    reassigned: bool


@dataclass(frozen=True, slots=True)
class Flagged:
    alert_id: str
    recipient_id: str
    cause: FlagCause


@dataclass(frozen=True, slots=True)
class CallOff:
    """A Cancel withdrew the alert in these towns: walks under way there reach no further risk
    point, and those not yet set off never set off."""

    alert_id: str
    towns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertCompleted:
    alert_id: str


Command = (
    Process
    | Relay
    | Confirm
    | StartRelayTimer
    | CallCenter
    | Notify
    | StartTimer
    | ExpireAt
    | Dispatch
    | Flagged
    | AlertCompleted
    | CallOff
)
