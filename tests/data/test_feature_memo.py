"""A FeatureMemo encodes exactly as its encoder does, chunk after chunk."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wintrain.data.chars import CharVocab, CharWindows
from wintrain.data.dataset import Encoder
from wintrain.data.feature_memo import FeatureMemo
from wintrain.data.reader import sentence_starts
from wintrain.data.vocab import TagSet, Vocab

FORMS = ["Paris", "paris", "PARIS", "is", "1996", "2003", "big", "iPhone", "--", "Müller", "x", "Zürich", "3.5"]


def encoder(chars: bool = False) -> Encoder:
    vocab = Vocab.build(["paris", "is", "0000", "big", "müller"])
    affixes = {"suffix2": Vocab.build(["is", "ig", "er"]), "prefix1": Vocab.build(["p", "b"])}
    char_vocab = CharVocab(["<pad>", "<unk>", *"parisbgPAR"]) if chars else None
    return Encoder(vocab, TagSet(["O", "B-LOC"]), 3, lowercase=True, casing=True, digits=True, affixes=affixes,
                   chars=char_vocab)


def same(a: object, b: object) -> bool:
    if isinstance(a, CharWindows) and isinstance(b, CharWindows):
        return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("forms", "ids", "lengths")) \
            and a.width == b.width
    return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b) and a.dtype == b.dtype


SENTENCES = st.lists(st.lists(st.sampled_from(FORMS), min_size=1, max_size=6), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(st.lists(SENTENCES, min_size=1, max_size=4), st.booleans(), st.integers(2, 50))
def test_memo_encodes_as_the_encoder_chunk_after_chunk(chunks, chars, limit):
    enc = encoder(chars)
    memo = FeatureMemo(enc, limit=limit)
    most = 0
    for sentences in chunks:
        tokens = [t for s in sentences for t in s]
        starts = sentence_starts(sentences)
        encoded = memo.encode(tokens, starts)
        reference = enc.encode_tokens(tokens, starts)
        assert len(encoded.features) == len(reference) == len(enc.feature_names)
        assert all(same(a, b) for a, b in zip(encoded.features, reference))
        assert np.array_equal(encoded.sentence_starts, starts) and encoded.targets is None
        most = max(most, len(set(tokens)))
        assert len(memo) <= max(limit, most)  # starts afresh past the limit (one chunk's forms always fit)


def test_memo_asks_the_encoder_only_about_new_forms():
    enc = encoder()
    asked: list[list[str]] = []
    original = enc.form_features

    def counting(forms):
        asked.append(list(forms))
        return original(forms)

    enc.form_features = counting  # type: ignore[method-assign]
    memo = FeatureMemo(enc)
    memo.encode(["Paris", "is", "big", "Paris"], np.array([0, 4]))
    memo.encode(["big", "Paris", "x"], np.array([0, 3]))
    assert asked == [["Paris", "is", "big"], ["x"]]
