"""Fixtures shared across the suite: a private mosquitto per session, and one per test on demand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.broker import Broker
from tests.support.schedule import LONGEST_FILES_S

ROOT = Path(__file__).resolve().parents[1]

# Hypothesis checks what properties hold, not how fast examples are drawn: on a loaded 2-core
# machine drawing a CAP alert can pass its 200 ms "too slow" health check, which failed CI
# runs without a property failing. Deadlines stay off for the same reason.
settings.register_profile("alertsim", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("alertsim")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first (tests.support.schedule), each file's tests in their own order."""

    def longest_first(item: pytest.Item) -> float:
        if not item.path.is_relative_to(ROOT):
            return 0.0
        return -LONGEST_FILES_S.get(item.path.relative_to(ROOT).as_posix(), 0.0)

    items.sort(key=longest_first)  # stable: the rest keep the order they were collected in


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A mosquitto shared by the session's tests; tests must not stop it."""
    broker = Broker(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A mosquitto of the test's own, for tests that stop, kill or restart it."""
    broker = Broker(tmp_path).start()
    yield broker
    broker.stop()
