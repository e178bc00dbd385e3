"""The report's `faults` section: latency of recipients inside a fault apart from those outside.

A recipient is inside when any fault targets it: ``district:<code>`` covers the recipients of
that district (recipient ids begin with the district code, as the swarm's client ids do),
``client:<id>`` the recipient of that id, ``all`` everyone (a share picks by the same hash as
the proxy). An unacknowledged recipient (``None``) counts in ``recipients`` and never within
the target, so a fault that loses people shows as a lower share, not a better latency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simulation.live.faults import Fault
from simulation.metrics import latency_summary, share_within

__all__ = ["fault_section", "inside_fault"]


def inside_fault(recipient_id: str, faults: Sequence[Fault]) -> bool:
    return any(f.matches(recipient_id) for f in faults)


def fault_section(
    latency_s: Mapping[str, float | None], faults: Sequence[Fault], target_s: float
) -> dict[str, object]:
    """``{inside: {...}, outside: {...}}`` from recipient -> notification latency (None: none)."""
    groups: dict[str, dict[str, float | None]] = {"inside": {}, "outside": {}}
    for recipient_id, value in latency_s.items():
        groups["inside" if inside_fault(recipient_id, faults) else "outside"][recipient_id] = value
    section: dict[str, object] = {"faults": [_describe(f) for f in faults]}
    for name, group in groups.items():
        values = [v for v in group.values() if v is not None]
        section[name] = {
            "recipients": len(group),
            "acknowledged": len(values),
            "latency_s": latency_summary(values),
            "within_target_share": share_within(group.values(), target_s, len(group)),
        }
    return section


def _describe(fault: Fault) -> str:
    return f"{fault.target}:{fault.kind}:{fault.duration_s:g}s@{fault.start_s:g}s"
