"""Windows: for every token, the positions of the w = 2m + 1 tokens centred on it.

Built once per data set, vectorised: no Python loop per token.  Positions that fall outside
the token's sentence point at a padding slot (index N), so gathering any per-token feature
through the window gives ``<pad>`` across sentence boundaries.
"""

from __future__ import annotations

import numpy as np


def window_positions(sentence_starts: np.ndarray, window_size: int) -> np.ndarray:
    """sentence_starts: (S+1,) offsets → (N, window_size) int32 positions in [0, N].

    Row i holds i−m … i+m, with N (the padding slot) where that position leaves i's sentence.
    """
    if window_size < 1 or window_size % 2 == 0:
        raise ValueError(f"window_size must be a positive odd number, got {window_size}")
    starts = np.asarray(sentence_starts, dtype=np.int64)
    n_tokens = int(starts[-1])
    lengths = np.diff(starts)
    token = np.arange(n_tokens)
    before = token - np.repeat(starts[:-1], lengths)  # (N,) tokens of its sentence before each token
    after = np.repeat(starts[1:], lengths) - token    # (N,) the token and those of its sentence after it
    half = window_size // 2
    positions = np.empty((n_tokens, window_size), dtype=np.int32)
    for column, offset in enumerate(range(-half, half + 1)):  # one column at a time: no (N, w) masks
        inside = before >= -offset if offset < 0 else after > offset
        positions[:, column] = np.where(inside, token + offset, n_tokens)
    return positions


def gather_windows(ids: np.ndarray, positions: np.ndarray, pad_id: int = 0) -> np.ndarray:
    """ids: (N,) per-token feature ids; positions: (N, w) from :func:`window_positions` → (N, w) ids."""
    padded = np.append(ids.astype(np.int32, copy=False), np.int32(pad_id))
    return padded[positions]
