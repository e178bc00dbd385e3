"""The fault spec of a live rehearsal: which connections, what goes wrong, when (parse, match).

Pure data, no I/O: the asyncio proxy that carries faults out (:mod:`simulation.live.proxy`) and
the report's fault section (:mod:`simulation.report.faults`) both read it. A :class:`Fault`
targets ``district:500101`` (client ids and user names of that district's responders all begin
with the code), ``client:<id>`` or ``all``, plus a share of them (``cut 50%``). Kinds:

- ``cut``: close the chosen connections at the start (they reconnect with their own backoff);
- ``delay``: hold every chunk for ``delay_s`` in both directions for the fault's duration;
- ``blackhole``: keep the sockets open but drop every byte both ways for the duration, so only
  keepalive timeouts notice; when it heals, bytes flow again (connections the client gave up on
  are gone; new ones work).

``parse_fault("district:500101:blackhole:300s[@60s]")`` is the syntax of ``--fault``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["Fault", "FaultKind", "parse_fault"]

FaultKind = Literal["cut", "delay", "blackhole"]
_FAULT_RE: Final = re.compile(
    r"(?P<target>all|district:[0-9]{6}|client:[A-Za-z0-9_.-]{1,64})"
    r":(?P<kind>cut|delay|blackhole)"
    r"(?::(?P<duration>[0-9.]+)s)?"
    r"(?::(?P<delay>[0-9.]+)ms)?"
    r"(?:@(?P<start>[0-9.]+)s)?"
    r"(?:%(?P<share>[0-9.]+))?"
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One scheduled fault: which connections, what, from ``start_s`` for ``duration_s`` (wall)."""

    target: str  # "all", "district:500101" or "client:<id>"
    kind: FaultKind
    start_s: float = 0.0
    duration_s: float = 0.0
    delay_s: float = 0.0
    share: float = 1.0  # of the matching connections, chosen by a hash of the client id

    def matches(self, client_id: str) -> bool:
        if self.target == "all":
            hit = True
        elif self.target.startswith("district:"):
            hit = client_id.startswith(self.target.removeprefix("district:"))
        else:
            hit = client_id == self.target.removeprefix("client:")
        if not hit or self.share >= 1.0:
            return hit
        digest = hashlib.sha256(client_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.share


def parse_fault(text: str) -> Fault:
    """``target:kind[:<duration>s][:<delay>ms][@<start>s][%<share>]``, e.g.
    ``district:500101:blackhole:300s``, ``all:delay:60s:250ms@10s``, ``all:cut%0.5``."""
    found = _FAULT_RE.fullmatch(text)
    if found is None:
        raise ValueError(
            "--fault: expected target:kind[:<seconds>s][:<ms>ms][@<start>s][%<share>] with target "
            "all, district:<6 digits> or client:<id> and kind cut, delay or blackhole, "
            f"got {text!r}"
        )
    kind: FaultKind = found["kind"]  # type: ignore[assignment]
    duration_s = float(found["duration"] or 0.0)
    if kind != "cut" and duration_s <= 0:
        raise ValueError(f"--fault {text!r}: expected a duration (e.g. :300s) for {kind}")
    share = float(found["share"] or 1.0)
    if not 0.0 < share <= 1.0:
        raise ValueError(f"--fault {text!r}: expected a share in (0, 1], got {share}")
    return Fault(
        target=found["target"],
        kind=kind,
        start_s=float(found["start"] or 0.0),
        duration_s=duration_s,
        delay_s=float(found["delay"] or 0.0) / 1000.0,
        share=share,
    )
