"""The private broker is real: a message published through it reaches a subscriber."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.broker import Broker

pytestmark = pytest.mark.broker


def test_private_mosquitto_carries_a_message(mosquitto: Broker) -> None:
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            mosquitto.host,
            "-p",
            str(mosquitto.port),
            "-t",
            "t/x",
            "-C",
            "1",
            "-W",
            "5",
        ],
        stdout=subprocess.PIPE,
    )
    # Publish until the subscriber has connected and received one.
    for _ in range(50):
        subprocess.run(
            [
                "mosquitto_pub",
                "-h",
                mosquitto.host,
                "-p",
                str(mosquitto.port),
                "-t",
                "t/x",
                "-m",
                "hello",
            ],
            check=True,
        )
        try:
            out, _ = sub.communicate(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            continue
    assert out.strip() == b"hello"
