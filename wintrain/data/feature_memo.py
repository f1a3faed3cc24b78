"""Encode untagged text chunk after chunk, working out each word form's features once.

:meth:`Encoder.encode_tokens` finds the features of every distinct form of its text (the
vocabulary id of its lookup form, its casing class, its affixes); a stream of chunks meets the
same forms again and again.  A :class:`FeatureMemo` keeps the ids of every form it has seen
(up to ``limit`` forms, then it starts afresh) and asks the encoder only about new ones, so the
arrays are the encoder's own, with less work per chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from wintrain.data.dataset import Encoded, Encoder

DEFAULT_LIMIT = 1_000_000


class FeatureMemo:
    """The per-form feature ids of an :class:`Encoder`, remembered across calls (safe from several threads)."""

    def __init__(self, encoder: Encoder, limit: int = DEFAULT_LIMIT) -> None:
        self.encoder = encoder
        self.limit = limit
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._index: dict[str, int] = {}
        id_features = len(self.encoder.feature_names) - (self.encoder.chars is not None)
        self._rows = np.empty((0, id_features), np.int32)  # (capacity, K): the first len(self) rows are in use

    def __len__(self) -> int:
        return len(self._index)

    def form_features(self, forms: Sequence[str]) -> list[np.ndarray]:
        """:meth:`Encoder.form_features` of distinct ``forms``: one (F,) int32 id array per id feature, the
        encoder asked only about forms not seen before."""
        with self._lock:
            get = self._index.get
            rows = np.fromiter((get(form, -1) for form in forms), dtype=np.int64, count=len(forms))
            missing = np.flatnonzero(rows < 0)
            if len(missing):
                if len(self._index) + len(missing) > self.limit:
                    self._reset()
                    rows[:] = -1
                    missing = np.arange(len(forms))
                new = [forms[i] for i in missing.tolist()]
                ids = np.stack(self.encoder.form_features(new), axis=1).astype(np.int32, copy=False)
                first = len(self._index)
                if first + len(new) > len(self._rows):  # grown by doubling: each row copied O(1) times
                    grown = np.empty((max(2 * (first + len(new)), 1024), ids.shape[1]), np.int32)
                    grown[:first] = self._rows[:first]
                    self._rows = grown
                self._rows[first:first + len(new)] = ids
                self._index.update(zip(new, range(first, first + len(new))))
                rows[missing] = np.arange(first, first + len(new))
            chosen = self._rows[rows]
            return [chosen[:, k] for k in range(chosen.shape[1])]

    def encode(self, tokens: Sequence[str], sentence_starts: np.ndarray) -> Encoded:
        """``encoder.encode_tokens(tokens, sentence_starts)`` as untagged :class:`Encoded` data, equal array
        for array."""
        starts = np.asarray(sentence_starts, dtype=np.int64)
        return Encoded(self.encoder.encode_tokens(tokens, starts, self.form_features), None, starts)
