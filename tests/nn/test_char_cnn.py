from __future__ import annotations

import numpy as np
import pytest

import wintrain.kernels.chars
from wintrain.data.chars import CharVocab
from wintrain.kernels import KERNELS, pick
from wintrain.nn.chars import CharCNN

CNN: type[CharCNN] = CharCNN  # the class under test: every test runs on the textbook layer and its fast twin


@pytest.fixture(autouse=True, params=KERNELS)
def kernels(request: pytest.FixtureRequest):
    global CNN
    CNN = pick(CharCNN, request.param)
    yield request.param
    CNN = CharCNN


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """As in wintrain.nn.gradcheck: ‖a − n‖ / max(‖a‖, ‖n‖)."""
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(analytic - numeric) / scale)


def make_layer(rng: np.random.Generator, n_chars: int, dim: int, width: int, filters: int,
               dtype: type = np.float64) -> CharCNN:
    table: np.ndarray = rng.normal(size=(n_chars, dim)).astype(dtype)
    weight: np.ndarray = rng.normal(size=(width * dim, filters)).astype(dtype)
    bias: np.ndarray = rng.normal(size=filters).astype(dtype)
    return CNN(table, weight, bias, width)


def make_batch(rng: np.random.Generator, lengths: list[int], n_chars: int, width: int, extra_columns: int = 0,
               distinct: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Words laid out like CharVocab.encode: h pads, the characters, right padding."""
    half = (width - 1) // 2
    ids = np.zeros((len(lengths), max(lengths) + 2 * half + extra_columns), dtype=np.int32)
    for row, length in enumerate(lengths):
        if distinct:
            ids[row, half:half + length] = rng.choice(np.arange(1, n_chars), size=length, replace=False)
        else:
            ids[row, half:half + length] = rng.integers(1, n_chars, size=length)
    return ids, np.array(lengths, dtype=np.int32)


def window(layer: CharCNN, ids: np.ndarray, row: int, position: int) -> np.ndarray:
    return np.concatenate([layer.table.value[ids[row, position + offset]] for offset in range(layer.width)])


def naive_forward(layer: CharCNN, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    out = np.empty((len(ids), layer.output_dim))
    for row in range(len(ids)):
        scores = [window(layer, ids, row, p) @ layer.weight.value for p in range(lengths[row])]
        out[row] = np.max(scores, axis=0) + layer.bias.value
    return out


def naive_backward(layer: CharCNN, ids: np.ndarray, lengths: np.ndarray,
                   dout: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dW, db and the dense table gradient, the max's gradient going to its first argmax."""
    dim, filters = layer.dim, layer.output_dim
    d_weight = np.zeros_like(layer.weight.value)
    d_table = np.zeros_like(layer.table.value)
    for row in range(len(ids)):
        scores = np.array([window(layer, ids, row, p) @ layer.weight.value for p in range(lengths[row])])
        for f in range(filters):
            best = int(np.argmax(scores[:, f]))  # the first maximum
            d_weight[:, f] += window(layer, ids, row, best) * dout[row, f]
            d_window = layer.weight.value[:, f] * dout[row, f]
            for offset in range(layer.width):
                d_table[ids[row, best + offset]] += d_window[offset * dim:(offset + 1) * dim]
    d_table[0] = 0
    return d_weight, dout.sum(axis=0), d_table


def test_forward_equals_a_per_word_per_position_loop() -> None:
    rng = np.random.default_rng(0)
    for width in (1, 3, 5):
        layer = make_layer(rng, n_chars=20, dim=6, width=width, filters=7, dtype=np.float32)
        ids, lengths = make_batch(rng, list(rng.integers(1, 15, size=40)), 20, width)
        out = layer.forward(ids, lengths)
        assert out.shape == (40, 7) and out.dtype == np.float32
        np.testing.assert_allclose(out, naive_forward(layer, ids, lengths), rtol=1e-6, atol=1e-6)


def test_padding_changes_nothing() -> None:
    rng = np.random.default_rng(1)
    layer = make_layer(rng, n_chars=15, dim=4, width=3, filters=6)
    ids, lengths = make_batch(rng, [3, 1, 5, 2], 15, width=3)
    out = layer.forward(ids, lengths)
    padded = np.zeros((4, ids.shape[1] + 7), dtype=np.int32)
    padded[:, :ids.shape[1]] = ids
    np.testing.assert_array_equal(layer.forward(padded, lengths), out)
    for row in range(4):  # each word alone in a batch without extra padding
        alone = ids[row:row + 1, :lengths[row] + 2]
        np.testing.assert_allclose(layer.forward(alone, lengths[row:row + 1]), out[row:row + 1], rtol=1e-13)


def test_pad_row_is_zero_and_gets_no_gradient() -> None:
    rng = np.random.default_rng(2)
    layer = make_layer(rng, n_chars=10, dim=3, width=5, filters=4)
    assert not layer.table.value[0].any()
    ids, lengths = make_batch(rng, [1, 4, 2], 10, width=5)
    layer.forward(ids, lengths)
    layer.backward(rng.normal(size=(3, 4)))
    assert layer.table.rows is not None
    assert layer.table.rows.tolist() == sorted(set(ids[ids > 0].tolist()))
    assert layer.table.grad.shape == (len(layer.table.rows), 3)


def test_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(3)
    for width in (1, 3, 5):
        layer = make_layer(rng, n_chars=14, dim=4, width=width, filters=5)
        # distinct characters within a word: no two windows of a word are equal, so no ties
        ids, lengths = make_batch(rng, [1, 3, 6, 2, 5], 14, width, extra_columns=2, distinct=True)
        target = rng.normal(size=(5, 5))

        def objective(layer: CharCNN = layer, ids: np.ndarray = ids, lengths: np.ndarray = lengths,
                      target: np.ndarray = target) -> float:
            return float(np.sum(layer.forward(ids, lengths) * target))

        objective()
        layer.backward(target)
        assert layer.table.rows is not None
        analytic = {
            "table": layer.table.grad.copy(),
            "weight": layer.weight.grad.copy(),
            "bias": layer.bias.grad.copy(),
        }
        arrays = {
            "table": (layer.table.value, layer.table.rows),
            "weight": (layer.weight.value, None),
            "bias": (layer.bias.value, None),
        }
        step = 1e-6
        for name, (value, rows) in arrays.items():
            selected = value[rows] if rows is not None else value
            numeric = np.empty_like(selected)
            for index in np.ndindex(selected.shape):
                full_index = (rows[index[0]],) + index[1:] if rows is not None else index
                original = value[full_index]
                value[full_index] = original + step
                plus = objective()
                value[full_index] = original - step
                minus = objective()
                value[full_index] = original
                numeric[index] = (plus - minus) / (2 * step)
            error = relative_error(analytic[name], numeric)
            assert error < 1e-6, (width, name, error)


def test_backward_equals_the_loop_also_with_ties() -> None:
    rng = np.random.default_rng(4)
    for width in (1, 3):
        layer = make_layer(rng, n_chars=6, dim=3, width=width, filters=4)
        # a tiny alphabet makes repeated windows, and so exact ties, common
        ids, lengths = make_batch(rng, [5, 1, 7, 3, 8, 2], 6, width)
        half = (width - 1) // 2
        ids[0, half:half + 5] = [1, 2, 1, 2, 1]  # with width 1: three equal windows, ties in every filter
        dout = rng.normal(size=(6, 4))
        layer.forward(ids, lengths)
        if isinstance(layer, wintrain.kernels.chars.ProjectionCharCNN):
            _, scores, best, sorted_lengths, _ = layer.cache
            winners = wintrain.kernels.chars._winners_by_length(scores, best, sorted_lengths)
            assert np.count_nonzero(winners) == 6 * 4  # exactly one winning window per word and filter
            assert np.count_nonzero(scores == np.repeat(best, sorted_lengths, axis=0)) > 6 * 4  # there were ties
        layer.backward(dout)
        d_weight, d_bias, d_table = naive_backward(layer, ids, lengths, dout)
        np.testing.assert_allclose(layer.weight.grad, d_weight, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.bias.grad, d_bias, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.table.dense_grad(), d_table, rtol=1e-12, atol=1e-12)


def test_backward_equals_the_loop_on_random_float32_batches() -> None:
    rng = np.random.default_rng(5)
    for width in (1, 3, 5):
        layer = make_layer(rng, n_chars=30, dim=5, width=width, filters=8, dtype=np.float32)
        ids, lengths = make_batch(rng, list(rng.integers(1, 12, size=50)), 30, width, extra_columns=1)
        dout = rng.normal(size=(50, 8)).astype(np.float32)
        layer.forward(ids, lengths)
        layer.backward(dout)
        assert layer.weight.grad.dtype == layer.table.grad.dtype == np.float32
        d_weight, d_bias, d_table = naive_backward(layer, ids, lengths, dout)
        np.testing.assert_allclose(layer.weight.grad, d_weight, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(layer.bias.grad, d_bias, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(layer.table.dense_grad(), d_table, rtol=1e-4, atol=1e-4)


def test_one_word_of_one_character_with_width_five() -> None:
    rng = np.random.default_rng(6)
    layer = make_layer(rng, n_chars=5, dim=3, width=5, filters=2)
    ids = np.array([[0, 0, 3, 0, 0]], dtype=np.int32)
    lengths = np.array([1], dtype=np.int32)
    out = layer.forward(ids, lengths)
    # only the centre character is non-zero: the score is its slice of W
    np.testing.assert_allclose(out[0], layer.table.value[3] @ layer.weight.value[6:9] + layer.bias.value)
    layer.backward(np.array([[1.0, -2.0]]))
    assert layer.table.rows is not None and layer.table.rows.tolist() == [3]
    np.testing.assert_allclose(layer.table.grad[0], layer.weight.value[6:9] @ np.array([1.0, -2.0]))


def test_truncated_words_from_the_vocabulary() -> None:
    rng = np.random.default_rng(7)
    vocab = CharVocab.build(["abcdefghij"])
    layer = make_layer(rng, n_chars=len(vocab), dim=4, width=3, filters=3)
    ids, lengths = vocab.encode(["abcdefghij", "abcd", ""], max_length=4, width=3)
    out = layer.forward(ids, lengths)
    np.testing.assert_allclose(out[0], out[1])  # only the first four characters count
    np.testing.assert_allclose(out[2], layer.bias.value)  # an empty word is one <pad>: bias alone
    np.testing.assert_allclose(out, naive_forward(layer, ids, lengths))


def test_empty_batch_and_bad_input() -> None:
    rng = np.random.default_rng(8)
    layer = make_layer(rng, n_chars=5, dim=2, width=3, filters=4)
    assert layer.forward(np.zeros((0, 3), np.int32), np.zeros(0, np.int32)).shape == (0, 4)
    layer.backward(np.zeros((0, 4)))
    assert layer.table.grad.shape == (0, 2) and not layer.weight.grad.any()
    with pytest.raises(ValueError):
        layer.forward(np.zeros((2, 4), np.int32), np.array([1, 3]))  # 2 windows only
    with pytest.raises(ValueError):
        layer.forward(np.zeros((2, 4), np.int32), np.array([1, 0]))
    with pytest.raises(ValueError):
        CNN(np.zeros((5, 2)), np.zeros((8, 4)), np.zeros(4), width=4)
    with pytest.raises(ValueError):
        CNN(np.zeros((5, 2)), np.zeros((6, 4)), np.zeros(3), width=3)
    with pytest.raises(ValueError):
        CNN(np.zeros((5, 2)), np.zeros((6, 4), np.float32), np.zeros(4), width=3)


def test_parameters_and_names() -> None:
    rng = np.random.default_rng(9)
    layer = make_layer(rng, n_chars=5, dim=2, width=3, filters=4)
    assert [p.name for p in layer.parameters()] == ["embed.chars", "chars.W", "chars.b"]
    assert [(p.sparse, p.decay) for p in layer.parameters()] == [(True, False), (False, True), (False, False)]
    assert layer.output_dim == 4
