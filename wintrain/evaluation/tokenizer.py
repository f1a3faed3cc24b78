"""Raw text → sentences → tokens → syntactic words, with a tokenizer trained from CoNLL-U (``task: tokenize``).

::

    from wintrain import Tokenizer
    tokenizer = Tokenizer.load("runs/tok/best.npz")
    tokenizer.tokenize("Il va au marché du coin.")
    # [[Piece("Il", 0, 2, ("Il",)), Piece("va", 3, 5, ("va",)), Piece("au", 6, 8, ("à", "le")), …]]

Each character of a text is classified from the characters around it (the window classifier of the
taggers; :mod:`wintrain.data.segmentation`), the labels are read as tokens and sentences
(:func:`wintrain.data.ud.segment_arrays`), and a multiword token is expanded into its syntactic words by
the lexicon learned from the training data (:class:`wintrain.data.ud.MultiwordLexicon`: the words seen for
that surface form, in its case; an unseen form by a suffix rule learned from train, or kept whole).  A
token the model left whole is expanded too when training saw its form mostly as a multiword token
(at least 4 times in 5: :meth:`~wintrain.data.ud.MultiwordLexicon.usually_multiword`).  A
text in a script the tokenizer never saw is still tokenized: its characters share the unknown row, and
their Unicode category (the ``category`` feature) still tells letters from punctuation and spaces.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from wintrain.checkpoint import Checkpoint, load_checkpoint
from wintrain.data.segmentation import character_forms, label_table
from wintrain.data.tokenize import Token
from wintrain.data.ud import Label, MultiwordLexicon, segment_arrays
from wintrain.errors import WintrainError
from wintrain.evaluation.evaluate import model_scores
from wintrain.nn.ensemble import Model


class Piece(NamedTuple):
    """One surface token of a text: ``text[start:end]`` and its syntactic words (one, the token itself,
    unless it is a multiword token)."""

    text: str
    start: int
    end: int
    words: tuple[str, ...]

    @property
    def multiword(self) -> bool:
        return len(self.words) > 1


def words_and_ranges(sentences: Sequence[Sequence[Piece]]) -> tuple[list[list[Token]], list[list[tuple[int, int]]]]:
    """A tokenized text's syntactic words, sentence by sentence (each word with its token's span), and the
    ``(first, stop)`` word ranges of each sentence's multiword tokens."""
    words, ranges = [], []
    for sentence in sentences:
        units, spans, position = [], [], 0
        for piece in sentence:
            units += [Token(word, piece.start, piece.end) for word in piece.words]
            if piece.multiword:
                spans.append((position, position + len(piece.words)))
            position += len(piece.words)
        words.append(units)
        ranges.append(spans)
    return words, ranges


class Tokenizer:
    """A tokenizer checkpoint ready to split raw text (see the module docstring).  Loaded once, called many
    times (from several threads too: the model's passes run one at a time)."""

    def __init__(self, checkpoint: Checkpoint, kernels: str = "fast") -> None:
        if checkpoint.config.task != "tokenize":
            raise WintrainError(
                f"{checkpoint.path}: a tagger (task: {checkpoint.config.task}), not a tokenizer; give a checkpoint "
                "trained with task: tokenize (e.g. configs/ud_en_ewt_tokenizer.yaml)"
            )
        self.checkpoint = checkpoint
        self.kernels = kernels
        self.model: Model = checkpoint.build(kernels)
        self.labels = label_table(checkpoint.encoder.tagset.tags)  # tag id → Label value
        self.lexicon = checkpoint.lexicon or MultiwordLexicon({}, {})
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, kernels: str = "fast") -> Tokenizer:
        """Load a checkpoint written by training with ``task: tokenize``."""
        return cls(load_checkpoint(path), kernels)

    def label_texts(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The :class:`~wintrain.data.ud.Label` of every character of each text, all texts in one pass."""
        encoder = self.checkpoint.encoder
        encoded = encoder.encode_sentences([character_forms(text) for text in texts])
        if len(encoded) == 0:
            return [np.zeros(0, np.uint8) for _ in texts]
        with self._lock:
            scores = model_scores(self.model, encoded.features, self.checkpoint.config.train.eval_batch_size,
                                  self.kernels)
        labels = self.labels[scores.argmax(axis=1)]
        return np.split(labels, encoded.sentence_starts[1:-1])

    def tokenize_texts(self, texts: Iterable[str]) -> list[list[list[Piece]]]:
        """Each text's sentences of :class:`Piece` tokens (offsets into that text).  The texts are labelled in
        one pass and read as tokens in one pass too: joined by a separator labelled as a sentence end, so
        that no token or sentence crosses from one text into the next."""
        texts = list(texts)
        if not texts:
            return []
        joined = "\n".join(texts)
        separator = np.array([Label.SENTENCE_END], dtype=np.uint8)
        labels = np.concatenate([part for labels in self.label_texts(texts) for part in (labels, separator)])
        starts, ends, multiword, sentence_starts = segment_arrays(joined, labels[:len(joined)])
        text_starts = np.cumsum([0] + [len(text) + 1 for text in texts[:-1]])
        first_tokens = np.searchsorted(starts, text_starts).tolist() + [len(starts)]
        shift = text_starts[np.searchsorted(text_starts, starts, side="right") - 1]
        local_starts, local_ends = (starts - shift).tolist(), (ends - shift).tolist()
        expand, usually_multiword = self.lexicon.expand, self.lexicon.usually_multiword
        pieces = []
        for start, end, form, joined_words in zip(local_starts, local_ends,
                                                  map(joined.__getitem__, map(slice, starts.tolist(), ends.tolist())),
                                                  multiword.tolist()):
            words = tuple(expand(form)) if joined_words or usually_multiword(form) else (form,)
            pieces.append(Piece(form, start, end, words))
        bounds = sentence_starts.tolist()
        results = []
        for first, stop in zip(first_tokens[:-1], first_tokens[1:]):
            inside = bounds[bisect_left(bounds, first):bisect_left(bounds, stop)] + [stop]
            results.append([pieces[a:b] for a, b in zip(inside[:-1], inside[1:]) if b > a])
        return results

    def tokenize(self, text: str) -> list[list[Piece]]:
        """One text's sentences of tokens."""
        return self.tokenize_texts([text])[0]
