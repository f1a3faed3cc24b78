import numpy as np
import pytest

from wintrain.data.casing import CASING_CLASSES, casing_class, casing_ids
from wintrain.data.dataset import Encoder
from wintrain.data.vocab import TagSet, Vocab
from wintrain.data.windows import gather_windows, window_positions


def test_windows_pad_across_sentence_boundaries():
    starts = np.array([0, 3, 5])  # sentences [0,1,2] and [3,4]
    positions = window_positions(starts, 3)
    pad = 5
    assert positions.tolist() == [[pad, 0, 1], [0, 1, 2], [1, 2, pad], [pad, 3, 4], [3, 4, pad]]
    ids = np.array([10, 11, 12, 13, 14])
    assert gather_windows(ids, positions, pad_id=0)[3].tolist() == [0, 13, 14]


def test_window_of_five_in_a_one_word_sentence():
    assert window_positions(np.array([0, 1]), 5).tolist() == [[1, 1, 0, 1, 1]]


def test_even_window_is_rejected():
    with pytest.raises(ValueError):
        window_positions(np.array([0, 2]), 4)


@pytest.mark.parametrize(
    "token, expected",
    [("cat", "lower"), ("NATO", "UPPER"), ("Paris", "Title"), ("A", "UPPER"), ("iPhone", "mixed"),
     ("McDonald", "mixed"), ("1996", "numeric"), ("3.5", "numeric"), ("1,000", "numeric"),
     ("1996-08-22", "has_digit"), ("F16", "has_digit"), (".", "other"), ("--", "other")],
)
def test_casing_classes(token, expected):
    assert casing_class(token) == expected


def test_casing_ids_never_use_the_pad_class():
    ids = casing_ids(["The", "cat", ".", "NATO"])
    assert ids.tolist() == [CASING_CLASSES.index(c) for c in ("Title", "lower", "other", "UPPER")]


def test_vocab_reserves_pad_and_unk_and_orders_by_frequency():
    vocab = Vocab.build(["b", "a", "b", "c", "b", "a"])
    assert vocab.words == ["<pad>", "<unk>", "b", "a", "c"]
    assert vocab.encode(["a", "zzz"]).tolist() == [3, 1]


def test_tagset_puts_o_first_and_groups_types():
    assert TagSet.from_tags(["I-PER", "O", "B-LOC", "B-PER"]).tags == ["O", "B-LOC", "B-PER", "I-PER"]


def test_encoder_lowercases_words_but_keeps_case_as_a_feature():
    encoder = Encoder(Vocab.build(["paris", "is", "big"]), TagSet(["O", "B-LOC"]), 3, lowercase=True, casing=True)
    words, cases = encoder.encode_sentences([["Paris", "is", "BIG"]]).features
    assert words.tolist() == [[0, 2, 3], [2, 3, 4], [3, 4, 0]]
    assert cases[1].tolist() == [CASING_CLASSES.index("Title"), CASING_CLASSES.index("lower"),
                                 CASING_CLASSES.index("UPPER")]


def test_encoder_round_trips_through_arrays():
    encoder = Encoder(Vocab.build(["a"]), TagSet(["O", "B-X"]), 5, lowercase=False, casing=False)
    again = Encoder.from_arrays(encoder.to_arrays())
    assert (again.vocab.words, again.tagset.tags, again.window_size, again.lowercase, again.casing) == \
        (encoder.vocab.words, encoder.tagset.tags, 5, False, False)


def test_affixes_and_digit_normalisation_become_features():
    from wintrain.data.dataset import affix, normalise_digits

    assert normalise_digits("1996-08-22") == "0000-00-00"
    assert affix("Running", "suffix", 3) == "ing" and affix("Running", "prefix", 2) == "ru"
    assert affix("Go", "suffix", 3) == "go"
    encoder = Encoder(Vocab.build(["0000", "in"]), TagSet(["O"]), 1, lowercase=True, casing=False, digits=True,
                      affixes={"suffix2": Vocab.build(["in", "96"])})
    words, suffixes = encoder.encode_sentences([["in", "1996"]]).features
    assert words[:, 0].tolist() == [encoder.vocab.index["in"], encoder.vocab.index["0000"]]
    assert suffixes[:, 0].tolist() == [encoder.affixes["suffix2"].index["in"], encoder.affixes["suffix2"].index["96"]]
    again = Encoder.from_arrays(encoder.to_arrays())
    assert again.digits and again.affixes["suffix2"].words == encoder.affixes["suffix2"].words


def test_a_curly_apostrophe_finds_the_straight_spelling_of_an_unseen_word():
    encoder = Encoder(Vocab.build(["aujourd'hui", "n't", "l’"]), TagSet(["O"]), 1, lowercase=False, casing=False)
    words = encoder.encode_sentences([["aujourd’hui", "nʼt", "l’", "l'", "x’y"]]).features[0][:, 0]
    index = encoder.vocab.index
    assert words.tolist() == [index["aujourd'hui"], index["n't"], index["l’"], index["l’"], encoder.vocab.unk_id]


def test_the_category_feature_is_the_unicode_category_of_the_first_character():
    from wintrain.data.casing import CATEGORIES

    encoder = Encoder(Vocab.build(["a"]), TagSet(["O"]), 1, lowercase=False, casing=False, category=True)
    _, categories = encoder.encode_sentences([["a", "É", "7", " ", ".", "€", "中"]]).features
    assert [CATEGORIES[i] for i in categories[:, 0]] == ["Ll", "Lu", "Nd", "Zs", "Po", "Sc", "Lo"]
    assert Encoder.from_arrays(encoder.to_arrays()).category
