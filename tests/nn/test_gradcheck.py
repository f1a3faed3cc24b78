"""The whole model's analytic gradients against centred finite differences (float64)."""

import numpy as np
import pytest

from wintrain.kernels import KERNELS, pick
from wintrain.nn.activations import ACTIVATIONS
from wintrain.nn.gradcheck import check_gradients, relative_error
from wintrain.nn.layers import Dropout
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier


def small_model(activation: str, l2: float, hidden: list[int], dropout: float = 0.0,
                kernels: str = "fast") -> WindowClassifier:
    rng = np.random.default_rng(7)
    spec = ModelSpec(window_size=3, n_classes=4, hidden=hidden, activation=activation, l2=l2,
                     l2_embeddings=l2 > 0, dropout=dropout)
    features = [FeatureTable("word", rng.normal(size=(15, 5))), FeatureTable("casing", rng.normal(size=(6, 2)))]
    return WindowClassifier(spec, features, np.random.default_rng(11), np.float64, kernels=kernels)


def batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 15, (9, 3)), rng.integers(0, 6, (9, 3))], rng.integers(0, 4, 9)


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("activation", ACTIVATIONS.names())
@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("hidden", [[7], [6, 5]], ids=["1-hidden", "2-hidden"])
def test_every_parameter_matches_finite_differences(activation, l2, hidden, kernels):
    model = small_model(activation, l2, hidden, kernels=kernels)
    features, targets = batch()
    results = check_gradients(model, features, targets, max_entries=10_000)
    names = {r.name for r in results}
    assert {"embed.word", "embed.casing", "output.W", "output.b", "hidden1.W"} <= names
    for result in results:
        assert result.relative_error < 1e-6, result


def test_gradcheck_catches_a_wrong_gradient():
    model = small_model("tanh", 0.0, [7])
    features, targets = batch()
    output = model.layers[-1]
    original = output.backward

    def broken(dout):
        grad = original(dout)
        output.weight.grad *= 1.01
        return grad

    output.backward = broken
    failed = [r for r in check_gradients(model, features, targets) if not r.passed()]
    assert [r.name for r in failed] == ["output.W"]


def test_sparse_embedding_gradient_covers_only_batch_rows():
    model = small_model("relu", 0.0, [7])
    features, targets = batch()
    model.loss_and_grads(features, targets, train=False)
    table = model.features[0].table
    assert np.array_equal(table.rows, np.unique(features[0]))
    assert table.grad.shape == (len(table.rows), 5)


def test_relative_error_is_scale_free():
    a = np.array([1.0, 2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a * 1e-9, a * 1e-9 * (1 + 1e-3)) == pytest.approx(1e-3 / (1 + 1e-3))


def test_dropout_is_off_in_evaluation_and_scaled_in_training():
    model = small_model("tanh", 0.0, [50], dropout=0.5)
    features, _ = batch()
    assert np.array_equal(model.forward(features, train=False), model.forward(features, train=False))
    x = np.ones((2000, 10))
    input_dropout = next(layer for layer in model.layers if isinstance(layer, Dropout))
    assert input_dropout.name == "dropout.input"
    out = input_dropout.forward(x, train=True)
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert abs(out.mean() - 1.0) < 0.05


def test_gradcheck_with_affix_features_on_a_real_config(tiny_data):
    from wintrain.config import load_config
    from wintrain.nn.gradcheck import check_config_gradients

    config = load_config(tiny_data["config"], ["features.suffixes=[2]", "features.affix_min_count=1"])
    results = check_config_gradients(config, batch_size=6, max_entries=100)
    assert "embed.suffix2" in {r.name for r in results}
    assert all(r.relative_error < 1e-6 for r in results), results


def chars_and_sll_model(activation: str, l2: float, chars: bool, sll: bool, kernels: str = "fast") -> WindowClassifier:
    from wintrain.nn.chars import CharCNN

    rng = np.random.default_rng(5)
    spec = ModelSpec(window_size=3, n_classes=4, hidden=[6], activation=activation, l2=l2, l2_embeddings=l2 > 0,
                     loss="sll" if sll else "cross_entropy")
    features = [FeatureTable("word", rng.normal(size=(15, 5)))]
    cnn = pick(CharCNN, kernels)(rng.normal(size=(10, 3)), rng.normal(size=(3 * 3, 4)) * 0.5,
                                 rng.normal(size=4) * 0.1, 3) if chars else None
    model = WindowClassifier(spec, features, np.random.default_rng(11), np.float64, cnn, kernels)
    if sll:  # start away from zero transitions, so their gradient is not special
        model.loss.transitions.value[...] = rng.normal(size=(4, 4))
        model.loss.initial.value[...] = rng.normal(size=4)
    return model


def char_batch():
    """Two sentences (4 + 5 tokens) of words made of characters 2..8, as CharWindows would give."""
    from wintrain.data.chars import CharVocab, char_windows
    from wintrain.data.windows import window_positions

    tokens = ["ab", "cde", "ab", "f", "gh", "cde", "hhh", "a", "gf"]
    starts = np.array([0, 4, 9])
    vocab = CharVocab(["<pad>", "<unk>", *"abcdefgh"])
    return char_windows(vocab, tokens, window_positions(starts, 3), 10, 3)[np.arange(9)]


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("activation", ACTIVATIONS.names())
@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("chars, sll", [(True, False), (False, True), (True, True)],
                         ids=["chars", "sll", "chars+sll"])
def test_characters_and_sentence_level_loss_match_finite_differences(activation, l2, chars, sll, kernels):
    model = chars_and_sll_model(activation, l2, chars, sll, kernels)
    rng = np.random.default_rng(2)
    features = [rng.integers(0, 15, (9, 3))] + ([char_batch()] if chars else [])
    targets = rng.integers(0, 4, 9)
    results = check_gradients(model, features, targets, max_entries=10_000, lengths=np.array([4, 5]) if sll else None)
    names = {r.name for r in results}
    assert {"embed.word", "hidden1.W", "output.W"} <= names
    if chars:
        assert {"embed.chars", "chars.W", "chars.b"} <= names
    if sll:
        assert {"sll.transitions", "sll.initial"} <= names
    for result in results:
        assert result.relative_error < 1e-6, result
