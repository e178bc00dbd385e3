"""Tests of the topic scheme: builders and parser agree, bad ids are refused, MQTT matching."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.wire.topics import (
    TOPIC_ERROR_REASONS,
    ParsedTopic,
    TopicError,
    ack_topic,
    alert_topic,
    district_center_topic,
    matches,
    parse_topic,
    status_topic,
    town_broadcast_topic,
    town_center_topic,
    validate_filter,
    validate_id,
)

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

districts = st.text("0123456789", min_size=6, max_size=6)
ids = st.text(ID_ALPHABET, min_size=1, max_size=64)
recipient_ids = ids.filter(lambda value: value not in ("all", "center"))


@st.composite
def district_towns(draw: st.DrawFn) -> tuple[str, str]:
    district = draw(districts)
    return district, district + draw(st.text("0123456789", min_size=3, max_size=3))


def raises_reason(reason: str, call: Callable[[], object]) -> TopicError:
    with pytest.raises(TopicError) as caught:
        call()
    assert caught.value.reason == reason, caught.value.detail
    assert caught.value.reason in TOPIC_ERROR_REASONS
    return caught.value


# --- builders and parser ---------------------------------------------------------------------


def test_builders_follow_the_documented_scheme() -> None:
    assert alert_topic("500101", "500101001", "m-00042") == (
        "alertsim/v1/alert/500101/500101001/m-00042"
    )
    assert town_broadcast_topic("500101", "500101001") == "alertsim/v1/alert/500101/500101001/all"
    assert district_center_topic("500101") == "alertsim/v1/alert/500101/center"
    assert town_center_topic("500101", "500101001") == "alertsim/v1/alert/500101/500101001/center"
    assert ack_topic("cq-2025.07.20-1", "m-00042") == "alertsim/v1/ack/cq-2025.07.20-1/m-00042"
    assert status_topic("swarm-3") == "alertsim/v1/status/swarm-3"


@given(district_towns(), recipient_ids)
def test_alert_topic_round_trips(district_town: tuple[str, str], recipient_id: str) -> None:
    district, town = district_town
    topic = alert_topic(district, town, recipient_id)
    parsed = parse_topic(topic)
    assert parsed == ParsedTopic(
        kind="alert", district=district, town=town, recipient_id=recipient_id
    )
    assert parsed.topic == topic


@given(district_towns())
def test_town_and_district_topics_round_trip(district_town: tuple[str, str]) -> None:
    district, town = district_town
    for topic, expected in [
        (town_broadcast_topic(district, town), ParsedTopic("town_broadcast", district, town)),
        (town_center_topic(district, town), ParsedTopic("town_center", district, town)),
        (district_center_topic(district), ParsedTopic("district_center", district)),
    ]:
        assert parse_topic(topic) == expected
        assert expected.topic == topic


@given(ids, recipient_ids, ids)
def test_ack_and_status_topics_round_trip(alert_id: str, recipient_id: str, client_id: str) -> None:
    ack = ack_topic(alert_id, recipient_id)
    assert parse_topic(ack) == ParsedTopic("ack", alert_id=alert_id, recipient_id=recipient_id)
    assert parse_topic(ack).topic == ack
    status = status_topic(client_id)
    assert parse_topic(status) == ParsedTopic("status", client_id=client_id)


def test_a_responder_subscription_receives_its_own_and_its_town_broadcast_only() -> None:
    own = alert_topic("500101", "500101001", "m-1")
    subscriptions = [own, town_broadcast_topic("500101", "500101001")]
    delivered = [
        topic
        for topic in [
            own,
            alert_topic("500101", "500101001", "m-2"),
            town_broadcast_topic("500101", "500101001"),
            town_broadcast_topic("500101", "500101002"),
            town_center_topic("500101", "500101001"),
        ]
        if any(matches(subscription, topic) for subscription in subscriptions)
    ]
    assert delivered == [own, "alertsim/v1/alert/500101/500101001/all"]


# --- ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("m/1", "bad_id"),
        ("m+1", "bad_id"),
        ("+", "bad_id"),
        ("m#1", "bad_id"),
        ("#", "bad_id"),
        ("m\x001", "bad_id"),
        ("m 1", "bad_id"),
        ("m\t1", "bad_id"),
        ("m1\n", "bad_id"),
        ("\u0430lice", "bad_id"),  # Cyrillic a, looks like Latin a
        ("m-\uff15", "bad_id"),  # fullwidth digit five
        ("$SYS", "bad_id"),
        ("x" * 65, "bad_id"),
    ],
)
def test_validate_id_rejects_what_cannot_fill_one_unambiguous_level(
    value: str, reason: str
) -> None:
    error = raises_reason(reason, lambda: validate_id("recipient_id", value))
    assert error.detail.startswith("recipient_id: expected 1-64 characters")


def test_bad_id_detail_names_the_lookalike_character() -> None:
    error = raises_reason("bad_id", lambda: validate_id("alert_id", "\u0430lert"))
    assert "CYRILLIC SMALL LETTER A U+0430 at index 0" in error.detail


@given(ids)
def test_validate_id_accepts_the_whole_alphabet(value: str) -> None:
    assert validate_id("alert_id", value) == value


def test_validate_id_accepts_64_characters_but_not_65() -> None:
    assert validate_id("client_id", "a" * 64) == "a" * 64
    error = raises_reason("bad_id", lambda: validate_id("client_id", "a" * 65))
    assert "got 65 characters" in error.detail


@pytest.mark.parametrize("word", ["all", "center"])
def test_reserved_words_are_not_recipient_ids(word: str) -> None:
    raises_reason("bad_id", lambda: validate_id("recipient_id", word))
    raises_reason("bad_id", lambda: alert_topic("500101", "500101001", word))
    # Elsewhere the words are ordinary ids.
    assert validate_id("alert_id", word) == word


@pytest.mark.parametrize(
    "value", ["50010", "5001011", "50010a", "５00101", "\u0665" * 6, " 500101"]
)
def test_district_codes_are_exactly_six_ascii_digits(value: str) -> None:
    error = raises_reason("bad_id", lambda: validate_id("district", value))
    assert error.detail.startswith("district: expected 6 ASCII digits, got")


def test_town_codes_are_nine_ascii_digits_of_their_district() -> None:
    assert validate_id("town", "500101001", district="500101") == "500101001"
    assert validate_id("town", "500102001") == "500102001"
    error = raises_reason("bad_id", lambda: validate_id("town", "500102001", district="500101"))
    assert error.detail == (
        "town: expected 9 ASCII digits starting with district 500101, got '500102001'"
    )
    raises_reason("bad_id", lambda: validate_id("town", "50010100"))
    raises_reason("bad_id", lambda: validate_id("town", "50010100９"))
    raises_reason("bad_id", lambda: town_broadcast_topic("500101", "500102001"))


# --- parser rejects everything outside the scheme ------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("", "empty"),
        ("alertsim/v1/alert/500101/500101001/", "empty"),
        ("alertsim/v1/alert//500101001/m-1", "empty"),
        ("alertsim/v1/ack//m-1", "empty"),
        ("alertsim/v1/status/", "empty"),
        ("alertsim/v1/alert/500101/500101001/m/1", "bad_level"),
        ("alertsim/v1/alert/500101/500101001", "bad_level"),
        ("alertsim/v1/alert/500101", "bad_level"),
        ("alertsim/v1/alert/500101/centre", "bad_level"),
        ("alertsim/v2/alert/500101/center", "bad_level"),
        ("other/v1/alert/500101/center", "bad_level"),
        ("/alertsim/v1/alert/500101/center", "bad_level"),
        ("alertsim/v1", "bad_level"),
        ("alertsim/v1/ack/a-1", "bad_level"),
        ("alertsim/v1/ack/a-1/m-1/x", "bad_level"),
        ("alertsim/v1/status/c-1/x", "bad_level"),
        ("alertsim/v1/alert/500101/500101001/+", "bad_level"),
        ("alertsim/v1/ack/#", "bad_level"),
        ("alertsim/v1/ack/a\x00/m-1", "bad_level"),
        ("alertsim/v1/alert/500101/500101001/m\ud800", "bad_level"),
        ("alertsim/v1/alert/500101/500101001/m-1 ", "bad_id"),
        ("alertsim/v1/alert/500101/500102001/m-1", "bad_id"),
        ("alertsim/v1/alert/５00101/center", "bad_id"),
        ("alertsim/v1/ack/\u0430-1/m-1", "bad_id"),
        ("alertsim/v1/ack/a-1/all", "bad_id"),
        ("alertsim/v1/dispatch/a-1", "unknown_kind"),
        ("alertsim/v1/Alert/500101/center", "unknown_kind"),
        ("alertsim/v1/", "unknown_kind"),
    ],
)
def test_parse_topic_rejects_with_the_right_reason(topic: str, reason: str) -> None:
    raises_reason(reason, lambda: parse_topic(topic))


def test_parse_error_names_the_topic_the_level_and_what_was_expected() -> None:
    error = raises_reason("unknown_kind", lambda: parse_topic("alertsim/v1/dispatch/a-1"))
    assert error.detail == (
        "'alertsim/v1/dispatch/a-1': level 3: expected alert, ack or status, got 'dispatch'"
    )
    assert str(error).startswith("unknown_kind: ")


def parse_outcome(topic: str) -> ParsedTopic | TopicError:
    try:
        return parse_topic(topic)
    except TopicError as error:
        return error


@given(st.text(max_size=80))
def test_parse_topic_raises_only_topic_error(topic: str) -> None:
    outcome = parse_outcome(topic)
    if isinstance(outcome, TopicError):
        assert outcome.reason in TOPIC_ERROR_REASONS
    else:
        assert outcome.topic == topic


@given(
    st.lists(
        st.sampled_from(
            [
                "alertsim",
                "v1",
                "alert",
                "ack",
                "status",
                "500101",
                "500101001",
                "all",
                "center",
                "m-1",
                "",
                "+",
            ]
        ),
        max_size=7,
    )
)
def test_parse_topic_of_scheme_like_levels_round_trips_or_raises(levels: list[str]) -> None:
    topic = "/".join(levels)
    outcome = parse_outcome(topic)
    if isinstance(outcome, TopicError):
        assert outcome.reason in TOPIC_ERROR_REASONS
    else:
        assert outcome.topic == topic


# --- filters and matching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("sport/tennis/player1/#", "sport/tennis/player1", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
        ("sport/#", "sport", True),
        ("sport/#", "sports", False),
        ("#", "sport/tennis", True),
        ("#", "/", True),
        ("sport/tennis/#", "sport", False),
        ("sport/tennis/+", "sport/tennis/player1", True),
        ("sport/tennis/+", "sport/tennis/player1/ranking", False),
        ("sport/+", "sport", False),
        ("sport/+", "sport/", True),
        ("+", "sport", True),
        ("+/+", "/finance", True),
        ("/+", "/finance", True),
        ("+", "/finance", False),
        ("+/tennis/#", "sport/tennis/player1", True),
        ("sport/+/player1", "sport/tennis/player1", True),
        ("sport/+/player1", "sport/tennis/player2", False),
        ("sport", "Sport", False),
        ("sport", "sport/", False),
        ("a//b", "a//b", True),
        ("a/+/b", "a//b", True),
        # $-topics are not matched by a leading wildcard, but can be subscribed explicitly.
        ("#", "$SYS/broker/uptime", False),
        ("+/monitor/Clients", "$SYS/monitor/Clients", False),
        ("+", "$SYS", False),
        ("$SYS/#", "$SYS/broker/uptime", True),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", True),
        ("$SYS", "$SYS", True),
        ("a/$b/#", "a/$b/c", True),
        ("a/+/c", "a/$b/c", True),
        ("alertsim/v1/ack/cq-1/+", "alertsim/v1/ack/cq-1/m-7", True),
        ("alertsim/v1/ack/cq-1/+", "alertsim/v1/ack/cq-2/m-7", False),
        ("alertsim/v1/alert/500101/#", "alertsim/v1/alert/500101/center", True),
    ],
)
def test_matches_follows_mqtt_wildcard_rules(topic_filter: str, topic: str, expected: bool) -> None:
    assert matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    ("topic_filter", "reason"),
    [
        ("", "empty"),
        ("a/#/b", "bad_filter"),
        ("#/a", "bad_filter"),
        ("a/b#", "bad_filter"),
        ("a+/b", "bad_filter"),
        ("a/+b", "bad_filter"),
        ("++", "bad_filter"),
        ("##", "bad_filter"),
        ("a/\x00", "bad_filter"),
        ("a/\udc00", "bad_filter"),
        ("a/" + "x" * 65_534, "bad_filter"),
    ],
)
def test_validate_filter_rejects_malformed_filters(topic_filter: str, reason: str) -> None:
    raises_reason(reason, lambda: validate_filter(topic_filter))
    raises_reason(reason, lambda: matches(topic_filter, "a/b"))


@pytest.mark.parametrize("topic_filter", ["#", "+", "a/+/#", "+/+", "/", "a//b", "$SYS/#", "a/b"])
def test_validate_filter_accepts_well_formed_filters(topic_filter: str) -> None:
    assert validate_filter(topic_filter) == topic_filter


@pytest.mark.parametrize(
    ("topic", "reason"), [("", "empty"), ("a/+", "bad_level"), ("a/#", "bad_level")]
)
def test_matches_refuses_topic_names_that_are_not_names(topic: str, reason: str) -> None:
    raises_reason(reason, lambda: matches("#", topic))


# A single empty level would be the empty string, which is no topic name at all.
topic_levels = st.lists(st.sampled_from(["a", "b", "", "$x"]), min_size=1, max_size=5).filter(
    lambda levels: levels != [""]
)


@given(topic_levels)
def test_a_topic_used_as_a_filter_matches_exactly_itself(levels: list[str]) -> None:
    topic = "/".join(levels)
    assert matches(topic, topic)
    assert not matches(topic, topic + "/a")
    assert not matches(topic + "/a", topic)


@given(topic_levels, topic_levels)
def test_hash_suffix_matches_exactly_the_topics_under_its_prefix(
    prefix: list[str], levels: list[str]
) -> None:
    topic = "/".join(levels)
    is_under = levels[: len(prefix)] == prefix
    assert matches("/".join([*prefix, "#"]), topic) is is_under


@given(topic_levels)
def test_plus_levels_match_any_topic_of_the_same_depth_not_starting_with_dollar(
    levels: list[str],
) -> None:
    topic = "/".join(levels)
    plus_filter = "/".join("+" for _ in levels)
    assert matches(plus_filter, topic) is (not topic.startswith("$"))
    assert not matches(plus_filter + "/+", topic)
