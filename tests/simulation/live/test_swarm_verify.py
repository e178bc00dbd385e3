"""The swarm with a keyring: only signed, in-scope alerts make a responder react; rest counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from dispatcher.transport import MemoryBroker, MemoryTransport, Message
from dispatcher.trust.signing import load_keyring, load_signer, write_key_set
from dispatcher.wire.messages import encode_alert
from dispatcher.wire.topics import alert_topic
from simulation.experiment.virtual import build_city
from simulation.live.swarm import Swarm, responders_of
from simulation.scenario import load_scenario
from tests.support.scenarios import base_scenario, write_scenario
from tests.support.signed_alerts import make_alert


async def test_swarm_rejects_unsigned_and_foreign_keys(tmp_path: Path) -> None:
    loaded = load_scenario(write_scenario(tmp_path, base_scenario()))
    city = build_city(loaded)
    member = next(r for r in responders_of(city) if r.tier == "grid")
    other_town = next(t.code for d in city.districts for t in d.towns if t.code != member.town)
    now = datetime.now(UTC)
    write_key_set(
        tmp_path / "k", {member.district: [member.town, other_town]}, now=now - timedelta(days=1)
    )
    broker = MemoryBroker()
    swarm = Swarm(
        loaded.scenario,
        city,
        lambda _id: MemoryTransport(broker),
        keyring=load_keyring(tmp_path / "k"),
    )
    conn = next(c for c in swarm.connections if member.id in c.responders)
    payload = encode_alert(
        make_alert(identifier="s-1", sent=now, districts=(member.district,), towns=(member.town,))
    )
    props = (
        ("recipient_id", member.id),
        ("channel", "app_push"),
        ("rung", "0"),
        ("delivered_at_s", "0.0"),
        ("speed", "1"),
    )
    topic = alert_topic(member.district, member.town, member.id)
    conn.on_alert(Message(topic, payload, user_properties=props))
    neighbour = load_signer(tmp_path / "k", f"town-{other_town}")
    conn.on_alert(Message(topic, payload, user_properties=props + neighbour.properties(payload)))
    assert swarm.counters.received == 0
    assert dict(swarm.counters.rejected) == {"verify_unsigned": 1, "verify_out_of_scope": 1}
    good = load_signer(tmp_path / "k", "municipal").properties(payload)
    conn.on_alert(Message(topic, payload, user_properties=props + good))
    assert swarm.counters.received == 1
    assert swarm.counters.receipts == 1
    for c in swarm.connections:
        await c.close()
