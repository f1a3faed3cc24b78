"""A tokenizer's training data: the characters of a treebank's raw text, each with its label.

The tokenizer is the window classifier of the taggers, with characters for words: each character is
classified from the characters around it into one of the :class:`~wintrain.data.ud.Label` values (inside
a token, a token ends here, a sentence ends here, a multiword token ends here, …, whitespace between
tokens).  So the whole training pipeline serves it unchanged: a :class:`~wintrain.data.reader.Corpus`
whose "tokens" are the characters of each paragraph (:func:`tokenizer_corpus`) and whose "tags" are the
labels' names (:data:`LABEL_TAGS`); its "sentences" are the paragraphs (:func:`wintrain.data.ud.tokenizer_texts`),
the windows never cross them.

Every whitespace character becomes a plain space (:func:`character_forms`): the tokenizer learns that a
space separates tokens, whatever kind of space it is, and its vocabulary never holds a line break.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wintrain.data.reader import Corpus
from wintrain.data.ud import Label, UDSentence, read_ud_file, tokenizer_texts, whitespace_mask
from wintrain.data.vocab import TagSet

LABEL_TAGS: tuple[str, ...] = tuple(label.name.lower() for label in Label)
"""The tag of each :class:`~wintrain.data.ud.Label` value: ``space``, ``inside``, ``token_end``, …"""


def tokenizer_tagset() -> TagSet:
    """The tag set of every tokenizer: all of :data:`LABEL_TAGS`, also a label its training file does not use
    (a dev file may end a sentence inside a multiword token where train never does)."""
    return TagSet.from_tags(LABEL_TAGS)


def character_forms(text: str) -> list[str]:
    """The characters of ``text`` as the tokenizer's tokens: every whitespace character a plain space."""
    forms = list(text)
    for position in np.flatnonzero(whitespace_mask(text)).tolist():
        forms[position] = " "
    return forms


def label_table(tagset: Sequence[str]) -> np.ndarray:
    """(C,) uint8: the :class:`~wintrain.data.ud.Label` value of each tag of a tokenizer's tag set."""
    return np.array([LABEL_TAGS.index(tag) for tag in tagset], dtype=np.uint8)


def tokenizer_corpus_of(sentences: list[UDSentence], path: Path) -> Corpus:
    """The characters and labels of ``sentences``' paragraphs (see the module docstring); each character's
    line is the line of its sentence's first token."""
    texts = tokenizer_texts(sentences)
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[np.ndarray] = []
    for paragraph in texts:
        tokens += character_forms(paragraph.text)
        tags += [LABEL_TAGS[label] for label in paragraph.labels.tolist()]
        per_sentence = np.array([sentence.line for sentence in paragraph.sentences], dtype=np.int32)
        lengths = np.diff(np.append(paragraph.offsets, len(paragraph.text)))
        lines.append(np.repeat(per_sentence, lengths))
    starts = np.concatenate(([0], np.cumsum([len(paragraph.text) for paragraph in texts]))).astype(np.int64)
    return Corpus(path, tokens, tags, starts, np.concatenate(lines) if lines else np.zeros(0, np.int32))


def tokenizer_corpus(path: Path) -> Corpus:
    """:func:`tokenizer_corpus_of` the sentences of a CoNLL-U file."""
    return tokenizer_corpus_of(read_ud_file(path), Path(path))
