"""paho's MQTT 5 property-name lookups by dict instead of by scanning: the live run's hot path.

paho-mqtt 2.x `Properties` finds a property's identifier by walking its 27 names and stripping
the spaces of each (`getIdentFromName`), and `__setattr__` builds a list of all 27 stripped names
for every attribute it sets. A publish with six user properties costs several hundred
`str.replace` calls per side; profiled in a district live run, that was most of the CPU, and it
held one process to about 1,000 QoS 1 messages/s. `install()` replaces those lookups with dict
lookups of the same answers; every unusual case (an unknown name, a property that does not apply
to the packet type, a value paho range-checks) still goes through paho's own code, so errors stay
paho's errors.
"""

from __future__ import annotations

from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

__all__ = ["install"]

_PRIVATE = frozenset({"packetType", "types", "names", "properties"})
# Identifiers paho lets appear more than once (Subscription Identifier, User Property).
_MULTIPLE = frozenset({11, 38})
# Names paho range-checks on assignment: leave them to paho.
_CHECKED = frozenset(
    {
        "ReceiveMaximum",
        "TopicAlias",
        "TopicAliasMaximum",
        "MaximumPacketSize",
        "SubscriptionIdentifier",
        "RequestResponseInformation",
        "RequestProblemInformation",
        "PayloadFormatIndicator",
    }
)

_MARK = "_alertsim_fast_lookups"


def install() -> None:
    """Patch `paho.mqtt.properties.Properties` once per process; later calls do nothing."""
    if getattr(Properties, _MARK, False):
        return
    template: Any = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    names: dict[str, int] = dict(template.names)
    ident_of = {name.replace(" ", ""): ident for name, ident in names.items()}
    name_of: dict[int, str] = {}
    for name, ident in names.items():
        name_of[ident] = name  # paho's scan keeps the last match; so does this
    original_setattr = Properties.__setattr__

    def get_ident_from_name(self: Any, compressed_name: str) -> int:
        return ident_of.get(compressed_name, -1)

    def get_name_from_ident(self: Any, identifier: int) -> str | None:
        return name_of.get(identifier)

    def allows_multiple(self: Any, compressed_name: str) -> bool:
        return ident_of.get(compressed_name) in _MULTIPLE

    def set_attr(self: Any, name: str, value: Any) -> None:
        compressed = name.replace(" ", "")
        ident = ident_of.get(compressed)
        if (
            compressed in _PRIVATE
            or ident is None
            or compressed in _CHECKED
            or self.packetType not in self.properties[ident][1]
        ):
            original_setattr(self, name, value)  # type: ignore[no-untyped-call]
            return
        if ident in _MULTIPLE:
            if not isinstance(value, list):
                value = [value]
            if hasattr(self, compressed):
                value = object.__getattribute__(self, compressed) + value
        object.__setattr__(self, compressed, value)

    Properties.getIdentFromName = get_ident_from_name  # type: ignore[method-assign]
    Properties.getNameFromIdent = get_name_from_ident  # type: ignore[method-assign]
    Properties.allowsMultiple = allows_multiple  # type: ignore[method-assign]
    Properties.__setattr__ = set_attr  # type: ignore[method-assign]
    setattr(Properties, _MARK, True)
