"""The garbage-collector pause of a virtual run: the one place alertsim switches the collector off.

A city-scale run holds millions of live objects; each full collection walks all of them, and
collections come more often as the run allocates, so half the wall time went to the collector.
The model makes few reference cycles (SimPy processes waiting on resources), so they wait until
the run ends. `run_virtual` holds the pause from building the city to collecting the records.

Leaving the pause, the run's survivors are moved to the oldest generation in one step (freeze,
then unfreeze) rather than left in the youngest: otherwise the first collection after the run,
while the report is built and written, would walk the millions of objects the run allocated
(about 3 s on the city scenario).

Entering it, the garbage of earlier runs (a finished world is cycles, so it waits in the oldest
generation) is collected when the oldest generation has grown by more than a quarter since the
last full collection: CPython's own rule for its oldest generation. A full collection on every
entry walked every imported module's objects too, which was two thirds of a small scenario's
replication (24 ms of 46) and so of every many-replication command on one. The first entry of a
process takes what it holds then (the imported modules, the loaded scenario: little garbage) as
the oldest generation's first size, uncollected and counted only at a second entry: a full
collection there was 40-60 ms of every `alertsim run` before its model started.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

__all__ = ["GROWTH", "without_gc_pauses"]

GROWTH: Final = 1.25  # the oldest generation grown this much since its last full collection


class _Oldest:
    """What this module knows of the oldest generation, so that it is rarely counted."""

    after_full = 0  # its size after this module's last full collection (0: no pause yet)
    pending = 0  # at most how much it has grown since: objects the pauses left tracked
    UNCOUNTED = -1  # after_full once the first pause took its baseline, not yet counted


def _collect() -> None:
    """The young garbage always; all of it when the oldest generation has grown past GROWTH.

    Counting the oldest generation walks it too (a tenth of the cost of collecting it), so it
    is counted only when the pauses since the last count may have grown it past the bound.
    The first pause of a process takes what the process holds as the baseline without counting
    it (a one-replication run would never use the count); the second counts it, less what the
    first left tracked.
    """
    size = None
    if _Oldest.after_full == 0:
        _Oldest.after_full = _Oldest.UNCOUNTED
        gc.collect(1)
        return
    if _Oldest.after_full == _Oldest.UNCOUNTED:
        size = len(gc.get_objects(generation=2))
        _Oldest.after_full = max(size - _Oldest.pending, 1)
    if _Oldest.pending >= _Oldest.after_full * (GROWTH - 1):
        size = len(gc.get_objects(generation=2)) if size is None else size
        if size > _Oldest.after_full * GROWTH:
            gc.collect()
            _Oldest.after_full, _Oldest.pending = len(gc.get_objects(generation=2)), 0
            return
        _Oldest.pending = size - _Oldest.after_full
    gc.collect(1)


@contextmanager
def without_gc_pauses() -> Iterator[None]:
    """Keep the cyclic garbage collector out of the block; restore it as it was afterwards.

    Young garbage made before the block is collected on entry, and the rest by the rule above;
    cycles made inside wait for a full pass after it.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        _collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        _Oldest.pending += gc.get_count()[0]  # what the block left tracked (the count is net)
        # Everything tracked now (made before or during the block) goes to the permanent
        # generation and straight back to the oldest one, with the young counts reset.
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()
