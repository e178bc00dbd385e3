"""A transcript of what paho's MQTT 5 `Properties` does, to compare patched and unpatched paho.

`dispatcher.transport.fast_properties` replaces paho's property lookups on import, so a test in
a process that has imported the transport can no longer see paho's own answers. Run as
``python -m tests.support.paho_properties``, this module prints the transcript of an unpatched
paho (it imports nothing of alertsim and checks that no patch is installed); a test compares it
with the transcript made in its own, patched, process.

Each entry is one step (set a property on a packet type, pack, unpack, look up a name or an
identifier) and its outcome, or the error paho raised: type and message.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

Entry = list[str]
PACKET_TYPES = (*range(PacketTypes.CONNECT, PacketTypes.AUTH + 1), PacketTypes.WILLMESSAGE)
# A valid value of each of paho's property types, by its index in `Properties.types`.
SAMPLES: dict[int, Any] = {0: 1, 1: 10, 2: 3600, 3: 5, 4: b"\x00bin", 5: "text", 6: ("k", "v")}
# Edges of the ranges paho checks on assignment.
EDGES = (-1, 0, 1, 2, 65535, 65536, 268_435_455, 268_435_456)


def _outcome(step: Callable[[], object]) -> str:
    try:
        return "ok " + repr(step())
    except Exception as exc:  # paho's own errors are what is compared
        return f"error {type(exc).__name__}: {exc}"


def _set_and_pack(packet_type: int, name: str, value: object) -> Entry:
    props: Any = Properties(packet_type)  # type: ignore[no-untyped-call]
    set_ = _outcome(lambda: setattr(props, name, value))
    packed = _outcome(props.pack)
    back: Any = Properties(packet_type)  # type: ignore[no-untyped-call]
    unpacked = _outcome(lambda: back.unpack(props.pack())[1])  # [0] is `back` itself
    return [
        f"{packet_type} {name} = {value!r}",
        set_,
        packed,
        unpacked,
        str(props),
        repr(props.json()),
        str(back),
        repr(props.isEmpty()),
    ]


def _every_property_on_every_packet_type(names: dict[str, int], table: Any) -> list[Entry]:
    out = []
    for packet_type in PACKET_TYPES:
        for name, ident in names.items():
            value = SAMPLES[table[ident][0]]
            out.append(_set_and_pack(packet_type, name.replace(" ", ""), value))
            out.append(_set_and_pack(packet_type, name, value))  # spaces are allowed too
    return out


def _range_checks(names: dict[str, int], table: Any) -> list[Entry]:
    out: list[Entry] = []
    for name, ident in names.items():
        if table[ident][0] in (0, 1, 2, 3):  # the integer properties
            packet_type = table[ident][1][0]
            out.extend(_set_and_pack(packet_type, name.replace(" ", ""), v) for v in EDGES)
    return out


def _repeated_assignments() -> list[Entry]:
    props: Any = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    steps = [
        ("UserProperty", ("a", "1")),
        ("UserProperty", [("b", "2"), ("c", "3")]),
        ("User Property", ("d", "4")),
        ("SubscriptionIdentifier", 7),
        ("SubscriptionIdentifier", [8, 9]),
        ("MessageExpiryInterval", 60),
        ("MessageExpiryInterval", 61),  # a single-valued property is replaced, not appended
        ("NoSuchThing", 1),
        ("SessionExpiryInterval", 10),  # a CONNECT property on a PUBLISH
    ]
    out: list[Entry] = []
    for name, value in steps:
        assign = _outcome(partial(setattr, props, name, value))
        out.append([f"repeat {name} = {value!r}", assign, str(props), _outcome(props.pack)])
    return out


def _lookups(names: dict[str, int]) -> list[Entry]:
    probe: Any = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    candidates = [
        *(n.replace(" ", "") for n in names),
        *names,  # with spaces: paho only knows the compressed form here
        "NoSuchThing",
        "",
        "userproperty",
    ]
    out = [[f"ident {c!r}", _outcome(partial(probe.getIdentFromName, c))] for c in candidates]
    out += [[f"multiple {c!r}", _outcome(partial(probe.allowsMultiple, c))] for c in candidates]
    out += [[f"name {i}", _outcome(partial(probe.getNameFromIdent, i))] for i in range(-1, 50)]
    return out


def transcript() -> list[Entry]:
    """Every step and its outcome, in a fixed order."""
    template: Any = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    names: dict[str, int] = dict(template.names)
    table = template.properties
    return [
        *_every_property_on_every_packet_type(names, table),
        *_range_checks(names, table),
        *_repeated_assignments(),
        *_lookups(names),
    ]


def main() -> None:
    assert not any(m.startswith("dispatcher") for m in sys.modules), "imported the patch"
    assert not getattr(Properties, "_alertsim_fast_lookups", False), "paho is patched"
    json.dump(transcript(), sys.stdout)


if __name__ == "__main__":
    main()
