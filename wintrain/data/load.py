"""Load what a config's ``data`` and ``embeddings`` sections name: corpora, encoder, vectors."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from itertools import chain
from pathlib import Path

import numpy as np

from wintrain.config import TAG_FIELDS, Config, DataConfig
from wintrain.data.chars import CharVocab
from wintrain.data.conllu import conllu_hint, looks_like_conllu, read_conllu
from wintrain.data.dataset import Encoder, affix, lookup_forms, parse_affix_name
from wintrain.data.reader import Corpus, conll_from_text, read_utf8
from wintrain.data.segmentation import tokenizer_corpus, tokenizer_tagset
from wintrain.data.tags import SEGMENTATION, TagScheme, resolve_scheme
from wintrain.data.vectors import Vectors, load_vectors
from wintrain.data.vocab import TagSet, Vocab
from wintrain.errors import WintrainError

SPLITS = ("train", "dev", "test")


def load_corpora(config: Config) -> dict[str, Corpus]:
    """The configured splits (``train`` always; ``dev`` and ``test`` when given): tagged words, or for
    ``task: tokenize`` the labelled characters of the raw text (:mod:`wintrain.data.segmentation`)."""
    return {
        split: read_training_corpus(getattr(config.data, split), config)
        for split in SPLITS
        if getattr(config.data, split) is not None
    }


def read_training_corpus(path: Path, config: Config) -> Corpus:
    """One data file as the configured task learns from it."""
    if config.task == "tokenize":
        path = Path(path)
        if not path.exists() and config.data.obtain:
            raise WintrainError(f"{path}: no such file; {config.data.obtain}")
        return tokenizer_corpus(path)
    return read_corpus(path, config.data)


def to_model_tags(corpus: Corpus, scheme: TagScheme) -> Corpus:
    """``corpus`` with its tags as the model learns them (:meth:`TagScheme.model_tags`, each sentence on its
    own); the corpus itself when the model learns the data's own scheme."""
    if not scheme.recoded:
        return corpus
    tags = [scheme.model_tags(sentence) for sentence in corpus.tag_sentences()]
    return dataclasses.replace(corpus, tags=list(chain.from_iterable(tags)))


def training_scheme(config: Config, train: Corpus) -> TagScheme:
    """The :class:`TagScheme` of a training set: from ``data.scheme``/``data.model_scheme`` and the tags
    (``data.tags``, else those of the training data); a tokenizer's labels are :data:`SEGMENTATION`."""
    if config.task == "tokenize":
        return SEGMENTATION
    data = config.data
    tags = data.tags or sorted(set(train.tags))
    return resolve_scheme(data.scheme, data.model_scheme, tags, train.tag_sentences())


def corpus_format(path: Path, data: DataConfig) -> str:
    """``conllu`` or ``conll``: ``data.format``, or with ``auto`` by the file name (``*.conllu``, ``*.conllu.gz``)."""
    if data.format != "auto":
        return data.format
    return "conllu" if path.name.removesuffix(".gz").endswith(".conllu") else "conll"


def read_corpus(path: Path, data: DataConfig) -> Corpus:
    """Read one data file in the configured format, with the configured token and tag columns.

    A file read as CoNLL columns because of its name (``format: auto``) that looks like CoNLL-U
    is refused with a hint rather than misread; a missing file names what ``data.obtain`` says.
    """
    path = Path(path)
    if not path.exists() and data.obtain:
        raise WintrainError(f"{path}: no such file; {data.obtain}")
    column = data.tag_column
    if corpus_format(path, data) == "conllu":
        if isinstance(column, int):
            raise WintrainError(
                f"{path} is read as CoNLL-U, whose tag is named, not numbered: set data.tag_column to one of "
                f"{', '.join(TAG_FIELDS)} (or remove it: upos)"
            )
        return read_conllu(path, column or "upos")
    if isinstance(column, str):
        raise WintrainError(
            f"data.tag_column: {column!r} names a CoNLL-U field, but {path} is read as CoNLL columns; "
            "name the file *.conllu or set data.format: conllu"
        )
    text = read_utf8(path)
    if data.format == "auto" and looks_like_conllu(text):
        raise WintrainError(conllu_hint(path))
    return conll_from_text(path, text, data.token_column, -1 if column is None else column)


def make_encoder(config: Config, train: Corpus, scheme: TagScheme, vectors: Vectors | None = None) -> Encoder:
    """Vocabulary from the training words' lookup forms, extended by the words of ``vectors`` when
    given; tags from the config or the training data; one vocabulary per configured affix."""
    features, data = config.features, config.data
    vocab = Vocab.build(lookup_forms(train.tokens, data.lowercase, data.digits))
    if vectors is not None:
        vocab = vocab.extended(vectors.words)
    if config.task == "tokenize":  # every label, also one this training file happens not to use
        tagset = tokenizer_tagset()
    elif data.tags:  # train is already in the model's scheme (to_model_tags); a given tag set follows it
        tagset = TagSet(scheme.model_tagset(data.tags))
    else:
        tagset = TagSet.from_tags(train.tags)
    names = sorted([f"prefix{n}" for n in features.prefixes] + [f"suffix{n}" for n in features.suffixes])
    affixes = {}
    for name in names:
        kind, length = parse_affix_name(name)
        affixes[name] = Vocab.build((affix(t, kind, length) for t in train.tokens), features.affix_min_count)
    chars = None
    if features.chars is not None:
        chars = CharVocab.build(train.tokens, features.chars.min_count)
    return Encoder(vocab, tagset, config.model.window_size, data.lowercase, features.casing, data.digits, affixes,
                   chars, features.chars.max_length if features.chars else 20,
                   features.chars.width if features.chars else 3, features.category)


def load_encoder_and_vectors(config: Config, train: Corpus, scheme: TagScheme) -> tuple[Encoder, Vectors | None]:
    """The encoder and the pretrained vectors its table needs; ``train`` holds the tags the model learns
    (:func:`to_model_tags` under ``scheme``).

    ``embeddings.extend_vocab: false``: the vocabulary is the training words and only their
    vector lines are parsed.  ``true``: every word of the vector file joins the vocabulary, so
    a word never seen in training still has its pretrained vector at test time.  With
    ``data.digits`` the vector file's words are looked up digit-normalised too ("1996" →
    "0000"; the first, i.e. most frequent, word of each form keeps its vector).
    """
    if config.embeddings.path is None:
        return make_encoder(config, train, scheme), None
    if config.embeddings.extend_vocab:
        vectors = pretrained_vectors(config)
        return make_encoder(config, train, scheme, vectors), vectors
    encoder = make_encoder(config, train, scheme)
    return encoder, pretrained_vectors(config, encoder.vocab.words)


def pretrained_vectors(config: Config, forms: Collection[str] | None = None) -> Vectors:
    """The vectors of ``embeddings.path`` keyed by lookup form, only those of ``forms`` when given.

    Without ``data.digits`` only the lines of ``forms`` are parsed; with it the whole file is
    read (a form such as "0000" stands for many words of the file) and then restricted.
    """
    embeddings, data = config.embeddings, config.data
    assert embeddings.path is not None
    if not embeddings.path.exists() and embeddings.obtain:
        raise WintrainError(f"{embeddings.path}: no such vectors file; {embeddings.obtain}")
    if not data.digits:
        return load_vectors(embeddings.path, dim=embeddings.dim, keep=forms, cache_dir=embeddings.cache_dir,
                            kernels=config.train.kernels)
    vectors = load_vectors(embeddings.path, dim=embeddings.dim, cache_dir=embeddings.cache_dir,
                           kernels=config.train.kernels)
    vectors = normalised_vectors(vectors, lookup_forms(vectors.words, data.lowercase, True))
    return vectors if forms is None else restricted(vectors, set(forms))


def normalised_vectors(vectors: Vectors, forms: list[str]) -> Vectors:
    """The vectors keyed by ``forms`` (one per word of ``vectors``); the first row of each form wins."""
    first: dict[str, int] = {}
    for row, form in enumerate(forms):
        first.setdefault(form, row)
    rows = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    return Vectors(list(first), vectors.matrix[rows])


def restricted(vectors: Vectors, words: Collection[str]) -> Vectors:
    """Only the rows of ``words``."""
    rows = np.array([row for row, word in enumerate(vectors.words) if word in words], dtype=np.int64)
    return Vectors([vectors.words[row] for row in rows.tolist()], vectors.matrix[rows])
