"""Random and TPE search over a space, pruning, resuming, and comparing runs side by side."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from wintrain.cli import main
from wintrain.config import load_config
from wintrain.sweep import (
    MedianRule,
    SweepDone,
    parse_space,
    random_trials,
    run_sweep,
    run_trial,
    sweep_plan,
)
from wintrain.sweep.compare import compare, differing_settings, load_runs, normalised

from conftest import error_of

SPACE = ["optimizer.lr=loguniform(1e-3,1e-1)", "model.hidden=choice([4],[8],[6, 4])", "model.dropout=uniform(0,0.5)",
         "train.batch_size=int(8,16)"]


def done(events) -> SweepDone:
    return [event for event in events if isinstance(event, SweepDone)][0]


def comparable(records):
    return [{k: v for k, v in r.items() if k not in ("seconds",)} for r in records]


# --------------------------------------------------------------------------- the space


def test_draws_stay_in_their_ranges_are_reproducible_and_never_repeat():
    space = parse_space(SPACE)
    trials = random_trials(space, 200, seed=4)
    rates = [t["optimizer.lr"] for t in trials]
    assert 1e-3 <= min(rates) and max(rates) <= 1e-1
    assert np.mean(np.log10(rates)) == pytest.approx(-2, abs=0.15)  # uniform in log space
    assert {tuple(t["model.hidden"]) for t in trials} == {(4,), (8,), (6, 4)}
    assert all(0 <= t["model.dropout"] <= 0.5 for t in trials)
    assert {t["train.batch_size"] for t in trials} == set(range(8, 17))
    assert all(isinstance(t["train.batch_size"], int) for t in trials)
    assert random_trials(space, 200, seed=4) == trials
    assert random_trials(space, 200, seed=5) != trials
    assert random_trials(space, 50, seed=4) == trials[:50]  # asking for more goes on from the same draws
    small = parse_space(["model.hidden=choice([4],[8])", "train.batch_size=int(8,10)"])
    every = random_trials(small, 6, seed=0)
    assert len({json.dumps(t, sort_keys=True) for t in every}) == 6


@pytest.mark.parametrize("spec, needle", [
    ("optimizer.lr=loguniform(0,1)", "needs 0 < a < b"),
    ("optimizer.lr=loguniform(1e-2,1e-3)", "needs 0 < a < b"),
    ("model.dropout=uniform(0.5,0.5)", "needs a < b"),
    ("train.batch_size=int(8.5,16)", "whole numbers"),
    ("train.batch_size=int(16,8)", "whole numbers"),
    ("model.hidden=choice()", "at least one value"),
    ("optimizer.lr=normal(0,1)", "expected one of loguniform(...), uniform(...), int(...), choice(...)"),
    ("optimizer.lr=uniform(0)", "needs two numbers"),
    ("optimizer.lr=uniform(a,b)", "needs two numbers"),
    ("optimizer.lr", "expected KEY=DIST"),
])
def test_every_bad_distribution_is_one_line(spec, needle):
    message = error_of(parse_space, [spec])
    assert needle in message and spec.split("=")[0] in message


def test_bad_plans_fail_before_any_trial_runs(tiny_data, tmp_path, capsys):
    config = load_config(tiny_data["config"])
    assert "did you mean 'lr'" in error_of(sweep_plan, config, [], "random", ["optimizer.lrr=uniform(0,1)"], 3, 0)
    assert "needs --trials N" in error_of(sweep_plan, config, [], "random", SPACE, None, 0)
    assert "not both" in error_of(sweep_plan, config, ["loss.l2=0,1"], "random", SPACE, 3, 0)
    assert "go with --search" in error_of(sweep_plan, config, ["loss.l2=0,1"], None, SPACE, None, 0)
    assert "has only 2 distinct settings" in error_of(sweep_plan, config, [], "random",
                                                      ["model.hidden=choice([4],[8])"], 3, 0)
    assert "needs at least one --space" in error_of(sweep_plan, config, [], "random", [], 3, 0)
    assert "already" in error_of(parse_space, ["loss.l2=uniform(0,1)", "loss.l2=uniform(0,2)"])
    with pytest.raises(SystemExit) as stopped:
        main(["sweep", str(tiny_data["config"]), "--search", "random", "--trials", "2", "--space",
              "optimizer.lr=loguniform(0,1)", "--out", str(tmp_path / "sweep")])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "sweep" / "sweep.jsonl").exists()


# --------------------------------------------------------------------------- pruning


def test_the_median_rule_on_a_constructed_history():
    earlier = [{"epochs": [{"epoch": 1, "dev_score": s}, {"epoch": 2, "dev_score": s + 0.1}]}
               for s in (0.5, 0.6, 0.7, 0.8, 0.9)]
    rule = MedianRule.from_records(earlier)
    assert rule.history == {1: [0.5, 0.6, 0.7, 0.8, 0.9], 2: pytest.approx([0.6, 0.7, 0.8, 0.9, 1.0])}
    assert rule(1, 0.65) and not rule(1, 0.75) and not rule(1, 0.7)  # below the median 0.7 only
    assert rule(2, 0.75) and not rule(2, 0.85)
    assert not rule(3, 0.0)  # nobody reached epoch 3 yet
    assert not MedianRule.from_records(earlier[:4])(1, 0.0)  # fewer than 5 earlier trials: no pruning


def test_a_pruned_trial_stops_after_the_epoch_and_says_so(tiny_data):
    config = load_config(tiny_data["config"], ["train.epochs=4"])
    record = run_trial(config.to_dict(), str(config.source), {"loss.l2": 0.0}, None, None,
                       stop_rule=lambda epoch, score: epoch == 2)
    assert record["pruned"] and [row["epoch"] for row in record["epochs"]] == [1, 2]
    assert record["dev_score"] == max(row["dev_score"] for row in record["epochs"])
    assert record["config"]["loss"]["l2"] == 0.0 and record["error"] is None


def test_pruning_in_a_sweep_stops_the_weak_trials(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=3"])
    rates = [0.02, 0.03, 0.015, 0.025, 0.02, 1e-5]  # the last learns nothing in three epochs
    trials = [{"optimizer.lr": rate, "seed": i} for i, rate in enumerate(rates)]
    records = done(run_sweep(config, trials, tmp_path / "sweep", jobs=1, prune=True)).records
    assert [r["pruned"] for r in records] == [False] * 5 + [True]
    assert len(records[-1]["epochs"]) == 1


# --------------------------------------------------------------------------- running a search


def test_random_search_gives_the_same_trials_with_one_or_two_jobs_and_resumes(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=2"])
    space = parse_space(SPACE)

    def search(out, jobs):
        plan, description = sweep_plan(config, [], "random", SPACE, 4, 7)
        return done(run_sweep(config, plan, out, jobs=jobs, search=description)).records

    one, two = search(tmp_path / "one", 1), search(tmp_path / "two", 2)
    assert comparable(one) == comparable(two)
    assert [r["overrides"] for r in one] == random_trials(space, 4, 7)
    log = tmp_path / "one" / "sweep.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:2]) + "\n")  # as if interrupted after two trials
    plan, description = sweep_plan(config, [], "random", SPACE, 4, 7)
    events = list(run_sweep(config, plan, tmp_path / "one", jobs=1, search=description))
    assert events[0].already_done == 2 and events[0].total == 4
    assert comparable(done(events).records) == comparable(one)


def test_tpe_search_with_pruning_and_resume(tiny_data, tmp_path):
    pytest.importorskip("optuna")
    config = load_config(tiny_data["config"], ["train.epochs=2"])
    space = ["optimizer.lr=loguniform(1e-3,1e-1)", "model.hidden=choice([4],[8, 4])"]
    plan, description = sweep_plan(config, [], "tpe", space, 6, 3)
    records = done(run_sweep(config, plan, tmp_path / "tpe", jobs=1, prune=True, search=description)).records
    assert len(records) == 6 and all(r["error"] is None for r in records)
    assert all(1e-3 <= r["overrides"]["optimizer.lr"] <= 1e-1 for r in records)
    assert all(r["overrides"]["model.hidden"] in ([4], [8, 4]) for r in records)
    plan, description = sweep_plan(config, [], "tpe", space, 8, 3)  # eight now: six are known
    events = list(run_sweep(config, plan, tmp_path / "tpe", jobs=1, prune=True, search=description))
    assert events[0].already_done == 6 and len(done(events).records) == 8
    assert plan.study.trials[0].params == plan._params(records[0]["overrides"])  # told, not rerun


# --------------------------------------------------------------------------- compare


def test_compare_shows_only_the_settings_that_differ(tiny_data, tmp_path, capsys, monkeypatch):
    from wintrain import cli
    from wintrain.training.run import train

    train(load_config(tiny_data["config"], ["model.hidden=[8]", "train.epochs=2"]), tmp_path / "small")
    train(load_config(tiny_data["config"], ["model.hidden=[32]", "optimizer.lr=0.02", "train.epochs=3"]),
          tmp_path / "large")
    runs = load_runs([tmp_path / "small", tmp_path / "large"])
    assert differing_settings(runs) == [
        {"model.hidden": [8], "optimizer.lr": 0.01, "train.epochs": 2},
        {"model.hidden": [32], "optimizer.lr": 0.02, "train.epochs": 3},
    ]
    comparison = compare([tmp_path / "small", tmp_path / "large"])
    scores = [row["best"] for row in comparison.rows()]
    assert scores == sorted(scores, reverse=True)
    row = comparison.rows()[0]
    assert row["test"] is not None and row["epochs"] in (2, 3) and row["best_epoch"] >= 1
    monkeypatch.setattr(cli.stdout, "width", 200)
    with pytest.raises(SystemExit) as finished:
        main(["compare", str(tmp_path / "small"), str(tmp_path / "large"), "--png", str(tmp_path / "c.png")])
    out = capsys.readouterr().out
    assert finished.value.code == 0
    assert "model.hidden=[8] optimizer.lr=0.01 train.epochs=2" in out
    assert "dev_score per epoch" in out and "● " in out and "○ " in out  # overlaid, with a legend
    if __import__("importlib").util.find_spec("matplotlib"):
        assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):
        main(["compare", str(tmp_path / "small"), "--metric", "dev_f2"])
    assert "--metric dev_f2: no run records it; choose one of" in capsys.readouterr().err


def test_compare_expands_a_sweep_into_its_trials(tiny_data, tmp_path, capsys):
    config = load_config(tiny_data["config"], ["train.epochs=2"])
    list(run_sweep(config, [{"model.hidden": [4]}, {"model.hidden": [8]}], tmp_path / "sweep", jobs=1))
    comparison = compare([tmp_path / "sweep"])
    assert sorted(run.name for run in comparison.runs) == ["sweep/trial-0", "sweep/trial-1"]
    assert sorted(s["model.hidden"][0] for s in comparison.settings) == [4, 8]
    assert all(len(run.rows) == 2 and not math.isnan(run.series("dev_score")[0]) for run in comparison.runs)
    with pytest.raises(SystemExit):
        main(["compare", str(tmp_path / "sweep"), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == [run.name for run in comparison.runs]
    assert "neither a run folder" in error_of(compare, [tmp_path])


def test_compare_a_run_folder_with_a_sweep_of_the_same_config_shows_only_the_swept_key(tiny_data, tmp_path):
    from wintrain.training.run import train

    config = load_config(tiny_data["config"], ["train.epochs=1"])
    train(config.model_copy(deep=True), tmp_path / "run")
    list(run_sweep(config, [{"loss.l2": 0.0}, {"loss.l2": 1e-4}], tmp_path / "grid", jobs=1))
    runs = load_runs([tmp_path / "run", tmp_path / "grid"])
    assert [run.name for run in runs] == ["run", "grid/trial-0", "grid/trial-1"]
    assert differing_settings(runs) == [{"loss.l2": 0.0}, {"loss.l2": 0.0}, {"loss.l2": 1e-4}]
    # the trials store the config as a run folder stores it, and the scheme training resolved
    assert runs[1].config["data"] == runs[0].config["data"]
    assert normalised(runs[1].config)["data"]["tag_column"] == -1 and runs[1].config["data"]["scheme"] == "iob2"


def test_compare_fills_defaults_and_the_tag_column_before_diffing(tiny_data):
    from wintrain.sweep.compare import RunView, normalised

    written = load_config(tiny_data["config"]).to_dict()
    resolved = json.loads(json.dumps(written))
    resolved["data"]["tag_column"] = -1
    sparse = {"data": {"train": written["data"]["train"]}, "optimizer": {"name": "sparse_adam", "lr": 0.02}}
    assert normalised(written) == resolved
    assert normalised(sparse)["data"]["tag_column"] == -1 and normalised(sparse)["features"] == resolved["features"]
    conllu = {"data": {"train": "/x/train.conllu.gz"}}
    assert normalised(conllu)["data"]["tag_column"] == "upos"
    assert normalised({"model": {"hidden": [4]}}) == {"model": {"hidden": [4]}}  # an old record's overrides
    runs = [RunView("a", written), RunView("b", resolved), RunView("c", {**resolved, "seed": 4})]
    assert differing_settings(runs) == [{"seed": 3}, {"seed": 3}, {"seed": 4}]
