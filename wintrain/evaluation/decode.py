"""Constrained decoding: the best tag sequence per sentence that a chunk scheme allows.

A window model scores each token on its own, so greedy decoding (argmax per token) can
produce ``O I-PER`` under IOB2 or ``B-PER O`` under IOBES.  Constrained decoding finds, per
sentence, the tag path ``y`` maximising

    score(y) = Σ_t s[t, y_t]      subject to  allowed[y_{t-1}, y_t] for every t
                                             (y_{-1} = start, row C)  and  allowed_end[y_{N-1}]

with the Viterbi recursion over positions (vectorised over tags and over sentences of the
same length):

    δ_0[j]  = s[0, j] + m[C, j]
    δ_t[j]  = max_i (δ_{t-1}[i] + m[i, j]) + s[t, j],     ψ_t[j] = argmax_i (...)
    y_{N-1} = argmax_j (δ_{N-1}[j] + e[j]),               y_{t-1} = ψ_t[y_t]

where ``m`` (C+1, C) and ``e`` (C,) are 0 where allowed and -inf where forbidden.  ``s``
may be log-probabilities or raw logits: log-softmax only subtracts one constant per
position, which every path pays once, so the best path is the same.

Which tag may follow which comes from :mod:`wintrain.data.tags` (the scheme's rules).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wintrain.data.tags import allowed_ends, allowed_transitions

__all__ = ["viterbi", "viterbi_batch", "decode_corpus", "constrained_decode"]

_MAX_BATCH_CELLS = 1 << 22  # B·C·C floats per Viterbi step when sentences are batched


def viterbi_batch(scores: np.ndarray, allowed: np.ndarray, allowed_end: np.ndarray) -> np.ndarray:
    """Best allowed tag path of each of B sentences of equal length L.

    Args:
        scores: (B, L, C) per-token tag scores (log-probabilities or logits), L ≥ 1.
        allowed: (C+1, C) bool transitions, row C = sentence start.
        allowed_end: (C,) bool final tags.

    Returns:
        (B, L) int64 tag ids.  A sentence with no allowed path (or only paths of score
        -inf) gets its greedy argmax path instead.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_batch, length, n_tags = scores.shape
    move = np.where(allowed, 0.0, -np.inf)  # (C+1, C)
    end = np.where(allowed_end, 0.0, -np.inf)  # (C,)
    best = scores[:, 0] + move[n_tags]  # (B, C)
    back = np.zeros((n_batch, length, n_tags), dtype=np.int64)
    for t in range(1, length):
        candidates = best[:, :, None] + move[None, :n_tags]  # (B, C_prev, C_next)
        back[:, t] = candidates.argmax(axis=1)
        best = candidates.max(axis=1) + scores[:, t]
    best = best + end
    path = np.empty((n_batch, length), dtype=np.int64)
    path[:, -1] = best.argmax(axis=1)
    rows = np.arange(n_batch)
    for t in range(length - 1, 0, -1):
        path[:, t - 1] = back[rows, t, path[:, t]]
    stuck = ~np.isfinite(best.max(axis=1))
    path[stuck] = scores[stuck].argmax(axis=2)
    return path


def viterbi(log_probs: np.ndarray, allowed: np.ndarray, allowed_end: np.ndarray) -> np.ndarray:
    """Best allowed tag path of ONE sentence: (N, C) scores → (N,) int64 tag ids."""
    if len(log_probs) == 0:
        return np.zeros(0, dtype=np.int64)
    return viterbi_batch(np.asarray(log_probs)[None], allowed, allowed_end)[0]


def decode_corpus(
    log_probs: np.ndarray, sentence_starts: np.ndarray, allowed: np.ndarray, allowed_end: np.ndarray
) -> np.ndarray:
    """Constrained decoding of a whole corpus.

    Args:
        log_probs: (N, C) scores of all tokens, sentences back to back.
        sentence_starts: (S+1,) offsets; sentence i is rows ``starts[i]:starts[i+1]``.
        allowed, allowed_end: as for :func:`viterbi_batch`.

    Returns:
        (N,) int64 tag ids.  Sentences of equal length are decoded together, in batches of
        at most ``2**22 / C²`` sentences.
    """
    starts = np.asarray(sentence_starts, dtype=np.int64)
    lengths = np.diff(starts)
    n_tags = log_probs.shape[1]
    batch = max(1, _MAX_BATCH_CELLS // (n_tags * n_tags))
    path = np.zeros(len(log_probs), dtype=np.int64)
    for length in np.unique(lengths[lengths > 0]).tolist():
        same_length = starts[:-1][lengths == length]
        for first in range(0, len(same_length), batch):
            positions = same_length[first:first + batch, None] + np.arange(length)  # (B, L)
            path[positions] = viterbi_batch(log_probs[positions], allowed, allowed_end)
    return path


def constrained_decode(
    scores: np.ndarray, sentence_starts: np.ndarray, tags: Sequence[str], scheme: str
) -> np.ndarray:
    """(N, C) scores → (N,) tag ids: :func:`decode_corpus` with the constraints of ``scheme``."""
    return decode_corpus(scores, sentence_starts, allowed_transitions(tags, scheme), allowed_ends(tags, scheme))
