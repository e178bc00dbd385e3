"""alertsim run --cap: real CAP messages replayed at their sent times to the towns they name."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatcher.wire.capxml import decode_cap
from simulation.capreplay import ReplayError, replay_warnings
from simulation.cli import app
from simulation.experiment.virtual import build_city, run_virtual
from simulation.scenario import LoadedScenario
from tests.support.scenarios import ROOT, load

EXAMPLES = ROOT / "config" / "cap" / "examples"
ALERT = EXAMPLES / "cq-wanzhou-rainstorm-alert.xml"
UPDATE = EXAMPLES / "cq-wanzhou-rainstorm-update.xml"


@pytest.fixture
def three_towns(tmp_path: Path) -> LoadedScenario:
    return load(tmp_path, topology={"towns_per_district": 3})


def test_the_alert_and_its_update_are_issued_at_their_sent_times_to_their_towns(
    three_towns: LoadedScenario,
) -> None:
    alerts = (decode_cap(ALERT.read_bytes()), decode_cap(UPDATE.read_bytes()))
    loaded = three_towns.model_copy(update={"cap_alerts": alerts})
    result = run_virtual(loaded)
    assert [(a["id"], a["level"], a["issued_at_s"]) for a in result.alerts] == [
        ("cq-500101-20250720-rainstorm-1", "orange", 0.0),
        ("cq-500101-20250720-rainstorm-2", "red", 2400.0),
    ]
    towns: dict[str, set[str]] = {}
    for record in result.records:
        if record.town:
            towns.setdefault(record.alert_id, set()).add(record.town)
    assert towns == {
        "cq-500101-20250720-rainstorm-1": {"500101001", "500101002"},
        "cq-500101-20250720-rainstorm-2": {"500101001", "500101002", "500101003"},
    }
    assert result.cap_alerts == alerts
    # the SMS carries the message's own zh-CN instruction, the call reads it out
    update = result.alerts[1]
    assert update["sms"] == {
        "language": "zh-CN", "encoding": "UCS-2", "chars": 27, "units": 27, "segments": 1,
    }  # fmt: skip
    assert (update["script"]["length"], update["script"]["read_s"]) == (24, 6.0)
    warnings = replay_warnings(alerts[::-1], build_city(loaded))  # put in sent order
    assert [(w.at_s, w.expires_s, w.districts) for w in warnings] == [
        (0.0, 6 * 3600.0, ("500101",)),
        (2400.0, 5 * 3600.0 + 20 * 60, ("500101",)),
    ]


def test_unknown_codes_cancels_and_duplicates_are_each_named(three_towns: LoadedScenario) -> None:
    city = build_city(three_towns)
    alert = decode_cap(ALERT.read_bytes())
    far = alert.model_copy(
        update={
            "info": alert.info.model_copy(
                update={
                    "area": alert.info.area.model_copy(
                        update={
                            "districts": ("500101", "500102"),
                            "towns": ("500101009", "500102001"),
                        }
                    )
                }
            )
        }
    )
    cancel = decode_cap(UPDATE.read_bytes()).model_copy(update={"msg_type": "Cancel"})
    with pytest.raises(ReplayError) as caught:
        replay_warnings([far, cancel, alert], city)
    assert caught.value.problems == (
        "cq-500101-20250720-rainstorm-1: expected division codes of the scenario's city, got "
        "500101009, 500102001",
        "cq-500101-20250720-rainstorm-1: expected each identifier once, got it twice",
        "cq-500101-20250720-rainstorm-2: expected msgType Alert or Update to replay, got Cancel "
        "(cancelling a warning is not modelled yet)",
    )


def test_run_with_cap_writes_the_replayed_messages_and_refuses_unknown_codes(
    tmp_path: Path,
) -> None:
    load(tmp_path, topology={"towns_per_district": 3})
    scenario = tmp_path / "scenario.yaml"
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["run", str(scenario), "-q", "--out", str(out), "--cap", str(UPDATE), "--cap", str(ALERT)],
    )
    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in (out / "alerts").glob("*.xml"))
    assert written == ["cq-500101-20250720-rainstorm-1.xml", "cq-500101-20250720-rainstorm-2.xml"]
    assert decode_cap((out / "alerts" / written[1]).read_bytes()) == decode_cap(UPDATE.read_bytes())
    two_towns = tmp_path / "two"
    two_towns.mkdir()
    load(two_towns, topology={"towns_per_district": 2})
    refused = CliRunner().invoke(
        app, ["run", str(two_towns / "scenario.yaml"), "-q", "--cap", str(UPDATE)]
    )
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "--cap: cq-500101-20250720-rainstorm-2: expected division codes of the scenario's city, "
        "got 500101003"
    )
