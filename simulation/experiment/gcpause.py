"""The garbage-collector pause of a virtual run: the one place alertsim switches the collector off.

A city-scale run holds millions of live objects; each full collection walks all of them, and
collections come more often as the run allocates, so half the wall time went to the collector.
The model makes few reference cycles (SimPy processes waiting on resources), so they wait until
the run ends. `run_virtual` holds the pause from building the city to collecting the records.

Leaving the pause, the run's survivors are moved to the oldest generation in one step (freeze,
then unfreeze) rather than left in the youngest: otherwise the first collection after the run,
while the report is built and written, would walk the millions of objects the run allocated
(about 3 s on the city scenario).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["without_gc_pauses"]


@contextmanager
def without_gc_pauses() -> Iterator[None]:
    """Keep the cyclic garbage collector out of the block; restore it as it was afterwards.

    Garbage made before the block is collected on entry; cycles made inside wait for the
    collector's next full pass after it.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        # Everything tracked now (made before or during the block) goes to the permanent
        # generation and straight back to the oldest one, with the young counts reset.
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()
