"""SMS segments by 3GPP TS 23.038/23.040 (GSM-7 160/153, UCS-2 70/67, the extension table counts
double, pairs never split) and scripts read aloud by characters (zh) or words."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.wire.alerts import DEFAULT_INSTRUCTION, DEFAULT_INSTRUCTION_ZH
from simulation.textlength import GSM7_BASIC, GSM7_EXTENSION, sms_length, spoken


def test_the_tables_are_the_standards() -> None:
    assert len(GSM7_BASIC) == 128  # 0x00-0x7F, the escape at 0x1B
    assert (GSM7_BASIC[0x00], GSM7_BASIC[0x1B], GSM7_BASIC[0x40], GSM7_BASIC[0x7F]) == (
        "@",
        "\x1b",
        "¡",
        "à",
    )
    assert sorted(GSM7_EXTENSION) == sorted("\f^{}\\[~]|€")


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),  # 2 x 153
        ("a" * 307, "GSM-7", 307, 3),
        ("雨" * 70, "UCS-2", 70, 1),
        ("雨" * 71, "UCS-2", 71, 2),
        ("雨" * 134, "UCS-2", 134, 2),  # 2 x 67
        ("雨" * 135, "UCS-2", 135, 3),
        # one Chinese character puts the whole text in UCS-2
        ("a" * 70, "GSM-7", 70, 1),
        ("a" * 69 + "雨", "UCS-2", 70, 1),
        ("a" * 70 + "雨", "UCS-2", 71, 2),
        # GSM-7's own accents stay GSM-7; a lower-case c-cedilla is not in its table
        ("£é" * 80, "GSM-7", 160, 1),
        ("ç", "UCS-2", 1, 1),
    ],
)
def test_segments_at_the_boundaries(text: str, encoding: str, units: int, segments: int) -> None:
    length = sms_length(text)
    assert (length.encoding, length.chars, length.units, length.segments) == (
        encoding,
        len(text),
        units,
        segments,
    )


def test_the_extension_table_counts_double() -> None:
    assert sms_length("{" * 80).units == 160
    assert sms_length("{" * 80).segments == 1
    assert sms_length("{" * 81).segments == 2  # 162 septets
    assert sms_length("€" * 76 + "a" * 153).segments == 2  # 152 + 1 | 153
    assert sms_length("€" * 77 + "a" * 152).segments == 3  # 154 septets do not fit one segment


def test_a_pair_is_never_split_across_segments() -> None:
    # 306 units fill two segments of 153 only if the escape pair could straddle the boundary
    assert sms_length("a" * 152 + "{" + "a" * 152).units == 306
    assert sms_length("a" * 152 + "{" + "a" * 152).segments == 3
    assert sms_length("a" * 151 + "{" + "a" * 153).segments == 2
    # a surrogate pair (beyond the BMP) is two UCS-2 units, kept together
    assert sms_length("😀" * 35).segments == 1
    assert sms_length("😀" * 36).segments == 2
    assert sms_length("雨" * 66 + "😀" + "雨" * 66).segments == 3
    assert sms_length("雨" * 65 + "😀" + "雨" * 67).segments == 2


def test_the_default_instructions_are_one_segment_each() -> None:
    zh, en = sms_length(DEFAULT_INSTRUCTION_ZH), sms_length(DEFAULT_INSTRUCTION)
    assert (zh.encoding, zh.chars, zh.segments) == ("UCS-2", 17, 1)
    assert (en.encoding, en.chars, en.segments) == ("GSM-7", 41, 1)


def test_a_script_takes_its_characters_or_words_at_the_rate() -> None:
    zh = spoken(DEFAULT_INSTRUCTION_ZH, "zh-CN", 4.0, 2.5)
    assert (zh.unit, zh.length, zh.seconds) == ("char", 15, 3.75)  # punctuation is a pause
    en = spoken(DEFAULT_INSTRUCTION, "en-US", 4.0, 2.5)
    assert (en.unit, en.length, en.seconds) == ("word", 7, 2.8)
    assert spoken("Move now — 2 km, by road 7", "en-GB", 4.0, 2.0).length == 7  # "—" is no word
    assert spoken("暴雨红色预警 2025", "zh-Hans-CN", 5.0, 2.5).seconds == pytest.approx(2.0)
    assert spoken("", "zh-CN", 4.0, 2.5).seconds == 0.0


def test_twice_the_text_takes_twice_as_long() -> None:
    once = spoken(DEFAULT_INSTRUCTION_ZH, "zh-CN", 4.0, 2.5).seconds
    assert spoken(DEFAULT_INSTRUCTION_ZH * 2, "zh-CN", 4.0, 2.5).seconds == 2 * once


def test_a_rate_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="speech rates: expected positive rates, got 0"):
        spoken("x", "en", 0, 2.5)


@given(st.text(alphabet=st.sampled_from("a€雨😀 {"), max_size=600))
def test_segments_hold_the_text_and_never_more_than_needed(text: str) -> None:
    length = sms_length(text)
    single, per_segment = (160, 153) if length.encoding == "GSM-7" else (70, 67)
    if length.units <= single:
        assert length.segments == 1
    else:
        # at least enough segments to hold every unit; a pair moved whole wastes at most one
        # unit a segment
        assert length.segments >= math.ceil(length.units / per_segment)
        assert length.segments <= math.ceil(length.units / (per_segment - 1))
    assert sms_length(text + "a").segments >= length.segments  # longer is never fewer
