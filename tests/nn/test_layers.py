import numpy as np
import pytest

from wintrain.nn.layers import Affine, Embedding, L2Penalty, Parameter, SoftmaxCrossEntropy, WindowConcat, scatter_rows


@pytest.mark.parametrize("table_rows", [None, 65_536, 400_000], ids=["unknown", "uint16 radix sort", "int sort"])
def test_scatter_rows_equals_add_at(table_rows):
    rng = np.random.default_rng(0)
    high = 65_536 if table_rows == 65_536 else (table_rows or 30)
    ids = np.concatenate([rng.integers(0, high, 500), [high - 1, high - 1, 0]]).astype(np.int32)
    values = rng.normal(size=(len(ids), 4))
    rows, sums = scatter_rows(ids, values, table_rows)
    expected = np.zeros((high, 4))
    np.add.at(expected, ids, values)
    assert np.array_equal(rows, np.unique(ids))
    np.testing.assert_allclose(sums, expected[rows])


def test_window_concat_lays_out_each_position_with_all_features():
    words = Embedding("w", np.arange(12, dtype=np.float32).reshape(6, 2))
    cases = Embedding("c", np.array([[100.0], [200.0], [300.0]], dtype=np.float32))
    concat = WindowConcat([words, cases], window_size=3, dtype=np.float32)
    x = concat.forward([np.array([[1, 2, 3]]), np.array([[0, 1, 2]])])
    assert x.shape == (1, 9)
    assert x.tolist() == [[2, 3, 100, 4, 5, 200, 6, 7, 300]]


def test_affine_and_softmax_values_by_hand():
    layer = Affine("a", np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([0.1, 0.2]))
    out = layer.forward(np.array([[2.0, 1.0]]))
    assert out.tolist() == [[2.6, 0.2]]
    loss = SoftmaxCrossEntropy()
    value = loss.forward(np.array([[0.0, np.log(3.0)]]), np.array([1]))
    assert value == pytest.approx(-np.log(0.75))
    np.testing.assert_allclose(loss.backward(), [[0.25, -0.25]])


def test_l2_penalty_value_and_gradient():
    w = Parameter("w", np.array([[1.0, -2.0]]), decay=True)
    penalty = L2Penalty(0.1, [w])
    assert penalty.forward() == pytest.approx(0.1 * 5.0)
    penalty.backward()
    np.testing.assert_allclose(w.grad, [[0.2, -0.4]])


def test_frozen_embedding_has_no_parameters_and_no_gradient():
    table = Embedding("w", np.ones((4, 2)), trainable=False)
    assert table.parameters() == []
    table.forward(np.array([[1, 2]]))
    assert table.backward(np.ones((1, 2, 2))) is None
