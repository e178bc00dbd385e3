"""Deliberate crash points of the dispatcher service, for tests of journal replay.

``ALERTSIM_CRASH_AT=<point>[:<n>]`` ends the process the n-th time the point is reached (default
1): ``before_journal``, ``after_journal`` (before any publish), ``after_puback`` (the broker
acknowledged a publish, the recipient has not), ``after_ack`` (an acknowledgement arrived, not yet
marked). The process ends with ``os._exit(70)`` there, as abruptly as a SIGKILL.
"""

from __future__ import annotations

import os
import sys
from typing import Final

__all__ = ["CRASH_ENV", "CRASH_EXIT_CODE", "CRASH_POINTS", "CrashHook"]

CRASH_POINTS: Final = ("before_journal", "after_journal", "after_puback", "after_ack")
CRASH_ENV: Final = "ALERTSIM_CRASH_AT"
CRASH_EXIT_CODE: Final = 70


class CrashHook:
    """Ends the process at the n-th time its point is reached; a no-op without a spec."""

    def __init__(self, spec: str | None) -> None:
        self.point, self.remaining = None, 0
        if spec:
            point, _, count = spec.partition(":")
            if point not in CRASH_POINTS or not (count or "1").isdigit():
                raise ValueError(
                    f"{CRASH_ENV}: expected <point>[:<n>] with a point of "
                    f"{', '.join(CRASH_POINTS)}, got {spec!r}"
                )
            self.point, self.remaining = point, int(count or "1")

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self.remaining -= 1
        if self.remaining <= 0:
            import structlog  # here, not at the top: `alertsim --help` reads CRASH_ENV

            structlog.get_logger(__name__).warning("dispatcher_crashed_on_purpose", point=point)
            sys.stdout.flush()
            os._exit(CRASH_EXIT_CODE)
