"""Fixtures shared across the suite: a private mosquitto per session, and one per test on demand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import Broker


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
