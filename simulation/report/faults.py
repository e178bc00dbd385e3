"""The report's `faults` section: latency of recipients inside a fault apart from those outside.

A recipient is inside when any fault targets it: ``district:<code>`` covers the recipients of
that district (recipient ids begin with the district code, as the swarm's client ids do),
``client:<id>`` the recipient of that id, ``all`` everyone (a share picks by the same hash as
the proxy). An unacknowledged recipient (``None``) counts in ``recipients`` and never within
the target, so a fault that loses people shows as a lower share, not a better latency.
With ``client_of`` (recipient -> the MQTT client id that carries it, as in a live swarm where a
connection serves several responders) the faults are matched against that client id, as the
proxy matches them. A live run with several alerts passes (recipient, latency) pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from simulation.faults import Fault
from simulation.metrics import latency_summary, share_within

__all__ = ["fault_section", "inside_fault"]


def inside_fault(recipient_id: str, faults: Sequence[Fault], client_id: str = "") -> bool:
    return any(f.matches(client_id or recipient_id) for f in faults)


def fault_section(
    latency_s: Mapping[str, float | None] | Iterable[tuple[str, float | None]],
    faults: Sequence[Fault],
    target_s: float,
    client_of: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """``{inside: {...}, outside: {...}}`` from recipient -> notification latency (None: none)."""
    pairs = latency_s.items() if isinstance(latency_s, Mapping) else latency_s
    clients = client_of or {}
    groups: dict[str, list[float | None]] = {"inside": [], "outside": []}
    for recipient_id, value in pairs:
        inside = inside_fault(recipient_id, faults, clients.get(recipient_id, ""))
        groups["inside" if inside else "outside"].append(value)
    section: dict[str, object] = {"faults": [_describe(f) for f in faults]}
    for name, group in groups.items():
        values = [v for v in group if v is not None]
        section[name] = {
            "recipients": len(group),
            "acknowledged": len(values),
            "latency_s": latency_summary(values),
            "within_target_share": share_within(group, target_s, len(group)),
        }
    return section


def _describe(fault: Fault) -> str:
    return f"{fault.target}:{fault.kind}:{fault.duration_s:g}s@{fault.start_s:g}s"
