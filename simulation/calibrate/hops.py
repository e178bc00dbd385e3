"""From a drill log to fitted hops: each a scenario path, its fit, and the scenario's value.

The hops and the durations each is fitted from:

=============================  ============================================================
scenario path                  durations (observed; censored: watching stopped first)
=============================  ============================================================
``tiers.T.processing_s``       the tier above pressed send -> this center pressed send
``channels.C.delay_s``         attempt sent -> delivered to the device
``channels.C.failure``         attempts never delivered, of those sent (a share)
``behaviour.read_s``           delivered -> read, over channels without a ``read_s`` of their
                               own, jointly with ``channels.C.missed`` (never noticed)
``channels.C.read_s``          the same for a channel with a lognormal ``read_s`` of its own
``behaviour.ack_s``            read -> acknowledge pressed
=============================  ============================================================

What a log cannot tell is listed with the reason (too few observations, a form of log that does
not see it), never silently left at the scenario's value.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from simulation.calibrate.fit import (
    Durations,
    LognormalFit,
    ShareFit,
    fit_lognormal,
    fit_share,
    kaplan_meier,
)
from simulation.calibrate.logs import DrillLog
from simulation.scenario import Scenario
from simulation.scenario.distributions import ChannelName

__all__ = ["MIN_OBSERVED", "Calibration", "Hop", "calibrate_log"]

MIN_OBSERVED = 20  # fewer observed durations, or trials of a share, and nothing is fitted
TIERS = ("municipal", "district", "town")


@dataclass(frozen=True, slots=True)
class Hop:
    path: str
    title: str
    current: Any  # the scenario's value, as in its YAML
    lognormal: LognormalFit | None = None
    share: ShareFit | None = None
    curve: tuple[tuple[float, float], ...] = ()  # Kaplan-Meier steps, for the plot
    note: str = ""
    applied: bool = True  # False: reported, but not put into the calibrated scenario

    @property
    def fitted(self) -> Any:
        """The value to put in the scenario: a lognormal by median and p90, or a share."""
        if self.lognormal is not None:
            return {
                "kind": "lognormal",
                "median": _sig(self.lognormal.median),
                "p90": _sig(max(self.lognormal.p90, self.lognormal.median)),
            }
        assert self.share is not None
        return round(self.share.value, 4)


@dataclass(frozen=True, slots=True)
class Calibration:
    log: DrillLog
    hops: tuple[Hop, ...]
    not_fitted: tuple[tuple[str, str], ...]  # (scenario path, why)

    def overlay(self) -> dict[str, Any]:
        return {hop.path: hop.fitted for hop in self.hops if hop.applied}


def _sig(value: float) -> float:
    return float(f"{value:.3g}")


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


class _Collect:
    def __init__(self) -> None:
        self.hops: list[Hop] = []
        self.skipped: list[tuple[str, str]] = []

    def lognormal(
        self, path: str, title: str, current: Any, groups: dict[str, Durations], note: str = ""
    ) -> LognormalFit | None:
        observed = sum(len(d.observed) for d in groups.values())
        if observed < MIN_OBSERVED:
            self.skipped.append(
                (path, f"{observed} observed; expected at least {MIN_OBSERVED} to fit")
            )
            return None
        fit = fit_lognormal(groups)
        merged = Durations(
            tuple(t for d in groups.values() for t in d.observed),
            tuple(c for d in groups.values() for c in d.censored),
        )
        self.hops.append(
            Hop(path, title, _dump(current), fit, curve=tuple(kaplan_meier(merged)), note=note)
        )
        return fit

    def share(
        self,
        path: str,
        title: str,
        current: Any,
        events: int,
        trials: int,
        note: str = "",
        applied: bool = True,
    ) -> None:
        if trials < MIN_OBSERVED:
            self.skipped.append((path, f"{trials} trials; expected at least {MIN_OBSERVED}"))
            return
        share = fit_share(events, trials)
        self.hops.append(Hop(path, title, current, share=share, note=note, applied=applied))


def calibrate_log(log: DrillLog, scenario: Scenario) -> Calibration:
    """Fit every hop the log can tell to the scenario's distributions."""
    out = _Collect()
    _processing(log, scenario, out)
    _channels(log, scenario, out)
    _reading(log, scenario, out)
    acks = tuple(
        a.acked_s - a.read_s for a in log.attempts if a.acked_s is not None and a.read_s is not None
    )
    out.lognormal(
        "behaviour.ack_s", "read -> acknowledge", scenario.behaviour.ack_s, {"all": Durations(acks)}
    )
    return Calibration(log, tuple(out.hops), tuple(out.skipped))


def _processing(log: DrillLog, scenario: Scenario, out: _Collect) -> None:
    if log.form != "records":
        for tier in TIERS:
            out.skipped.append((f"tiers.{tier}.processing_s", "an attempts log has no centers"))
        return
    for tier in TIERS:
        hops = [c for c in log.centers if c.tier == tier]
        observed = tuple(c.done_s - c.start_s for c in hops if c.done_s is not None)
        censored = tuple(c.end_s - c.start_s for c in hops if c.done_s is None)
        out.lognormal(
            f"tiers.{tier}.processing_s",
            f"{tier} center: tier above sends -> this center sends",
            getattr(scenario.tiers, tier).processing_s,
            {tier: Durations(observed, censored)},
            note="includes the network between the centers and any wait for staff",
        )


def _channels(log: DrillLog, scenario: Scenario, out: _Collect) -> None:
    """Delays and failures from the attempts seen whatever their outcome.

    An attempt a records log holds only because it was answered is left out: the answered ones
    are the quick ones, so their delays would be too short. A channel that holds staff (a call, a
    knock) has the staff's time inside its sent -> delivered, and is not fitted.
    """
    delays: dict[str, list[float]] = defaultdict(list)
    sent: dict[str, int] = defaultdict(int)
    undelivered: dict[str, int] = defaultdict(int)
    for a in log.attempts:
        if not a.complete:
            continue
        sent[a.channel] += 1
        if a.delivered_s is None:
            undelivered[a.channel] += 1
        else:
            delays[a.channel].append(a.delivered_s - a.sent_s)
    outages = scenario.hazard.outage.share_per_mm_3h > 0 or bool(scenario.hazard.outage.districts)
    for name, settings in scenario.channels.items():
        path = f"channels.{name}"
        if not sent[name]:
            why = "no attempt seen whatever its outcome"
            if log.form == "records":
                why += " (records see later rungs only when answered; an attempts log sees all)"
            out.skipped.extend([(f"{path}.delay_s", why), (f"{path}.failure", why)])
            continue
        if settings.staff_s is not None:
            out.skipped.append((f"{path}.delay_s", "sent -> delivered includes the staff's time"))
        else:
            out.lognormal(
                f"{path}.delay_s",
                f"{name}: sent -> delivered",
                settings.delay_s,
                {name: Durations(tuple(delays[name]))},
                note="includes the network to the device",
            )
        with_outages = settings.cell_dependent and outages
        out.share(
            f"{path}.failure",
            f"{name}: never delivered",
            settings.failure,
            undelivered[name],
            sent[name],
            note=(
                "includes cell outages, which the scenario models apart: reported, not applied"
                if with_outages
                else ""
            ),
            applied=not with_outages,
        )


def _reading(log: DrillLog, scenario: Scenario, out: _Collect) -> None:
    """Reading and missed shares: one reading time over the channels that share it."""
    observed: dict[str, list[float]] = defaultdict(list)
    censored: dict[str, list[float]] = defaultdict(list)
    for a in log.attempts:
        if not a.complete or a.delivered_s is None:
            continue
        if a.read_s is not None and a.read_s >= a.delivered_s and a.end_s >= a.read_s:
            observed[a.channel].append(a.read_s - a.delivered_s)
        elif a.read_s is None:
            censored[a.channel].append(a.end_s - a.delivered_s)
    shared: dict[ChannelName, Durations] = {}
    for name, settings in scenario.channels.items():
        d = Durations(tuple(observed[name]), tuple(c for c in censored[name] if c > 0))
        if settings.read_s is None:
            if d.n:
                shared[name] = d
        elif settings.read_s.kind == "constant":
            # read on arrival when noticed at all: the unread are the missed share
            out.share(
                f"channels.{name}.missed",
                f"{name}: never noticed",
                settings.missed,
                len(d.censored),
                d.n,
            )
        else:
            _cure(out, f"channels.{name}.read_s", settings.read_s, {name: d}, scenario)
    _cure(out, "behaviour.read_s", scenario.behaviour.read_s, shared, scenario)


def _cure(
    out: _Collect, path: str, current: Any, groups: dict[ChannelName, Durations], scenario: Scenario
) -> None:
    observed = sum(len(d.observed) for d in groups.values())
    if observed < MIN_OBSERVED:
        out.skipped.append((path, f"{observed} observed; expected at least {MIN_OBSERVED}"))
        return
    fit = fit_lognormal({str(k): v for k, v in groups.items()}, cure=True)
    merged = Durations(
        tuple(t for d in groups.values() for t in d.observed),
        tuple(c for d in groups.values() for c in d.censored),
    )
    out.hops.append(
        Hop(
            path,
            f"delivered -> read ({', '.join(groups)})",
            _dump(current),
            fit,
            curve=tuple(kaplan_meier(merged)),
            note="fitted jointly with the missed share of each channel",
        )
    )
    for name in groups:
        share = fit.missed[name]
        out.hops.append(
            Hop(
                f"channels.{name}.missed",
                f"{name}: never noticed",
                scenario.channels[name].missed,
                share=share,
            )
        )
