"""How long an alert's words are on a channel: SMS segments, and seconds read aloud.

SMS (3GPP TS 23.038 §6.2.1 and TS 23.040 §9.2.3.24.1): a text wholly in the GSM 7-bit default
alphabet is sent in GSM-7, 160 septets in one message; a character of the extension table
(``^ { } \\ [ ~ ] | €`` and form feed) takes two septets, an escape and the character. A text with
any other character (any Chinese one) is sent in UCS-2, 70 UTF-16 code units in one message.
Longer texts are concatenated: the 6-octet user data header (8-bit reference) leaves 153
septets or 67 code units a segment, and a segment never splits an escape pair or a surrogate
pair, so a segment may hold one unit fewer. Pure: no I/O.

Read aloud: a Chinese script takes one unit per spoken character (letters, digits and Han
characters; punctuation and spaces are pauses, not counted), any other language one unit per
word, at the scenario's rates (``alert.speech``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SmsLength",
    "Spoken",
    "sms_length",
    "spoken",
]

# TS 23.038 §6.2.1, positions 0x00-0x7F; 0x1B is the escape to the extension table.
GSM7_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# TS 23.038 §6.2.1.1, the default extension table: each costs the escape and itself.
GSM7_EXTENSION: Final = "\f^{}\\[~]|€"

_BASIC: Final = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENSION: Final = frozenset(GSM7_EXTENSION)
# (units in one message, units a segment of a concatenated one)
_LIMITS: Final = {"GSM-7": (160, 153), "UCS-2": (70, 67)}

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True, slots=True)
class SmsLength:
    """An SMS text's encoding, its length in units (septets or UTF-16 code units), its segments."""

    encoding: Encoding
    chars: int
    units: int
    segments: int


@dataclass(frozen=True, slots=True)
class Spoken:
    """A script read aloud: its length in units ("char" or "word") and the seconds it takes."""

    unit: Literal["char", "word"]
    length: int
    seconds: float


def _unit_costs(text: str) -> tuple[Encoding, list[int]]:
    if all(ch in _BASIC or ch in _EXTENSION for ch in text):
        return "GSM-7", [2 if ch in _EXTENSION else 1 for ch in text]
    # UCS-2 as handsets send it (UTF-16): a character beyond the BMP is a surrogate pair.
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_length(text: str) -> SmsLength:
    """How ``text`` goes by SMS; an empty text is still one (empty) message."""
    encoding, costs = _unit_costs(text)
    single, per_segment = _LIMITS[encoding]
    units = sum(costs)
    if units <= single:
        return SmsLength(encoding, len(text), units, 1)
    segments, used = 1, 0
    for cost in costs:  # a pair is never split: it moves whole to the next segment
        if used + cost > per_segment:
            segments, used = segments + 1, 0
        used += cost
    return SmsLength(encoding, len(text), units, segments)


def _spoken_chars(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def _spoken_words(text: str) -> int:
    return sum(1 for word in text.split() if any(ch.isalnum() for ch in word))


def spoken(text: str, language: str, chars_per_s: float, words_per_s: float) -> Spoken:
    """How long ``text`` in ``language`` takes to read aloud: by characters for a ``zh`` tag
    (``chars_per_s``), else by words (``words_per_s``)."""
    if chars_per_s <= 0 or words_per_s <= 0:
        raise ValueError(
            f"speech rates: expected positive rates, got {chars_per_s} chars/s, "
            f"{words_per_s} words/s"
        )
    if language.lower().split("-")[0] == "zh":
        length = _spoken_chars(text)
        return Spoken("char", length, length / chars_per_s)
    length = _spoken_words(text)
    return Spoken("word", length, length / words_per_s)
