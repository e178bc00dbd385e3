"""The tiered profile: municipal publish -> district relays -> town relays -> every responder."""

from __future__ import annotations

import pytest

from dispatcher.wire.topics import parse_topic
from loadtest import LoadtestConfig, run_loadtest
from loadtest.mqtt.codec import Publish, fixed_stamp
from loadtest.publisher import alert_payloads
from loadtest.relay import Center
from loadtest.schedule import (
    owed_deliveries,
    publish_count,
    publish_topics,
    relay_plans,
)
from tests.support.broker import Broker


def tiered(**overrides: object) -> LoadtestConfig:
    settings: dict[str, object] = {
        "profile": "tiered",
        "responders": 500,
        "connections": 60,
        "workers": 2,
        "drain_timeout_s": 5.0,
    }
    return LoadtestConfig.model_validate(settings | overrides)


def test_relay_plans_reach_every_town_and_responder_once_through_the_topic_scheme() -> None:
    config = tiered(messages=2)
    districts = relay_plans(config, "district")
    towns = relay_plans(config, "town")

    # 60 connections over 38 districts: every district has a center, every connection a town.
    assert len(districts) == 38
    assert len(towns) == 60
    assert publish_topics(config) == [d.inbox for d in districts]
    assert publish_count(config) == 2 * 38
    assert owed_deliveries(config) == 2 * 500
    town_inboxes = [t.inbox for t in towns]
    relayed_to = [topic for d in districts for topic in d.outputs]
    assert sorted(relayed_to) == sorted(town_inboxes)
    assert len(set(town_inboxes)) == 60
    for district in districts:
        parsed = parse_topic(district.inbox)
        assert parsed.kind == "district_center"
        assert all(parse_topic(t).district == parsed.district for t in district.outputs)
    responder_topics = [topic for t in towns for topic in t.outputs]
    assert len(responder_topics) == len(set(responder_topics)) == 500
    assert {parse_topic(t).kind for t in town_inboxes} == {"town_center"}
    assert {parse_topic(t).kind for t in responder_topics} == {"alert"}


def test_shards_split_the_tree_without_overlap() -> None:
    shards = [tiered(shard_index=i, shard_count=3, run_tag="same") for i in range(3)]

    towns = [t.inbox for s in shards for t in relay_plans(s, "town")]
    responders = [topic for s in shards for t in relay_plans(s, "town") for topic in t.outputs]
    assert len(towns) == len(set(towns)) == 60
    assert len(set(responders)) == 500
    assert sum(owed_deliveries(s) for s in shards) == 500


def test_center_relays_its_run_once_and_drops_foreign_and_repeated_alerts() -> None:
    config = tiered(run_tag="ours")
    plan = relay_plans(config, "town")[0]
    ours = alert_payloads(config)[0]
    theirs = alert_payloads(tiered(run_tag="theirs"))[0]
    center = Center(plan, [len(ours)], qos=0, identifier_prefix="LT-ours-")
    stamp = fixed_stamp(1_000, 0)

    center.on_publishes(
        [
            Publish(plan.inbox.encode(), 0, 0, stamp, ours),
            Publish(plan.inbox.encode(), 0, 0, stamp, ours),
            Publish(plan.inbox.encode(), 0, 0, fixed_stamp(1_000, 1), theirs),
            Publish(plan.inbox.encode(), 0, 0, stamp, b"not an alert"),
            Publish(plan.inbox.encode(), 0, 0, None, ours),
        ],
        now_ns=6_000,
    )

    assert (center.received, center.duplicates, center.foreign, center.malformed) == (1, 1, 1, 2)
    # Not connected here, so the relay waits in the queue: one packet per responder of the town.
    assert [index for index, _, _ in center.pending] == list(range(len(plan.outputs)))
    assert center.arrival_ns == [5_000]


@pytest.mark.broker
@pytest.mark.parametrize("qos", [0, 1])
def test_tiered_run_delivers_every_alert_through_both_relay_tiers(
    mosquitto: Broker, qos: int
) -> None:
    report = run_loadtest(tiered(broker_url=mosquitto.url, qos=qos, messages=2))

    assert report["profile"] == "tiered"
    assert report["sent"] == 1_000
    assert report["received"] == 1_000
    assert report["lost"] == 0
    assert report["duplicates"] == 0
    assert report["out_of_order"] == 0
    assert report["published"] == 2 * 38
    district, town = report["relays"]
    assert (district["tier"], district["centers"]) == ("district", 38)
    assert (district["received"], district["forwarded"]) == (2 * 38, 2 * 60)
    assert (town["tier"], town["centers"]) == ("town", 60)
    assert (town["received"], town["forwarded"]) == (2 * 60, 1_000)
    assert town["relay_failed"] == district["relay_failed"] == 0
    # Measured from the municipal publish's schedule, so each tier arrives after the one above.
    assert 0 < district["arrival_max_ms"] <= town["arrival_max_ms"]
    assert town["arrival_max_ms"] <= report["latency_ms"]["max"] * 1.01
    figures = [report["latency_ms"][k] for k in ("p50", "p90", "p99", "p999", "max")]
    assert figures == sorted(figures)
