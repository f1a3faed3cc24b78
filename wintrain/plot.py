"""Look at a run's learning curves: chart them in the terminal or save a PNG.

The rows are a run folder's ``metrics.jsonl`` (:func:`wintrain.runfolder.read_metrics`): one
JSON object per epoch (``epoch``, ``lr``, ``train_loss``, ``dev_*`` ...).  :func:`terminal_chart`
draws one series as text and needs no plotting library; :func:`save_png` draws train loss, the
dev metric and the learning rate with matplotlib, imported only when called (``pip install "wintrain[plot]"``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wintrain.errors import WintrainError
from wintrain.runfolder import dev_metric_key

__all__ = ["series", "terminal_chart", "overlay_chart", "run_charts", "save_png", "save_lr_curve", "save_comparison"]

PathLike = str | os.PathLike[str]

_POINT = "●"
_LINE = "·"


# --------------------------------------------------------------------------- series


def series(rows: Sequence[dict[str, Any]], key: str) -> list[float]:
    """``row[key]`` of every row as floats; NaN where a row lacks it or it is not a number."""
    values = []
    for row in rows:
        value = row.get(key)
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        values.append(float(value) if is_number and value is not None else math.nan)
    return values


# --------------------------------------------------------------------------- terminal


def _format(value: float) -> str:
    return f"{value:.4g}"


MARKERS = "●○■□▲△◆◇✚×✱#@%&$ABCDEFGHJKLMNPQRSTUVWXYZ"


def terminal_chart(
    values: Sequence[float], width: int = 60, height: int = 10, title: str = "", x_label: str = "epoch"
) -> str:
    """A text chart of ``values`` against epoch (or ``x_label``) 1..n; no plotting library needed.

    Point i of n sits at column round(i·(W-1)/(n-1)) of a W×H grid (column 0 when n = 1),
    marked ``●``, with ``·`` between consecutive points.  NaN and ±inf values are left out
    and break the line.  The y axis is labelled with the largest and smallest finite value.
    Lines: the title (when given), H grid lines, the x axis and the epoch labels.
    """
    return overlay_chart([("", values)], width, height, title, x_label)


def overlay_chart(
    series: Sequence[tuple[str, Sequence[float]]], width: int = 60, height: int = 10, title: str = "",
    x_label: str = "epoch",
) -> str:
    """Several series on one text chart, sharing the axes: series k is drawn with ``MARKERS[k]`` and
    named in a legend under the chart (when there is more than one); where points meet, the
    earlier series is drawn on top.  Series shorter than the longest end early; otherwise as
    :func:`terminal_chart`."""
    if width < 2 or height < 2:
        raise WintrainError(f"a chart needs width and height of at least 2, got {width}x{height}")
    arrays = [np.asarray(values, dtype=np.float64).ravel() for _, values in series]
    n = max((len(points) for points in arrays), default=0)
    grid = [[" "] * width for _ in range(height)]
    every = np.concatenate(arrays) if arrays else np.zeros(0)
    finite_values = every[np.isfinite(every)]
    labels: dict[int, str] = {}
    if finite_values.size:
        lo, hi = float(finite_values.min()), float(finite_values.max())
        all_columns = _columns_of(n, width)
        for points in arrays:
            finite = np.isfinite(points)
            rows = np.zeros(len(points), dtype=np.int64)
            rows[finite] = _rows_in(points[finite], lo, hi, height)
            _draw_lines(grid, all_columns[:len(points)], rows, finite)
        markers = _markers(len(arrays))
        for marker, points in reversed(list(zip(markers, arrays))):  # the first series ends up on top
            finite = np.isfinite(points)
            rows = _rows_in(points[finite], lo, hi, height)
            for column, row in zip(all_columns[:len(points)][finite].tolist(), rows.tolist()):
                grid[row][column] = marker
        labels = {0: _format(hi), height - 1: _format(lo)} if hi > lo else {height // 2: _format(hi)}
    else:
        message = "no finite values" if n else "no values"
        start = max(0, (width - len(message)) // 2)
        grid[height // 2][start:start + len(message)] = list(message[:width])
    lines = _frame(grid, labels, n, title, x_label)
    if len(series) > 1:
        lines += _legend([name for name, _ in series], width + 10)
    return "\n".join(lines)


def _markers(count: int) -> list[str]:
    """``count`` markers, ``MARKERS`` in order (repeating past its end)."""
    return [MARKERS[k % len(MARKERS)] for k in range(count)]


def _rows_in(values: np.ndarray, lo: float, hi: float, height: int) -> np.ndarray:
    """Grid row (0 = top) of each value on the range [lo, hi]; a flat range sits mid-height."""
    if hi == lo:
        return np.full(values.shape, height // 2, dtype=np.int64)
    return (height - 1) - np.rint((values - lo) / (hi - lo) * (height - 1)).astype(np.int64)


def _legend(names: Sequence[str], width: int) -> list[str]:
    """``● name  ○ name ...`` wrapped to ``width`` columns."""
    lines, line = [], ""
    for marker, name in zip(_markers(len(names)), names):
        entry = f"{marker} {name}"
        if line and len(line) + 2 + len(entry) > width:
            lines.append(line)
            line = entry
        else:
            line = f"{line}  {entry}" if line else entry
    return [*lines, line] if line else lines


def _columns_of(n: int, width: int) -> np.ndarray:
    """(n,) grid column of each point: round(i·(W-1)/(n-1)), all 0 when n = 1."""
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    return np.rint(np.arange(n) * (width - 1) / (n - 1)).astype(np.int64)


def _draw_lines(grid: list[list[str]], columns: np.ndarray, rows: np.ndarray, finite: np.ndarray) -> None:
    """Join consecutive finite points with ``·`` by linear interpolation over the columns."""
    for i in range(len(columns) - 1):
        if not (finite[i] and finite[i + 1]):
            continue
        (c0, c1), (r0, r1) = columns[i:i + 2].tolist(), rows[i:i + 2].tolist()
        for column in range(c0 + 1, c1):
            row = round(r0 + (r1 - r0) * (column - c0) / (c1 - c0))
            grid[row][column] = _LINE


def _frame(grid: list[list[str]], labels: dict[int, str], n: int, title: str, x_label: str) -> list[str]:
    """Title, y labels and axes around the grid."""
    width = len(grid[0])
    pad = max((len(label) for label in labels.values()), default=1)
    lines = [title] if title else []
    for row, cells in enumerate(grid):
        tick = "┤" if row in labels else "│"
        lines.append(f"{labels.get(row, ''):>{pad}} {tick}{''.join(cells)}")
    lines.append(" " * pad + " └" + "─" * width)
    lines.append(" " * (pad + 2) + _x_labels(n, width, x_label))
    return lines


def _x_labels(n: int, width: int, name: str) -> str:
    """``1`` under the first column, ``n`` under the last, ``name`` in between when it fits."""
    first, last = "1", str(max(n, 1))
    if n <= 1:
        return (f"{first}  {name}").ljust(width)[:width]
    middle = width - len(first) - len(last)
    shown = name if middle >= len(name) + 2 else ""
    return first + shown.center(max(middle, 0)) + last


def run_charts(rows: Sequence[dict[str, Any]], width: int = 60, height: int = 10) -> str:
    """Terminal charts of train loss, the dev metric (when present) and the learning rate."""
    panels = [("train_loss", "train loss")]
    dev_key = dev_metric_key(rows)
    if dev_key is not None:
        panels.append((dev_key, dev_key.replace("_", " ")))
    panels.append(("lr", "learning rate"))
    return "\n\n".join(terminal_chart(series(rows, key), width, height, title) for key, title in panels)


# --------------------------------------------------------------------------- files


def save_png(rows: Sequence[dict[str, Any]], path: PathLike) -> None:
    """Write a PNG with three panels against epoch: train loss, dev metric, learning rate.

    The dev panel shows ``dev_f1`` if present, else ``dev_accuracy``, else says there is no
    dev set.  The learning rate uses a log axis when it spans more than a factor of 10.

    Raises:
        WintrainError: matplotlib is missing, or the file cannot be written.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise WintrainError('matplotlib is not installed; pip install "wintrain[plot]" to save PNG plots') from None
    epochs = [row.get("epoch", i + 1) for i, row in enumerate(rows)]
    figure = Figure(figsize=(13, 3.6))
    loss_axes, dev_axes, lr_axes = figure.subplots(1, 3)
    _panel(loss_axes, epochs, series(rows, "train_loss"), "train loss")
    dev_key = dev_metric_key(rows)
    if dev_key is None:
        dev_axes.text(0.5, 0.5, "no dev set", ha="center", va="center", transform=dev_axes.transAxes)
        dev_axes.set_title("dev")
    else:
        _panel(dev_axes, epochs, series(rows, dev_key), dev_key.replace("_", " "))
    lr = series(rows, "lr")
    _panel(lr_axes, epochs, lr, "learning rate")
    positive = [v for v in lr if v > 0]
    if positive and max(positive) > 10 * min(positive):
        lr_axes.set_yscale("log")
    figure.tight_layout()
    try:
        figure.savefig(Path(path), dpi=100)
    except OSError as error:
        raise WintrainError(f"{path}: cannot write the plot ({error.strerror or error})") from None


def _panel(axes: Any, epochs: list, values: list[float], title: str) -> None:
    """One line plot with markers, titled, epochs on x."""
    axes.plot(epochs, values, marker="o", markersize=3)
    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.grid(True, alpha=0.3)


def save_lr_curve(rates: Sequence[float], losses: Sequence[float], suggestion: float | None, path: PathLike) -> None:
    """Loss against learning rate (log x axis) with the chosen rate marked, as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise WintrainError('--plot needs matplotlib: pip install "wintrain[plot]"') from None
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(rates, losses, marker="o", markersize=3)
    axes.set_xscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("loss")
    if suggestion is not None:
        axes.axvline(suggestion, color="red", linestyle="--", label=f"chosen {suggestion:.3g}")
        axes.legend()
    figure.tight_layout()
    try:
        figure.savefig(Path(path), dpi=100)
    except OSError as error:
        raise WintrainError(f"{path}: cannot write the plot ({error.strerror})") from None
    finally:
        plt.close(figure)


def save_comparison(runs: Sequence[tuple[str, list[float], list[float]]], metric: str, path: PathLike) -> None:
    """A PNG of two panels against epoch, one line (and marker) per run: ``metric`` and train loss.

    ``runs``: (name, metric per epoch, train loss per epoch) for each run.

    Raises:
        WintrainError: matplotlib is missing, or the file cannot be written.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise WintrainError('matplotlib is not installed; pip install "wintrain[plot]" to save PNG plots') from None
    figure = Figure(figsize=(13, 5))
    metric_axes, loss_axes = figure.subplots(1, 2)
    markers = "os^vD<>pP*Xhd"
    for index, (name, scores, losses) in enumerate(runs):
        style = {"marker": markers[index % len(markers)], "markersize": 4, "label": name}
        metric_axes.plot(range(1, len(scores) + 1), scores, **style)
        loss_axes.plot(range(1, len(losses) + 1), losses, **style)
    for axes, title in ((metric_axes, metric.replace("_", " ")), (loss_axes, "train loss")):
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(True, alpha=0.3)
    loss_axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    try:
        figure.savefig(Path(path), dpi=100)
    except OSError as error:
        raise WintrainError(f"{path}: cannot write the plot ({error.strerror or error})") from None
