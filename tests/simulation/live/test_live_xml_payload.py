"""Live mode over a real mosquitto: CAP XML payloads (`--payload xml`), replayed CAP (`--cap`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dispatcher.wire.capxml import decode_cap, is_xml
from simulation.live.driver import LiveDriver
from simulation.live.run import run_live_async
from tests.support.broker import Broker
from tests.support.scenarios import load_live_town

ROOT = Path(__file__).resolve().parents[3]


def test_a_live_run_with_xml_payloads_ends_everyone(mosquitto: Broker, tmp_path: Path) -> None:
    drivers: list[LiveDriver] = []
    outcome = asyncio.run(
        run_live_async(
            load_live_town(tmp_path),
            broker_url=mosquitto.url,
            speed=400,
            payload="xml",
            on_started=drivers.append,
        )
    )
    result, swarm = outcome.result, outcome.swarm
    assert swarm is not None
    grid = [r for r in result.records if r.tier == "grid"]
    assert grid
    for record in grid:  # acknowledged or flagged, never both, never neither
        assert (record.acked_at_s is not None) != (record.flag is not None), record
    assert sum(r.acked_at_s is not None for r in grid) > 0
    assert result.transport["delivered"] == swarm.received > 0
    assert result.transport["acknowledged"] == swarm.acknowledged
    # the relays to the centers were XML too, verified and taken by the driver's inboxes
    assert result.protocol["relays_sent"] == result.protocol["relays_confirmed"] == 2
    payloads = list(drivers[0].reach._payloads.values())  # what went on the wire
    assert payloads
    assert all(is_xml(payload) for payload in payloads)
    assert {decode_cap(payload).info.warning_level for payload in payloads} == {"red"}


def test_a_live_run_replays_a_cap_message_to_its_town(mosquitto: Broker, tmp_path: Path) -> None:
    sample = ROOT / "config" / "cap" / "examples" / "cq-wanzhou-rainstorm-alert.xml"
    one_town = sample.read_bytes().replace(
        b"<value>500101002000</value>", b"<value>500101001000</value>"
    )
    alert = decode_cap(one_town)
    loaded = load_live_town(tmp_path).model_copy(update={"cap_alerts": (alert,)})
    outcome = asyncio.run(run_live_async(loaded, broker_url=mosquitto.url, speed=400))
    result = outcome.result
    assert [(a["id"], a["level"], a["issued_at_s"]) for a in result.alerts] == [
        ("cq-500101-20250720-rainstorm-1", "orange", 0.0)
    ]
    towns = {r.town for r in result.records if r.tier == "grid"}
    assert towns == {"500101001"}
    assert all((r.acked_at_s is not None) != (r.flag is not None) for r in result.records)
    assert result.cap_alerts == (alert,)
