"""Live mode over a real mosquitto agrees with virtual mode on a warning's life.

A replayed Yubei episode (tests.support.cap_messages): an Alert, an Update 10 min later and the
Cancel 25 min after the alert. Half the app pushes go unseen and an unseen push waits 50 min for
its SMS, so who acknowledged before the Update, who carried on into it, and who the Cancel
withdrew depends on behaviour draws (the same in both modes), not on wall-clock jitter: every
margin is minutes of model time, seconds of wall time at this speed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from dispatcher.core.tracker import RecipientRecord
from dispatcher.wire.capxml import decode_cap
from dispatcher.wire.messages import decode_alert
from simulation.experiment.virtual import run_virtual
from simulation.live.driver import LiveDriver
from simulation.live.run import run_live_async
from simulation.scenario import LoadedScenario
from tests.support.broker import Broker
from tests.support.cap_messages import CMA_ALERT_SENT, CMA_TOWNS, cma_message
from tests.support.scenarios import load

SPEED = 150.0  # 1,500 model seconds in 10 s of wall time
UPDATE_SENT = "2025-07-20T08:10:00+08:00"


def episode(tmp_path: Path) -> LoadedScenario:
    loaded = load(
        tmp_path,
        topology={"districts": ["500112"], "towns_per_district": 2, "scale": 0.02},
        channels={"app_push": {"missed": 0.5}},
        escalation={"timeout_s": [3000, 600, 600, 600]},
    )
    messages = (
        cma_message(1, "Alert", CMA_ALERT_SENT, "orange", CMA_TOWNS[:1]),
        cma_message(2, "Update", UPDATE_SENT, "red", CMA_TOWNS, ((1, CMA_ALERT_SENT),)),
        cma_message(
            3,
            "Cancel",
            "2025-07-20T08:25:00+08:00",
            "red",
            CMA_TOWNS,
            ((1, CMA_ALERT_SENT), (2, UPDATE_SENT)),
        ),
    )
    return loaded.model_copy(update={"cap_alerts": tuple(map(decode_cap, messages))})


def outcomes(records: list[RecipientRecord]) -> dict[tuple[str, str], tuple[str | None, bool]]:
    return {(r.alert_id, r.recipient_id): (r.flag, r.acked_at_s is not None) for r in records}


def test_live_and_virtual_agree_on_the_updates_and_the_cancel(
    mosquitto: Broker, tmp_path: Path
) -> None:
    loaded = episode(tmp_path)
    virtual = run_virtual(loaded)
    drivers: list[LiveDriver] = []
    outcome = asyncio.run(
        run_live_async(loaded, broker_url=mosquitto.url, speed=SPEED, on_started=drivers.append)
    )
    live = outcome.result
    lifecycle = [(a["id"], a["msg_type"], a["references"], a["recipients"]) for a in live.alerts]
    assert lifecycle == [
        (a["id"], a["msg_type"], a["references"], a["recipients"]) for a in virtual.alerts
    ]
    assert [kind for _, kind, _, _ in lifecycle] == ["Alert", "Update", "Cancel"]
    assert outcomes(live.records) == outcomes(virtual.records)
    flags = {flag for flag, _ in outcomes(live.records).values()}
    assert {"superseded", "cancelled"} <= flags  # both happened, not just agreed vacuously
    assert any(r.flag is None and r.alert_id.endswith("-2") for r in live.records)
    assert sum(acked for _, acked in outcomes(live.records).values()) > 0
    assert [a.msg_type.value for a in live.cap_alerts] == ["Alert", "Update", "Cancel"]
    # what went on the wire: the Update as an Update, referring to the alert
    on_wire = {
        (
            alert_id,
            decode_alert(payload).msg_type.value,
            tuple(r.identifier for r in decode_alert(payload).references),
        )
        for (alert_id, _, _), payload in drivers[0].reach._payloads.items()
    }
    first, update = (a["id"] for a in live.alerts[:2])
    assert on_wire == {(first, "Alert", ()), (update, "Update", (first,))}
