"""A finished virtual run frees its model by reference counting, not by a collector pass.

At city scale the model's cycles (closures that scheduled themselves, the world and its reach
holding each other) left 2.4 million objects for the garbage collector: 7 s of a city run.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulation.experiment.virtual import run_virtual
from tests.support.scenarios import load

MODEL_TYPES = {"RecipientState", "RiskPointState", "ResponderModel", "_Route", "World", "Alarm"}


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_a_finished_run_leaves_no_model_state_to_the_collector(
    saved_garbage: list[object], tmp_path: Path
) -> None:
    result = run_virtual(load(tmp_path))
    assert len(result.records) > 10
    assert any(r.on_scene_at_s is not None for r in result.records)
    gc.collect()
    left = Counter(type(o).__name__ for o in saved_garbage)
    assert not {name: n for name, n in left.items() if name in MODEL_TYPES}
