"""The fast tagging path gives what the straightforward one gives, bit for bit.

The straightforward path is written out here: every feature looked up token by token, windows
built with a Python loop, scores from :meth:`WindowClassifier.predict_scores` (the model's own
batched forward, the character convolution once per batch), and decoding with the padded
Viterbi of :mod:`wintrain.nn.sll`, one sentence at a time.
"""

from __future__ import annotations

import numpy as np
import pytest

import wintrain.evaluation.decode as decode_module
import wintrain.evaluation.evaluate as evaluate_module
from wintrain.config import load_config
from wintrain.data.casing import CASING_CLASSES, casing_class
from wintrain.data.chars import CharVocab, CharWindows, char_windows
from wintrain.data.dataset import Encoder, affix, lookup_forms, parse_affix_name, token_types
from wintrain.data.vocab import TagSet, Vocab
from wintrain.data.windows import window_positions
from wintrain.evaluation.decode import constraint_scores, decode_corpus
from wintrain.evaluation.evaluate import predict_scores
from wintrain.evaluation.tagger import Tagger
from wintrain.nn.chars import CharCNN
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier
from wintrain.nn.sll import pad_sentences, unpad
from wintrain.nn.sll import viterbi as padded_viterbi
from wintrain.training.run import train

WORDS = ["Alice", "visited", "Paris", ".", "NATO", "iPhone", "1996", "3.5", "F16", "--", "the", "The", "über"]


def random_sentences(rng: np.random.Generator, count: int, longest: int = 12) -> list[list[str]]:
    """Sentences of known words, unseen words (new strings, digits, characters outside the
    vocabularies) and repeats, with an empty sentence, a one-token one and a long one."""
    unseen = ["Zorp", "qq", "2024-01-02", "ÆØÅ", "x" * 30, "a"]
    pool = WORDS + unseen
    sentences = [[str(rng.choice(pool)) for _ in range(int(rng.integers(1, longest)))] for _ in range(count)]
    return sentences[:2] + [[], ["Paris"], [str(rng.choice(pool)) for _ in range(600)]] + sentences[2:]


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


def small_model(activation: str, hidden: list[int], chars: bool, sll: bool = False) -> tuple[Encoder, WindowClassifier]:
    """An encoder with every feature kind and a randomly initialised model over it (float32)."""
    rng = np.random.default_rng(7)
    vocab = Vocab(["<pad>", "<unk>"] + sorted({w.lower() for w in WORDS}))
    suffixes = Vocab(["<pad>", "<unk>", "s", "e", "."])
    char_vocab = CharVocab.build(WORDS) if chars else None
    encoder = Encoder(vocab, TagSet(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), 5, lowercase=True, casing=True,
                      digits=True, affixes={"suffix1": suffixes}, chars=char_vocab, char_max_length=6, char_width=3)
    spec = ModelSpec(window_size=5, n_classes=5, hidden=hidden, activation=activation,
                     loss="sll" if sll else "cross_entropy")
    tables = [FeatureTable("word", rng.normal(size=(len(vocab), 6)).astype(np.float32)),
              FeatureTable("casing", rng.normal(size=(len(CASING_CLASSES), 3)).astype(np.float32)),
              FeatureTable("suffix1", rng.normal(size=(len(suffixes), 2)).astype(np.float32))]
    cnn = None
    if char_vocab is not None:
        cnn = CharCNN(rng.normal(size=(len(char_vocab), 4)).astype(np.float32),
                      rng.normal(size=(12, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32), 3)
    return encoder, WindowClassifier(spec, tables, np.random.default_rng(3), np.float32, cnn)


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
    encoder, _ = small_model("tanh", [8], chars)
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


# --------------------------------------------------------------------------- scores
@pytest.mark.parametrize("activation, hidden", [("tanh", [16]), ("relu", [16, 8]), ("gelu", [])])
@pytest.mark.parametrize("chars", [False, True])
def test_fast_scores_are_bit_identical_to_the_models_own_forward(activation, hidden, chars):
    encoder, model = small_model(activation, hidden, chars)
    encoded = encoder.encode_sentences(random_sentences(np.random.default_rng(2), 60))
    n = len(encoded)
    assert n > 2 * evaluate_module._GATHER_ROWS  # batches that span several gathers
    for batch_size in (1, 7, 300, n + 5):  # the same batches: a 1-row batch is a matrix-vector product
        expected = model.predict_scores(encoded.features, batch_size)
        scores = predict_scores(model, encoded.features, batch_size)
        assert scores.dtype == np.float32 and scores.shape == (n, 5)
        np.testing.assert_array_equal(scores, expected)
        assert np.isfinite(expected).all() and len(np.unique(expected.argmax(axis=1))) > 1  # real, varied scores


@pytest.mark.parametrize("rows", [1, 2, 127, 128, 129, 130, 256, 257, 1000, 8193])
def test_output_pieces_cover_every_row_and_none_has_one_row_alone(rows):
    pieces = evaluate_module._output_chunks(rows)
    assert pieces[0][0] == 0 and pieces[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(pieces[:-1], pieces[1:]))
    sizes = [stop - start for start, stop in pieces]
    assert max(sizes) <= evaluate_module._OUTPUT_ROWS + 1
    assert min(sizes) >= 2 or rows == 1


def test_the_character_convolution_runs_once_per_chunk_of_the_texts_forms(monkeypatch):
    encoder, model = small_model("tanh", [8], chars=True)
    encoded = encoder.encode_sentences(random_sentences(np.random.default_rng(4), 50))
    windows = encoded.features[-1]
    assert isinstance(windows, CharWindows)
    cnn = model.embeddings[-1].cnn
    seen: list[int] = []
    original = cnn.forward

    def counting(ids, lengths, train=False):
        seen.append(len(ids))
        assert np.all(lengths[1:] >= lengths[:-1])  # each chunk arrives sorted by length
        return original(ids, lengths, train)

    monkeypatch.setattr(cnn, "forward", counting)
    expected = np.asarray(model.predict_scores(encoded.features, 16))  # the model's path: once per batch
    per_batch = len(seen)
    seen.clear()
    np.testing.assert_array_equal(predict_scores(model, encoded.features, 16), expected)
    assert seen == [len(windows.ids)] and per_batch > 10  # all distinct forms in one call
    whole = evaluate_module._char_vectors(model.embeddings[-1], windows)
    seen.clear()
    chunked = evaluate_module._char_vectors(model.embeddings[-1], windows, 3)  # 3 forms at a time
    assert seen == [3] * (len(windows.ids) // 3) + ([len(windows.ids) % 3] if len(windows.ids) % 3 else [])
    np.testing.assert_array_equal(chunked, whole)
    np.testing.assert_array_equal(whole[0], 0.0)  # positions outside the sentence
    assert whole.shape == (len(windows.ids) + 1, 5)
    assert len(np.unique(whole[1:], axis=0)) > len(windows.ids) // 2 > 5  # real, varied vectors


def test_an_empty_text_has_no_scores():
    encoder, model = small_model("tanh", [8], chars=True)
    encoded = encoder.encode_sentences([[], []])
    assert predict_scores(model, encoded.features, 8).shape == (0, 5)


# --------------------------------------------------------------------------- decoding
def padded_reference(scores, starts, transitions, initial, final=None) -> np.ndarray:
    """The padded Viterbi of nn.sll, one sentence at a time."""
    path = np.zeros(len(scores), dtype=np.int64)
    for begin, end in zip(starts[:-1].tolist(), starts[1:].tolist()):
        if end > begin:
            padded, lengths = pad_sentences(scores, np.array([begin, end]))
            path[begin:end] = unpad(padded_viterbi(padded, lengths, transitions, initial, final), lengths)
    return path


@pytest.mark.parametrize("few", [0, 3, 10_000])
def test_flat_viterbi_equals_the_padded_one_with_ties_forbidden_moves_and_mixed_dtypes(monkeypatch, few):
    monkeypatch.setattr(decode_module, "_FEW_SENTENCES", few)  # both ways of taking a step
    rng = np.random.default_rng(few)
    checked = 0
    for trial in range(150):
        n_tags = int(rng.integers(1, 6))
        lengths = rng.integers(0, 9, int(rng.integers(0, 40)))
        starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        n = int(starts[-1])
        kind = trial % 3
        if kind == 0:  # small integers: many ties, the first best must win
            scores = rng.integers(-2, 3, (n, n_tags)).astype(np.float32)
            transitions = rng.integers(-1, 2, (n_tags, n_tags)).astype(np.float32)
        else:
            scores = rng.normal(size=(n, n_tags)).astype(np.float32 if kind == 1 else np.float64)
            transitions = rng.normal(size=(n_tags, n_tags))
        initial = rng.normal(size=n_tags).astype(transitions.dtype)
        final = None
        if trial % 2:  # forbidden moves, starts and ends; some sentences have no allowed path at all
            transitions[rng.random((n_tags, n_tags)) < 0.4] = -np.inf
            initial[rng.random(n_tags) < 0.3] = -np.inf
            final = np.where(rng.random(n_tags) < 0.3, -np.inf, 0.0)
        got = decode_corpus(scores, starts, transitions, initial, final)
        np.testing.assert_array_equal(got, padded_reference(scores, starts, transitions, initial, final))
        checked += n
    assert checked > 1000


def test_decoding_in_chunks_gives_the_same_paths(monkeypatch):
    rng = np.random.default_rng(9)
    lengths = rng.integers(0, 12, 80)
    starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    scores = rng.normal(size=(int(starts[-1]), 5)).astype(np.float32)
    move, start, end = constraint_scores(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], "iob2")
    whole = decode_corpus(scores, starts, move, start, end)
    monkeypatch.setattr(decode_module, "_MAX_CHUNK_TOKENS", 7)  # also: sentences longer than a chunk
    np.testing.assert_array_equal(decode_corpus(scores, starts, move, start, end), whole)
    np.testing.assert_array_equal(whole, padded_reference(scores, starts, move, start, end))
    assert decode_corpus(np.zeros((0, 5)), np.array([0]), move, start).shape == (0,)


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
    scores = model.predict_scores(reference_features(encoder, sentences), 5)
    sll = model.loss.sll if model.sentence_level else None
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


@pytest.mark.parametrize("model, decode", [("softmax", "greedy"), ("softmax", "constrained"), ("sll", "viterbi"),
                                           ("sll", "constrained"), ("sll", "greedy")])
def test_tag_tokens_equals_the_straightforward_path(trained, model, decode):
    tagger = Tagger.load(trained[model], decode)
    sentences = random_sentences(np.random.default_rng(5), 80) + [["Alice", "visited", "Paris", "."],
                                                                  ["yesterday", "Bob", "saw", "Oslo", "."]]
    tags = tagger.tag_tokens(sentences)
    assert tags == reference_tags(tagger, sentences)
    assert [len(row) for row in tags] == [len(s) for s in sentences]
    assert tags[-2] == ["B-PER", "O", "B-LOC", "O"]  # the model learned the tiny task
    assert len({tag for row in tags for tag in row}) > 2


def test_scores_with_nan_are_decoded_as_the_padded_viterbi_does():
    rng = np.random.default_rng(12)
    lengths = np.array([3, 4, 0, 2, 5])
    starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    scores = rng.normal(size=(int(starts[-1]), 4)).astype(np.float32)
    scores[4, 2] = np.nan  # second sentence, a middle token
    scores[-1, 1] = np.nan  # last sentence, its last token
    transitions, initial = rng.normal(size=(4, 4)), rng.normal(size=4)
    got = decode_corpus(scores, starts, transitions, initial)
    np.testing.assert_array_equal(got, padded_reference(scores, starts, transitions, initial))
    np.testing.assert_array_equal(got[3:7], np.argmax(scores[3:7], axis=1))  # NaN sentences: per-token argmax
