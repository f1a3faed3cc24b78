"""Load what a config's ``data`` and ``embeddings`` sections name: corpora, encoder, vectors."""

from __future__ import annotations

from typing import Callable

import numpy as np

from wintrain.config import Config
from wintrain.data.dataset import Encoder, affix, parse_affix_name
from wintrain.data.reader import Corpus, read_conll
from wintrain.data.vectors import Vectors, load_vectors
from wintrain.data.vocab import PAD, UNK, TagSet, Vocab

SPLITS = ("train", "dev", "test")


def load_corpora(config: Config) -> dict[str, Corpus]:
    """The configured splits (``train`` always; ``dev`` and ``test`` when given)."""
    data = config.data
    return {
        split: read_conll(getattr(data, split), data.token_column, data.tag_column)
        for split in SPLITS
        if getattr(data, split) is not None
    }


def make_encoder(config: Config, train: Corpus, vectors: Vectors | None = None) -> Encoder:
    """Vocabulary from the training words (lowercased when configured), extended by the words of
    ``vectors`` when given; tags from the config or the training data."""
    features = config.features
    base = Encoder(Vocab([PAD, UNK]), TagSet([]), config.model.window_size, config.data.lowercase, features.casing,
                   config.data.digits)
    vocab = Vocab.build(base.lookup_forms(train.tokens))
    if vectors is not None:
        vocab = vocab.extended(vectors.words)
    tagset = TagSet(list(config.data.tags)) if config.data.tags else TagSet.from_tags(train.tags)
    names = sorted([f"prefix{n}" for n in features.prefixes] + [f"suffix{n}" for n in features.suffixes])
    affixes = {}
    for name in names:
        kind, length = parse_affix_name(name)
        affixes[name] = Vocab.build((affix(t, kind, length) for t in train.tokens), features.affix_min_count)
    return Encoder(vocab, tagset, base.window_size, base.lowercase, base.casing, base.digits, affixes)


def load_encoder_and_vectors(config: Config, train: Corpus) -> tuple[Encoder, Vectors | None]:
    """The encoder and the pretrained vectors its table needs.

    ``embeddings.extend_vocab: false``: the vocabulary is the training words and only their
    vector lines are parsed.  ``true``: every word of the vector file joins the vocabulary, so
    a word never seen in training still has its pretrained vector at test time.  With
    ``data.digits`` the vector file's words are looked up digit-normalised too ("1996" →
    "0000"; the first, i.e. most frequent, word of each form keeps its vector).
    """
    path = config.embeddings.path
    if path is None:
        return make_encoder(config, train), None
    embeddings = config.embeddings
    if config.data.digits:
        vectors = normalised_vectors(load_vectors(path, dim=embeddings.dim, cache_dir=embeddings.cache_dir),
                                     make_encoder(config, train).normalise)
        if embeddings.extend_vocab:
            return make_encoder(config, train, vectors), vectors
        encoder = make_encoder(config, train)
        return encoder, restricted(vectors, encoder.vocab.index)
    if embeddings.extend_vocab:
        vectors = load_vectors(path, dim=embeddings.dim, cache_dir=embeddings.cache_dir)
        return make_encoder(config, train, vectors), vectors
    encoder = make_encoder(config, train)
    keep = set(encoder.vocab.words)
    return encoder, load_vectors(path, dim=embeddings.dim, keep=keep, cache_dir=embeddings.cache_dir)


def normalised_vectors(vectors: Vectors, normalise: Callable[[str], str]) -> Vectors:
    """The vectors keyed by ``normalise(word)``; the first row of each form wins."""
    first: dict[str, int] = {}
    for row, word in enumerate(vectors.words):
        first.setdefault(normalise(word), row)
    rows = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    return Vectors(list(first), vectors.matrix[rows])


def restricted(vectors: Vectors, index: dict[str, int]) -> Vectors:
    """Only the rows of words in ``index``."""
    rows = np.array([row for row, word in enumerate(vectors.words) if word in index], dtype=np.int64)
    return Vectors([vectors.words[row] for row in rows.tolist()], vectors.matrix[rows])
