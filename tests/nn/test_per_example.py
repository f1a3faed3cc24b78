"""The per-example loop of the vectorisation lesson computes the textbook batched step."""

from __future__ import annotations

import numpy as np
import pytest

from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier
from wintrain.nn.per_example import PerExampleTrainer
from wintrain.training.optimizers import SparseAdam


def networks(seed: int = 0) -> tuple[WindowClassifier, PerExampleTrainer]:
    rng = np.random.default_rng(seed)
    spec = ModelSpec(window_size=5, n_classes=4, hidden=[12], activation="tanh")
    table = rng.normal(size=(30, 6)).astype(np.float32)
    network = WindowClassifier(spec, [FeatureTable("word", table)], np.random.default_rng(seed), np.float32,
                               kernels="textbook")
    hidden, output = network.layers[1], network.layers[3]
    loop = PerExampleTrainer(network.features[0].table.value, hidden.weight.value, hidden.bias.value,
                             output.weight.value, output.bias.value, lr=1e-2)
    return network, loop


def test_a_batch_update_of_the_loop_equals_the_textbook_step():
    network, loop = networks()
    optimizer = SparseAdam(network.parameters())
    rng = np.random.default_rng(1)
    for _ in range(3):
        ids = (rng.zipf(1.5, size=(16, 5)) - 1).clip(0, 29)
        targets = rng.integers(0, 4, 16)
        loss, _ = network.loss_and_grads([ids], targets)
        assert loop.step(ids, targets) == pytest.approx(loss, rel=1e-5)
        optimizer.step(1e-2)
    for ours, theirs in zip(network.parameters(), loop.parameters):
        np.testing.assert_allclose(ours.value, theirs, rtol=1e-5, atol=1e-6, err_msg=ours.name)
    assert not np.allclose(loop.parameters[1], networks()[1].parameters[1])  # it did train


def test_an_update_per_example_is_a_batch_of_one():
    network, loop = networks(2)
    by_example = PerExampleTrainer(*[p.copy() for p in loop.parameters], lr=1e-2, update="example")
    ids, targets = np.array([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]), np.array([0, 3])
    loop.step(ids[:1], targets[:1])
    loop.step(ids[1:], targets[1:])
    by_example.step(ids, targets)
    for one, other in zip(loop.parameters, by_example.parameters):
        np.testing.assert_allclose(one, other, rtol=1e-6, atol=1e-7)
