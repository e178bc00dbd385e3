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


# Makers of the commonest commands: what the class call makes, without its overhead. A named
# tuple's class call goes through `type.__call__` to a `__new__` generated in Python; these
# build the tuple at once, in about two thirds of the machine instructions (cachegrind), and a
# city run makes some 600,000 of these commands. The class call stays the way to make any
# other, and where a one is not made by the hundred thousand.
_new = tuple.__new__


def make_notify(alert_id: str, recipient: Recipient, channel: str, rung: int) -> Notify:
    """`Notify(alert_id, recipient, channel, rung)`."""
    return _new(Notify, (alert_id, recipient, channel, rung))


def make_start_timer(alert_id: str, recipient_id: str, rung: int, at_s: float) -> StartTimer:
    """`StartTimer(alert_id, recipient_id, rung, at_s)`."""
    return _new(StartTimer, (alert_id, recipient_id, rung, at_s))


def make_dispatch(
    alert_id: str, responder_id: str, town: str, risk_points: tuple[str, ...], reassigned: bool
) -> Dispatch:
    """`Dispatch(alert_id, responder_id, town, risk_points, reassigned)`."""
    return _new(Dispatch, (alert_id, responder_id, town, risk_points, reassigned))
