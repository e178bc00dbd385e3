"""Bad input never crashes a receiver: every fuzzed payload and topic ends in a counted reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatcher.transport.base import Message
from dispatcher.trust.inbox import Inbox, delivery_of
from dispatcher.trust.signing import (
    Delivery,
    Signer,
    Verifier,
    load_keyring,
    load_signer,
    write_key_set,
)
from dispatcher.wire.messages import MAX_PAYLOAD_BYTES, encode_alert
from dispatcher.wire.topics import TopicError, alert_topic, parse_topic
from tests.support.signed_alerts import D1, NOW, T1, make_alert

TOPIC = alert_topic(D1, T1, "m-1")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    write_key_set(folder, {D1: [T1]}, now=NOW - timedelta(days=1))
    return folder


def inbox_for(key_dir: Path) -> tuple[Inbox, Signer]:
    return Inbox(Verifier(load_keyring(key_dir, now=NOW))), load_signer(key_dir, "municipal")


def signed_for(topic: str) -> Delivery:
    """The delivery a center would sign a message on ``topic`` for."""
    try:
        return delivery_of(Message(topic, b""), parse_topic(topic))
    except TopicError:
        return Delivery("m-1", "", 0)


def deliver(inbox: Inbox, signer: Signer | None, payload: bytes, topic: str = TOPIC) -> str:
    props = signer.properties(payload, signed_for(topic)) if signer is not None else ()
    before = sum(inbox.counts.values())
    verdict = inbox.receive(Message(topic, payload, user_properties=props), now=NOW)
    assert sum(inbox.counts.values()) == before + 1  # counted exactly once
    assert verdict.outcome == "rejected" or verdict.alert is not None
    return verdict.reason or verdict.outcome


GOOD = encode_alert(make_alert())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


def _mutated(obj: object, value: object) -> bytes:
    data = json.loads(GOOD)
    assert isinstance(obj, str)
    data[obj] = value
    return json.dumps(data).encode()


payloads = st.one_of(
    st.binary(max_size=300),
    st.integers(0, len(GOOD) - 1).map(lambda n: GOOD[:n]),  # truncated JSON
    st.integers(33, 3000).map(lambda n: b"[" * n + b"]" * n),  # deep nesting
    st.builds(_mutated, st.sampled_from(["sent", "status", "info", "identifier"]), json_values),
    json_values.map(lambda v: json.dumps({"extra": v, **json.loads(GOOD)}).encode()),
    st.just(b""),
    st.just(b"\xff\xfe" + GOOD),
    st.just(GOOD[:-1] + b" " * (MAX_PAYLOAD_BYTES - len(GOOD) + 1) + b"}"),
)


@FUZZ
@given(payload=payloads, signed=st.booleans())
def test_fuzzed_payloads_rejected_with_a_reason(
    key_dir: Path, payload: bytes, signed: bool
) -> None:
    inbox, signer = inbox_for(key_dir)
    reason = deliver(inbox, signer if signed else None, payload)
    if not signed:
        assert reason == "unsigned"
    elif payload != GOOD:
        assert reason in {
            "payload",
            "not_for_me",
            "out_of_scope",
            "status_mismatch",
            "expired",
            "replayed",
            "accepted",
        }
        if reason == "accepted":  # only a payload that decodes to an equal, in-scope alert
            assert inbox.counts["accepted"] == 1


def test_oversize_by_one_byte_and_empty_are_payload_errors(key_dir: Path) -> None:
    inbox, signer = inbox_for(key_dir)
    oversize = GOOD[:-1] + b" " * (MAX_PAYLOAD_BYTES - len(GOOD) + 1) + b"}"
    assert len(oversize) == MAX_PAYLOAD_BYTES + 1
    assert deliver(inbox, signer, oversize) == "payload"
    assert deliver(inbox, signer, b"") == "payload"
    assert deliver(inbox, signer, b"\xc3\x28") == "payload"
    assert deliver(inbox, signer, GOOD) == "accepted"
    assert inbox.counts == {"payload": 3, "accepted": 1}


bad_levels = st.one_of(
    st.sampled_from(["", "a/b", "+", "#", "m\x00", "m\u0430", "\uff15", "all", "center", " "]),
    st.text(max_size=80),
)


@FUZZ
@given(level=bad_levels, position=st.integers(3, 5), extra=st.sampled_from(["", "/", "//x"]))
def test_fuzzed_topics_rejected_with_a_reason(
    key_dir: Path, level: str, position: int, extra: str
) -> None:
    inbox, signer = inbox_for(key_dir)
    parts = TOPIC.split("/")
    parts[position] = level
    topic = "/".join(parts) + extra
    reason = deliver(inbox, signer, GOOD, topic)
    if topic != TOPIC:
        assert reason != "accepted" or (position == 5 and extra == "")
    keys = set(inbox.counts)
    assert keys <= {
        "accepted",
        "not_for_me",
        "topic_empty",
        "topic_bad_level",
        "topic_bad_id",
        "topic_unknown_kind",
        "topic_kind",
    }


def test_now_is_taken_from_the_clock_when_left_out(key_dir: Path) -> None:
    inbox, signer = inbox_for(key_dir)
    fresh = encode_alert(make_alert(sent=datetime.now(UTC)))
    props = signer.properties(fresh, signed_for(TOPIC))
    verdict = inbox.receive(Message(TOPIC, fresh, user_properties=props))
    assert verdict.accepted


def test_signed_bytes_replayed_to_another_member_or_rung_are_refused(key_dir: Path) -> None:
    """What one member got, republished to a neighbour or with a changed rung: bad_signature."""
    inbox, signer = inbox_for(key_dir)
    props = (("channel", "sms"), ("rung", "1"))
    props += signer.properties(GOOD, Delivery("m-1", "sms", 1))
    neighbour = alert_topic(D1, T1, "m-2")
    assert inbox.receive(Message(neighbour, GOOD, user_properties=props), now=NOW).reason == (
        "bad_signature"
    )
    rung_changed = (("channel", "sms"), ("rung", "2"), *props[2:])
    verdict = inbox.receive(Message(TOPIC, GOOD, user_properties=rung_changed), now=NOW)
    assert verdict.reason == "bad_signature"
    assert inbox.receive(Message(TOPIC, GOOD, user_properties=props), now=NOW).accepted
    assert inbox.counts == {"bad_signature": 2, "accepted": 1}
