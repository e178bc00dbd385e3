"""The charts' shared x axis: ticks from 0 to the axis end, in round steps, with their labels."""

from __future__ import annotations

import re

from simulation.report.svg import format_share, format_time_s, nice_step, time_step_s, x_ticks


def _ticks(markup: list[str]) -> list[tuple[str, str, str, str]]:
    """(x, y1, y2, label) of each tick."""
    found = []
    for tick in markup:
        match = re.fullmatch(
            r'<line x1="(-?[\d.]+)" x2="\1" y1="([\d.]+)" y2="([\d.]+)" stroke="[^"]+"/>'
            r'<text x="\1" y="[\d.]+" text-anchor="middle" font-size="11" fill="[^"]+">(.*)</text>',
            tick,
        )
        assert match is not None, tick
        found.append(match.groups())
    return found


def test_a_time_axis_ticks_every_round_step_up_to_its_end() -> None:
    step = time_step_s(3_700.0)
    ticks = _ticks(
        x_ticks(lambda x: 10 + x / 10, 3_700.0, format_time_s, line_y=(5, 50), label_y=66)
    )
    assert len(ticks) == int(3_700.0 // step) + 1
    assert [t[3] for t in ticks] == [format_time_s(i * step) for i in range(len(ticks))]
    assert ticks[0][:3] == ("10", "5", "50")  # x through sx, the lines where they were asked
    assert float(ticks[-1][0]) <= 10 + 370


def test_any_other_axis_ticks_in_1_2_5_steps_about_as_many_as_asked() -> None:
    step = nice_step(1.0, 4)
    ticks = _ticks(x_ticks(lambda x: x * 100, 1.0, format_share, line_y=(0, 4), label_y=9, ticks=4))
    assert [t[3] for t in ticks] == [format_share(i * step) for i in range(len(ticks))]
    assert 3 <= len(ticks) - 1 <= 6
    assert ticks[-1][0] == "100"  # the end itself, when a step lands on it


def test_an_axis_that_starts_below_zero_ticks_on_multiples_of_its_step() -> None:
    step = nice_step(0.8, 6)  # the span from -0.23 to 0.57
    ticks = _ticks(
        x_ticks(lambda x: 100 * x, 0.57, format_share, line_y=(0, 4), label_y=9, x_min=-0.23)
    )
    values = [float(t[0]) / 100 for t in ticks]
    assert values[0] >= -0.23 > values[0] - step  # the first multiple at or above the start
    assert all(abs(v / step - round(v / step)) < 1e-9 for v in values)
    assert values[-1] <= 0.57 < values[-1] + step
    assert "0%" in [t[3] for t in ticks]
