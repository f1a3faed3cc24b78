"""Tests for wintrain.plot: text charts and PNG output."""

from __future__ import annotations

import math

import pytest

from wintrain.errors import WintrainError
from wintrain.plot import run_charts, save_png, series, terminal_chart
from wintrain.runfolder import dev_metric_key

ROWS = [
    {"epoch": 1, "lr": 0.01, "train_loss": 0.9, "dev_accuracy": 0.7, "dev_f1": 0.5},
    {"epoch": 2, "lr": 0.005, "train_loss": 0.4, "dev_accuracy": 0.8, "dev_f1": 0.6},
    {"epoch": 3, "lr": 0.001, "train_loss": 0.3, "dev_accuracy": 0.85, "dev_f1": 0.7, "note": "late key"},
]


def test_series_and_dev_metric_key():
    assert dev_metric_key(ROWS) == "dev_f1"
    assert dev_metric_key([{"dev_accuracy": 0.5}]) == "dev_accuracy"
    assert dev_metric_key([{"train_loss": 1.0}]) is None
    values = series(ROWS, "note")
    assert all(math.isnan(v) for v in values)
    assert series(ROWS, "train_loss") == [0.9, 0.4, 0.3]


# --------------------------------------------------------------------------- terminal_chart


def test_chart_shape_title_and_axis_labels():
    chart = terminal_chart([3.0, 1.0, 2.0, 0.5], width=30, height=6, title="train loss")
    lines = chart.split("\n")
    assert lines[0] == "train loss"
    assert len(lines) == 1 + 6 + 2
    grid = lines[1:7]
    assert len({len(line) for line in grid}) == 1
    assert grid[0].startswith("  3 ┤●")  # the maximum, first epoch, top row
    assert grid[-1].startswith("0.5 ┤") and grid[-1].endswith("●")  # the minimum, last epoch
    assert chart.count("●") == 4
    assert lines[-2].endswith("└" + "─" * 30)
    assert lines[-1].strip().startswith("1") and lines[-1].strip().endswith("4") and "epoch" in lines[-1]
    assert "trial" in terminal_chart([1.0, 2.0], width=30, height=4, x_label="trial").split("\n")[-1]


def test_chart_of_one_point_constant_series_and_nan():
    one = terminal_chart([0.25], width=10, height=4)
    assert one.count("●") == 1 and "0.25" in one
    flat = terminal_chart([2.0, 2.0, 2.0], width=10, height=4)
    assert flat.count("●") == 3 and len(flat.split("\n")) == 6
    gap = terminal_chart([1.0, math.nan, 3.0, math.inf], width=12, height=4)
    assert gap.count("●") == 2 and "·" not in gap  # no line across the gap
    assert "no finite values" in terminal_chart([math.nan, math.nan], width=20, height=4)
    with pytest.raises(WintrainError):
        terminal_chart([1.0], width=1, height=4)


def test_run_charts_has_three_panels():
    text = run_charts(ROWS, width=20, height=4)
    assert [block.split("\n")[0] for block in text.split("\n\n")] == ["train loss", "dev f1", "learning rate"]
    assert "dev" not in run_charts([{"epoch": 1, "lr": 0.1, "train_loss": 1.0}], width=20, height=4)


# --------------------------------------------------------------------------- files


def test_png_has_three_panels(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    save_png(ROWS, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    save_png([{"epoch": 1, "lr": 0.1, "train_loss": 1.0}], tmp_path / "no_dev.png")
    assert (tmp_path / "no_dev.png").stat().st_size > 0


def test_png_without_matplotlib_says_how_to_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(WintrainError, match=r'pip install "wintrain\[plot\]"'):
        save_png(ROWS, tmp_path / "x.png")
