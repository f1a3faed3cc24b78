"""The optimised training step equals the straightforward one it replaced (tests/training/reference_step.py)
on random data, parameters and optimizer moments, to float32 rounding."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import wintrain.nn.layers as layers
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier
from wintrain.training.optimizers import OPTIMIZERS

_spec = importlib.util.spec_from_file_location("reference_step", Path(__file__).with_name("reference_step.py"))
assert _spec is not None and _spec.loader is not None
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def model(seed: int = 3) -> WindowClassifier:
    rng = np.random.default_rng(seed)
    spec = ModelSpec(window_size=5, n_classes=9, hidden=[40], activation="tanh")
    tables = [FeatureTable("word", rng.normal(size=(300, 16)).astype(np.float32)),
              FeatureTable("casing", rng.normal(size=(8, 4)).astype(np.float32))]
    return WindowClassifier(spec, tables, np.random.default_rng(seed), np.float32)


def random_moments(optimizer, params, rng) -> None:
    """Both optimizers start from the same random state: steps, and m, v for every parameter."""
    arrays = {"steps": np.array(17)}
    for param in params:
        arrays[f"{param.name}/m"] = rng.normal(scale=1e-2, size=param.value.shape).astype(np.float32)
        arrays[f"{param.name}/v"] = rng.uniform(1e-6, 1e-3, size=param.value.shape).astype(np.float32)
    optimizer.load_state_arrays(arrays)


@pytest.mark.parametrize("name", ["sparse_adam", "adam", "adamw", "sgd", "rmsprop", "adagrad"])
def test_the_optimised_step_equals_the_reference_step(name, monkeypatch):
    rng = np.random.default_rng(0)
    fast, slow = model(), model()
    for mine, theirs in zip(fast.parameters(), slow.parameters()):
        theirs.value[...] = mine.value
    assert fast.flat is not None and fast.flat.parameter.size == sum(p.size for p in fast.parameters()
                                                                      if not p.sparse)
    fast_optimizer = OPTIMIZERS.build(name, {}, "", params=fast.parameters())
    reference_class = {"sparse_adam": reference.SparseAdam, "adam": reference.Adam, "adamw": reference.AdamW,
                       "sgd": reference.SGD, "rmsprop": reference.RMSprop, "adagrad": reference.Adagrad}[name]
    slow_optimizer = reference_class(slow.parameters())
    if name in ("sparse_adam", "adam", "adamw"):
        state_rng = np.random.default_rng(1)
        random_moments(fast_optimizer, fast.parameters(), state_rng)
        random_moments(slow_optimizer, slow.parameters(), np.random.default_rng(1))
    slow.loss = reference.SoftmaxCrossEntropy()
    for _ in range(5):
        ids = [rng.zipf(1.3, size=(64, 5)).clip(0, 299), rng.integers(0, 8, (64, 5))]
        targets = rng.integers(0, 9, 64)
        loss_fast, _ = fast.loss_and_grads(ids, targets, train=True)
        fast_optimizer.step(1e-2)
        with monkeypatch.context() as patch:
            patch.setattr(layers, "scatter_rows", reference.scatter_rows)
            loss_slow, _ = slow.loss_and_grads(ids, targets, train=True)
        slow_optimizer.step(1e-2)
        assert loss_fast == pytest.approx(loss_slow, rel=1e-6)
    for mine, theirs in zip(fast.parameters(), slow.parameters()):
        np.testing.assert_allclose(mine.value, theirs.value, rtol=1e-6, atol=1e-6, err_msg=mine.name)
    state_fast, state_slow = fast_optimizer.state_arrays(), slow_optimizer.state_arrays()
    assert state_fast.keys() == state_slow.keys()
    for key in state_slow:
        np.testing.assert_allclose(state_fast[key], state_slow[key], rtol=1e-5, atol=1e-7, err_msg=key)


def test_scatter_rows_matches_add_at_on_zipf_ids():
    rng = np.random.default_rng(4)
    ids = rng.zipf(1.2, size=5000).clip(0, 20_000).astype(np.int32)
    values = rng.normal(size=(5000, 7)).astype(np.float32)
    rows, sums = layers.scatter_rows(ids, values, 20_001)
    expected = np.zeros((20_001, 7), np.float64)
    np.add.at(expected, ids, values)
    assert np.array_equal(rows, np.unique(ids))
    np.testing.assert_allclose(sums, expected[rows], rtol=1e-5, atol=1e-5)


def test_the_softmax_loss_falls_back_to_row_maxima_when_a_row_would_underflow():
    logits = np.array([[100.0, 0.0, 0.0], [-100.0, -101.0, -102.0]], np.float32)
    targets = np.array([0, 2])
    fast, slow = layers.SoftmaxCrossEntropy(), reference.SoftmaxCrossEntropy()
    assert fast.forward(logits.copy(), targets) == pytest.approx(slow.forward(logits.copy(), targets), rel=1e-6)
    np.testing.assert_allclose(fast.backward(), slow.backward(), atol=1e-7)
