"""Live runs sign by default and the swarm verifies; --fault splits latency inside/outside."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dispatcher.core.plan import Center, Recipient
from dispatcher.transport import Message
from dispatcher.trust.signing import Delivery
from dispatcher.wire.messages import encode_alert
from dispatcher.wire.topics import alert_topic
from simulation.cli import app
from simulation.live.driver import LiveDriver
from simulation.live.keys import AlertSigners
from simulation.live.run import run_live_async
from tests.support.broker import Broker
from tests.support.scenarios import live_town, load_live_town
from tests.support.signed_alerts import make_alert


def test_issuer_follows_the_strategy(tmp_path: Path) -> None:
    member = Recipient("500101001-m0000", "grid", "500101", "500101001")
    team = Recipient("500101-d00", "district", "500101", "")
    cascade = AlertSigners(tmp_path, "cascade")
    assert cascade.issuer(member, 0) == "town-500101001"
    assert cascade.issuer(team, 2) == "district-500101"
    assert AlertSigners(tmp_path, "direct").issuer(member, 3) == "municipal"
    hybrid = AlertSigners(tmp_path, "hybrid")
    assert (hybrid.issuer(member, 0), hybrid.issuer(member, 1)) == ("municipal", "town-500101001")
    assert AlertSigners.relay_issuer(Center("district", "500101")) == "municipal"
    assert AlertSigners.relay_issuer(Center("town", "500101001")) == "district-500101"


async def test_live_run_signs_and_swarm_rejects_forgeries(
    mosquitto: Broker, tmp_path: Path
) -> None:
    loaded = load_live_town(tmp_path)

    def started(driver: LiveDriver) -> None:
        # A spoofer with broker access: one unsigned alert, one signed by the wrong town's key.
        member = "500101001-m0000"
        topic = alert_topic("500101", "500101001", member)
        payload = encode_alert(
            make_alert(identifier="forged-1", districts=("500101",), towns=("500101001",))
        )
        props = (("recipient_id", member), ("channel", "app_push"), ("rung", "0"))
        props += (("delivered_at_s", "0"), ("speed", "200"))
        # Not alerts of the run: uncounted, to keep `published` the run's own.
        driver.outbox.put(Message(topic, payload, user_properties=props), counted=False)
        assert driver.signers is not None
        forged = driver.signers.properties(
            "district-500101", payload, Delivery(member, "app_push", 0)
        )
        forgery = payload.replace(b"forged-1", b"forged-2")
        driver.outbox.put(Message(topic, forgery, user_properties=props + forged), counted=False)

    outcome = await run_live_async(loaded, broker_url=mosquitto.url, speed=400, on_started=started)
    trust = outcome.live["trust"]
    swarm = outcome.swarm
    assert swarm is not None
    assert trust["signed"] is True
    assert trust["keys"] == "temporary"
    assert trust["swarm_verified"] is True
    assert trust["swarm_rejected_by_reason"] == {"bad_signature": 1, "unsigned": 1}
    assert swarm.rejected == {"verify_unsigned": 1, "verify_bad_signature": 1}
    # every genuine delivery was accepted (first time) or a known duplicate (an escalation)
    assert (
        trust["swarm_accepted"] + trust["swarm_duplicates"] == outcome.result.transport["published"]
    )
    # one signature per delivery (it binds recipient, channel and rung) and per relay (and
    # the one forgery of the test)
    published = outcome.result.transport["published"]
    assert trust["signatures"] == published + outcome.live["relays_published"] + 1
    # the district and the town each took the alert; a relay resent under load arrives again
    assert outcome.result.protocol["relays_sent"] == 2
    assert outcome.live["relays_received"] >= 2
    for record in outcome.result.records:
        assert (record.acked_at_s is not None) != (record.flag is not None), record


def test_cli_live_fault_reports_inside_and_outside(mosquitto: Broker, tmp_path: Path) -> None:
    # The town's first connection of 10 responders is blackholed for 1 s wall (400 model s).
    fault = "client:500101001-c1:blackhole:1s"
    (tmp_path / "in").mkdir()
    scenario = str(live_town(tmp_path / "in"))
    result = CliRunner().invoke(
        app,
        [
            "run", scenario, "--mode", "live", "--broker", mosquitto.url, "--speed", "400",
            "--responders-per-connection", "10", "--fault", fault, "--out", str(tmp_path), "-q",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    section = report["live"]["faults"]
    assert section["faults"] == ["client:500101001-c1:blackhole:1s@0s"]
    inside, outside = section["inside"], section["outside"]
    assert inside["recipients"] == 10
    assert inside["recipients"] + outside["recipients"] == len(report_records(report))
    assert report["live"]["trust"]["swarm_rejected"] == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Inside the fault" in html


def report_records(report: dict[str, object]) -> list[object]:
    """One entry per recipient record (the report's notification count)."""
    notification = report["notification"]
    assert isinstance(notification, dict)
    return [None] * int(notification["targeted"])
