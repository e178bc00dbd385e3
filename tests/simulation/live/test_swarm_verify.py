"""The swarm with a keyring: only signed, in-scope alerts make a responder react; rest counted.

The deliveries are made by the code the live driver sends them with: the flood alert's bytes
(`flood_alert_bytes`), the issuing center's signature (`AlertSigners`) and the delivery
envelope (`alert_message`), so a change to any of them that the swarm does not follow fails
here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatcher.transport import MemoryBroker, MemoryTransport, Message
from dispatcher.trust.signing import Delivery, KeyScope, key_id_for, load_keyring, write_key_set
from dispatcher.wire.envelopes import Properties, alert_message, flood_alert_bytes
from simulation.experiment.virtual import build_city
from simulation.live.keys import AlertSigners
from simulation.live.swarm import Swarm, responders_of
from simulation.scenario import load_scenario
from tests.support.scenarios import base_scenario, merged, write_scenario


@pytest.mark.parametrize("strategy", ["cascade", "direct", "hybrid"])
async def test_swarm_rejects_unsigned_and_foreign_keys(tmp_path: Path, strategy: str) -> None:
    data = merged(base_scenario(), {"strategy": strategy})
    loaded = load_scenario(write_scenario(tmp_path, data))
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
    expires_s = loaded.scenario.alert.expires_s
    payload = flood_alert_bytes(
        "s-1", "red", loaded.scenario.alert.sender, member, now, now + timedelta(seconds=expires_s)
    )
    signers = AlertSigners(tmp_path / "k", strategy)

    def delivery(signature: Properties) -> Message:
        """The first-rung app push to `member`, as the live driver publishes it."""
        return alert_message(
            payload, member, "s-1", "app_push", 0, 0.0, expires_s, 1.0, signature=signature
        )

    conn.on_alert(delivery(()))
    neighbour = key_id_for(KeyScope("town", other_town))
    first = Delivery(member.id, "app_push", 0)
    conn.on_alert(delivery(signers.properties(neighbour, payload, first)))
    assert swarm.counters.received == 0
    assert dict(swarm.counters.rejected) == {"verify_unsigned": 1, "verify_out_of_scope": 1}
    issuer = signers.issuer(member, 0)  # cascade: the member's town; else the municipal center
    own_town = key_id_for(KeyScope("town", member.town))
    assert issuer == (own_town if strategy == "cascade" else "municipal")
    conn.on_alert(delivery(signers.properties(issuer, payload, first)))
    assert swarm.counters.received == 1
    assert swarm.counters.receipts == 1
    for c in swarm.connections:
        await c.close()
