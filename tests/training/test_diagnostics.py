"""The diagnostics every epoch measures, and the lecture's advice they trigger."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from wintrain.config import load_config
from wintrain.nn.activations import ACTIVATIONS
from wintrain.training import diagnostics
from wintrain.training.events import EpochDone
from wintrain.training.run import run, train

from conftest import REPO, train_whole_and_interrupted

SYNTHETIC = REPO / "tests" / "configs" / "synthetic.yaml"
QUICKSTART = REPO / "configs" / "quickstart.yaml"


def advice_of(config_file, options, tmp_path) -> tuple[list[EpochDone], dict]:
    events = list(run(load_config(config_file, options), tmp_path / "run"))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    return [e for e in events if isinstance(e, EpochDone)], summary


def kinds(summary: dict) -> set[str]:
    return {item["kind"] for item in summary["advice"]}


@pytest.mark.slow
def test_relu_with_a_learning_rate_far_too_high_gets_the_dead_unit_advice(tmp_path):
    # the run: plain SGD at lr 2 kills a large share of the ReLU units of the quickstart model
    epochs, summary = advice_of(QUICKSTART, ["model.activation=relu", "optimizer.name=sgd", "optimizer.lr=2.0",
                                             "train.epochs=2", "data.test=null"], tmp_path)
    dead = epochs[0].record["diagnostics"]["layers"]["hidden1"]["dead"]
    assert dead > 0.3
    assert any(line.startswith(f"{100 * dead:.0f} % of the units of hidden1 are dead after epoch 1 (relu")
               and "lower optimizer.lr, or try leaky_relu" in line for line in epochs[0].advice)
    assert kinds(summary) == {"dead_units", "update_high"}  # lr 2 is also far too high for the weight matrices
    assert all(item["epoch"] == 1 for item in summary["advice"])
    assert not epochs[1].advice  # each advice once per run


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_a_very_large_initialisation_saturates_and_gets_the_saturation_advice(tmp_path, activation):
    epochs, summary = advice_of(SYNTHETIC, [f"model.activation={activation}", "model.init={name: uniform, r: 8.0}",
                                            "train.epochs=1"], tmp_path)
    layer = epochs[0].record["diagnostics"]["layers"]["hidden1"]
    assert layer["activation"] == activation and layer["saturated"] > 0.5 and layer["dead"] is None
    assert "saturated" in kinds(summary)
    assert any(f"{activation} units of hidden1 saturated on" in line and "initial weights too large (model.init)"
               in line for line in epochs[0].advice)


@pytest.mark.parametrize("loss, batch", [("cross_entropy", 64), ("sll", 1024)])
def test_a_healthy_run_gets_no_advice_and_its_diagnostics_are_finite(tmp_path, loss, batch):
    # with the sentence-level loss the transitions grow from zero: with few steps an epoch their first updates
    # are large next to their own norm (ratio up to ~0.3 in epoch 1), which is no sign of a rate too high
    options = ["train.epochs=2", "model.hidden=[40, 20]", "model.activation=leaky_relu", f"loss.name={loss}",
               f"train.batch_size={batch}"]
    epochs, summary = advice_of(SYNTHETIC, options, tmp_path)
    assert summary["advice"] == [] and all(not e.advice for e in epochs)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert 0 <= rows[0]["train_score"] < rows[-1]["train_score"] <= 1.0
    for row in rows:
        layers, params = row["diagnostics"]["layers"], row["diagnostics"]["params"]
        transitions = {"sll.transitions"} if loss == "sll" else set()
        assert set(layers) == {"hidden1", "hidden2"} and set(params) == {
            "embed.word", "embed.casing", "hidden1.W", "hidden2.W", "output.W", *transitions}
        for name in transitions:
            assert params[name]["from_zero"] == (row["epoch"] == 1) and params[name]["matrix"]
            params.pop(name)
        for layer in layers.values():
            assert layer["activation"] == "leaky_relu" and layer["saturated"] is None and 0 <= layer["dead"] < 0.25
            assert all(math.isfinite(layer[key]) for key in ("pre_mean", "pre_std", "act_mean", "act_std"))
        for name, param in params.items():
            assert param["matrix"] == name.endswith(".W") and not param["from_zero"]
            numbers = [key for key in param if key not in ("matrix", "from_zero")]
            assert all(math.isfinite(param[key]) and param[key] > 0 for key in numbers)
            assert 1e-5 < param["update_ratio"] <= param["update_ratio_max"] < 0.1
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "train_score" in header and "diagnostics.layers.hidden1.dead" in header
    assert "diagnostics.params.hidden1.W.update_ratio" in header


@pytest.mark.parametrize("optimizer, lr, kind", [("adam", 3.0, "update_high"), ("adam", 1e-7, "update_low")])
def test_a_learning_rate_far_too_high_or_too_small_gets_the_update_ratio_advice(tmp_path, optimizer, lr, kind):
    options = [f"optimizer.name={optimizer}", f"optimizer.lr={lr}", "train.epochs=1", "optimizer.clip_norm=1.0"]
    epochs, summary = advice_of(SYNTHETIC, options, tmp_path)
    assert kind in kinds(summary)
    subjects = {item["subject"] for item in summary["advice"] if item["kind"] == kind}
    assert "hidden1.W" in subjects
    measured = epochs[0].record["diagnostics"]["params"]["hidden1.W"]
    ratio = measured["update_ratio_max"] if kind == "update_high" else measured["update_ratio"]
    assert (ratio > 0.1) if kind == "update_high" else (ratio < 1e-5)
    too = "too high" if kind == "update_high" else "too low"
    assert any(f"update/weight ratio {ratio:.2g} for hidden1.W: optimizer.lr ({lr:g}) is {too}" in line
               for line in epochs[0].advice)


@pytest.mark.slow
def test_no_regularisation_long_on_a_small_corpus_gets_the_overfitting_advice(tmp_path):
    lines = (REPO / "data" / "synthetic" / "train.txt").read_text().splitlines()[:1500]
    (tmp_path / "small.txt").write_text("\n".join(lines) + "\n\n")
    options = [f"data.train={tmp_path / 'small.txt'}", "train.epochs=12", "model.dropout=0", "loss.l2=0",
               "model.hidden=[300]", "embeddings.path=null", "optimizer.lr=0.003", "data.test=null"]
    epochs, summary = advice_of(SYNTHETIC, options, tmp_path)
    assert kinds(summary) == {"overfitting"}
    given = next(e for e in epochs if e.advice)
    record = given.record
    assert record["train_score"] - record["dev_score"] > 0.3
    assert given.advice[0].startswith(f"train entity_f1 {100 * record['train_score']:.1f} vs dev "
                                      f"{100 * record['dev_score']:.1f} and the gap is widening")


def test_weights_initialised_far_too_small_get_the_tiny_activation_advice_before_the_first_epoch(tmp_path):
    epochs, summary = advice_of(SYNTHETIC, ["model.init={name: uniform, r: 0.0005}", "train.epochs=1"], tmp_path)
    tiny = [item for item in summary["advice"] if item["kind"] == "tiny_activations"]
    assert [(item["epoch"], item["subject"]) for item in tiny] == [(0, "hidden1")]
    assert epochs[0].advice[0].startswith("the activations of hidden1 hardly vary at initialisation (std 0.00")


def test_diagnostics_off_measure_nothing(tmp_path):
    train(load_config(SYNTHETIC, ["train.epochs=1", "train.diagnostics=false"]), tmp_path / "run")
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert "train_score" not in row and "diagnostics" not in row


def test_resume_with_diagnostics_is_bit_identical_diagnostics_included(tmp_path):
    options = ["train.epochs=3", "model.hidden=[20]", "train.batch_size=512"]  # a progress event every step
    whole, cut = train_whole_and_interrupted(SYNTHETIC, options, tmp_path)
    rows = [[json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
            for folder in (whole, cut)]
    timing = ("epoch_seconds", "tokens_per_second")
    for one, other in zip(*rows):
        assert {k: v for k, v in one.items() if k not in timing} == {k: v for k, v in other.items() if k not in timing}
    with np.load(whole / "last.npz") as a, np.load(cut / "last.npz") as b:
        assert all(np.array_equal(a[key], b[key]) for key in a.files if key.startswith(("model/", "optimizer/")))


def test_a_resume_inside_the_first_epoch_keeps_the_advice_and_gives_each_once(tmp_path):
    # tiny initial weights: advice before the first epoch (and the same kind again after it); the SLL
    # transitions grow from zero in epoch 1 (not judged there)
    options = ["train.epochs=2", "model.hidden=[20]", "train.batch_size=1024", "loss.name=sll",
               "model.init={name: uniform, r: 0.00001}"]
    whole, cut = train_whole_and_interrupted(SYNTHETIC, options, tmp_path, cut_epoch=1, cut_step=1)
    summaries = [json.loads((folder / "summary.json").read_text()) for folder in (whole, cut)]
    assert summaries[0]["advice"] == summaries[1]["advice"]
    keys = [(item["kind"], item["subject"]) for item in summaries[0]["advice"]]
    assert ("tiny_activations", "hidden1") in keys and len(keys) == len(set(keys))
    assert all(item["epoch"] == 0 for item in summaries[0]["advice"] if item["kind"] == "tiny_activations")
    rows = [[json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
            for folder in (whole, cut)]
    assert [row["diagnostics"]["params"]["sll.transitions"]["from_zero"] for row in rows[1]] == [True, False]
    assert [row["diagnostics"] for row in rows[0]] == [row["diagnostics"] for row in rows[1]]


def test_saturation_and_dead_shares_by_hand():
    pre = np.array([[-3.0, 0.5, 2.0], [-2.0, -0.5, 8.0]])
    assert diagnostics.dead_share("relu", pre) == pytest.approx(1 / 3)  # unit 0 never positive
    assert diagnostics.dead_share("tanh", pre) is None
    tanh = np.tanh(pre)
    assert diagnostics.saturated_share("tanh", pre, tanh) == pytest.approx(2 / 6)  # |z| ≥ 3: 1 − tanh² < 0.01
    assert diagnostics.saturated_share("hardtanh", pre, np.clip(pre, -1, 1)) == pytest.approx(4 / 6)
    assert diagnostics.saturated_share("relu", pre, pre) is None
    every = set(diagnostics.SATURATING) | set(diagnostics.RECTIFYING)
    assert every == set(ACTIVATIONS.names())  # every nonlinearity is watched one way or the other
