"""The collector pause: off inside, restored after, and earlier garbage still collected."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from simulation.experiment import gcpause
from simulation.experiment.gcpause import GROWTH, without_gc_pauses


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])


@pytest.fixture
def collector() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    gc.collect()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector")
def test_the_collector_is_off_inside_and_as_it_was_after() -> None:
    with without_gc_pauses():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with without_gc_pauses():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.usefixtures("collector")
def test_a_little_old_garbage_waits_and_more_than_the_growth_is_collected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    size = len(gc.get_objects(generation=2))
    monkeypatch.setattr(gcpause._Oldest, "after_full", size)
    monkeypatch.setattr(gcpause._Oldest, "pending", 0)
    # a few cycles left in the oldest generation, as a finished run leaves its world
    with without_gc_pauses():
        few = [_Cycle() for _ in range(10)]
    del few
    before = _full_collections()
    with without_gc_pauses():
        pass
    assert _full_collections() == before  # well under the growth: no walk of every object
    assert sum(isinstance(o, _Cycle) for o in gc.get_objects()) == 10
    # past the growth: the next pause collects them all first
    with without_gc_pauses():
        many = [_Cycle() for _ in range(int(size * (GROWTH - 1)) + 10)]
    del many
    with without_gc_pauses():
        assert _full_collections() == before + 1
        assert not any(isinstance(o, _Cycle) for o in gc.get_objects())
    assert gcpause._Oldest.after_full < size * GROWTH


@pytest.mark.usefixtures("collector")
def test_the_first_pause_of_a_process_takes_what_it_holds_as_its_baseline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gcpause._Oldest, "after_full", 0)
    monkeypatch.setattr(gcpause._Oldest, "pending", 0)
    before = _full_collections()
    with without_gc_pauses():
        assert _full_collections() == before  # no walk of every imported object
    with without_gc_pauses():  # the second counts the baseline: what the first left tracked
        left = [_Cycle() for _ in range(10)]
    del left
    size = len(gc.get_objects(generation=2))
    with without_gc_pauses():
        assert _full_collections() == before
    assert 0 < gcpause._Oldest.after_full <= size
