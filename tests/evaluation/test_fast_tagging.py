"""Tagging gives what the straightforward path gives, bit for bit, with either kernel set.

The straightforward path is written out here: every feature looked up token by token, windows
built with a Python loop, scores from :func:`wintrain.nn.model.predict_scores` (the model's own
batched forward, the character convolution once per batch), and decoding with the padded
Viterbi of :mod:`wintrain.nn.sll`, one sentence at a time.
"""

from __future__ import annotations

import numpy as np
import pytest

from wintrain.config import load_config
from wintrain.data.casing import CASING_CLASSES, casing_class
from wintrain.data.chars import CharWindows, char_windows
from wintrain.data.dataset import Encoder, affix, lookup_forms, parse_affix_name, token_types
from wintrain.data.windows import window_positions
from wintrain.evaluation.decode import constraint_scores
from wintrain.evaluation.tagger import Tagger
from wintrain.kernels import KERNELS
from wintrain.nn.model import predict_scores
from wintrain.training.run import train

from conftest import padded_reference, random_sentences, tagging_model


def reference_positions(starts: np.ndarray, window_size: int) -> np.ndarray:
    """Window positions with a loop per token (N = outside the sentence)."""
    n, half = int(starts[-1]), window_size // 2
    rows = []
    for begin, end in zip(starts[:-1].tolist(), starts[1:].tolist()):
        for i in range(begin, end):
            rows.append([j if begin <= j < end else n for j in range(i - half, i + half + 1)])
    return np.array(rows, dtype=np.int32).reshape(n, window_size)


def reference_features(encoder: Encoder, sentences: list[list[str]]) -> list:
    """What :meth:`Encoder.encode_sentences` gives, token by token."""
    tokens = [token for sentence in sentences for token in sentence]
    starts = np.concatenate(([0], np.cumsum([len(s) for s in sentences]))).astype(np.int64)
    positions = reference_positions(starts, encoder.window_size)
    per_token = [[encoder.vocab.index.get(form, 1) for form in lookup_forms(tokens, encoder.lowercase,
                                                                             encoder.digits)]]
    if encoder.casing:
        per_token.append([CASING_CLASSES.index(casing_class(token)) for token in tokens])
    for name, vocab in encoder.affixes.items():
        kind, length = parse_affix_name(name)
        per_token.append([vocab.index.get(affix(token, kind, length), 1) for token in tokens])
    features: list = [np.append(np.array(ids, dtype=np.int32), 0)[positions] for ids in per_token]
    if encoder.chars is not None:  # without the precomputed token types
        features.append(char_windows(encoder.chars, tokens, positions, encoder.char_max_length, encoder.char_width))
    return features


# --------------------------------------------------------------------------- encoding
def test_token_types_number_distinct_strings_in_order_of_first_occurrence():
    forms, of_token = token_types(["b", "a", "b", "c", "a"])
    assert forms == ["b", "a", "c"]
    assert of_token.tolist() == [0, 1, 0, 2, 1]
    forms, of_token = token_types([])
    assert forms == [] and of_token.shape == (0,)


@pytest.mark.parametrize("window_size", [1, 3, 5, 7])
def test_window_positions_equal_a_loop_per_token(window_size):
    rng = np.random.default_rng(window_size)
    lengths = np.concatenate(([0, 1, 2], rng.integers(0, 9, 30), [0]))
    starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    np.testing.assert_array_equal(window_positions(starts, window_size), reference_positions(starts, window_size))
    assert window_positions(starts, window_size).dtype == np.int32


@pytest.mark.parametrize("chars", [False, True])
def test_encoding_once_per_distinct_string_equals_encoding_token_by_token(chars):
    encoder, _ = tagging_model("tanh", [8], chars)
    sentences = random_sentences(np.random.default_rng(1), 40)
    encoded = encoder.encode_sentences(sentences)
    expected = reference_features(encoder, sentences)
    assert len(encoded.features) == len(expected) == 3 + chars
    for got, want in zip(encoded.features[:3], expected[:3]):
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want)
    if chars:
        got, want = encoded.features[3], expected[3]
        assert isinstance(got, CharWindows) and isinstance(want, CharWindows)
        for name in ("forms", "ids", "lengths"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
        assert got.forms.dtype == want.forms.dtype == np.int32


# --------------------------------------------------------------------------- the Tagger
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two tiny NER models with every feature kind: one with the sentence-level loss, one without."""
    import conftest

    folder = tmp_path_factory.mktemp("fast")
    conftest.write_conll(folder / "train.txt", conftest.tiny_sentences(60, 0))
    paths = {}
    for name, loss in (("sll", "sll"), ("softmax", "cross_entropy")):
        (folder / f"{name}.yaml").write_text(
            "seed: 2\ndata: {train: train.txt, dev: train.txt}\nembeddings: {dim: 8}\n"
            "features: {casing: true, suffixes: [2], prefixes: [1], affix_min_count: 1, chars: {dim: 4, filters: 6}}\n"
            f"model: {{window_size: 3, hidden: [12]}}\nloss: {{name: {loss}}}\noptimizer: {{lr: 0.02}}\n"
            "train: {epochs: 3, batch_size: 16, eval_batch_size: 5}\n", encoding="utf-8")
        train(load_config(folder / f"{name}.yaml"), folder / name)
        paths[name] = folder / name / "best.npz"
    return paths


def reference_tags(tagger: Tagger, sentences: list[list[str]]) -> list[list[str]]:
    """Token-by-token encoding, the model's own forward, argmax or padded Viterbi per sentence."""
    encoder, model = tagger.checkpoint.encoder, tagger.model
    starts = np.concatenate(([0], np.cumsum([len(s) for s in sentences]))).astype(np.int64)
    scores = predict_scores(model, reference_features(encoder, sentences), 5)
    sll = model.loss if model.sentence_level else None
    if tagger.decode == "greedy":
        ids = scores.argmax(axis=1)
    elif tagger.decode == "viterbi":
        ids = padded_reference(scores, starts, sll.transitions.value, sll.initial.value)
    else:
        move, start, end = constraint_scores(encoder.tagset.tags, "iob2")
        if sll is not None:
            move, start = move + sll.transitions.value, start + sll.initial.value
        ids = padded_reference(scores, starts, move, start, end)
    flat = [encoder.tagset.tags[i] for i in ids.tolist()]
    return [flat[a:b] for a, b in zip(starts[:-1].tolist(), starts[1:].tolist())]


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("model, decode", [("softmax", "greedy"), ("softmax", "constrained"), ("sll", "viterbi"),
                                           ("sll", "constrained"), ("sll", "greedy")])
def test_tag_tokens_equals_the_straightforward_path(trained, model, decode, kernels):
    tagger = Tagger.load(trained[model], decode, kernels)
    sentences = random_sentences(np.random.default_rng(5), 80) + [["Alice", "visited", "Paris", "."],
                                                                  ["yesterday", "Bob", "saw", "Oslo", "."]]
    tags = tagger.tag_tokens(sentences)
    assert tags == reference_tags(tagger, sentences)
    assert [len(row) for row in tags] == [len(s) for s in sentences]
    assert tags[-2] == ["B-PER", "O", "B-LOC", "O"]  # the model learned the tiny task
    assert len({tag for row in tags for tag in row}) > 2
