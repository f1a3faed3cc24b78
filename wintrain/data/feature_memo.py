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

from wintrain.data.chars import char_windows
from wintrain.data.dataset import Encoded, Encoder, Feature, token_types
from wintrain.data.windows import gather_windows, window_positions

DEFAULT_LIMIT = 1_000_000


class FeatureMemo:
    """The per-form feature ids of an :class:`Encoder`, remembered across calls (safe from several threads)."""

    def __init__(self, encoder: Encoder, limit: int = DEFAULT_LIMIT) -> None:
        self.encoder = encoder
        self.limit = limit
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        n_features = len(self.encoder.feature_names) - (self.encoder.chars is not None)
        self._index: dict[str, int] = {}
        self._rows = np.zeros((0, n_features), dtype=np.int32)

    def __len__(self) -> int:
        return len(self._index)

    def form_ids(self, forms: Sequence[str]) -> np.ndarray:
        """(F, K) int32: the ids of the K id features (word, casing, affixes) of each distinct form."""
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
                ids = self.encoder.token_features(new, (new, np.arange(len(new))))
                first = len(self._rows)
                self._rows = np.concatenate((self._rows, np.stack(ids, axis=1).astype(np.int32, copy=False)))
                self._index.update(zip(new, range(first, first + len(new))))
                rows[missing] = np.arange(first, first + len(new))
            return self._rows[rows]

    def encode(self, tokens: Sequence[str], sentence_starts: np.ndarray) -> Encoded:
        """``encoder.encode_tokens(tokens, sentence_starts)`` as untagged :class:`Encoded` data, equal array
        for array."""
        encoder = self.encoder
        positions = window_positions(sentence_starts, encoder.window_size)
        types = token_types(tokens)
        forms, of_token = types
        per_form = self.form_ids(forms)
        features: list[Feature] = [gather_windows(per_form[:, k][of_token], positions)
                                   for k in range(per_form.shape[1])]
        if encoder.chars is not None:
            features.append(char_windows(encoder.chars, tokens, positions, encoder.char_max_length,
                                         encoder.char_width, types))
        return Encoded(features, None, np.asarray(sentence_starts, dtype=np.int64))
