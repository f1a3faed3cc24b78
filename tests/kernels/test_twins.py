"""Every fast kernel equals its textbook twin: one parametrised test over the register of wintrain.kernels.

Each case runs the textbook function or layer and its fast twin on the same random inputs, edge cases
included (empty batches, one-word sentences, repeated ids, ties, extreme scores, forbidden moves), and
checks them equal: bit for bit where the arithmetic is the same, to the stated tolerance where it is
reordered.  A twin without a case fails ``test_every_twin_has_a_case``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import wintrain.kernels.chars
import wintrain.kernels.decode
import wintrain.kernels.inference
import wintrain.kernels.layers
import wintrain.kernels.optimizers
import wintrain.kernels.sll
import wintrain.kernels.vectors  # noqa: F401  (every kernel module: the register is complete)
from wintrain.data.chars import CharBatch, CharVocab
from wintrain.data.vectors import load_vectors, parse_lines
from wintrain.evaluation.decode import decode_corpus
from wintrain.kernels import twins
from wintrain.nn.chars import CharCNN, CharFeature
from wintrain.nn.layers import Embedding, SoftmaxCrossEntropy, WindowConcat, scatter_rows
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier, predict_scores
from wintrain.nn.sll import SentenceLoss
from wintrain.training.optimizers import OPTIMIZERS, SGD, Adagrad, Adam, AdamW, RMSprop, SparseAdam

from conftest import decoding_problem, random_sentences, tagging_model

Check = Callable[[Any, Any, np.random.Generator, Path], None]
CASES: dict[Any, Check] = {}


def case(textbook: Any) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        CASES[textbook] = check
        return check

    return register


def close(fast: np.ndarray, textbook: np.ndarray, dtype: Any, what: str) -> None:
    """Equal to float rounding: 1e-5 relative for float32, 1e-10 for float64."""
    tolerance = 1e-5 if np.dtype(dtype) == np.float32 else 1e-10
    np.testing.assert_allclose(fast, textbook, rtol=tolerance, atol=tolerance, err_msg=what)


# --------------------------------------------------------------------------- the lookup gradient
def zipf_ids(rng: np.random.Generator, n: int, rows: int) -> np.ndarray:
    return (rng.zipf(1.3, n) - 1).clip(0, rows - 1).astype(np.int32)


@case(scatter_rows)
def check_scatter(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    for dtype in (np.float32, np.float64):
        for rows, n in ((30, 500), (65_536, 2000), (400_000, 2000), (5, 0), (7, 40)):
            ids = zipf_ids(rng, n, rows) if rows != 7 else np.full(n, 3, np.int32)  # one id repeated throughout
            values = rng.normal(size=(n, 4)).astype(dtype)
            (fast_rows, fast_sums), (rows_, sums) = fast(ids, values, rows), textbook(ids, values, rows)
            np.testing.assert_array_equal(fast_rows, rows_)
            assert fast_sums.dtype == sums.dtype == dtype and fast_sums.shape == (len(rows_), 4)
            close(fast_sums, sums, dtype, f"{rows} rows")


@case(Embedding)
def check_embedding(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    for dense_updates in (False, True):
        table = rng.normal(size=(50, 6)).astype(np.float32)
        layers = [cls("embed.word", table.copy(), True, dense_updates) for cls in (fast, textbook)]
        ids = zipf_ids(rng, 64 * 5, 50).reshape(64, 5)
        outputs = [layer.forward(ids) for layer in layers]
        np.testing.assert_array_equal(*outputs)
        dout = rng.normal(size=(64, 5, 6)).astype(np.float32)
        for layer in layers:
            layer.backward(dout)
        fast_table, textbook_table = (layer.table for layer in layers)
        close(fast_table.dense_grad(), textbook_table.dense_grad(), np.float32, "table gradient")
        if not dense_updates:
            np.testing.assert_array_equal(fast_table.rows, textbook_table.rows)


def char_batch(rng: np.random.Generator, n_forms: int, width: int = 3) -> CharBatch:
    """A batch of 12 windows of 3 positions over ``n_forms`` distinct words of a 6-letter alphabet."""
    vocab = CharVocab(["<pad>", "<unk>", *"abcdef"])
    words = ["".join(rng.choice(list("abcdef"), int(rng.integers(1, 7)))) for _ in range(n_forms)]
    ids, lengths = vocab.encode(words, max_length=8, width=width)
    local = rng.integers(0, n_forms + 1, (12, 3)).astype(np.int32)  # 0: outside the sentence
    return CharBatch(local, ids, lengths)


def char_cnn(cls: type, rng: np.random.Generator, width: int = 3, dtype: Any = np.float64, chars: int = 8) -> CharCNN:
    seed = int(rng.integers(1 << 30))
    inner = np.random.default_rng(seed)
    return cls(inner.normal(size=(chars, 4)).astype(dtype), inner.normal(size=(width * 4, 5)).astype(dtype),
               inner.normal(size=5).astype(dtype), width)


@case(WindowConcat)
def check_window_concat(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    table = rng.normal(size=(20, 3))
    cnn_seed = int(rng.integers(1 << 30))
    batch = char_batch(rng, 5)
    ids = zipf_ids(rng, 36, 20).reshape(12, 3)
    concats = []
    for cls in (fast, textbook):
        cnn = char_cnn(CharCNN, np.random.default_rng(cnn_seed))
        concats.append(cls([Embedding("embed.word", table.copy()), CharFeature(cnn)], 3, np.dtype(np.float64)))
    outputs = [concat.forward([ids, batch]).copy() for concat in concats]
    np.testing.assert_array_equal(*outputs)
    dx = rng.normal(size=outputs[0].shape)
    for concat in concats:
        concat.backward(dx)
    for fast_param, textbook_param in zip(concats[0].parameters(), concats[1].parameters()):
        np.testing.assert_array_equal(fast_param.dense_grad(), textbook_param.dense_grad(), err_msg=fast_param.name)


@case(SoftmaxCrossEntropy)
def check_softmax(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    for dtype in (np.float32, np.float64):
        batches = [rng.normal(scale=3, size=(64, 9)), rng.normal(size=(1, 9)),
                   np.array([[100.0, 0.0, 0.0], [-100.0, -101.0, -102.0]]),  # a row far below the batch maximum
                   np.array([[1e4, 0.0], [-1e4, -1e4 + 1.0]])]
        for logits in batches:
            logits = logits.astype(dtype)
            targets = rng.integers(0, logits.shape[1], len(logits))
            losses = [cls().forward(logits.copy(), targets) for cls in (fast, textbook)]
            fast_layer, textbook_layer = fast(), textbook()
            fast_loss = fast_layer.forward(logits.copy(), targets)
            textbook_loss = textbook_layer.forward(logits.copy(), targets)
            assert np.isfinite(losses).all()
            assert fast_loss == pytest.approx(textbook_loss, rel=1e-5 if dtype == np.float32 else 1e-12)
            close(fast_layer.backward(), textbook_layer.backward(), dtype, "dlogits")


# --------------------------------------------------------------------------- characters
def cnn_pair(fast: Any, textbook: Any, rng: np.random.Generator, width: int, dtype: Any) -> list[CharCNN]:
    seed = int(rng.integers(1 << 30))
    return [char_cnn(cls, np.random.default_rng(seed), width, dtype) for cls in (fast, textbook)]


@case(CharCNN)
def check_char_cnn(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    vocab = CharVocab(["<pad>", "<unk>", *"abcdef"])
    for width in (1, 3, 5):
        for dtype in (np.float32, np.float64):
            words = ["".join(rng.choice(list("ab"), int(rng.integers(1, 9)))) for _ in range(30)]  # many ties
            words += ["a", "abcdef", "ababab", ""]
            for chosen in (words, []):
                ids, lengths = vocab.encode(chosen, max_length=8, width=width)
                layers = cnn_pair(fast, textbook, rng, width, dtype)
                outputs = [layer.forward(ids, lengths) for layer in layers]
                close(outputs[0], outputs[1], dtype, f"width {width}")
                dout = rng.normal(size=outputs[0].shape).astype(dtype)
                for layer in layers:
                    layer.backward(dout)
                for fast_param, textbook_param in zip(layers[0].parameters(), layers[1].parameters()):
                    close(fast_param.dense_grad(), textbook_param.dense_grad(), dtype, fast_param.name)
                np.testing.assert_array_equal(layers[0].table.rows, layers[1].table.rows)


@case(CharFeature)
def check_char_feature(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    seed = int(rng.integers(1 << 30))
    features = [cls(char_cnn(CharCNN, np.random.default_rng(seed))) for cls in (fast, textbook)]
    for n_forms in (1, 6):
        batch = char_batch(rng, n_forms)
        outputs = [feature.forward(batch) for feature in features]
        np.testing.assert_array_equal(*outputs)
        dout = rng.normal(size=outputs[0].shape)
        for feature in features:
            feature.backward(dout)
        for fast_param, textbook_param in zip(features[0].parameters(), features[1].parameters()):
            close(fast_param.dense_grad(), textbook_param.dense_grad(), np.float64, fast_param.name)


# --------------------------------------------------------------------------- the sentence-level loss
@case(SentenceLoss)
def check_sentence_loss(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    for dtype in (np.float32, np.float64):
        batches = [rng.integers(0, 12, 9), np.array([1, 1, 1]), np.array([0, 4, 0, 1]), np.array([0, 0]),
                   np.array([], int)]
        for lengths in batches:
            n, tags = int(lengths.sum()), 5
            logits = rng.normal(scale=2, size=(n, tags)).astype(dtype)
            targets = rng.integers(0, tags, n)
            losses = [cls(tags, dtype) for cls in (fast, textbook)]
            transitions, initial = rng.normal(size=(tags, tags)), rng.normal(size=tags)
            for loss in losses:
                loss.transitions.value[...], loss.initial.value[...] = transitions, initial
            values = [loss.forward(logits.copy(), targets, lengths) for loss in losses]
            assert values[0] == pytest.approx(values[1], rel=1e-4 if dtype == np.float32 else 1e-10, abs=1e-6)
            close(losses[0].backward(), losses[1].backward(), dtype, "dlogits")
            for fast_param, textbook_param in zip(losses[0].parameters(), losses[1].parameters()):
                close(fast_param.grad, textbook_param.grad, dtype, fast_param.name)
    # extreme scores meeting forbidden moves: the scaled recursion underflows, the log-space one takes over
    only_stay = np.array([[0.0, -np.inf], [-np.inf, 0.0]])
    extreme, lengths = np.array([[1e4, 0.0], [0.0, 1e4]]), np.array([2])
    losses = [cls(2, np.float64) for cls in (fast, textbook)]
    for loss in losses:
        loss.transitions.value[...] = only_stay
    values = [loss.forward(extreme, np.array([0, 0]), lengths) for loss in losses]
    assert losses[0].flat_cache is None and values[0] == values[1] and np.isfinite(values[0])
    np.testing.assert_array_equal(losses[0].backward(), losses[1].backward())


# --------------------------------------------------------------------------- inference and decoding
@case(predict_scores)
def check_inference(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    for chars in (False, True):
        encoder, network = tagging_model("relu", [16], chars)
        encoded = encoder.encode_sentences(random_sentences(rng, 120))
        for batch_size in (1, 7, 300, len(encoded) + 5):  # a 1-row batch is a matrix-vector product
            expected = textbook(network, encoded.features, batch_size)
            # gathered windows: the same bits (fold_max_rows=0 never folds)
            np.testing.assert_array_equal(fast(network, encoded.features, batch_size, fold_max_rows=0), expected)
        assert len(np.unique(expected.argmax(axis=1))) > 1  # real, varied scores
        # small tables (an alphabet) fold the first hidden layer into per-symbol rows: the same to rounding
        assert (wintrain.kernels.inference.foldable(network, 1024) is None) == chars
        folded = fast(network, encoded.features, 7)
        close(folded, expected, np.float32, "folded scores")
        margin = np.sort(expected, axis=1)[:, -1] - np.sort(expected, axis=1)[:, -2]
        assert (folded.argmax(axis=1) == expected.argmax(axis=1))[margin > 1e-4].all()
        empty = encoder.encode_sentences([[], []])
        assert fast(network, empty.features, 8).shape == textbook(network, empty.features, 8).shape == (0, 5)
    _, linear = tagging_model("relu", [], False)  # no hidden layer: nothing to fold
    assert wintrain.kernels.inference.foldable(linear, 1024) is None


@case(decode_corpus)
def check_decode(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    checked = 0
    few_sentences = wintrain.kernels.decode.FEW_SENTENCES
    try:
        for trial in range(180):
            wintrain.kernels.decode.FEW_SENTENCES = (0, 3, 10_000)[trial // 6 % 3]  # both ways of taking a step
            scores, starts, transitions, initial, final = decoding_problem(rng, trial)
            n = len(scores)
            if trial % 10 == 9 and n:
                scores[int(rng.integers(n)), 0] = np.nan
            np.testing.assert_array_equal(fast(scores, starts, transitions, initial, final),
                                          textbook(scores, starts, transitions, initial, final))
            checked += n
    finally:
        wintrain.kernels.decode.FEW_SENTENCES = few_sentences
    assert checked > 2000


# --------------------------------------------------------------------------- optimizers
def optimizer_case(name: str, tolerance: float, **params: Any) -> Check:
    """Two copies of one network, one with the textbook nodes and optimizer, one with the fast ones, fed
    the same gradients (each step's gradients of the fast network, copied into the textbook one) from the
    same random moments, several steps; with the parameters' moving average on."""

    def check(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
        seed = int(rng.integers(1 << 30))
        networks = []
        for kernels in ("fast", "textbook"):
            inner = np.random.default_rng(seed)
            spec = ModelSpec(window_size=3, n_classes=4, hidden=[7], activation="tanh")
            tables = [FeatureTable("word", inner.normal(size=(40, 5)).astype(np.float32)),
                      FeatureTable("casing", inner.normal(size=(6, 2)).astype(np.float32), dense_updates=True)]
            networks.append(WindowClassifier(spec, tables, inner, np.float32, kernels=kernels))
        optimizers = [cls(network.parameters(), **params) for cls, network in zip((fast, textbook), networks)]
        assert OPTIMIZERS.get(name) is textbook
        moments = {"steps": np.array(11)}
        for param in networks[1].parameters():
            for slot in ("m", "v", "sum_sq", "mean_sq", "velocity"):
                if slot in ("m", "velocity"):
                    moments[f"{param.name}/{slot}"] = rng.normal(scale=1e-2, size=param.value.shape).astype(np.float32)
                else:
                    moments[f"{param.name}/{slot}"] = rng.uniform(1e-6, 1e-3, param.value.shape).astype(np.float32)
        for optimizer in optimizers:
            optimizer.load_state_arrays(moments)
            optimizer.ema_decay = 0.9
        for _ in range(4):
            ids = [zipf_ids(rng, 96, 40).reshape(32, 3), rng.integers(0, 6, (32, 3))]
            networks[0].loss_and_grads(ids, rng.integers(0, 4, 32))
            for fast_param, textbook_param in zip(networks[0].parameters(), networks[1].parameters()):
                textbook_param.rows = fast_param.rows
                textbook_param.grad[...] = fast_param.grad if not fast_param.sparse else 0
                if fast_param.sparse:
                    textbook_param.grad = fast_param.grad.copy()
            for optimizer in optimizers:
                optimizer.step(3e-2)
        for fast_param, textbook_param in zip(networks[0].parameters(), networks[1].parameters()):
            np.testing.assert_allclose(fast_param.value, textbook_param.value, rtol=tolerance, atol=tolerance,
                                       err_msg=fast_param.name)
        fast_state, textbook_state = (optimizer.state_arrays() for optimizer in optimizers)
        assert fast_state.keys() == textbook_state.keys()
        for key in textbook_state:
            np.testing.assert_allclose(fast_state[key], textbook_state[key], rtol=max(tolerance, 1e-6),
                                       atol=max(tolerance, 1e-7), err_msg=key)
        with optimizers[0].averaged(), optimizers[1].averaged():
            for fast_param, textbook_param in zip(networks[0].parameters(), networks[1].parameters()):
                np.testing.assert_allclose(fast_param.value, textbook_param.value, rtol=max(tolerance, 1e-6),
                                           atol=max(tolerance, 1e-6), err_msg=f"average of {fast_param.name}")

    return check


CASES[SGD] = optimizer_case("sgd", 0.0, momentum=0.9, nesterov=True)  # the same arithmetic: bit for bit
CASES[Adagrad] = optimizer_case("adagrad", 0.0)
CASES[RMSprop] = optimizer_case("rmsprop", 0.0, momentum=0.5)
CASES[Adam] = optimizer_case("adam", 1e-5, amsgrad=True)  # bias corrections folded: float rounding
CASES[AdamW] = optimizer_case("adamw", 1e-5, weight_decay=0.1)
CASES[SparseAdam] = optimizer_case("sparse_adam", 1e-5)


# --------------------------------------------------------------------------- vector files
@case(parse_lines)
def check_vector_files(fast: Any, textbook: Any, rng: np.random.Generator, tmp: Path) -> None:
    values = rng.normal(0.0, 1.5, (600, 7))
    decimals = rng.integers(1, 9, values.shape)
    rows = [[f"{v:.{d}f}" for v, d in zip(row, places)] for row, places in zip(values.tolist(), decimals.tolist())]
    rows[5][2], rows[300][0], rows[301][1] = "1e-05", "-0.0", "12.5"
    lines = [f"w{i} {' '.join(row)}" for i, row in enumerate(rows)] + ["w0 " + " ".join(["0.5"] * 7)]  # a repeat
    path = tmp / "vectors.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for keep in (None, {f"w{i}" for i in range(0, 600, 3)}):
        loaded = [load_vectors(path, keep=keep, kernels=kernels) for kernels in ("fast", "textbook")]
        assert loaded[0].words == loaded[1].words and len(loaded[0].words) == (600 if keep is None else 200)
        np.testing.assert_array_equal(loaded[0].matrix.view(np.uint32), loaded[1].matrix.view(np.uint32))


# --------------------------------------------------------------------------- the test
def name_of(textbook: Any) -> str:
    return getattr(textbook, "__qualname__", repr(textbook))


@pytest.mark.parametrize("textbook", list(twins()), ids=name_of)
def test_every_fast_kernel_equals_its_textbook_twin(textbook: Any, tmp_path: Path) -> None:
    fast = twins()[textbook]
    assert fast.textbook_twin is textbook and fast is not textbook
    CASES[textbook](fast, textbook, np.random.default_rng(0), tmp_path)


def test_every_twin_has_a_case() -> None:
    missing = [name_of(textbook) for textbook in twins() if textbook not in CASES]
    assert not missing
    assert len(twins()) == len(CASES) == 16
