"""Run identity: every run's id, part of every alert identifier it puts on the wire.

Receivers deduplicate by alert identifier, so a run id in it makes repeated runs of one scenario
(or one dispatcher plan) against the same long-running swarm new alerts, as the first run's were.
Virtual runs derive theirs from the replication (``r0``, ``r1``, ...), so the same scenario and
seed give the same identifiers and byte-identical reports; live runs and the dispatcher take a
fresh one per run (:func:`fresh_run_id`) unless one is given. docs/wire-protocol.md, "Run ids".
"""

from __future__ import annotations

import re
import secrets
from typing import Final

from dispatcher.errors import AlertsimError

__all__ = [
    "RUN_ID",
    "RUN_ID_MAX",
    "RunIdError",
    "check_run_id",
    "fresh_run_id",
    "plan_alert_id",
    "virtual_run_id",
]

RUN_ID_MAX: Final = 10
# Lower-case letters and digits, no hyphen: an alert identifier's fields are split on hyphens
# from the right, and 40 + 10 + the sequence and level keep it within an id's 64 characters.
RUN_ID: Final = re.compile(rf"[a-z0-9]{{1,{RUN_ID_MAX}}}")
PLAN_ID_MAX: Final = 52


class RunIdError(AlertsimError, ValueError):
    """A run id that does not fit RUN_ID."""


def check_run_id(value: str, *, where: str = "--run-id") -> str:
    """``value`` if it is a run id, else a one-line RunIdError naming ``where``."""
    if RUN_ID.fullmatch(value) is None:
        raise RunIdError(
            f"{where}: expected 1-{RUN_ID_MAX} lower-case ASCII letters and digits, "
            f"got {value[:80]!r}"
        )
    return value


def fresh_run_id() -> str:
    """A new run id: 8 random hex digits (one in four billion to meet another run's)."""
    return secrets.token_hex(4)


def virtual_run_id(replication: int) -> str:
    """A virtual run's id, derived from its replication: deterministic runs stay so."""
    return check_run_id(f"r{replication}", where="replication")


def plan_alert_id(plan_id: str, run_id: str) -> str:
    """The wire identifier of a dispatcher plan's alert in one run: ``{plan id}-{run id}``."""
    return f"{plan_id[:PLAN_ID_MAX]}-{check_run_id(run_id)}"
