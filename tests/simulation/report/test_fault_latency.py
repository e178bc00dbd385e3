"""Latency inside a fault apart from outside: one district blackholed past keepalive, healed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatcher.core.plan import Recipient
from dispatcher.service.dispatch import DispatchPlan, DispatchService
from dispatcher.service.journal import Journal
from dispatcher.transport.mqtt import MqttTransport
from dispatcher.trust.signing import load_signer, write_key_set
from simulation.faults import Fault
from simulation.live.proxy import FaultProxy
from simulation.report.faults import fault_section
from tests.support.broker import Broker
from tests.support.responders import MqttResponders

INSIDE, OUTSIDE = "500101", "500102"
TOWN_OF = {INSIDE: "500101001", OUTSIDE: "500102001"}
RECIPIENTS = [f"{TOWN_OF[d]}-m{i:04d}" for d in (INSIDE, OUTSIDE) for i in range(4)]
BLACKHOLE_S = 3.0  # past the responders' 1 s keepalive
TARGET_S = 2.0


def test_section_splits_and_counts_the_unacknowledged() -> None:
    faults = [Fault(f"district:{INSIDE}", "blackhole", duration_s=3.0)]
    section = fault_section(
        {"500101001-a": 4.0, "500101001-b": None, "500102001-a": 0.5, "500102001-b": 1.5},
        faults,
        target_s=2.0,
    )
    assert section["faults"] == ["district:500101:blackhole:3s@0s"]
    assert section["inside"] == {
        "recipients": 2,
        "acknowledged": 1,
        "latency_s": pytest.approx({"p50": 4.0, "p90": 4.0, "p95": 4.0, "p99": 4.0, "max": 4.0}),
        "within_target_share": 0.0,
    }
    outside = section["outside"]
    assert isinstance(outside, dict)
    assert outside["within_target_share"] == 1.0
    assert outside["latency_s"]["max"] == 1.5


async def test_blackholed_district_is_late_and_reported_apart(
    private_mosquitto: Broker, tmp_path: Path
) -> None:
    broker = private_mosquitto
    write_key_set(
        tmp_path / "keys",
        {d: [t] for d, t in TOWN_OF.items()},
        now=datetime.now(UTC) - timedelta(days=1),
    )
    proxy = await FaultProxy(broker.host, broker.port).start()
    fault = Fault(f"district:{INSIDE}", "blackhole", duration_s=BLACKHOLE_S)
    plan = DispatchPlan(
        alert_id="blackhole-1",
        level="red",
        recipients=tuple(Recipient(r, "grid", r[:6], r[:9]) for r in RECIPIENTS),
    )
    service = DispatchService(
        MqttTransport(broker.url, client_id="dispatcher"),
        Journal(tmp_path / "journal.db"),
        load_signer(tmp_path / "keys", "municipal"),
        timeout_s=(2.0, 2.0, 4.0),
    )
    groups = []
    try:
        for district in (INSIDE, OUTSIDE):
            responders = MqttResponders(
                "127.0.0.1",
                proxy.port,
                tmp_path / "keys",
                persistent=True,
                client_id=f"{district}-responders",
                keepalive_s=1,
            )
            responders.topic_filter = f"alertsim/v1/alert/{district}/#"
            groups.append(await responders.__aenter__())
        proxy.add(fault)
        summary = await service.run(plan, deadline_s=20)
    finally:
        for responders in groups:
            await responders.__aexit__(None, None, None)
        await proxy.close()
    # the invariant first: everyone acknowledged exactly once, nobody lost to the fault
    assert summary.acks["done"] == len(RECIPIENTS)
    assert not summary.flagged
    latency = {r: summary.latency_s.get(r) for r in RECIPIENTS}
    section = fault_section(latency, [fault], TARGET_S)
    inside, outside = section["inside"], section["outside"]
    assert isinstance(inside, dict)
    assert isinstance(outside, dict)
    assert inside["recipients"] == outside["recipients"] == 4
    assert outside["within_target_share"] == 1.0
    assert inside["within_target_share"] == 0.0
    # nobody inside heard before the hole healed; the outside was never held up by it
    assert inside["latency_s"]["p50"] >= BLACKHOLE_S
    assert outside["latency_s"]["max"] < 1.0
    assert groups[0].connects >= 2  # the blackholed district reconnected
    assert groups[1].connects == 1
    assert proxy.counts["dropped_chunks"] >= 1
