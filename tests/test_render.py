"""The renderers: the rich view (a forced terminal) and the plain log view of the same events."""

from __future__ import annotations

import io
import math
from pathlib import Path

from rich.console import Console

from wintrain.config import load_config
from wintrain.render import render, render_range_test, render_sweep
from wintrain.sweep import RangeTest, SweepDone, SweepStarted, TrialDone
from wintrain.training.events import RunInterrupted, StopRequest
from wintrain.training.run import run


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=120, color_system=None), buffer


def test_rich_view_shows_the_run_the_epoch_table_and_the_summary(tiny_data, tmp_path):
    screen, buffer = console(terminal=True)
    summary = render(run(load_config(tiny_data["config"]), tmp_path / "run"), screen)
    text = buffer.getvalue()
    assert summary["best_epoch"] >= 1
    assert "run folder:" in text and "epochs" in text and "dev F1" in text
    assert "test (best epoch): entity F1 = " in text
    assert f"wintrain eval {tmp_path / 'run' / 'best.npz'} --data FILE" in text
    assert "\x1b[" in text  # drawn as a terminal (cursor movement of the live bars)


def test_plain_view_has_one_line_per_epoch(tiny_data, tmp_path):
    screen, buffer = console(terminal=False)
    render(run(load_config(tiny_data["config"]), tmp_path / "run"), screen)
    lines = buffer.getvalue().splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1", "epoch 2", "epoch 3"]
    assert all("train_loss=" in line and "dev F1=" in line for line in epochs)
    assert "\x1b[" not in buffer.getvalue()


def test_an_interrupted_run_says_how_to_resume(tiny_data, tmp_path):
    stop = StopRequest()
    stop(2)  # as if Ctrl-C came during the first epoch
    for terminal in (True, False):
        screen, buffer = console(terminal)
        folder = tmp_path / f"run-{terminal}"
        outcome = render(run(load_config(tiny_data["config"]), folder, stop=stop), screen)
        assert outcome == {"interrupted": True}
        assert f"Resume with: wintrain train --resume {folder}" in buffer.getvalue()


def test_sweep_view_lists_trials_the_table_and_the_best():
    records = [
        {"overrides": {"optimizer.lr": 0.01}, "train_loss": 0.5, "dev_score": 0.8, "score": "entity_f1",
         "diverged": False, "error": None, "seconds": 1.0},
        {"overrides": {"optimizer.lr": 1.0}, "train_loss": math.nan, "dev_score": None, "score": None,
         "diverged": True, "error": None, "seconds": 1.0},
    ]
    events = [SweepStarted(2, 0, Path("out")), TrialDone(0, records[0], 1, 2), TrialDone(1, records[1], 2, 2),
              SweepDone(records, records[0])]
    screen, buffer = console(terminal=False)
    done = render_sweep(iter(events), screen)
    text = buffer.getvalue()
    assert done is events[-1]
    assert "[1/2] optimizer.lr=0.01: loss 0.5000  dev entity_f1 80.00" in text
    assert "[2/2] optimizer.lr=1.0: diverged" in text
    assert "best: optimizer.lr=0.01 (dev 80.00)" in text


def test_range_test_view_names_the_suggestion():
    result = RangeTest([1e-4, 1e-3, 1e-2], [2.0, 1.0, 5.0], [2.0, 1.5, 2.5], 1e-3, "steepest descent")
    screen, buffer = console(terminal=False)
    render_range_test(result, screen)
    assert "suggested lr: 0.001 (steepest descent)" in buffer.getvalue()


def test_interrupted_event_line():
    from wintrain.render import interrupted_line

    assert interrupted_line(RunInterrupted(Path("r"), 2, 3, 10)) == (
        "interrupted at epoch 3, step 10; last.npz saved. Resume with: wintrain train --resume r")


# ----------------------------------------------------------------------------- predict


def test_predict_progress_lines_and_summary():
    import io

    from rich.console import Console

    from wintrain.evaluation.stream import Stats
    from wintrain.render import PredictProgress, predict_line, predict_summary

    stats = Stats(files=4, done=1, skipped=1, bytes_total=2_000_000, bytes_done=500_000, lines=1234, tokens=250_000,
                  seconds=10.0)
    assert predict_line(stats) == ("predict: 250,000 tokens, 25% of 2.0 MB, 2/4 files, 0:10 elapsed, "
                                   "25,000 tokens/s, eta 0:30")
    stats.bytes_total = None
    assert predict_line(stats) == "predict: 250,000 tokens, 1,234 lines, 2/4 files, 0:10 elapsed, 25,000 tokens/s"
    assert predict_summary(stats) == "predict: 250,000 tokens in 10.0 s (25,000 tokens/s)"
    assert predict_summary(stats, "out") == ("predict: 4 files: 1 done, 1 skipped (already done), 0 failed; "
                                             "250,000 tokens in 10.0 s (25,000 tokens/s); output in out")
    log = io.StringIO()
    progress = PredictProgress(Console(file=log, width=200), interval=0.0)
    progress(stats)
    progress(stats)
    progress.close()
    assert progress.shown and log.getvalue().splitlines() == [predict_line(stats)] * 2
    quiet = PredictProgress(Console(file=io.StringIO()), interval=3600)
    quiet(stats)
    assert not quiet.shown
    screen, buffer = console(terminal=True)
    bar = PredictProgress(screen, refresh=0.0)
    stats.bytes_total = 2_000_000
    bar(stats)
    bar.close()
    assert bar.shown and "500.0 kB/2.0 MB, 2/4 files" in buffer.getvalue() and "25,000 tok/s" in buffer.getvalue()
