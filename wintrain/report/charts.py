"""Line charts as inline SVG: axes, ticks, lines, markers and a legend, with no chart library.

:func:`line_chart` draws series of ``(x, y)`` points on a linear or a log10 y axis.  Ticks are
"nice" numbers: steps of 1, 2 or 5 × 10^k (:func:`nice_ticks`), decades on a log axis with the
2 and 5 between them when the axis spans few decades (:func:`log_ticks`).  Every text is
escaped; each marker has a ``<title>`` (its value on hover).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22")
"""Series colours, in order (run 1, run 2, ... or layer 1, layer 2, ...)."""


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass(frozen=True)
class Series:
    """One line: its legend name, points, colour, and whether it is dashed."""

    name: str
    points: Sequence[tuple[float, float]]
    colour: str = PALETTE[0]
    dashed: bool = False


def nice_step(span: float, count: int) -> float:
    """The step of 1, 2 or 5 × 10^k that cuts ``span`` into about ``count`` parts."""
    raw = span / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * power * (1 + 1e-9):
            return factor * power
    return 10.0 * power  # pragma: no cover - the loop always returns


def nice_ticks(low: float, high: float, count: int = 5) -> tuple[float, float, list[float]]:
    """An axis from ``low`` to ``high`` widened to whole steps: ``(axis low, axis high, ticks)``.

    A flat range (``low == high``) is widened by 10 % of its value (or by 1 around zero)."""
    if high < low:
        low, high = high, low
    if high - low <= 1e-12 * max(1.0, abs(high)):
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = nice_step(high - low, count)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    ticks = [round(i * step, 12) for i in range(first, last + 1)]
    return ticks[0], ticks[-1], ticks


def log_ticks(low: float, high: float) -> tuple[float, float, list[float]]:
    """A log10 axis over whole decades around ``[low, high]`` (both > 0): ``(axis low, axis high, ticks)``;
    ticks at each decade, plus 2 and 5 × 10^k when the axis spans at most two decades."""
    first, last = math.floor(math.log10(low) + 1e-9), math.ceil(math.log10(high) - 1e-9)
    if last == first:
        last += 1
    ticks = [10.0 ** k for k in range(first, last + 1)]
    if last - first <= 2:
        ticks = sorted(ticks + [m * 10.0 ** k for k in range(first, last) for m in (2.0, 5.0)])
    return 10.0 ** first, 10.0 ** last, ticks


def tick_label(value: float, step: float | None = None) -> str:
    """A tick's text: as many decimals as the step needs; ``1e-05`` style for very small or large numbers."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude < 1e-3 or magnitude >= 1e5:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    if step is None:
        return f"{value:g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}"


def value_text(value: float) -> str:
    """A value for a marker's tooltip: 4 significant digits."""
    return f"{value:.4g}"


def _epoch_ticks(low: float, high: float) -> tuple[float, float, list[float]]:
    """Whole-number x ticks (epochs), about 8 at most; a single epoch gets half an epoch either side."""
    if high - low < 1:
        return low - 0.5, high + 0.5, [low]
    step = max(1.0, nice_step(high - low, 8))
    first = math.ceil(low / step) * step
    ticks = [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]
    return low, high, ticks


def line_chart(
    title: str,
    series: Sequence[Series],
    y_label: str = "",
    x_label: str = "epoch",
    log_y: bool = False,
    guides: Sequence[tuple[float, str]] = (),
    include_zero: bool = False,
    width: int = 380,
    height: int = 250,
) -> str:
    """An SVG line chart of ``series`` (points with non-finite values, and on a log axis values ≤ 0,
    are left out), with a legend under the plot; ``guides`` are dotted horizontal reference lines
    ``(y, label)``; ``include_zero`` starts a linear axis at 0 (for shares).  A chart without any
    point is a short note instead."""
    usable = [Series(s.name, [(x, y) for x, y in s.points if math.isfinite(x) and math.isfinite(y)
                              and (y > 0 or not log_y)], s.colour, s.dashed) for s in series]
    usable = [s for s in usable if s.points]
    if not usable:
        return f'<p class="empty">{escape(title)}: nothing recorded.</p>'
    xs = [x for s in usable for x, _ in s.points]
    ys = [y for s in usable for _, y in s.points] + [y for y, _ in guides if y > 0 or not log_y]
    if include_zero and not log_y:
        ys.append(0.0)
    x_low, x_high, x_ticks = _epoch_ticks(min(xs), max(xs))
    if log_y:
        y_low, y_high, y_ticks = log_ticks(min(ys), max(ys))
        step = None
    else:
        y_low, y_high, y_ticks = nice_ticks(min(ys), max(ys))
        step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else None

    labels = [tick_label(tick, step) for tick in y_ticks]
    left, right, top = 30 + 7 * max(len(label) for label in labels), 14, 30
    plot_width = width - left - right
    columns = max(1, int(plot_width // max(90, 7.5 * max(len(s.name) for s in usable) + 40)))
    legend_rows = math.ceil(len(usable) / columns)
    plot_height = height - top - 42
    total_height = height + 18 * legend_rows + 8

    def px(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * plot_width

    def py(y: float) -> float:
        if log_y:
            fraction = (math.log10(y) - math.log10(y_low)) / (math.log10(y_high) - math.log10(y_low))
        else:
            fraction = (y - y_low) / (y_high - y_low)
        return top + (1 - fraction) * plot_height

    bottom = top + plot_height
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_height}" '
        f'viewBox="0 0 {width} {total_height}" role="img" aria-label="{escape(title)}">',
        f'<text class="title" x="10" y="18">{escape(title)}</text>',
    ]
    for tick, label in zip(y_ticks, labels):
        y = py(tick)
        parts.append(f'<path class="grid" d="M{left} {y:.1f}H{left + plot_width}"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    for tick in x_ticks:
        x = px(tick)
        parts.append(f'<path class="axis" d="M{x:.1f} {bottom}v5"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{tick:g}</text>')
    parts.append(f'<path class="axis" d="M{left} {top}V{bottom}H{left + plot_width}"/>')
    parts.append(f'<text class="label" x="{left + plot_width / 2:.1f}" y="{bottom + 34}" '
                 f'text-anchor="middle">{escape(x_label)}</text>')
    if y_label:
        parts.append(f'<text class="label" transform="translate(14 {top + plot_height / 2:.1f}) rotate(-90)" '
                     f'text-anchor="middle">{escape(y_label)}</text>')
    for value, label in guides:
        if value <= 0 and log_y:
            continue
        y = py(value)
        parts.append(f'<path class="guide" d="M{left} {y:.1f}H{left + plot_width}"/>')
        parts.append(f'<text class="tick" x="{left + plot_width - 4}" y="{y - 4:.1f}" text-anchor="end">'
                     f'{escape(label)}</text>')
    for s in usable:
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        path = "".join(f"{'M' if i == 0 else 'L'}{px(x):.1f} {py(y):.1f}" for i, (x, y) in enumerate(s.points))
        parts.append(f'<path class="line" d="{path}" stroke="{s.colour}"{dash}/>')
        for x, y in s.points:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.6" fill="{s.colour}">'
                         f'<title>{escape(s.name)}, {escape(x_label)} {x:g}: {value_text(y)}</title></circle>')
    column_width = plot_width / columns
    for i, s in enumerate(usable):
        x = left + (i % columns) * column_width
        y = height + 8 + 18 * (i // columns)
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(f'<path class="line" d="M{x:.1f} {y:.1f}h22" stroke="{s.colour}"{dash}/>')
        parts.append(f'<text class="legend" x="{x + 28:.1f}" y="{y + 4:.1f}">{escape(s.name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
