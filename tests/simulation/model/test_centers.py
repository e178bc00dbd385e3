"""A center's staff: first come, first served, and a tally that adds up."""

from __future__ import annotations

from dispatcher.core.plan import Center
from simulation.model.centers import ALERT, BACKGROUND, CenterModel
from simulation.model.clock import Environment

TOWN = Center("town", "500101001")


def test_work_waits_its_turn_and_takes_the_first_staff_member_free() -> None:
    env = Environment()
    center = CenterModel(TOWN, env, 2, lambda: 0.0)
    granted: list[tuple[str, float, float]] = []
    done: list[tuple[str, float]] = []
    lengths = {"a": 10.0, "b": 4.0, "c": 1.0, "d": 1.0}

    def ask(name: str) -> None:
        center.hold(
            lambda: lengths[name],
            lambda: done.append((name, env.now)),
            ALERT,
            lambda asked, got: granted.append((name, asked, got)),
        )

    for name in "abcd":
        ask(name)
    env.run_until_processed(env.timeout(2.0))
    figures = center.queue_figures()
    assert figures["waiting"] == 2
    assert figures["busy_s"] == 4.0  # two staff, two seconds each so far
    env.run()
    # b ends at 4 and its staff member takes c (waiting longest), then d at 5; a holds till 10.
    assert granted == [("a", 0, 0), ("b", 0, 0), ("c", 0, 4.0), ("d", 0, 5.0)]
    assert done == [("b", 4.0), ("c", 5.0), ("d", 6.0), ("a", 10.0)]
    figures = center.queue_figures()
    assert figures["waiting"] == 0
    assert figures["busy_s"] == 16.0
    assert figures["alert"] == {"granted": 4, "waited": 2, "wait_s": 9.0}


def test_work_asked_for_as_staff_free_up_goes_behind_work_already_waiting() -> None:
    env = Environment()
    center = CenterModel(TOWN, env, 1, lambda: 0.0)
    order: list[str] = []

    def first_done() -> None:
        order.append("first")
        # Asked for the moment the only staff member is free, but "second" was waiting.
        center.hold(lambda: 1.0, lambda: order.append("third"), BACKGROUND)

    center.hold(lambda: 3.0, first_done)
    center.hold(lambda: 2.0, lambda: order.append("second"))
    env.run()
    assert order == ["first", "second", "third"]
    assert env.now == 6.0
    assert center.queue_figures()["background"] == {"granted": 1, "waited": 1, "wait_s": 2.0}
