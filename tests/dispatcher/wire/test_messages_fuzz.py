"""Nothing but MessageError escapes the decoder, whatever bytes or JSON it is given."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from dispatcher.wire.messages import (
    MESSAGE_ERROR_REASONS,
    Alert,
    MessageError,
    decode_alert,
    encode_alert,
)
from tests.support.cap_messages import VALID


def decode_outcome(payload: bytes) -> Alert | MessageError:
    try:
        return decode_alert(payload)
    except MessageError as error:
        return error


@given(st.binary(max_size=512))
def test_arbitrary_bytes_decode_or_raise_message_error(payload: bytes) -> None:
    outcome = decode_outcome(payload)
    if isinstance(outcome, MessageError):
        assert outcome.reason in MESSAGE_ERROR_REASONS
        assert outcome.detail


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@given(json_values)
def test_arbitrary_json_decodes_or_raises_message_error(value: object) -> None:
    outcome = decode_outcome(json.dumps(value).encode())
    if isinstance(outcome, MessageError):
        assert outcome.reason in MESSAGE_ERROR_REASONS


@given(st.data())
def test_mutated_valid_payloads_decode_or_raise_message_error(data: st.DataObject) -> None:
    payload = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(payload) - 1))
        payload[position] = data.draw(st.integers(0, 255))
    outcome = decode_outcome(bytes(payload)[: data.draw(st.integers(1, len(payload)))])
    if isinstance(outcome, Alert):
        assert decode_alert(encode_alert(outcome)) == outcome


@given(st.data())
def test_fields_replaced_by_arbitrary_json_decode_or_raise_message_error(
    data: st.DataObject,
) -> None:
    document = json.loads(VALID)
    target = data.draw(st.sampled_from([document, document["info"], document["info"]["area"]]))
    key = data.draw(st.sampled_from(sorted(target)))
    target[key] = data.draw(json_values)
    outcome = decode_outcome(json.dumps(document).encode())
    if isinstance(outcome, MessageError):
        assert outcome.reason in MESSAGE_ERROR_REASONS
        assert outcome.detail
