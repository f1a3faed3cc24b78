"""The fast inference and decoding kernels on the edge cases of how they cut their work: gathers and output
pieces, the character convolution once per chunk of a text's forms, decoding in chunks and both ways of
taking a Viterbi step (the general equality with the textbook twins is tests/kernels/test_twins.py)."""

from __future__ import annotations

import numpy as np
import pytest

import wintrain.kernels.decode as decode_module
import wintrain.kernels.inference as inference_module
from wintrain.data.chars import CharWindows
from wintrain.evaluation.decode import constraint_scores
from wintrain.kernels.decode import flat_decode_corpus
from wintrain.kernels.inference import gathered_scores
from wintrain.nn.model import predict_scores

from conftest import padded_reference, random_sentences, tagging_model


# --------------------------------------------------------------------------- scores
@pytest.mark.parametrize("activation, hidden", [("tanh", [16]), ("relu", [16, 8]), ("gelu", [])])
@pytest.mark.parametrize("chars", [False, True])
def test_fast_scores_are_bit_identical_to_the_models_own_forward(activation, hidden, chars):
    encoder, model = tagging_model(activation, hidden, chars)
    encoded = encoder.encode_sentences(random_sentences(np.random.default_rng(2), 60))
    n = len(encoded)
    assert n > 2 * inference_module.GATHER_ROWS  # batches that span several gathers
    for batch_size in (1, 7, 300, n + 5):  # the same batches: a 1-row batch is a matrix-vector product
        expected = predict_scores(model, encoded.features, batch_size)
        scores = gathered_scores(model, encoded.features, batch_size, fold_max_rows=0)
        assert scores.dtype == np.float32 and scores.shape == (n, 5)
        np.testing.assert_array_equal(scores, expected)
        assert np.isfinite(expected).all() and len(np.unique(expected.argmax(axis=1))) > 1  # real, varied scores


@pytest.mark.parametrize("dense", [True, False])
def test_folded_scores_over_several_blocks_and_both_ways_of_numbering_symbols(monkeypatch, dense):
    encoder, model = tagging_model("relu", [16, 8], chars=False)
    encoded = encoder.encode_sentences(random_sentences(np.random.default_rng(5), 60))
    monkeypatch.setattr(inference_module, "FOLD_ROWS", 100)  # several blocks, the last one short
    if not dense:
        monkeypatch.setattr(inference_module, "FOLD_DENSE_SPACE", 0)  # np.unique numbers the symbols
    assert len(encoded) % 100 and len(encoded) > 300
    first = inference_module.foldable(model, 1024)
    assert first is not None
    folded = inference_module.folded_scores(model, encoded.features, first)
    np.testing.assert_allclose(folded, predict_scores(model, encoded.features), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rows", [1, 2, 127, 128, 129, 130, 256, 257, 1000, 8193])
def test_output_pieces_cover_every_row_and_none_has_one_row_alone(rows):
    pieces = inference_module.output_chunks(rows)
    assert pieces[0][0] == 0 and pieces[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(pieces[:-1], pieces[1:]))
    sizes = [stop - start for start, stop in pieces]
    assert max(sizes) <= inference_module.OUTPUT_ROWS + 1
    assert min(sizes) >= 2 or rows == 1


def test_the_character_convolution_runs_once_per_chunk_of_the_texts_forms(monkeypatch):
    encoder, model = tagging_model("tanh", [8], chars=True)
    encoded = encoder.encode_sentences(random_sentences(np.random.default_rng(4), 50))
    windows = encoded.features[-1]
    assert isinstance(windows, CharWindows)
    cnn = model.features[-1].cnn
    seen: list[int] = []
    original = cnn.forward

    def counting(ids, lengths, train=False):
        seen.append(len(ids))
        assert np.all(lengths[1:] >= lengths[:-1])  # each chunk arrives sorted by length
        return original(ids, lengths, train)

    monkeypatch.setattr(cnn, "forward", counting)
    expected = np.asarray(predict_scores(model, encoded.features, 16))  # the model's path: once per batch
    per_batch = len(seen)
    seen.clear()
    np.testing.assert_array_equal(gathered_scores(model, encoded.features, 16), expected)
    assert seen == [len(windows.ids)] and per_batch > 10  # all distinct forms in one call
    whole = inference_module.char_vectors(model.features[-1], windows)
    seen.clear()
    chunked = inference_module.char_vectors(model.features[-1], windows, 3)  # 3 forms at a time
    assert seen == [3] * (len(windows.ids) // 3) + ([len(windows.ids) % 3] if len(windows.ids) % 3 else [])
    np.testing.assert_array_equal(chunked, whole)
    np.testing.assert_array_equal(whole[0], 0.0)  # positions outside the sentence
    assert whole.shape == (len(windows.ids) + 1, 5)
    assert len(np.unique(whole[1:], axis=0)) > len(windows.ids) // 2 > 5  # real, varied vectors


def test_an_empty_text_has_no_scores():
    encoder, model = tagging_model("tanh", [8], chars=True)
    encoded = encoder.encode_sentences([[], []])
    assert gathered_scores(model, encoded.features, 8).shape == (0, 5)


# --------------------------------------------------------------------------- decoding
def test_decoding_in_chunks_gives_the_same_paths(monkeypatch):
    rng = np.random.default_rng(9)
    lengths = rng.integers(0, 12, 80)
    starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    scores = rng.normal(size=(int(starts[-1]), 5)).astype(np.float32)
    move, start, end = constraint_scores(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], "iob2")
    whole = flat_decode_corpus(scores, starts, move, start, end)
    monkeypatch.setattr(decode_module, "MAX_CHUNK_TOKENS", 7)  # also: sentences longer than a chunk
    np.testing.assert_array_equal(flat_decode_corpus(scores, starts, move, start, end), whole)
    np.testing.assert_array_equal(whole, padded_reference(scores, starts, move, start, end))
    assert flat_decode_corpus(np.zeros((0, 5)), np.array([0]), move, start).shape == (0,)


def test_scores_with_nan_are_decoded_as_the_padded_viterbi_does():
    rng = np.random.default_rng(12)
    lengths = np.array([3, 4, 0, 2, 5])
    starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    scores = rng.normal(size=(int(starts[-1]), 4)).astype(np.float32)
    scores[4, 2] = np.nan  # second sentence, a middle token
    scores[-1, 1] = np.nan  # last sentence, its last token
    transitions, initial = rng.normal(size=(4, 4)), rng.normal(size=4)
    got = flat_decode_corpus(scores, starts, transitions, initial)
    np.testing.assert_array_equal(got, padded_reference(scores, starts, transitions, initial))
    np.testing.assert_array_equal(got[3:7], np.argmax(scores[3:7], axis=1))  # NaN sentences: per-token argmax
