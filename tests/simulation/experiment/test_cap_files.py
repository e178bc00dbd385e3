"""Every run writes the CAP 1.2 XML of each alert it issued into its folder, valid and bilingual."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from dispatcher.wire.capxml import decode_cap
from simulation.experiment.folder import finish_run
from simulation.experiment.virtual import run_virtual
from simulation.scenario import ScenarioError, load_scenario
from tests.support.scenarios import ROOT, base_scenario, merged, write_scenario

SCHEMA = etree.XMLSchema(etree.parse(str(ROOT / "dispatcher/wire/schema/CAP-v1.2.xsd")))


def test_a_run_folder_holds_one_valid_cap_file_per_alert(tmp_path: Path) -> None:
    data = merged(base_scenario(), {"topology": {"districts": ["500101", "500102"]}})
    loaded = load_scenario(write_scenario(tmp_path, data))
    result = run_virtual(loaded)
    report, folder = finish_run(result, tmp_path / "run")
    files = sorted(folder.alerts_dir.glob("*.xml"))
    assert [path.stem for path in files] == [row["id"] for row in report["alerts"]]
    assert files, "the scenario issues an alert"
    origin = datetime.fromisoformat(result.started_at)
    for path, row in zip(files, report["alerts"], strict=True):
        assert SCHEMA.validate(etree.parse(str(path))), SCHEMA.error_log
        alert = decode_cap(path.read_bytes())
        assert alert.sent == origin + timedelta(seconds=round(row["issued_at_s"]))
        zh, en = alert.infos
        assert (zh.language, en.language) == ("zh-CN", "en-US")
        assert zh.headline == "暴雨红色预警"
        assert en.headline == "red rainstorm warning"
        assert zh.area.districts == en.area.districts == ("500101", "500102")
        assert zh.area.area_desc == "万州区、涪陵区"
        assert en.area.area_desc == "Wanzhou, Fuling"
        assert alert == result.cap_alerts[files.index(path)]


def test_the_scenario_text_templates_make_the_info_blocks(tmp_path: Path) -> None:
    text = {
        "en-GB": {"event": "Flood", "headline": "{level} warning for {areas}"},
        "zh-CN": {"event": "暴雨", "headline": "{areas}暴雨{colour_zh}预警", "instruction": "转移"},
    }
    loaded = load_scenario(
        write_scenario(tmp_path, merged(base_scenario(), {"alert": {"text": text}}))
    )
    alert = run_virtual(loaded).cap_alerts[0]
    assert [(i.language, i.headline, i.instruction) for i in alert.infos] == [
        ("en-GB", "red warning for Wanzhou", ""),
        ("zh-CN", "万州区暴雨红色预警", "转移"),
    ]


def test_a_template_naming_an_unknown_field_is_refused(tmp_path: Path) -> None:
    text = {"en-US": {"event": "Flood", "headline": "{colour} warning"}}
    path = write_scenario(tmp_path, merged(base_scenario(), {"alert": {"text": text}}))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert any(
        "alert.text.en-US.headline" in line
        and "expected only the fields level, colour_zh, areas, got {colour}" in line
        for line in caught.value.errors
    ), caught.value.errors


def test_the_sms_and_the_script_take_the_language_the_scenario_chooses(tmp_path: Path) -> None:
    loaded = load_scenario(
        write_scenario(tmp_path, merged(base_scenario(), {"alert": {"sms_language": "en-US"}}))
    )
    [row] = run_virtual(loaded).alerts
    assert (row["sms"]["language"], row["sms"]["encoding"], row["sms"]["chars"]) == (
        "en-US",
        "GSM-7",
        41,  # "Acknowledge, then go to your risk points."
    )
    assert (row["script"]["language"], row["script"]["length"]) == ("zh-CN", 15)


def test_a_channel_language_without_a_text_is_refused(tmp_path: Path) -> None:
    data = merged(base_scenario(), {"alert": {"script_language": "fr"}})
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write_scenario(tmp_path, data))
    [line] = caught.value.errors
    assert "scenario.alert" in line
    assert "script_language: expected a language of alert.text (zh-CN, en-US), got 'fr'" in line
