"""Sentence-level log-likelihood and Viterbi against brute force over all C^T paths (float64)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from wintrain.nn.sll import SentenceLogLikelihood, pad_sentences, path_scores, unpad, viterbi


def random_batch(
    rng: np.random.Generator, lengths: list[int], n_tags: int, dtype: type = np.float64, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scores (B, T, C), targets (B, T), lengths (B,); padded entries hold junk that must be ignored."""
    lengths_array = np.array(lengths, dtype=np.int64)
    max_length = max(lengths)
    scores = (scale * rng.normal(size=(len(lengths), max_length, n_tags))).astype(dtype)
    targets = rng.integers(0, n_tags, (len(lengths), max_length))
    padded = np.arange(max_length)[None, :] >= lengths_array[:, None]
    scores[padded] = np.nan  # junk: would turn every result it touches into nan
    targets[padded] = -7
    return scores, targets, lengths_array


def random_layer(rng: np.random.Generator, n_tags: int, dtype: type = np.float64) -> SentenceLogLikelihood:
    return SentenceLogLikelihood(n_tags, dtype, transitions=rng.normal(size=(n_tags, n_tags)),
                                 initial=rng.normal(size=n_tags))


def all_paths(length: int, n_tags: int) -> np.ndarray:
    """(C^T, T) every tag path of a sentence."""
    return np.array(list(itertools.product(range(n_tags), repeat=length)), dtype=np.int64).reshape(-1, length)


def brute_force_scores(
    scores: np.ndarray, transitions: np.ndarray, initial: np.ndarray, final: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All paths (P, T) of one sentence's scores (T, C) and their S(y) (P,), summed term by term."""
    length, n_tags = scores.shape
    paths = all_paths(length, n_tags)
    totals = []
    for path in paths:
        total = initial[path[0]] + scores[0, path[0]]
        for t in range(1, length):
            total += transitions[path[t - 1], path[t]] + scores[t, path[t]]
        if final is not None:
            total += final[path[-1]]
        totals.append(total)
    return paths, np.array(totals)


def brute_force_nll(scores: np.ndarray, target: np.ndarray, transitions: np.ndarray, initial: np.ndarray) -> float:
    paths, totals = brute_force_scores(scores, transitions, initial)
    peak = totals.max()
    log_partition = peak + np.log(np.exp(totals - peak).sum())
    gold = totals[np.flatnonzero((paths == target).all(axis=1))[0]]
    return float(log_partition - gold)


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(analytic - numeric) / scale)


def numeric_gradient(loss: object, array: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred differences of ``loss()`` over every entry of ``array`` (changed in place, then restored)."""
    assert callable(loss)
    flat = array.reshape(-1)
    numeric = np.empty(flat.size)
    for index in range(flat.size):
        original = flat[index]
        flat[index] = original + h
        plus = loss()
        flat[index] = original - h
        minus = loss()
        flat[index] = original
        numeric[index] = (plus - minus) / (2 * h)
    return numeric.reshape(array.shape)


# ---------------------------------------------------------------- the loss


@pytest.mark.parametrize("seed", range(5))
def test_loss_equals_brute_force_enumeration(seed):
    rng = np.random.default_rng(seed)
    lengths = [3, 1, 4, 2, 4]
    scores, targets, lengths_array = random_batch(rng, lengths, 3)
    layer = random_layer(rng, 3)
    loss = layer.forward(scores, targets, lengths_array)
    expected = [
        brute_force_nll(scores[b, :n], targets[b, :n], layer.transitions.value, layer.initial.value)
        for b, n in enumerate(lengths)
    ]
    np.testing.assert_allclose(layer.sentence_losses, expected, rtol=0, atol=1e-10)
    assert loss == pytest.approx(sum(expected) / sum(lengths), abs=1e-10)


def test_zero_parameters_give_independent_softmaxes():
    """With A = 0 and a0 = 0 the paths factorise: SLL equals the mean per-token cross-entropy."""
    rng = np.random.default_rng(1)
    scores, targets, lengths = random_batch(rng, [4, 2, 3], 5)
    loss = SentenceLogLikelihood(5, np.float64).forward(scores, targets, lengths)
    mask = np.arange(4)[None, :] < lengths[:, None]
    real_scores, real_targets = scores[mask], targets[mask]
    log_softmax = real_scores - np.log(np.exp(real_scores).sum(axis=1, keepdims=True))
    assert loss == pytest.approx(-log_softmax[np.arange(len(real_targets)), real_targets].mean(), abs=1e-12)


def test_empty_sentences_and_empty_batches_contribute_nothing():
    rng = np.random.default_rng(2)
    layer = random_layer(rng, 3)
    scores, targets, lengths = random_batch(rng, [3, 2], 3)
    loss = layer.forward(scores, targets, lengths)
    with_empty = layer.forward(np.concatenate([scores, scores[:1]]), np.concatenate([targets, targets[:1]]),
                               np.array([3, 2, 0]))
    assert with_empty == pytest.approx(loss, abs=1e-12)
    assert layer.sentence_losses[2] == 0.0
    assert np.all(layer.backward()[2] == 0.0)
    assert layer.forward(scores, targets, np.array([0, 0])) == 0.0
    assert layer.backward().shape == scores.shape and not layer.backward().any()
    assert np.all(layer.transitions.grad == 0) and np.all(layer.initial.grad == 0)


def test_bad_shapes_and_targets_are_rejected():
    layer = SentenceLogLikelihood(3, np.float64)
    scores = np.zeros((2, 4, 3))
    with pytest.raises(ValueError, match="lengths"):
        layer.forward(scores, np.zeros((2, 4), int), np.array([5, 1]))
    with pytest.raises(ValueError, match="targets"):
        layer.forward(scores, np.zeros((2, 3), int), np.array([4, 1]))
    with pytest.raises(ValueError, match="targets"):
        layer.forward(scores, np.full((2, 4), 3), np.array([4, 1]))
    with pytest.raises(ValueError, match="tags"):
        layer.forward(np.zeros((2, 4, 5)), np.zeros((2, 4), int), np.array([4, 1]))
    with pytest.raises(ValueError, match="transitions"):
        SentenceLogLikelihood(3, np.float64, transitions=np.zeros((3, 4)))


# ---------------------------------------------------------------- the gradients


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dout", [1.0, 0.3])
def test_gradients_match_finite_differences(seed, dout):
    rng = np.random.default_rng(seed)
    scores, targets, lengths = random_batch(rng, [4, 1, 5, 3], 4)
    layer = random_layer(rng, 4)

    def loss() -> float:
        return dout * layer.forward(scores, targets, lengths)

    loss()
    grad_scores = layer.backward(dout)
    grad_transitions, grad_initial = layer.transitions.grad.copy(), layer.initial.grad.copy()
    mask = np.arange(5)[None, :] < lengths[:, None]
    numeric_scores = numeric_gradient(loss, scores)
    assert relative_error(grad_scores[mask], numeric_scores[mask]) < 1e-6
    assert relative_error(grad_transitions, numeric_gradient(loss, layer.transitions.value)) < 1e-6
    assert relative_error(grad_initial, numeric_gradient(loss, layer.initial.value)) < 1e-6


def test_score_gradient_sums_to_zero_per_real_position_and_is_zero_at_padding():
    rng = np.random.default_rng(4)
    scores, targets, lengths = random_batch(rng, [6, 2, 1, 4], 5)
    layer = random_layer(rng, 5)
    layer.forward(scores, targets, lengths)
    grad = layer.backward()
    mask = np.arange(6)[None, :] < lengths[:, None]
    np.testing.assert_allclose(grad.sum(axis=2)[mask], 0.0, atol=1e-15)
    assert np.all(grad[~mask] == 0.0)
    probabilities = grad[mask] * lengths.sum()
    probabilities[np.arange(mask.sum()), targets[mask]] += 1.0
    assert np.all(probabilities >= 0.0) and np.all(probabilities <= 1.0 + 1e-12)


def test_gradient_steps_lower_the_loss():
    rng = np.random.default_rng(5)
    scores, targets, lengths = random_batch(rng, [5, 3, 4], 4)
    layer = random_layer(rng, 4)
    before = layer.forward(scores, targets, lengths)
    for _ in range(20):
        layer.forward(scores, targets, lengths)
        scores -= 0.5 * layer.backward()
        for param in layer.parameters():
            param.value -= 0.5 * param.grad
    assert layer.forward(scores, targets, lengths) < 0.5 * before


def test_parameters_are_named_and_typed():
    layer = SentenceLogLikelihood(4, np.float32)
    transitions, initial = layer.parameters()
    assert (transitions.name, transitions.value.shape, transitions.decay) == ("sll.transitions", (4, 4), True)
    assert (initial.name, initial.value.shape, initial.decay) == ("sll.initial", (4,), False)
    assert transitions.value.dtype == np.float32 and not transitions.value.any()
    assert transitions.grad.shape == (4, 4) and initial.grad.shape == (4,)


# ---------------------------------------------------------------- viterbi


def brute_force_best(
    scores: np.ndarray, transitions: np.ndarray, initial: np.ndarray, final: np.ndarray | None
) -> tuple[np.ndarray, float]:
    paths, totals = brute_force_scores(scores, transitions, initial, final)
    best = int(np.argmax(totals))
    return paths[best], float(totals[best])


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("forbidden", [False, True])
@pytest.mark.parametrize("with_final", [False, True])
def test_viterbi_equals_brute_force(seed, forbidden, with_final):
    rng = np.random.default_rng(seed)
    n_tags = 3 + seed % 2
    lengths = [int(n) for n in rng.integers(1, 6, 5)]
    scores, _, lengths_array = random_batch(rng, lengths, n_tags)
    transitions, initial = rng.normal(size=(n_tags, n_tags)), rng.normal(size=n_tags)
    final = rng.normal(size=n_tags) if with_final else None
    if forbidden:
        transitions[rng.random((n_tags, n_tags)) < 0.4] = -np.inf
        transitions[np.arange(n_tags), np.arange(n_tags)] = 0.0  # keeps a finite path
        initial[0] = -np.inf
        if final is not None:
            final[1] = -np.inf
    path = viterbi(scores, lengths_array, transitions, initial, final)
    assert path.dtype == np.int64 and path.shape == scores.shape[:2]
    found = path_scores(scores, path, lengths_array, transitions, initial, final)
    for b, n in enumerate(lengths):
        best_path, best_score = brute_force_best(scores[b, :n], transitions, initial, final)
        assert np.array_equal(path[b, :n], best_path)
        assert found[b] == pytest.approx(best_score, abs=1e-12)
        assert np.all(path[b, n:] == 0)


def test_viterbi_falls_back_to_the_argmax_when_every_path_is_forbidden():
    rng = np.random.default_rng(6)
    scores, _, lengths = random_batch(rng, [4, 1, 3], 3)
    greedy = np.where(np.arange(4)[None, :] < lengths[:, None], scores.argmax(axis=2), 0)
    nothing_allowed = np.full((3, 3), -np.inf)
    path = viterbi(scores, lengths, nothing_allowed, np.zeros(3))
    assert np.array_equal(path[[0, 2]], greedy[[0, 2]])
    assert path[1, 0] == scores[1, 0].argmax()  # one token: no transition, still decodable
    no_start = viterbi(scores, lengths, np.zeros((3, 3)), np.full(3, -np.inf))
    assert np.array_equal(no_start, greedy)
    no_end = viterbi(scores, lengths, np.zeros((3, 3)), np.zeros(3), final=np.full(3, -np.inf))
    assert np.array_equal(no_end, greedy)


def test_viterbi_of_empty_sentences_and_batches():
    scores = np.ones((2, 3, 4))
    assert viterbi(scores, np.array([0, 0]), np.zeros((4, 4)), np.zeros(4)).tolist() == [[0, 0, 0], [0, 0, 0]]
    assert viterbi(np.zeros((0, 0, 4)), np.zeros(0, int), np.zeros((4, 4)), np.zeros(4)).shape == (0, 0)


# ---------------------------------------------------------------- padding, stability, dtype


def test_padding_does_not_change_a_sentence():
    rng = np.random.default_rng(7)
    scores, targets, lengths = random_batch(rng, [2, 7, 3, 5], 4)
    layer = random_layer(rng, 4)
    layer.forward(scores, targets, lengths)
    batch_losses = layer.sentence_losses.copy()
    batch_grad = layer.backward() * lengths.sum()
    batch_paths = viterbi(scores, lengths, layer.transitions.value, layer.initial.value)
    for b, n in enumerate(lengths):
        alone = layer.forward(scores[b:b + 1, :n], targets[b:b + 1, :n], lengths[b:b + 1])
        assert alone * n == pytest.approx(batch_losses[b], abs=1e-12)
        np.testing.assert_allclose(layer.backward()[0] * n, batch_grad[b, :n], atol=1e-12)
        path_alone = viterbi(scores[b:b + 1, :n], lengths[b:b + 1], layer.transitions.value, layer.initial.value)
        assert np.array_equal(path_alone[0], batch_paths[b, :n])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_scores_stay_finite(dtype):
    rng = np.random.default_rng(8)
    scores, targets, lengths = random_batch(rng, [6, 3, 5], 5, dtype=dtype, scale=1e4)
    layer = SentenceLogLikelihood(5, dtype, transitions=1e3 * rng.normal(size=(5, 5)), initial=rng.normal(size=5))
    loss = layer.forward(scores, targets, lengths)
    grad = layer.backward()
    assert np.isfinite(loss) and loss > 0
    assert np.all(np.isfinite(grad))
    mask = np.arange(6)[None, :] < lengths[:, None]
    marginal_error = 1e-10 if dtype == np.float64 else 2e-2  # float32 keeps ~7 digits of α ≈ 5e4
    np.testing.assert_allclose(grad.sum(axis=2)[mask], 0.0, atol=marginal_error / lengths.sum())
    assert np.all(np.isfinite(layer.transitions.grad)) and np.all(np.isfinite(layer.initial.grad))
    assert np.all(viterbi(scores, lengths, layer.transitions.value, layer.initial.value) >= 0)


def test_float32_in_float32_out():
    rng = np.random.default_rng(9)
    scores, targets, lengths = random_batch(rng, [4, 2], 3, dtype=np.float32)
    layer = random_layer(rng, 3, dtype=np.float32)
    loss = layer.forward(scores, targets, lengths)
    assert isinstance(loss, float)
    assert layer.sentence_losses.dtype == np.float32
    grad = layer.backward()
    assert grad.dtype == np.float32
    assert layer.transitions.grad.dtype == np.float32 and layer.initial.grad.dtype == np.float32
    reference = SentenceLogLikelihood(3, np.float64, layer.transitions.value, layer.initial.value)
    assert reference.forward(scores.astype(np.float64), targets, lengths) == pytest.approx(loss, rel=1e-5)


def test_minus_infinity_transitions_in_the_loss():
    """Forbidden transitions (−inf) drop out of Z; the gradient stays finite and zero on them."""
    rng = np.random.default_rng(10)
    scores, _, lengths = random_batch(rng, [4, 3], 3)
    transitions = rng.normal(size=(3, 3))
    transitions[0, 2] = transitions[2, 1] = -np.inf
    layer = SentenceLogLikelihood(3, np.float64, transitions=transitions, initial=rng.normal(size=3))
    targets = np.array([[0, 0, 1, 2], [1, 1, 0, 0]])
    loss = layer.forward(scores, targets, lengths)
    expected = [brute_force_nll(scores[b, :n], targets[b, :n], transitions, layer.initial.value)
                for b, n in enumerate(lengths)]
    np.testing.assert_allclose(layer.sentence_losses, expected, atol=1e-10)
    assert np.isfinite(loss)
    layer.backward()
    assert np.all(np.isfinite(layer.transitions.grad))
    assert layer.transitions.grad[0, 2] == 0.0 and layer.transitions.grad[2, 1] == 0.0


# ---------------------------------------------------------------- flat corpus ↔ padded batch


def test_pad_sentences_and_unpad_round_trip():
    rng = np.random.default_rng(11)
    starts = np.array([0, 3, 3, 8, 9])  # includes an empty sentence
    values = rng.normal(size=(9, 4))
    padded, lengths = pad_sentences(values, starts)
    assert padded.shape == (4, 5, 4) and lengths.tolist() == [3, 0, 5, 1]
    assert np.array_equal(padded[2, :5], values[3:8]) and np.all(padded[0, 3:] == 0) and np.all(padded[1] == 0)
    assert np.array_equal(unpad(padded, lengths), values)
    tags, tag_lengths = pad_sentences(np.arange(9), starts, fill=-1)
    assert tags.tolist() == [[0, 1, 2, -1, -1], [-1] * 5, [3, 4, 5, 6, 7], [8, -1, -1, -1, -1]]
    assert np.array_equal(unpad(tags, tag_lengths), np.arange(9))
    empty, empty_lengths = pad_sentences(np.zeros((0, 4)), np.array([0]))
    assert empty.shape == (0, 0, 4) and unpad(empty, empty_lengths).shape == (0, 4)


def test_decoding_a_flat_corpus_through_padding():
    rng = np.random.default_rng(12)
    starts = np.array([0, 2, 7, 8])
    flat_scores = rng.normal(size=(8, 3))
    padded, lengths = pad_sentences(flat_scores, starts)
    flat_path = unpad(viterbi(padded, lengths, np.zeros((3, 3)), np.zeros(3)), lengths)
    assert np.array_equal(flat_path, flat_scores.argmax(axis=1))  # no transition scores: per-token argmax
