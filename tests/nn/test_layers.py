"""The textbook graph nodes of wintrain.nn.layers, one at a time: values by hand, gradients by finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from wintrain.nn.layers import (
    Affine,
    Dropout,
    Embedding,
    L2Penalty,
    Parameter,
    SoftmaxCrossEntropy,
    WindowConcat,
    scatter_rows,
)


def numeric_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred differences of the scalar f() with respect to every entry of x (changed in place and restored)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        plus = f()
        x[index] = original - h
        minus = f()
        x[index] = original
        grad[index] = (plus - minus) / (2 * h)
    return grad


# --------------------------------------------------------------------------- parameters and the scatter
def test_a_sparse_parameter_scatters_its_rows_into_a_dense_gradient():
    table = Parameter("t", np.zeros((5, 2)), sparse=True)
    assert table.grad.shape == (0, 2) and table.dense_grad().tolist() == [[0, 0]] * 5
    table.rows, table.grad = np.array([1, 3]), np.array([[1.0, 2.0], [3.0, 4.0]])
    assert table.dense_grad().tolist() == [[0, 0], [1, 2], [0, 0], [3, 4], [0, 0]]
    dense = Parameter("w", np.ones((2, 2)), decay=True)
    assert dense.dense_grad() is dense.grad and dense.size == 4 and dense.flat is None


@pytest.mark.parametrize("table_rows", [None, 65_536, 400_000], ids=["unknown", "small table", "large table"])
def test_scatter_rows_adds_every_repeated_id(table_rows):
    rng = np.random.default_rng(0)
    high = min(table_rows or 30, 1000)
    ids = np.concatenate([rng.integers(0, high, 500), [high - 1, high - 1, 0]]).astype(np.int32)
    values = rng.normal(size=(len(ids), 4))
    rows, sums = scatter_rows(ids, values, table_rows)
    expected = np.zeros((high, 4))
    for i, v in zip(ids, values):  # the definition, one row at a time
        expected[i] += v
    assert np.array_equal(rows, np.unique(ids))
    np.testing.assert_allclose(sums, expected[rows])
    rows, sums = scatter_rows(np.zeros(0, np.int32), np.zeros((0, 4)))
    assert rows.shape == (0,) and sums.shape == (0, 4)


# --------------------------------------------------------------------------- lookup and window
def test_embedding_looks_up_rows_and_sums_the_gradient_of_repeated_ids():
    table = np.arange(12, dtype=np.float64).reshape(6, 2)
    layer = Embedding("embed.word", table)
    ids = np.array([[1, 2, 1], [5, 1, 0]])
    assert layer.forward(ids).tolist() == [[[2, 3], [4, 5], [2, 3]], [[10, 11], [2, 3], [0, 1]]]
    dout = np.ones((2, 3, 2))
    dout[0, 0] = [10, 20]
    layer.backward(dout)
    assert layer.table.rows.tolist() == [0, 1, 2, 5]
    assert layer.table.grad.tolist() == [[1, 1], [12, 22], [1, 1], [1, 1]]  # row 1 three times


def test_dense_updates_give_a_full_table_gradient_written_in_place():
    layer = Embedding("embed.word", np.zeros((4, 2)), dense_updates=True)
    grad = layer.table.grad
    layer.forward(np.array([[3, 3]]))
    layer.backward(np.ones((1, 2, 2)))
    assert layer.table.grad is grad and grad.tolist() == [[0, 0], [0, 0], [0, 0], [2, 2]]
    assert not layer.table.sparse


def test_frozen_embedding_has_no_parameters_and_no_gradient():
    table = Embedding("w", np.ones((4, 2)), trainable=False)
    assert table.parameters() == []
    table.forward(np.array([[1, 2]]))
    assert table.backward(np.ones((1, 2, 2))) is None and table.table.rows is None


def test_window_concat_lays_out_each_position_with_all_features_and_splits_the_gradient_back():
    words = Embedding("w", np.arange(12, dtype=np.float64).reshape(6, 2))
    cases = Embedding("c", np.array([[100.0], [200.0], [300.0]]))
    concat = WindowConcat([words, cases], window_size=3, dtype=np.dtype(np.float64))
    assert concat.output_dim == 9 and concat.slices == [slice(0, 2), slice(2, 3)] and concat.needs_input_grad
    x = concat.forward([np.array([[1, 2, 3]]), np.array([[0, 1, 2]])])
    assert x.tolist() == [[2, 3, 100, 4, 5, 200, 6, 7, 300]]
    concat.backward(np.arange(9, dtype=np.float64)[None, :])
    assert words.table.rows.tolist() == [1, 2, 3] and words.table.grad.tolist() == [[0, 1], [3, 4], [6, 7]]
    assert cases.table.rows.tolist() == [0, 1, 2] and cases.table.grad.tolist() == [[2], [5], [8]]
    assert not WindowConcat([Embedding("f", np.ones((2, 1)), trainable=False)], 3, np.dtype(np.float64)) \
        .needs_input_grad


# --------------------------------------------------------------------------- affine and dropout
def test_affine_values_by_hand_and_gradients_by_finite_differences():
    layer = Affine("hidden1", np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([0.1, 0.2]))
    assert [p.name for p in layer.parameters()] == ["hidden1.W", "hidden1.b"]
    assert [p.decay for p in layer.parameters()] == [True, False]
    assert layer.forward(np.array([[2.0, 1.0]])).tolist() == [[2.6, 0.2]]
    rng = np.random.default_rng(1)
    x, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))

    def objective() -> float:
        return float(np.sum(layer.forward(x) * target))

    objective()
    weight_grad, bias_grad = layer.weight.grad, layer.bias.grad
    dx = layer.backward(target)
    assert layer.weight.grad is weight_grad and layer.bias.grad is bias_grad  # written in place
    np.testing.assert_allclose(layer.weight.grad, numeric_gradient(objective, layer.weight.value), atol=1e-8)
    np.testing.assert_allclose(layer.bias.grad, numeric_gradient(objective, layer.bias.value), atol=1e-8)
    np.testing.assert_allclose(dx, numeric_gradient(objective, x), atol=1e-8)
    layer.needs_input_grad = False
    layer.forward(x)
    assert layer.backward(target) is None


def test_dropout_keeps_one_minus_p_scaled_up_and_is_off_in_evaluation():
    layer = Dropout(0.25, np.random.default_rng(0))
    x = np.ones((400, 50), np.float32)
    assert layer.forward(x, train=False) is x and layer.backward(x) is x
    out = layer.forward(x, train=True)
    kept = out != 0
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.75)} and out.dtype == np.float32
    assert abs(kept.mean() - 0.75) < 0.01 and abs(out.mean() - 1.0) < 0.02
    np.testing.assert_array_equal(layer.backward(np.full_like(x, 3.0)), 3.0 * out)  # the same mask
    assert Dropout(0.0, np.random.default_rng(0)).forward(x, train=True) is x


# --------------------------------------------------------------------------- the loss and the penalty
def test_softmax_cross_entropy_by_hand():
    loss = SoftmaxCrossEntropy()
    value = loss.forward(np.array([[0.0, np.log(3.0)]]), np.array([1]))
    assert value == pytest.approx(-np.log(0.75))
    np.testing.assert_allclose(loss.backward(), [[0.25, -0.25]])


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_softmax_cross_entropy_gradient_matches_finite_differences_and_sums_to_zero(scale):
    rng = np.random.default_rng(2)
    logits, targets = rng.normal(scale=scale, size=(6, 5)), rng.integers(0, 5, 6)
    loss = SoftmaxCrossEntropy()

    def objective() -> float:
        return loss.forward(logits.copy(), targets)

    value = objective()
    grad = loss.backward(2.0)
    assert np.isfinite(value)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)
    if scale == 1.0:
        np.testing.assert_allclose(grad, 2.0 * numeric_gradient(objective, logits), atol=1e-7)
    else:  # saturated: the softmax is one-hot on each row's largest logit
        expected = np.eye(5)[logits.argmax(axis=1)] - np.eye(5)[targets]
        np.testing.assert_allclose(grad, 2.0 * expected / 6, atol=1e-12)


def test_l2_penalty_value_and_gradient_over_dense_and_batch_rows():
    w = Parameter("w", np.array([[1.0, -2.0]]), decay=True)
    table = Parameter("t", np.array([[1.0], [5.0], [2.0]]), sparse=True)
    table.rows, table.grad = np.array([0, 2]), np.zeros((2, 1))
    penalty = L2Penalty(0.1, [w, table])
    assert penalty.forward() == pytest.approx(0.1 * (5.0 + 1.0 + 4.0))  # row 1 is not in the batch
    penalty.backward()
    np.testing.assert_allclose(w.grad, [[0.2, -0.4]])
    np.testing.assert_allclose(table.grad, [[0.2], [0.4]])
    assert L2Penalty(0.0, [w]).forward() == 0.0
