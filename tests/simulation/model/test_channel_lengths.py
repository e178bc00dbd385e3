"""An alert's length on the channels: an SMS of n segments fails if any segment does and arrives
with its last; a voice call or an area terminal arrives when its script has been read out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulation.alerttext import AlertLengths
from simulation.behaviour import Streams, sampler
from simulation.experiment.virtual import build_city, run_virtual
from simulation.model.world import World
from simulation.report.build import build_report
from simulation.textlength import SmsLength, Spoken
from tests.support.scenarios import constant, load

SENDS = 20_000


def lengths(segments: int, read_s: float = 0.0) -> AlertLengths:
    return AlertLengths(
        "zh-CN", SmsLength("UCS-2", 0, 0, segments), "zh-CN", Spoken("char", 0, read_s)
    )


def world_of(tmp_path: Path, **channels: Any) -> World:
    loaded = load(tmp_path, channels=channels)
    return World(loaded.scenario, build_city(loaded))


def send_all(world: World, channel: str, segments: int, read_s: float = 0.0) -> list[float]:
    """Arrival times of SENDS attempts of one alert on ``channel`` (unstaffed: no center)."""
    model = world.channels[channel]
    model.prepare("A", lengths(segments, read_s))
    arrived: list[float] = []
    for _ in range(SENDS):
        model.send("500101", None, lambda: arrived.append(world.env.now), None, "A")
    world.env.run()
    return arrived


@pytest.mark.parametrize("segments", [1, 2, 3, 5])
def test_every_segment_must_arrive(tmp_path: Path, segments: int) -> None:
    world = world_of(tmp_path, sms={"delay_s": constant(10), "failure": 0.06})
    delivered = len(send_all(world, "sms", segments)) / SENDS
    # binomial sd at 20,000 sends is at most 0.0035: 0.012 is over three of them
    assert delivered == pytest.approx(0.94**segments, abs=0.012)
    counters = world.channels["sms"].counters
    assert counters["segments"] == SENDS * segments
    assert counters["delivered"] + counters["failed"] == SENDS


def test_a_message_arrives_with_its_last_segment(tmp_path: Path) -> None:
    delay = {"kind": "lognormal", "median": 10, "p90": 90}
    world = world_of(tmp_path, sms={"delay_s": delay, "failure": 0.0})
    arrived = send_all(world, "sms", 3)
    # the same draws, from the channel's own seeded stream, three to a message
    settings = world.scenario.channels["sms"].delay_s
    draw = sampler(settings, Streams(world.scenario.seed).get("channel.sms.delay"))
    expected = sorted(max(draw(), draw(), draw()) for _ in range(SENDS))
    assert arrived == pytest.approx(expected)
    single = sorted(send_all(world_of(tmp_path, sms={"delay_s": delay, "failure": 0.0}), "sms", 1))
    assert single[SENDS // 2] < arrived[SENDS // 2]  # the median waits for the slowest of three


@pytest.mark.parametrize("channel", ["voice_call", "area_terminal"])
def test_a_script_is_read_out_before_it_counts_as_delivered(tmp_path: Path, channel: str) -> None:
    settings = {"delay_s": constant(15), "failure": 0.0}
    world = world_of(tmp_path, **{channel: settings})
    assert set(send_all(world, channel, 4, read_s=7.25)) == {15 + 7.25}  # segments are SMS's


def test_other_channels_ignore_the_length(tmp_path: Path) -> None:
    world = world_of(tmp_path, door_knock={"delay_s": constant(240), "failure": 0.5})
    delivered = send_all(world, "door_knock", 5, read_s=30)
    assert set(delivered) == {240}
    assert len(delivered) / SENDS == pytest.approx(0.5, abs=0.012)


# 138 characters, 126 of them spoken (the punctuation is pauses)
LONG_ZH = (
    "暴雨红色预警：请立即组织河岸、边坡和地下空间附近的人员转移到安全地点，到达后向所在社区报告；"
) * 3  # fmt: skip


def sms_run(tmp_path: Path, text: str) -> dict[str, Any]:
    """Push never arrives, so every recipient is sent the SMS once; one in five is lost."""
    loaded = load(
        tmp_path,
        topology={"scale": 1.0, "towns_per_district": 8},
        channels={"app_push": {"failure": 1.0}, "sms": {"delay_s": constant(10), "failure": 0.2}},
        alert={"text": {"zh-CN": {"event": "暴雨", "headline": "预警", "instruction": text}}},
    )
    return build_report(run_virtual(loaded))


def test_a_longer_text_lowers_the_sms_delivered_share_as_expected(tmp_path: Path) -> None:
    short = sms_run(tmp_path, "请转移。")
    long = sms_run(tmp_path, LONG_ZH)
    assert short["alerts"][0]["sms"] == {
        "language": "zh-CN", "encoding": "UCS-2", "chars": 4, "units": 4, "segments": 1,
    }  # fmt: skip
    assert long["alerts"][0]["sms"]["chars"] == 138
    assert long["alerts"][0]["sms"]["segments"] == 3  # 138 UCS-2 characters: 67 + 67 + 4
    for report, segments in ((short, 1), (long, 3)):
        sms = report["channels"]["sms"]
        assert sms["sent"] > 800
        assert sms["segments"] == segments * sms["sent"]
        # 0.8 a message, 0.8^3 = 0.512 for three segments; sd under 0.018 at 800 sends
        assert sms["delivered"] / sms["sent"] == pytest.approx(0.8**segments, abs=0.05)
    # the script read aloud: 126 spoken characters at 4 a second
    assert long["alerts"][0]["script"] == {
        "language": "zh-CN", "unit": "char", "length": 126, "read_s": 31.5,
    }  # fmt: skip
    assert sms_run(tmp_path, LONG_ZH)["alerts"] == long["alerts"]  # same seed, same figures
