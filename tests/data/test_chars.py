from __future__ import annotations

import numpy as np
import pytest

from wintrain.data.chars import CharVocab, take_words
from wintrain.errors import WintrainError


def naive_encode(vocab: CharVocab, words: list[str], max_length: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    half = (width - 1) // 2
    kept = [word[:max_length] for word in words]
    lengths = np.array([max(len(word), 1) for word in kept], dtype=np.int32)
    columns = max(lengths.max(initial=1), 1) + 2 * half
    ids = np.zeros((len(words), columns), dtype=np.int32)
    for row, word in enumerate(kept):
        for position, char in enumerate(word):
            ids[row, half + position] = vocab.index.get(char, 1)
    return ids, lengths


def test_build_orders_by_frequency_then_first_seen_and_keeps_case() -> None:
    vocab = CharVocab.build(["aab", "Ba"])
    assert vocab.chars == ["<pad>", "<unk>", "a", "b", "B"]
    assert len(vocab) == 5
    assert CharVocab.build(["aab", "Ba"], min_count=2).chars == ["<pad>", "<unk>", "a"]


def test_encode_by_hand_pads_both_sides_truncates_and_maps_unknowns() -> None:
    vocab = CharVocab.build(["aab", "Ba"])  # a=2, b=3, B=4
    ids, lengths = vocab.encode(["ab", "Bxa", "abcab", "A"], max_length=4, width=3)
    assert ids.dtype == np.int32 and lengths.dtype == np.int32
    assert lengths.tolist() == [2, 3, 4, 1]
    assert ids.tolist() == [
        [0, 2, 3, 0, 0, 0],
        [0, 4, 1, 2, 0, 0],  # x is unseen → <unk>
        [0, 2, 3, 1, 2, 0],  # "abcab" keeps its first 4 characters
        [0, 1, 0, 0, 0, 0],  # "A" was never seen (only "a"): case is kept
    ]


def test_encode_width_five_and_empty_word() -> None:
    vocab = CharVocab.build(["ab"])
    ids, lengths = vocab.encode(["b", ""], max_length=10, width=5)
    assert lengths.tolist() == [1, 1]
    assert ids.tolist() == [[0, 0, 3, 0, 0], [0, 0, 0, 0, 0]]


def test_encode_width_one_has_no_side_padding() -> None:
    vocab = CharVocab.build(["ab"])
    ids, lengths = vocab.encode(["ba", "a"], max_length=10, width=1)
    assert ids.tolist() == [[3, 2], [2, 0]]
    assert lengths.tolist() == [2, 1]


def test_encode_of_nothing() -> None:
    ids, lengths = CharVocab.build(["ab"]).encode([], max_length=5, width=3)
    assert ids.shape == (0, 3) and lengths.shape == (0,)


def test_encode_of_a_large_random_word_list_equals_the_naive_one() -> None:
    rng = np.random.default_rng(0)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'.éßÖ中文😀\U0010fffd")
    words = ["".join(rng.choice(alphabet, size=rng.integers(0, 25))) for _ in range(5000)]
    training = ["".join(char for char in word if char not in "xyzXYZ中😀") for word in words[:300]]
    vocab = CharVocab.build(training, min_count=2)
    assert 2 < len(vocab) < len(alphabet) + 2  # some characters are unknown
    for max_length, width in [(12, 5), (30, 3), (1, 1)]:
        ids, lengths = vocab.encode(words, max_length=max_length, width=width)
        expected_ids, expected_lengths = naive_encode(vocab, words, max_length, width)
        np.testing.assert_array_equal(ids, expected_ids)
        np.testing.assert_array_equal(lengths, expected_lengths)


def test_characters_beyond_the_largest_known_code_point_are_unknown() -> None:
    vocab = CharVocab.build(["aé"])
    ids, _ = vocab.encode(["é😀a\ud800"], max_length=10, width=1)
    assert ids.tolist() == [[3, 1, 2, 1]]


def test_array_round_trip_and_damaged_arrays() -> None:
    vocab = CharVocab.build(["héllo wörld 中😀"])
    data = vocab.to_array()
    assert data.dtype == np.uint8 and data.ndim == 1
    assert CharVocab.from_array(np.array(data)) == vocab
    with pytest.raises(WintrainError, match="not valid UTF-8"):
        CharVocab.from_array(np.array([0xFF, 0xFE], dtype=np.uint8))
    with pytest.raises(WintrainError, match="repeats"):
        CharVocab.from_array(np.frombuffer(b"aba", dtype=np.uint8))
    assert CharVocab.from_array(np.zeros(0, np.uint8)).chars == ["<pad>", "<unk>"]


def test_settings_are_checked() -> None:
    vocab = CharVocab.build(["ab"])
    with pytest.raises(WintrainError, match="odd"):
        vocab.encode(["a"], max_length=5, width=4)
    with pytest.raises(WintrainError, match="max_length"):
        vocab.encode(["a"], max_length=0, width=3)
    with pytest.raises(WintrainError, match="min_count"):
        CharVocab.build(["a"], min_count=0)
    with pytest.raises(ValueError):
        CharVocab(["a", "b"])
    with pytest.raises(ValueError):
        CharVocab(["<pad>", "<unk>", "ab"])


def test_take_words_gathers_and_trims_to_the_batch() -> None:
    vocab = CharVocab.build(["abcdefgh"])
    ids, lengths = vocab.encode(["a", "abcdefgh", "ab"], max_length=20, width=3)
    batch_ids, batch_lengths = take_words(ids, lengths, np.array([2, 0, 2]), width=3)
    expected_ids, expected_lengths = vocab.encode(["ab", "a", "ab"], max_length=20, width=3)
    np.testing.assert_array_equal(batch_ids, expected_ids)
    np.testing.assert_array_equal(batch_lengths, expected_lengths)
