"""Rainfall timelines -> national warning levels -> alerts; cell outages and slower walking.

National rainstorm warning signals (China Meteorological Administration):
blue >= 50 mm in 12 h, yellow >= 50 mm in 6 h, orange >= 50 mm in 3 h, red >= 100 mm in 3 h.
Rain within a step is taken as even, so rolling sums over 3, 6 and 12 hours are exact for any
step length.

A warning's life (``alert.lifecycle: updates``, the default): a district's warning is issued as a
CAP Alert at the first step end its level reaches the hazard's ``alert_level``; each later step
end at which its level is higher issues an Update (the new level, referencing the district's
latest message); the first step end at which its level is below ``alert_level`` again (no signal
at or above it holds over its window) issues a Cancel, unless the warning's latest message has
expired by then: it has lapsed, and there is nothing left to cancel. A level that falls but stays
at or above ``alert_level`` issues nothing: the warning stands at its highest level until
cancelled. A district that rises again after a Cancel (or a lapse) starts a new episode with a
new Alert. With ``separate`` every rise is an alert of its own and nothing is cancelled, as
before episodes were modelled.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from dispatcher.wire.alerts import InfoText
from simulation.scenario import WARNING_LEVELS, Hazard, WarningLevel

MsgKind = Literal["Alert", "Update", "Cancel"]

HOUR_S = 3600.0
_SIGNALS: tuple[tuple[WarningLevel, float, float], ...] = (
    # level, window hours, threshold mm: checked from the highest down
    ("red", 3.0, 100.0),
    ("orange", 3.0, 50.0),
    ("yellow", 6.0, 50.0),
    ("blue", 12.0, 50.0),
)


def level_rank(level: WarningLevel | None) -> int:
    return -1 if level is None else WARNING_LEVELS.index(level)


@dataclass(frozen=True, slots=True)
class WarningIssued:
    """The municipal center decides to alert these districts at this level at this time.

    A replayed CAP message (:mod:`simulation.capreplay`) also names its towns (only those of
    their districts are alerted; a district without any is alerted whole), its identifier, how
    long after issue it expires and its own words (one text per info block; none: the
    scenario's ``alert.text``).

    An Update or Cancel of the hazard's leaves ``references`` empty: the world refers it to its
    districts' latest messages. A replayed one names the identifiers its CAP references give.
    """

    at_s: float
    level: WarningLevel
    districts: tuple[str, ...]
    towns: tuple[str, ...] = ()
    identifier: str = ""
    expires_s: float | None = None
    texts: tuple[InfoText, ...] = ()
    msg_type: MsgKind = "Alert"
    references: tuple[str, ...] = ()


class Rainfall:
    """Cumulative rainfall of one district as a piecewise-linear function of model time."""

    def __init__(self, series_mm: Sequence[float], step_s: float) -> None:
        self.step_s = step_s
        self._cumulative = [0.0]
        for amount in series_mm:
            self._cumulative.append(self._cumulative[-1] + amount)

    def total_until(self, t_s: float) -> float:
        if t_s <= 0:
            return 0.0
        steps = len(self._cumulative) - 1
        k = min(int(t_s // self.step_s), steps)
        if k >= steps:
            return self._cumulative[-1]
        fraction = (t_s - k * self.step_s) / self.step_s
        return self._cumulative[k] + fraction * (self._cumulative[k + 1] - self._cumulative[k])

    def window_mm(self, t_s: float, hours: float) -> float:
        return self.total_until(t_s) - self.total_until(t_s - hours * HOUR_S)

    def level_at(self, t_s: float) -> WarningLevel | None:
        for level, hours, threshold in _SIGNALS:
            if self.window_mm(t_s, hours) >= threshold:
                return level
        return None


class HazardModel:
    """Rainfall per district and what follows from it: warnings, cell outages, slowdown."""

    def __init__(self, hazard: Hazard, district_codes: Sequence[str]) -> None:
        self.hazard = hazard
        default = hazard.rainfall_mm.get("default")
        self.rain: dict[str, Rainfall] = {}
        for code in district_codes:
            series = hazard.rainfall_mm.get(code, default)
            self.rain[code] = Rainfall(series if series is not None else [], hazard.step_s)
        self.steps = len(next(iter(hazard.rainfall_mm.values())))
        # Outage and slowdown change only at step boundaries: precompute them per step.
        self._outage = {code: self._outage_series(code) for code in district_codes}
        self._slowdown = {code: self._slowdown_series(code) for code in district_codes}
        self._bounds = [k * hazard.step_s for k in range(1, self.steps + 1)]

    @property
    def duration_s(self) -> float:
        return self.steps * self.hazard.step_s

    def warnings(
        self, lifecycle: str = "separate", expires_s: float | None = None
    ) -> list[WarningIssued]:
        """Alerts to issue, evaluated at the end of every step, in time order.

        ``lifecycle="updates"``: Alerts, Updates and Cancels (`lifecycle_warnings`).
        """
        if lifecycle == "updates":
            return self.lifecycle_warnings(expires_s)
        threshold = level_rank(self.hazard.alert_level)
        alerted: dict[str, int] = dict.fromkeys(self.rain, threshold - 1)
        issued: list[WarningIssued] = []
        for k in range(1, self.steps + 1):
            t_s = k * self.hazard.step_s
            levels = {code: self.rain[code].level_at(t_s) for code in self.rain}
            if self.hazard.scope == "city":
                top = max(levels.values(), key=level_rank)
                if level_rank(top) >= threshold and top is not None:
                    return [WarningIssued(t_s, top, tuple(self.rain))]
                continue
            raised: dict[WarningLevel, list[str]] = {}
            for code, level in levels.items():
                if level is not None and level_rank(level) > alerted[code]:
                    alerted[code] = level_rank(level)
                    raised.setdefault(level, []).append(code)
            for level in sorted(raised, key=level_rank, reverse=True):
                issued.append(WarningIssued(t_s, level, tuple(raised[level])))
        return issued

    def lifecycle_warnings(self, expires_s: float | None = None) -> list[WarningIssued]:
        """Each district's Alert, Updates and Cancel (see the module docstring), in time order;
        with ``expires_s`` (each message's life), no Cancel for a warning that has lapsed.

        Districts changing alike at one step end share one message: Updates and Alerts by level
        from the highest down (an Update before an Alert of its level), then Cancels by level.
        With ``scope: city`` every district takes the city's highest level: one episode.
        """
        threshold = level_rank(self.hazard.alert_level)
        live: dict[str, int] = {}  # district -> rank of its live warning
        latest_s: dict[str, float] = {}  # district -> when its latest message was issued
        issued: list[WarningIssued] = []
        for k in range(1, self.steps + 1):
            t_s = k * self.hazard.step_s
            ranks = {code: level_rank(self.rain[code].level_at(t_s)) for code in self.rain}
            if self.hazard.scope == "city":
                ranks = dict.fromkeys(ranks, max(ranks.values()))
            changed: dict[tuple[int, int], list[str]] = {}  # (order, rank) -> districts
            for code, rank in ranks.items():
                current = live.get(code)
                if rank >= threshold and (current is None or rank > current):
                    changed.setdefault((0 if current is None else -1, rank), []).append(code)
                    live[code], latest_s[code] = rank, t_s
                elif current is not None and rank < threshold:
                    if expires_s is None or t_s < latest_s[code] + expires_s:
                        changed.setdefault((1, current), []).append(code)
                    del live[code]
            for order, rank in sorted(changed, key=lambda key: (key[0] > 0, -key[1], key[0])):
                kind: MsgKind = ("Update", "Alert", "Cancel")[order + 1]
                districts = tuple(changed[order, rank])
                issued.append(WarningIssued(t_s, WARNING_LEVELS[rank], districts, msg_type=kind))
        return issued

    def outage_share(self, district: str, t_s: float) -> float:
        return self._outage[district][self._step(t_s)]

    def slowdown(self, district: str, t_s: float) -> float:
        return self._slowdown[district][self._step(t_s)]

    def summary(self, district: str) -> dict[str, object]:
        """What the storm did to one district, judged at the end of each step as warnings are:
        rain in all and in its worst 3 hours, its highest warning level, its peak outage share."""
        rain, step_s = self.rain[district], self.hazard.step_s
        ends = [k * step_s for k in range(1, self.steps + 1)]
        top = max((rain.level_at(t) for t in ends), key=level_rank, default=None)
        return {
            "rainfall_mm": round(rain.total_until(self.duration_s), 3),
            "max_3h_mm": round(max((rain.window_mm(t, 3) for t in ends), default=0.0), 3),
            "level": top,
            "outage_peak_share": round(max(self._outage[district]), 6),
        }

    def _step(self, t_s: float) -> int:
        return min(bisect_right(self._bounds, t_s), self.steps)

    def _outage_series(self, code: str) -> list[float]:
        outage = self.hazard.outage
        pinned = outage.districts.get(code)
        out = []
        for k in range(self.steps + 1):
            t_s = k * self.hazard.step_s
            share = min(
                outage.max_share, outage.share_per_mm_3h * self.rain[code].window_mm(t_s, 3)
            )
            out.append(max(share, pinned) if pinned is not None else share)
        return out

    def _slowdown_series(self, code: str) -> list[float]:
        slow = self.hazard.slowdown
        return [
            min(
                slow.max_slowdown,
                slow.per_mm_1h * self.rain[code].window_mm(k * self.hazard.step_s, 1),
            )
            for k in range(self.steps + 1)
        ]
