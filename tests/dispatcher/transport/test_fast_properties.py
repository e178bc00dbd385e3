"""paho's MQTT 5 properties give the same bytes and the same errors with the dict lookups.

Importing the transport installs the lookups for the whole process, so paho's own answers are
taken from a fresh interpreter that never imports alertsim (tests/support/paho_properties.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.exception import MQTTException
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import dispatcher.transport.mqtt  # noqa: F401  (importing the transport installs the lookups)
from dispatcher.transport import fast_properties
from tests.support import paho_properties

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def unpatched_transcript() -> list[list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.paho_properties"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    transcript: list[list[str]] = json.loads(done.stdout)
    return transcript


def test_patched_paho_answers_every_step_as_unpatched_paho(
    unpatched_transcript: list[list[str]],
) -> None:
    assert getattr(Properties, "_alertsim_fast_lookups", False), "mqtt.py installs them"
    patched = paho_properties.transcript()
    assert len(patched) == len(unpatched_transcript) > 1000
    # Step by step, so a difference names the step (set, pack, unpack, lookup) it is in.
    for ours, theirs in zip(patched, unpatched_transcript, strict=True):
        assert ours == theirs


def _publish_properties() -> Any:
    props: Any = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.MessageExpiryInterval = 3600
    props.ResponseTopic = "alertsim/v1/ack/a-1/r-1"
    props.CorrelationData = b"a-1"
    props.UserProperty = [("recipient_id", "r-1"), ("channel", "app_push")]
    props.UserProperty = ("rung", "0")  # a second assignment appends, as paho's own does
    props.PayloadFormatIndicator = 1
    return props


def test_installed_lookups_pack_and_unpack_exactly_as_before() -> None:
    assert getattr(Properties, "_alertsim_fast_lookups", False), "mqtt.py installs them"
    packed: bytes = _publish_properties().pack()
    # Reference bytes, checked by hand against MQTT 5 section 2.2.2: length 0x59, then
    # Payload Format Indicator, Message Expiry 3600, Response Topic, Correlation Data and three
    # User Properties, in paho's order.
    assert packed == (
        b"Y\x01\x01\x02\x00\x00\x0e\x10\x08\x00\x17alertsim/v1/ack/a-1/r-1\t\x00\x03a-1"
        b"&\x00\x0crecipient_id\x00\x03r-1&\x00\x07channel\x00\x08app_push&\x00\x04rung\x00\x010"
    )
    back: Any = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    back.unpack(packed)
    assert back.MessageExpiryInterval == 3600
    assert back.ResponseTopic == "alertsim/v1/ack/a-1/r-1"
    assert back.CorrelationData == b"a-1"
    assert back.UserProperty == [("recipient_id", "r-1"), ("channel", "app_push"), ("rung", "0")]
    assert back.PayloadFormatIndicator == 1
    assert back.getIdentFromName("UserProperty") == 38
    assert back.getIdentFromName("NoSuchThing") == -1
    assert back.getNameFromIdent(2) == "Message Expiry Interval"
    assert back.allowsMultiple("UserProperty")
    assert not back.allowsMultiple("ResponseTopic")


def test_paho_errors_are_unchanged() -> None:
    props: Any = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    with pytest.raises(MQTTException, match="Property name must be one of"):
        props.NoSuchThing = 1
    with pytest.raises(MQTTException, match="does not apply to packet type"):
        props.SessionExpiryInterval = 10  # a CONNECT property, not a PUBLISH one
    with pytest.raises(MQTTException, match="must be 0 or 1"):
        props.PayloadFormatIndicator = 2


def test_install_twice_is_harmless() -> None:
    fast_properties.install()
    fast_properties.install()
    assert _publish_properties().MessageExpiryInterval == 3600
