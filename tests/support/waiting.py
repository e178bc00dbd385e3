"""Waiting on a condition instead of sleeping: poll a predicate until it holds or a deadline passes.

A sleep guesses how long something takes and either wastes that time or, on a loaded machine,
is too short; these helpers return as soon as the condition holds. The deadline is a safety net,
never a measured bound: when it passes, the test fails saying what it waited for and, with
``state``, what it saw last.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEFAULT_TIMEOUT_S = 10.0


def _failure(what: str, timeout_s: float, state: Callable[[], object] | None) -> AssertionError:
    seen = f"; last seen: {state()!r}" if state is not None else ""
    return AssertionError(f"waited {timeout_s:g} s for {what}, in vain{seen}")


def wait_until(
    predicate: Callable[[], object],
    what: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    interval_s: float = 0.01,
    state: Callable[[], object] | None = None,
) -> None:
    """Block until ``predicate()`` is true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            raise _failure(what, timeout_s, state)
        time.sleep(interval_s)


async def eventually(
    predicate: Callable[[], object],
    what: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    interval_s: float = 0.005,
    state: Callable[[], object] | None = None,
) -> None:
    """Yield to the event loop until ``predicate()`` is true; fail naming ``what`` after
    ``timeout_s``. The predicate runs on the loop, so it may read state that tasks update."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() >= deadline:
            raise _failure(what, timeout_s, state)
        await asyncio.sleep(interval_s)
