"""Commands the policy returns: what to do (process, relay, notify, start a timer, dispatch, ...).

The policy decides; a driver carries each command out in its own time and over its own network.

Each is a NamedTuple, not a frozen dataclass: as immutable, and made in half the time (248
against 544 ns for four fields: a frozen dataclass sets each through object.__setattr__); a city
run makes hundreds of thousands.
"""

from __future__ import annotations

from typing import NamedTuple

from dispatcher.core.plan import Center, FlagCause, Recipient


class Process(NamedTuple):
    """Have a center's staff process the alert, then report CenterProcessed."""

    alert_id: str
    center: Center


class Relay(NamedTuple):
    """Send the alert from one center to another over the network (`attempt` 0, then resends)."""

    alert_id: str
    source: Center
    target: Center
    attempt: int = 0


class Confirm(NamedTuple):
    """`center` tells `to`, the tier above, that it holds the alert (over the network)."""

    alert_id: str
    center: Center
    to: Center


class StartRelayTimer(NamedTuple):
    """Report RelayTimerFired at `at_s` unless `center`'s confirmation has arrived by then."""

    alert_id: str
    center: Center
    attempt: int
    at_s: float


class CallCenter(NamedTuple):
    """The source center's staff phone a silent center; a call answered delivers the alert."""

    alert_id: str
    source: Center
    target: Center


class Notify(NamedTuple):
    alert_id: str
    recipient: Recipient
    channel: str
    rung: int


class StartTimer(NamedTuple):
    alert_id: str
    recipient_id: str
    rung: int
    at_s: float


class ExpireAt(NamedTuple):
    alert_id: str
    at_s: float


class Dispatch(NamedTuple):
    """Send a responder to risk points; `reassigned` when covering an unreached grid member."""

    alert_id: str
    responder_id: str
    town: str
    risk_points: tuple[str, ...]
    reassigned: bool


class Flagged(NamedTuple):
    alert_id: str
    recipient_id: str
    cause: FlagCause


class CallOff(NamedTuple):
    """A Cancel withdrew the alert in these towns: walks under way there reach no further risk
    point, and those not yet set off never set off."""

    alert_id: str
    towns: tuple[str, ...]


class AlertCompleted(NamedTuple):
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
