"""Rainfall -> national warning levels -> which alerts are issued, cell outages and slowdown.

The thresholds are the China Meteorological Administration's rainstorm warning signals: blue
>= 50 mm in 12 h, yellow >= 50 mm in 6 h, orange >= 50 mm in 3 h, red >= 100 mm in 3 h.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.hazards import HOUR_S, HazardModel, Rainfall, WarningIssued, level_rank
from simulation.scenario import WARNING_LEVELS, FloodSlowdown, Hazard, Outage, WarningLevel

D1, D2, D3 = "500101", "500102", "500103"


def hourly(*mm: float) -> Rainfall:
    return Rainfall(list(mm), HOUR_S)


# --- the national thresholds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("series_mm", "level"),
    [
        ([5.0] * 10, "blue"),  # 50 mm in 12 h, 30 mm in 6 h
        ([4.9] * 10, None),  # 49 mm in 12 h
        ([10.0] * 5, "yellow"),  # 50 mm in 6 h, 30 mm in 3 h
        ([1.0] * 6 + [8.0] * 6, "blue"),  # 48 mm in 6 h, 54 mm in 12 h
        ([25.0, 25.0], "orange"),  # 50 mm in 3 h
        ([0.2, 0.0, 0.0, 24.9, 25.0], "yellow"),  # 49.9 mm in 3 h, 50.1 mm in 6 h
        ([50.0, 50.0], "red"),  # 100 mm in 3 h
        ([50.0, 49.9], "orange"),  # 99.9 mm in 3 h
        ([100.0], "red"),
        ([0.0] * 12, None),
    ],
)
def test_levels_at_the_national_thresholds(
    series_mm: list[float], level: WarningLevel | None
) -> None:
    rain = hourly(*series_mm)
    end_s = len(series_mm) * HOUR_S

    assert rain.level_at(end_s) == level


def test_each_threshold_is_reached_exactly_at_its_amount() -> None:
    # >= at the threshold, below it one tenth of a millimetre less, each with its own window.
    assert hourly(50.0).level_at(HOUR_S) == "orange"  # 50 in 3 h
    assert hourly(49.9).level_at(HOUR_S) is None  # < 50 in 12 h as well
    assert hourly(50.0, 0, 0, 0).level_at(4 * HOUR_S) == "yellow"  # 50 within 6 h, not 3 h
    assert hourly(50.0, *[0.0] * 6).level_at(7 * HOUR_S) == "blue"  # 50 within 12 h, not 6 h
    assert hourly(50.0, *[0.0] * 11).level_at(12 * HOUR_S) == "blue"
    assert hourly(50.0, *[0.0] * 12).level_at(13 * HOUR_S) is None  # out of the 12 h window
    assert hourly(60.0, 40.0).level_at(2 * HOUR_S) == "red"  # 100 in 3 h


def test_rain_within_a_step_is_taken_as_even() -> None:
    rain = hourly(60.0)
    assert rain.total_until(0.5 * HOUR_S) == pytest.approx(30.0)
    assert rain.window_mm(0.75 * HOUR_S, 0.5) == pytest.approx(30.0)
    # Half of the hour falls out of a 12 h window that ends 12.5 h after it began.
    assert hourly(60.0, *[0.0] * 12).window_mm(12.5 * HOUR_S, 12) == pytest.approx(30.0)
    assert rain.total_until(-1.0) == 0.0
    assert rain.total_until(99 * HOUR_S) == 60.0  # after the series: nothing more falls


def test_windows_are_exact_for_any_step_length() -> None:
    # 100 mm in 2 h as four half-hour steps, or as one two-hour step: red both ways.
    assert Rainfall([25.0] * 4, 1800.0).level_at(2 * HOUR_S) == "red"
    assert Rainfall([100.0], 2 * HOUR_S).level_at(2 * HOUR_S) == "red"
    # ... but one hour into the two-hour step only 50 mm have fallen.
    assert Rainfall([100.0], 2 * HOUR_S).level_at(HOUR_S) == "orange"


def _level_by_sums(series_mm: list[float], hours: int) -> WarningLevel | None:
    """The signal from plain sums of whole hours, the way the definition reads."""
    last = series_mm[:hours]
    in_3h, in_6h, in_12h = sum(last[-3:]), sum(last[-6:]), sum(last[-12:])
    if in_3h >= 100:
        return "red"
    if in_3h >= 50:
        return "orange"
    if in_6h >= 50:
        return "yellow"
    if in_12h >= 50:
        return "blue"
    return None


@given(
    series_mm=st.lists(st.integers(0, 60).map(float), min_size=1, max_size=30),
    data=st.data(),
)
def test_level_at_each_hour_is_the_definition_applied_to_hourly_sums(
    series_mm: list[float], data: st.DataObject
) -> None:
    # Whole millimetres, so both sides add exactly.
    hours = data.draw(st.integers(1, len(series_mm)))

    assert hourly(*series_mm).level_at(hours * HOUR_S) == _level_by_sums(series_mm, hours)


@settings(max_examples=50)
@given(
    series_mm=st.lists(st.integers(0, 80).map(float), min_size=1, max_size=24),
    more_mm=st.lists(st.integers(0, 20).map(float), min_size=24, max_size=24),
    t_h=st.integers(0, 60).map(lambda half_hours: half_hours / 2),
)
def test_more_rain_never_lowers_the_level(
    series_mm: list[float], more_mm: list[float], t_h: float
) -> None:
    # Whole millimetres at whole and half hours: every sum is exact, so only the rule is tested.
    wetter = [a + b for a, b in zip(series_mm, more_mm, strict=False)]

    drier_level = hourly(*series_mm).level_at(t_h * HOUR_S)

    assert level_rank(hourly(*wetter).level_at(t_h * HOUR_S)) >= level_rank(drier_level)


def test_level_rank_orders_blue_to_red_after_none() -> None:
    assert [level_rank(None), *map(level_rank, WARNING_LEVELS)] == [-1, 0, 1, 2, 3]


# --- which warnings are issued ----------------------------------------------------------------


def model(rain: dict[str, Any], codes: tuple[str, ...] = (D1, D2), **kw: Any) -> HazardModel:
    return HazardModel(Hazard(rainfall_mm=rain, **kw), codes)


def test_city_scope_alerts_every_district_once_at_the_first_warning_at_the_alert_level() -> None:
    hazard = model({D1: [10, 30, 30, 60], D2: [0, 0, 0, 0]}, alert_level="orange", scope="city")
    # D1: 40 mm after 2 h (no signal), 70 mm in 3 h after 3 h (orange): one warning, for all,
    # though D1 turns red an hour later.
    assert hazard.warnings() == [WarningIssued(3 * HOUR_S, "orange", (D1, D2))]


def test_city_scope_waits_for_the_alert_level_past_lower_signals() -> None:
    hazard = model({D1: [10] * 5 + [100], D2: [0] * 6}, alert_level="red", scope="city")

    assert hazard.rain[D1].level_at(5 * HOUR_S) == "yellow"  # 50 mm in 6 h: below red
    assert hazard.warnings() == [WarningIssued(6 * HOUR_S, "red", (D1, D2))]


def test_city_scope_issues_the_highest_level_reached_at_that_step() -> None:
    hazard = model({D1: [0, 120], D2: [0, 60]}, alert_level="orange", scope="city")

    assert hazard.warnings() == [WarningIssued(2 * HOUR_S, "red", (D1, D2))]


def test_district_scope_alerts_each_district_as_its_level_first_rises_to_the_alert_level() -> None:
    hazard = model(
        {D1: [30, 30, 60, 0], D2: [0, 0, 30, 30], D3: [0, 0, 0, 0]},
        codes=(D1, D2, D3),
        alert_level="orange",
        scope="district",
    )
    # D1: 60 mm in 3 h after 2 h (orange), 120 after 3 h (red), 90 after 4 h (orange again:
    # not a new warning). D2: 60 mm in 3 h after 4 h (orange). D3: dry.
    assert hazard.warnings() == [
        WarningIssued(2 * HOUR_S, "orange", (D1,)),
        WarningIssued(3 * HOUR_S, "red", (D1,)),
        WarningIssued(4 * HOUR_S, "orange", (D2,)),
    ]


def test_district_scope_groups_a_step_by_level_highest_first_and_never_repeats_a_level() -> None:
    hazard = model(
        {D1: [100, 0, 0, 0, 100], D2: [50, 0, 0, 0, 0], D3: [50, 0, 0, 0, 0]},
        codes=(D1, D2, D3),
        alert_level="yellow",
        scope="district",
    )
    # After 1 h: D1 red, D2 and D3 orange. D1 falls to yellow after 4 h and is red again after
    # 5 h: no new warning, it was alerted at red already; D2 and D3 fall to yellow silently.
    assert hazard.warnings() == [
        WarningIssued(HOUR_S, "red", (D1,)),
        WarningIssued(HOUR_S, "orange", (D2, D3)),
    ]


def test_a_level_below_the_alert_level_issues_nothing() -> None:
    hazard = model({"default": [10] * 6}, alert_level="orange", scope="district")

    assert [hazard.rain[D1].level_at(k * HOUR_S) for k in (4, 5, 6)] == [None, "yellow", "yellow"]
    assert hazard.warnings() == []


def test_default_series_applies_to_districts_without_their_own() -> None:
    hazard = model({"default": [120], D2: [0]}, alert_level="red", scope="district")

    assert hazard.warnings() == [WarningIssued(HOUR_S, "red", (D1,))]
    assert hazard.duration_s == HOUR_S
    assert hazard.steps == 1


# --- cell outages and walking slowdown ----------------------------------------------------------


def test_outage_follows_rain_of_the_last_3_h_capped_and_changes_at_step_boundaries() -> None:
    outage = Outage(share_per_mm_3h=0.002, max_share=0.3)
    hazard = model({D1: [50, 50, 100, 0, 0, 0]}, codes=(D1,), outage=outage)

    # During a step: the share the 3 h window gave at the step's start.
    shares = [hazard.outage_share(D1, (k + 0.5) * HOUR_S) for k in range(7)]
    # at 0 h: no rain yet; 1 h: 50 mm -> 0.1; 2 h: 100 -> 0.2; 3 h: 200 -> 0.4 capped at 0.3;
    # 4 h: 150 -> 0.3 (cap); 5 h: 100 -> 0.2; 6 h (and after the series): 0 mm -> 0.
    assert shares == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.3, 0.2, 0.0])
    assert hazard.outage_share(D1, HOUR_S) == pytest.approx(0.1)  # a boundary starts a step
    assert hazard.outage_share(D1, 99 * HOUR_S) == pytest.approx(0.0)


def test_a_pinned_outage_holds_from_the_start_and_more_rain_can_only_raise_it() -> None:
    outage = Outage(share_per_mm_3h=0.002, max_share=0.5, districts={D1: 0.45})
    hazard = model({D1: [0, 250, 0], D2: [0, 100, 0]}, outage=outage)

    assert hazard.outage_share(D1, 0.0) == pytest.approx(0.45)
    assert hazard.outage_share(D1, 2.5 * HOUR_S) == pytest.approx(0.5)  # 250 mm: capped at 0.5
    assert hazard.outage_share(D2, 0.0) == 0.0
    assert hazard.outage_share(D2, 2.5 * HOUR_S) == pytest.approx(0.2)


def test_slowdown_follows_rain_of_the_last_hour_capped() -> None:
    slow = FloodSlowdown(per_mm_1h=0.0035, max_slowdown=0.4)
    hazard = model({D1: [20, 113, 200, 0]}, codes=(D1,), slowdown=slow)

    slowdowns = [hazard.slowdown(D1, (k + 0.5) * HOUR_S) for k in range(5)]

    assert slowdowns == pytest.approx([0.0, 0.07, 0.3955, 0.4, 0.0])


def test_no_outage_or_slowdown_settings_means_none() -> None:
    hazard = model({D1: [200, 200]}, codes=(D1,))

    assert hazard.outage_share(D1, 1.5 * HOUR_S) == 0.0
    assert hazard.slowdown(D1, 1.5 * HOUR_S) == 0.0


def test_the_summary_says_what_the_storm_did_to_each_district() -> None:
    outage = Outage(share_per_mm_3h=0.002, max_share=0.3)
    hazard = model({D1: [10, 30, 40, 5, 0, 0], D2: [0, 5, 5, 0, 0, 0]}, outage=outage)

    # D1: 85 mm in all; its worst 3 h are hours 1-3 (10 + 30 + 40 = 80 mm): orange, and red
    # needs 100; outage 0.002 * 80 = 0.16 at its peak. D2: 10 mm, nothing issued.
    assert hazard.summary(D1) == {
        "rainfall_mm": 85.0,
        "max_3h_mm": 80.0,
        "level": "orange",
        "outage_peak_share": 0.16,
    }
    assert hazard.summary(D2) == {
        "rainfall_mm": 10.0,
        "max_3h_mm": 10.0,
        "level": None,
        "outage_peak_share": 0.02,
    }


# --- a warning's life: Alert, Updates, Cancel ----------------------------------------------------


def test_a_rising_district_is_updated_and_cancelled_once_below_the_alert_level() -> None:
    hazard = model(
        {D1: [30, 30, 60, 0, 0, 0, 0], D2: [0, 0, 30, 30, 0, 0, 0], D3: [0] * 7},
        codes=(D1, D2, D3),
        alert_level="orange",
        scope="district",
    )
    # D1: orange after 2 h, red after 3 h, orange after 4 h (stands at red: nothing), 60 mm in
    # 3 h after 5 h (orange), 0 after 6 h (below orange: cancelled). D2: orange after 4 h; 30 mm
    # in 3 h after 6 h (below: cancelled with D1, at its own level).
    assert hazard.warnings("updates") == [
        WarningIssued(2 * HOUR_S, "orange", (D1,)),
        WarningIssued(3 * HOUR_S, "red", (D1,), msg_type="Update"),
        WarningIssued(4 * HOUR_S, "orange", (D2,)),
        WarningIssued(6 * HOUR_S, "red", (D1,), msg_type="Cancel"),
        WarningIssued(6 * HOUR_S, "orange", (D2,), msg_type="Cancel"),
    ]
    # separate: the old behaviour, every rise an alert of its own and nothing cancelled
    assert (
        hazard.warnings("separate")
        == hazard.warnings()
        == [
            WarningIssued(2 * HOUR_S, "orange", (D1,)),
            WarningIssued(3 * HOUR_S, "red", (D1,)),
            WarningIssued(4 * HOUR_S, "orange", (D2,)),
        ]
    )


def test_a_step_issues_updates_before_alerts_of_a_level_and_cancels_last() -> None:
    hazard = model(
        {D1: [60, 60, 0, 0, 0, 60], D2: [0, 100, 0, 0, 0, 0], D3: [0, 60, 0, 0, 0, 0]},
        codes=(D1, D2, D3),
        alert_level="orange",
        scope="district",
    )
    # After 2 h: D1 rises to red (an Update) as D2 is first red and D3 first orange; after 5 h
    # all three are below orange (cancelled); after 6 h D1 is orange again: a new episode.
    assert hazard.warnings("updates") == [
        WarningIssued(HOUR_S, "orange", (D1,)),
        WarningIssued(2 * HOUR_S, "red", (D1,), msg_type="Update"),
        WarningIssued(2 * HOUR_S, "red", (D2,)),
        WarningIssued(2 * HOUR_S, "orange", (D3,)),
        WarningIssued(5 * HOUR_S, "red", (D1, D2), msg_type="Cancel"),
        WarningIssued(5 * HOUR_S, "orange", (D3,), msg_type="Cancel"),
        WarningIssued(6 * HOUR_S, "orange", (D1,)),
    ]


def test_a_warning_whose_latest_message_expired_lapses_without_a_cancel() -> None:
    hazard = model({D1: [60, 0, 0, 0, 60, 0, 0, 0]}, codes=(D1,), alert_level="orange")
    # orange after 1 h, below after 4 h, orange again after 5 h, below after 8 h
    assert hazard.warnings("updates", expires_s=3 * HOUR_S + 1) == [
        WarningIssued(HOUR_S, "orange", (D1,)),
        WarningIssued(4 * HOUR_S, "orange", (D1,), msg_type="Cancel"),
        WarningIssued(5 * HOUR_S, "orange", (D1,)),
        WarningIssued(8 * HOUR_S, "orange", (D1,), msg_type="Cancel"),
    ]
    # each alert has expired 3 h after issue, when the rain falls back: nothing to cancel, and
    # the second burst is a new episode all the same
    assert hazard.warnings("updates", expires_s=3 * HOUR_S) == [
        WarningIssued(HOUR_S, "orange", (D1,)),
        WarningIssued(5 * HOUR_S, "orange", (D1,)),
    ]


def test_city_scope_is_one_episode_at_the_citys_highest_level() -> None:
    hazard = model(
        {D1: [60, 60, 0, 0, 0, 0], D2: [0, 0, 0, 0, 0, 0]},
        codes=(D1, D2),
        alert_level="orange",
        scope="city",
    )
    assert hazard.warnings("updates") == [
        WarningIssued(HOUR_S, "orange", (D1, D2)),
        WarningIssued(2 * HOUR_S, "red", (D1, D2), msg_type="Update"),
        WarningIssued(5 * HOUR_S, "red", (D1, D2), msg_type="Cancel"),
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([0, 10, 30, 60, 100]), min_size=6, max_size=6),
        min_size=3,
        max_size=3,
    )
)
def test_every_episode_opens_with_an_alert_rises_only_and_ends_in_at_most_one_cancel(
    series: list[list[float]],
) -> None:
    hazard = model(
        dict(zip((D1, D2, D3), series, strict=True)),
        codes=(D1, D2, D3),
        alert_level="yellow",
        scope="district",
    )
    live: dict[str, int] = {}
    for warning in hazard.warnings("updates"):
        for code in warning.districts:
            if warning.msg_type == "Alert":
                assert code not in live
                live[code] = level_rank(warning.level)
            elif warning.msg_type == "Update":
                assert level_rank(warning.level) > live[code]
                live[code] = level_rank(warning.level)
            else:
                assert live.pop(code) == level_rank(warning.level)
                assert level_rank(hazard.rain[code].level_at(warning.at_s)) < level_rank("yellow")
