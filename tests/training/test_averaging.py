"""The parameters' moving average (optimizer.ema_decay): the lazy row average equals the dense
formula, the estimate is bias-corrected, evaluation and best.npz use it, resume keeps it."""

from __future__ import annotations

import numpy as np
import pytest

from wintrain.checkpoint import load_checkpoint
from wintrain.config import load_config
from wintrain.evaluation.evaluate import evaluate_checkpoint
from wintrain.nn.layers import Parameter
from wintrain.training.optimizers import OPTIMIZERS
from wintrain.training.run import train

from conftest import train_whole_and_interrupted

DECAY = 0.9


def reference_average(history: list[np.ndarray], decay: float) -> np.ndarray:
    """â_t = Σ_s (1−d) d^{t−s} θ_s / (1 − d^t), from every step's value (float64)."""
    t = len(history)
    total = sum((1 - decay) * decay ** (t - s) * value.astype(np.float64) for s, value in enumerate(history, 1))
    return total / (1 - decay**t)


@pytest.mark.parametrize("name, params", [("sparse_adam", {}), ("adagrad", {}), ("sgd", {}),
                                          ("sgd", {"momentum": 0.9}), ("adam", {}), ("rmsprop", {})])
def test_the_average_of_tables_and_dense_parameters_follows_the_formula(name, params):
    rng = np.random.default_rng(0)
    table = Parameter("embed.word", rng.normal(size=(12, 3)).astype(np.float32), sparse=True)
    weight = Parameter("hidden.W", rng.normal(size=(3, 2)).astype(np.float32), decay=True)
    optimizer = OPTIMIZERS.build(name, params, params=[table, weight])
    optimizer.ema_decay = DECAY
    tables, weights = [], []
    for step in range(25):
        rows = np.unique(rng.integers(0, 8, size=3)) if step % 5 != 4 else np.zeros(0, np.int64)  # rows 8–11 never
        table.rows, table.grad = rows, rng.normal(size=(len(rows), 3)).astype(np.float32)
        weight.grad = rng.normal(size=(3, 2)).astype(np.float32)
        optimizer.step(0.05)
        tables.append(table.value.copy())
        weights.append(weight.value.copy())
    last_table, last_weight = table.value.copy(), weight.value.copy()
    with optimizer.averaged():
        np.testing.assert_allclose(table.value, reference_average(tables, DECAY), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(weight.value, reference_average(weights, DECAY), rtol=1e-5, atol=1e-6)
        assert not np.array_equal(weight.value, last_weight)
    assert np.array_equal(table.value, last_table) and np.array_equal(weight.value, last_weight)  # restored


def test_the_average_is_off_by_default_and_changes_nothing():
    weight = Parameter("w", np.ones((2, 2), np.float32))
    optimizer = OPTIMIZERS.build("adam", {}, params=[weight])
    weight.grad = np.ones((2, 2), np.float32)
    optimizer.step(0.1)
    after_step = weight.value.copy()
    with optimizer.averaged():
        assert np.array_equal(weight.value, after_step)
    assert "ema" not in optimizer.state["w"]


def test_with_one_step_the_estimate_is_that_steps_value():
    weight = Parameter("w", np.ones(3, np.float32))
    optimizer = OPTIMIZERS.build("sgd", {}, params=[weight])
    optimizer.ema_decay = 0.999
    weight.grad = np.array([1.0, 2.0, 3.0], np.float32)
    optimizer.step(0.1)
    with optimizer.averaged():  # bias-corrected: the zero start carries no weight
        np.testing.assert_allclose(weight.value, [0.9, 0.8, 0.7], rtol=1e-5)


def test_best_checkpoint_holds_the_average_and_reproduces_the_dev_score(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=2", "optimizer.ema_decay=0.99"])
    summary = train(config, tmp_path / "run")
    best = load_checkpoint(tmp_path / "run" / "best.npz").model_arrays
    last = load_checkpoint(tmp_path / "run" / "last.npz")
    assert summary["best_epoch"] == 2
    assert not np.array_equal(best["hidden1.W"], last.model_arrays["hidden1.W"])  # the average, not the weights
    assert "hidden1.W/ema" in last.optimizer_arrays and "embed.word/ema_step" in last.optimizer_arrays
    metrics = evaluate_checkpoint(tmp_path / "run" / "best.npz", tiny_data["dev"])
    assert metrics["entity"]["f1"] == summary["dev"]["entity"]["f1"]
    assert metrics["accuracy"] == summary["dev"]["accuracy"]


def test_resume_inside_an_epoch_is_bit_identical_with_the_average(tiny_data, tmp_path):
    options = ["train.epochs=3", "train.batch_size=12", "optimizer.ema_decay=0.95"]
    whole_run, cut_run = train_whole_and_interrupted(tiny_data["config"], options, tmp_path)
    for name in ("last.npz", "best.npz"):
        whole = load_checkpoint(whole_run / name)
        cut = load_checkpoint(cut_run / name)
        for group in ("model_arrays", "optimizer_arrays"):
            a, b = getattr(whole, group), getattr(cut, group)
            assert set(a) == set(b), (name, group)
            for key, value in a.items():
                assert np.array_equal(value, b[key]), (name, key)
