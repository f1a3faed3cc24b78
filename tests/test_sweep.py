"""Sweeps: grids, the LR grid and range test, resuming, failures, parallel and Dask trials."""

import json
import math

import pytest

from wintrain.config import load_config
from wintrain.errors import WintrainError
from wintrain.sweep import (
    SweepDone,
    TrialDone,
    best_trial,
    grid,
    lr_grid,
    parse_grid,
    range_test,
    run_sweep,
    smooth,
    suggest,
)


def records_of(events):
    done = [e for e in events if isinstance(e, SweepDone)]
    assert len(done) == 1
    return done[0]


def comparable(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_lr_grid_has_one_point_per_decade_including_the_lectures_start():
    assert lr_grid() == [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    assert lr_grid(1e-3, 1e-1, per_decade=2) == pytest.approx([1e-3, 10**-2.5, 1e-2, 10**-1.5, 1e-1])
    with pytest.raises(WintrainError):
        lr_grid(1.0, 0.1)


def test_grid_is_the_cartesian_product_with_yaml_values():
    axes = parse_grid(["loss.l2=0,1e-5", "model.activation=tanh,relu,gelu"])
    trials = grid(axes)
    assert len(trials) == 6
    assert trials[0] == {"loss.l2": 0, "model.activation": "tanh"} and trials[-1]["loss.l2"] == 1e-5
    with pytest.raises(WintrainError, match="KEY=V1,V2"):
        parse_grid(["loss.l2"])


def test_best_trial_prefers_score_then_the_larger_rate():
    def record(lr, score, diverged=False):
        return {"overrides": {"optimizer.lr": lr}, "dev_score": score, "diverged": diverged, "error": None}

    records = [record(0.001, 0.8), record(0.01, 0.8), record(0.1, 0.9, diverged=True)]
    assert best_trial(records, "optimizer.lr")["overrides"]["optimizer.lr"] == 0.01


def test_smoothing_is_a_bias_corrected_moving_average():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    # a1 = 0.02·1 → s1 = 1;  a2 = 0.98·0.02 + 0.02·3 = 0.0796 → s2 = 0.0796 / (1 − 0.98²)
    assert smooth([1.0, 3.0]) == pytest.approx([1.0, 0.0796 / (1 - 0.98**2)])


def test_suggestion_is_the_steepest_descent_and_ignores_a_non_finite_tail():
    rates = [10 ** (k / 4) for k in range(-28, 5)]
    losses = [2.0 - math.tanh(math.log10(r) + 3) for r in rates[:-3]] + [math.inf] * 3
    suggestion, rule = suggest(rates, losses)
    assert suggestion == pytest.approx(1e-3) and "steepest" in rule


def test_sweep_records_failures_goes_on_and_resumes(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=1"])
    trials = [{"optimizer.lr": 0.01}, {"model.activation": "nonsense"}, {"optimizer.lr": 0.001}]
    first = records_of(list(run_sweep(config, trials, tmp_path)))
    assert [r["error"] is not None for r in first.records] == [False, True, False]
    assert "nonsense" in first.records[1]["error"]
    lines = (tmp_path / "sweep.jsonl").read_text().splitlines()
    assert len(lines) == 3
    # resume: finished trials are skipped; only the failed one runs again
    events = list(run_sweep(config, trials, tmp_path))
    assert [e.record["overrides"] for e in events if isinstance(e, TrialDone)] == [{"model.activation": "nonsense"}]
    assert comparable(records_of(events).records) == comparable(first.records)
    # fail-fast stops at the failing trial
    stopped = records_of(list(run_sweep(config, trials, tmp_path / "ff", fail_fast=True)))
    assert len(stopped.records) == 2


@pytest.mark.slow
def test_two_processes_give_the_same_results_as_one(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=1"])
    trials = [{"optimizer.lr": lr} for lr in lr_grid(1e-3, 1e-1)]
    serial = records_of(list(run_sweep(config, trials, tmp_path / "serial")))
    parallel = records_of(list(run_sweep(config, trials, tmp_path / "parallel", jobs=2)))
    assert comparable(serial.records) == comparable(parallel.records)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_table(tiny_data, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    config = load_config(tiny_data["config"], ["train.epochs=1"])
    trials = [{"optimizer.lr": 0.003}, {"optimizer.lr": 0.03}]
    local = records_of(list(run_sweep(config, trials, tmp_path / "local")))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        remote = records_of(list(run_sweep(config, trials, tmp_path / "dask", scheduler=cluster.scheduler_address)))
    assert comparable(local.records) == comparable(remote.records)


def test_range_test_suggests_a_finite_rate_and_leaves_nothing_behind(tiny_data):
    config = load_config(tiny_data["config"])
    result = range_test(config, 1e-5, 10.0, steps=60)
    assert len(result.rates) == len(result.losses) == len(result.smoothed) <= 60
    assert result.rates[0] == pytest.approx(1e-5)
    assert result.suggestion is not None and 1e-5 < result.suggestion < 10


@pytest.mark.slow
def test_sweep_lr_cli_writes_the_chosen_config(tiny_data, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "chosen.yaml"
    result = subprocess.run([sys.executable, "-m", "wintrain", "sweep-lr", str(tiny_data["config"]), "--jobs", "1",
                             "--min", "0.001", "--max", "0.1", "--out", str(tmp_path / "sw"), "--write-config",
                             str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    chosen = load_config(out).optimizer.lr
    rows = [json.loads(line) for line in (tmp_path / "sw" / "sweep.jsonl").read_text().splitlines()]
    best = max(rows, key=lambda r: (r["dev_score"] or -1, r["overrides"]["optimizer.lr"]))
    assert chosen == best["overrides"]["optimizer.lr"]
    assert f"chosen lr: {chosen:g}" in result.stdout


def test_grid_values_may_be_lists_and_typos_stop_the_sweep(tiny_data, tmp_path):
    from wintrain.sweep import split_values

    assert split_values("[50],[20, 10],'a,b'") == ["[50]", "[20, 10]", "'a,b'"]
    assert grid(parse_grid(["model.hidden=[50],[20,10]"])) == [{"model.hidden": [50]}, {"model.hidden": [20, 10]}]
    config = load_config(tiny_data["config"], ["train.epochs=1"])
    with pytest.raises(WintrainError, match="did you mean 'epochs'"):
        list(run_sweep(config, [{"train.epocs": 2}], tmp_path))


def test_sweep_lr_whose_every_trial_fails_is_one_line_and_exit_2(tiny_data, tmp_path, capsys):
    from wintrain.cli import main

    tiny_data["train"].unlink()  # the same user error in every trial
    with pytest.raises(SystemExit) as finished:
        main(["sweep-lr", str(tiny_data["config"]), "--jobs", "1", "--out", str(tmp_path / "sw")])
    assert finished.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: every trial failed; the first: ") and err.count("\n") == 1
    assert f"{tiny_data['train']}: " in err
    rows = [json.loads(line) for line in (tmp_path / "sw" / "sweep.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and all(row["error"] for row in rows)


def test_only_a_sweep_whose_every_trial_failed_with_an_error_is_refused():
    from wintrain.sweep import check_some_trial_ran

    def record(error=None, diverged=False):
        return {"overrides": {}, "error": error, "diverged": diverged, "dev_score": None}

    check_some_trial_ran(None)
    check_some_trial_ran(SweepDone([], None))
    check_some_trial_ran(SweepDone([record(diverged=True), record(diverged=True)], None))  # diverged: a result
    check_some_trial_ran(SweepDone([record("a: no such file"), record(diverged=True)], None))
    with pytest.raises(WintrainError) as refused:
        check_some_trial_ran(SweepDone([record("a: no such file"), record("b: bad")], None))
    assert str(refused.value) == "every trial failed; the first: a: no such file"


def test_trials_record_the_steps_and_the_fraction_of_an_epoch_they_ran(tiny_data, tmp_path):
    from wintrain.training.trainer import prepare

    config = load_config(tiny_data["config"], ["train.epochs=1"])
    per_epoch = prepare(load_config(tiny_data["config"])).steps_per_epoch
    assert per_epoch > 3
    short = records_of(list(run_sweep(config, [{"optimizer.lr": 0.01}], tmp_path / "short", steps=3))).records[0]
    assert short["steps"] == 3 and short["epochs_run"] == pytest.approx(3 / per_epoch, abs=1e-4)
    assert short["epochs"] == [] and short["dev_score"] is not None  # scored, though no epoch finished
    whole = records_of(list(run_sweep(config, [{"optimizer.lr": 0.01}], tmp_path / "whole"))).records[0]
    assert whole["steps"] == per_epoch and whole["epochs_run"] == 1.0 and len(whole["epochs"]) == 1


def test_tune_help_examples_name_shipped_configs_whose_data_is_shipped():
    import re

    from wintrain.cli import tune

    from conftest import REPO

    examples = [line for command in (tune.sweep_lr, tune.sweep, tune.compare)
                for line in (command.__doc__ or "").partition("Examples:")[2].splitlines()]
    named = {match for line in examples for match in re.findall(r"configs/[\w.-]+\.yaml", line)}
    assert named and "configs/quickstart.yaml" in named
    for name in named:
        config = load_config(REPO / name)
        assert config.data.train.exists(), name
        assert config.embeddings.path is None or config.embeddings.path.exists(), name
