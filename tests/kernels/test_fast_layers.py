"""The flat parameter buffer of the fast kernels, and the contract it relies on: gradients written in place."""

from __future__ import annotations

import numpy as np
import pytest

from wintrain.kernels.layers import FlatParameters
from wintrain.kernels.optimizers import FlatSGD
from wintrain.nn.layers import Affine, Parameter
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier


def test_members_become_views_of_one_buffer_keeping_their_values():
    weight, bias = Parameter("W", np.arange(6.0).reshape(2, 3), decay=True), Parameter("b", np.array([7.0, 8.0]))
    flat = FlatParameters([weight, bias], "dense")
    assert flat.value.tolist() == [0, 1, 2, 3, 4, 5, 7, 8]
    weight.value[1, 2] = 50.0
    bias.grad[...] = [1.0, 2.0]
    assert flat.value[5] == 50.0 and flat.grad[6:].tolist() == [1.0, 2.0]
    assert weight.flat is flat and [part for _, part in flat.members] == [slice(0, 6), slice(6, 8)]
    flat.check()
    with pytest.raises(ValueError, match="dense"):
        FlatParameters([Parameter("t", np.zeros((3, 2)), sparse=True)])


def test_a_layer_that_rebinds_its_gradient_fails_at_the_next_step():
    spec = ModelSpec(window_size=3, n_classes=3, hidden=[4])
    network = WindowClassifier(spec, [FeatureTable("word", np.ones((5, 2), np.float32))],
                               np.random.default_rng(0), np.float32, kernels="fast")
    optimizer = FlatSGD(network.parameters())
    ids, targets = [np.array([[1, 2, 3], [3, 2, 1]])], np.array([0, 2])
    network.loss_and_grads(ids, targets)
    optimizer.step(0.1)  # the layers write in place: fine
    output = network.layers[-1]
    assert isinstance(output, Affine)

    def rebinding_backward(dout: np.ndarray) -> np.ndarray:
        output.weight.grad = output.cache.T @ dout  # a new array: the optimizer would never see it
        output.bias.grad[...] = dout.sum(axis=0)
        return dout @ output.weight.value.T

    output.backward = rebinding_backward  # type: ignore[method-assign]
    network.loss_and_grads(ids, targets)
    with pytest.raises(RuntimeError, match="output.W: its grad was replaced"):
        optimizer.step(0.1)
