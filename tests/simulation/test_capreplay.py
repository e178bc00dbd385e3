"""alertsim run --cap: real CAP messages replayed at their sent times to the towns they name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatcher.wire.capxml import decode_cap
from simulation.capreplay import ReplayError, replay_warnings
from simulation.cli import app
from simulation.experiment.virtual import build_city, run_virtual
from simulation.scenario import LoadedScenario
from tests.support.cap_messages import cma_episode
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
    # everyone of towns 001 and 002 acknowledged the alert within its 40 minutes and keeps
    # that: the Update, which supersedes it, targets the town it adds
    assert towns == {
        "cq-500101-20250720-rainstorm-1": {"500101001", "500101002"},
        "cq-500101-20250720-rainstorm-2": {"500101003"},
    }
    assert [(a["msg_type"], a["references"]) for a in result.alerts] == [
        ("Alert", []),
        ("Update", ["cq-500101-20250720-rainstorm-1"]),
    ]
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


def test_unknown_codes_references_and_duplicates_are_each_named(
    three_towns: LoadedScenario,
) -> None:
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
    update = decode_cap(UPDATE.read_bytes())
    ack = update.model_copy(update={"msg_type": "Ack"})
    with pytest.raises(ReplayError) as caught:
        replay_warnings([far, ack, alert], city)
    assert caught.value.problems == (
        "cq-500101-20250720-rainstorm-1: expected division codes of the scenario's city, got "
        "500101009, 500102001",
        "cq-500101-20250720-rainstorm-1: expected each identifier once, got it twice",
        "cq-500101-20250720-rainstorm-2: expected msgType Alert, Update or Cancel to replay, got "
        "Ack",
    )
    with pytest.raises(ReplayError) as caught:
        replay_warnings([update], city)
    assert caught.value.problems == (
        "cq-500101-20250720-rainstorm-2: expected references to messages replayed before it, got "
        "cq-500101-20250720-rainstorm-1",
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
        app,
        ["run", str(two_towns / "scenario.yaml"), "-q", "--cap", str(ALERT), "--cap", str(UPDATE)],
    )
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "--cap: cq-500101-20250720-rainstorm-2: expected division codes of the scenario's city, "
        "got 500101003"
    )


def test_a_cma_style_bilingual_episode_replays_with_its_references(tmp_path: Path) -> None:
    """Yubei (500112): an orange Alert for two towns, a red Update adding a third (12-digit
    CPEAS geocodes, zh-CN and en-US blocks), and the Cancel of both."""
    load(
        tmp_path,
        topology={"districts": ["500101", "500112"], "towns_per_district": 3},
        channels={"app_push": {"missed": 0.6}},
        escalation={"timeout_s": [3000, 600, 600, 600]},  # an unseen push waits 50 min
    )
    paths = []
    for number, message in enumerate(cma_episode(), start=1):
        paths.append(tmp_path / f"cma-{number}.xml")
        paths[-1].write_bytes(message)
    out = tmp_path / "run"
    args = ["run", str(tmp_path / "scenario.yaml"), "-q", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, *(f"--cap={path}" for path in reversed(paths))])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    first, update, cancel = (f"cq-500112-20250720-rainstorm-{n}" for n in (1, 2, 3))
    assert [
        (a["id"], a["msg_type"], a["level"], a["issued_at_s"], a["references"])
        for a in report["alerts"]
    ] == [
        (first, "Alert", "orange", 0.0, []),
        (update, "Update", "red", 1800.0, [first]),
        (cancel, "Cancel", "red", 4 * 3600.0, [first, update]),
    ]
    by_id = {m["id"]: m for m in report["messages"]}
    # those still being chased on the alert carry on in the update: counted there, not twice
    assert by_id[first]["superseded"] > 0
    assert by_id[update]["targeted"] >= by_id[first]["superseded"]
    for message in by_id.values():
        assert message["targeted"] == (
            message["acknowledged"]
            + message["superseded"]
            + message["cancelled"]
            + message["flagged"]
        )
    [episode] = report["episodes"]
    assert episode["district"] == "500112"
    assert [m["msg_type"] for m in episode["messages"]] == ["Alert", "Update", "Cancel"]
    assert episode["cancelled_at_s"] == 4 * 3600.0
    assert episode["latency_s"] == episode["last_acknowledged_at_s"] > 1800  # the alert was at 0
    written = sorted((out / "alerts").glob("*.xml"))
    assert [decode_cap(path.read_bytes()).msg_type.value for path in written] == [
        "Alert",
        "Update",
        "Cancel",
    ]
    checked = CliRunner().invoke(app, ["cap", "validate", *map(str, written)])
    assert checked.exit_code == 0, checked.output


def test_an_update_without_its_alert_is_one_line_naming_the_reference(tmp_path: Path) -> None:
    load(tmp_path, topology={"towns_per_district": 3})
    refused = CliRunner().invoke(
        app, ["run", str(tmp_path / "scenario.yaml"), "-q", "--cap", str(UPDATE)]
    )
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "--cap: cq-500101-20250720-rainstorm-2: expected references to messages replayed before "
        "it, got cq-500101-20250720-rainstorm-1"
    )
