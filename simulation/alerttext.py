"""A warning's words: the scenario's text templates filled in, and their length on each channel.

Every alert a run sends or writes carries one info block per language of ``alert.text``
(``zh-CN`` and ``en-US`` by default), its ``{level}``, ``{colour_zh}`` and ``{areas}`` filled in.
What an SMS carries and a voice call or an area terminal reads aloud is one language's
instruction (its headline when it has none): ``alert.sms_language`` and
``alert.script_language``, the first language of ``alert.text`` unless set. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dispatcher.wire.alerts import InfoText, colour_zh
from dispatcher.wire.messages import WarningLevel
from simulation.hazards import WarningIssued
from simulation.scenario import AlertSettings
from simulation.textlength import SmsLength, Spoken, sms_length, spoken
from simulation.topology.city import City

__all__ = [
    "AlertLengths",
    "AlertWords",
    "alert_lengths",
    "alert_words",
    "channel_text",
    "info_texts",
]


def info_texts(
    settings: AlertSettings,
    level: WarningLevel,
    districts: Sequence[str],
    names: Mapping[str, tuple[str, str]],
) -> tuple[InfoText, ...]:
    """One InfoText per language of ``settings.text``, in order, its fields filled in.

    ``names`` maps a district code to its (English, Chinese) names; the areas are the Chinese
    names joined with 、 for a zh language, else the English ones joined with commas (a code
    without a name stands for itself).
    """
    texts = []
    for language, text in settings.text.items():
        chinese = language.lower().startswith("zh")
        labels = [names.get(code, (code, code))[1 if chinese else 0] or code for code in districts]
        fields = {
            "level": level,
            "colour_zh": colour_zh(level),
            "areas": ("、" if chinese else ", ").join(labels),
        }
        texts.append(
            InfoText(
                language,
                text.event.format(**fields),
                text.headline.format(**fields),
                text.instruction.format(**fields),
                fields["areas"],
            )
        )
    return tuple(texts)


def channel_text(texts: Sequence[InfoText], language: str | None) -> tuple[str, str]:
    """(language, words) a channel carries: that language's instruction, else its headline.

    ``language`` None is the first text's; one that has no text falls back to the first too (a
    replayed CAP message may lack it).
    """
    chosen = next((t for t in texts if t.language == language), texts[0])
    return chosen.language, chosen.instruction or chosen.headline


@dataclass(frozen=True, slots=True)
class AlertLengths:
    """How long one alert is: its SMS (segments) and its script read aloud (seconds)."""

    sms_language: str
    sms: SmsLength
    script_language: str
    script: Spoken

    def summary(self) -> dict[str, Any]:
        """The report.json form: ``sms`` and ``script`` objects."""
        return {
            "sms": {
                "language": self.sms_language,
                "encoding": self.sms.encoding,
                "chars": self.sms.chars,
                "units": self.sms.units,
                "segments": self.sms.segments,
            },
            "script": {
                "language": self.script_language,
                "unit": self.script.unit,
                "length": self.script.length,
                "read_s": round(self.script.seconds, 3),
            },
        }


def alert_lengths(settings: AlertSettings, texts: Sequence[InfoText]) -> AlertLengths:
    """The SMS and the script of an alert with these texts, by the scenario's choices."""
    sms_language, sms_words = channel_text(texts, settings.sms_language)
    script_language, script_words = channel_text(texts, settings.script_language)
    rates = settings.speech
    return AlertLengths(
        sms_language,
        sms_length(sms_words),
        script_language,
        spoken(script_words, script_language, rates.zh_chars_per_s, rates.en_words_per_s),
    )


@dataclass(frozen=True, slots=True)
class AlertWords:
    """An alert's info texts, one per language, and their lengths on the channels."""

    texts: tuple[InfoText, ...]
    lengths: AlertLengths


def alert_words(settings: AlertSettings, warning: WarningIssued, city: City) -> AlertWords:
    """The words of ``warning``'s alert on ``city``, and their lengths: a replayed message's
    own, else the scenario's templates filled in."""
    texts = warning.texts
    if not texts:
        names = {d.code: (d.name, d.name_zh) for d in city.districts}
        texts = info_texts(settings, warning.level, warning.districts, names)
    return AlertWords(texts, alert_lengths(settings, texts))
