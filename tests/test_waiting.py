"""The waiting helpers return once their condition holds and fail saying what they waited for."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.support.waiting import eventually, wait_until


def test_wait_until_returns_once_another_thread_makes_it_true() -> None:
    done = threading.Event()
    threading.Timer(0.02, done.set).start()

    wait_until(done.is_set, "the timer to fire", timeout_s=5)

    assert done.is_set()


def test_wait_until_fails_naming_the_condition_and_the_last_state() -> None:
    with pytest.raises(AssertionError, match=r"waited 0.05 s for the moon, in vain; last seen: 3"):
        wait_until(lambda: False, "the moon", timeout_s=0.05, state=lambda: 3)


async def test_eventually_lets_tasks_run_until_the_condition_holds() -> None:
    seen: list[int] = []

    async def produce() -> None:
        for i in range(3):
            await asyncio.sleep(0)
            seen.append(i)

    task = asyncio.create_task(produce())
    await eventually(lambda: len(seen) == 3, "three items", timeout_s=5)

    assert seen == [0, 1, 2]
    await task


async def test_eventually_fails_naming_the_condition() -> None:
    with pytest.raises(AssertionError, match=r"waited 0.05 s for nothing at all, in vain$"):
        await eventually(lambda: False, "nothing at all", timeout_s=0.05)
