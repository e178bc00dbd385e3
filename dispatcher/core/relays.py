"""Relays between centers: a center takes an alert once, confirms it, and is chased while silent.

The protocol the centers follow, as QoS 1 and Chongqing's "call-and-answer" (叫应) do:
- a center that receives an alert confirms it to the tier above; a repeat of an alert it already
  holds is confirmed again (its earlier confirmation may have been lost) and otherwise ignored;
- the tier above resends a relay whose confirmation has not arrived within `resend_after_s`;
- a center still silent `call_after_s` after the first send is phoned by the tier above's staff
  (and again every `call_after_s` while it stays silent); a call answered delivers the alert.

Pure bookkeeping for the policy: it returns commands and never reads a clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from dispatcher.core.commands import CallCenter, Command, Confirm, Relay, StartRelayTimer
from dispatcher.core.plan import MUNICIPAL, Center

__all__ = ["RelayBook", "RelaySettings", "source_of"]


@dataclass(frozen=True, slots=True)
class RelaySettings:
    resend_after_s: float = 15.0
    call_after_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("resend_after_s", "call_after_s"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(
                    f"relay.{name}: expected a positive number of seconds, got {value}"
                )


def source_of(center: Center) -> Center:
    """The center that relays to `center`: the municipal center to a district, a district to its
    towns (a town code begins with its district's)."""
    if center.tier == "town":
        return Center("district", center.code[:6])
    return MUNICIPAL


class _Link:
    """What the tier above knows of one relay: when it first went, and whether it was confirmed."""

    __slots__ = ("confirmed", "first_sent_s", "last_call_s")

    def __init__(self, first_sent_s: float) -> None:
        self.first_sent_s = first_sent_s
        self.confirmed = False
        self.last_call_s: float | None = None


class RelayBook:
    """One alert's relays: which centers hold it, which confirmed, when to resend or call."""

    __slots__ = ("_links", "alert_id", "counters", "held", "settings")

    def __init__(self, alert_id: str, settings: RelaySettings, counters: Counter[str]) -> None:
        self.alert_id = alert_id
        self.settings = settings
        self.counters = counters
        self.held: set[Center] = set()
        self._links: dict[Center, _Link] = {}

    def send(self, source: Center, target: Center, now_s: float) -> list[Command]:
        """The first relay of the alert to `target`, and the timer that waits for its answer."""
        self._links[target] = _Link(now_s)
        self.counters["relays_sent"] += 1
        return [
            Relay(self.alert_id, source, target),
            StartRelayTimer(self.alert_id, target, 0, now_s + self.settings.resend_after_s),
        ]

    def received(self, center: Center, via: str) -> tuple[bool, list[Command]]:
        """Whether this is the center's first copy, and its confirmation to the tier above."""
        first = center not in self.held
        if first:
            self.held.add(center)
        else:
            self.counters["relays_duplicate"] += 1
        if via == "call":
            # The caller hears the answer on the line: nothing needs to travel back.
            self.confirmed(center)
            return first, []
        return first, [Confirm(self.alert_id, center, source_of(center))]

    def confirmed(self, center: Center) -> None:
        link = self._links.get(center)
        if link is not None and not link.confirmed:
            link.confirmed = True
            self.counters["relays_confirmed"] += 1

    def timer(self, center: Center, attempt: int, now_s: float) -> list[Command]:
        """Resend an unconfirmed relay; phone the center once it has been silent too long."""
        link = self._links.get(center)
        if link is None or link.confirmed:
            return []
        source = source_of(center)
        settings = self.settings
        self.counters["relays_resent"] += 1
        commands: list[Command] = [Relay(self.alert_id, source, center, attempt + 1)]
        silent_s = now_s - (link.first_sent_s if link.last_call_s is None else link.last_call_s)
        if silent_s >= settings.call_after_s:
            link.last_call_s = now_s
            self.counters["center_calls"] += 1
            commands.append(CallCenter(self.alert_id, source, center))
        commands.append(
            StartRelayTimer(self.alert_id, center, attempt + 1, now_s + settings.resend_after_s)
        )
        return commands
