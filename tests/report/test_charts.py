"""The SVG line charts: tick choice, log axes, escaping, what is drawn."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from wintrain.report.charts import Series, line_chart, log_ticks, nice_step, nice_ticks, tick_label

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(("span", "count", "step"), [(1.0, 5, 0.2), (0.17, 5, 0.05), (730.0, 5, 200.0),
                                                     (10.0, 5, 2.0), (3.0, 8, 0.5)])
def test_nice_steps_are_1_2_or_5_times_a_power_of_ten(span, count, step):
    assert nice_step(span, count) == pytest.approx(step)


def test_nice_ticks_cover_the_range_in_whole_steps():
    low, high, ticks = nice_ticks(0.923, 0.987)
    assert low <= 0.923 and high >= 0.987 and ticks[0] == low and ticks[-1] == high
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and 3 <= len(ticks) <= 8
    low, high, ticks = nice_ticks(0.003, 0.003)  # a flat line gets an axis around it
    assert low < 0.003 < high


def test_log_ticks_are_decades_with_2_and_5_when_few():
    low, high, ticks = log_ticks(2e-4, 3e-3)
    assert (low, high) == pytest.approx((1e-4, 1e-2))
    assert ticks == pytest.approx([1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2])
    _, _, wide = log_ticks(1e-6, 10.0)
    assert wide == pytest.approx([10.0 ** k for k in range(-6, 2)])


def test_tick_labels():
    assert tick_label(0.25, 0.05) == "0.25" and tick_label(92.0, 2.0) == "92"
    assert tick_label(1e-4) == "1e-4" and tick_label(0) == "0"


def test_a_chart_draws_axes_lines_markers_and_a_legend():
    svg = line_chart("Loss <J> & co", [Series("run \"a\" <1>", [(1, 0.5), (2, 0.25), (3, 0.2)]),
                                       Series("b", [(1, 0.6), (3, math.nan)], dashed=True)], "loss")
    root = ET.fromstring(svg)  # well-formed XML: every text escaped
    assert root.tag == f"{SVG}svg"
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "Loss <J> & co" in texts and 'run "a" <1>' in texts and "b" in texts and "epoch" in texts
    lines = [p for p in root.iter(f"{SVG}path") if p.get("class") == "line"]
    assert len(lines) == 4  # two series and their legend swatches
    assert sum(1 for p in lines if p.get("stroke-dasharray")) == 2
    assert len(list(root.iter(f"{SVG}circle"))) == 4  # NaN left out
    assert len(re.findall(r"[ML]", lines[0].get("d"))) == 3


def test_points_are_placed_by_value():
    root = ET.fromstring(line_chart("t", [Series("s", [(1, 0.0), (2, 1.0)])]))
    (low, high) = [float(c.get("cy")) for c in root.iter(f"{SVG}circle")]
    assert low > high  # larger values are higher up (smaller y)
    x1, x2 = [float(c.get("cx")) for c in root.iter(f"{SVG}circle")]
    assert x2 > x1


def test_log_axis_leaves_out_values_that_are_not_positive_and_draws_guides():
    root = ET.fromstring(line_chart("r", [Series("s", [(1, 1e-3), (2, 0.0), (3, 1e-2)])], log_y=True,
                                    guides=[(1e-3, "1e-3")]))
    assert len(list(root.iter(f"{SVG}circle"))) == 2
    assert [p for p in root.iter(f"{SVG}path") if p.get("class") == "guide"]


def test_a_chart_without_points_is_a_note():
    assert line_chart("Empty <x>", [Series("s", [])]) == '<p class="empty">Empty &lt;x&gt;: nothing recorded.</p>'


def test_include_zero_starts_a_share_axis_at_0():
    root = ET.fromstring(line_chart("s", [Series("a", [(1, 15.0), (2, 25.0)])], include_zero=True))
    ticks = [element.text for element in root.iter(f"{SVG}text") if element.get("class") == "tick"]
    assert "0" in ticks
    root = ET.fromstring(line_chart("s", [Series("a", [(1, 15.0), (2, 25.0)])]))
    assert "0" not in [element.text for element in root.iter(f"{SVG}text") if element.get("class") == "tick"]
