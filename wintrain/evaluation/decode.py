"""Decoding: from per-token tag scores to the tags of a corpus.

* **greedy** — the best tag per token (argmax of its scores).
* **viterbi** — per sentence, the best tag *sequence* under the transitions an SLL model
  learned.  :func:`decode_corpus` runs the recursion of :func:`wintrain.nn.sll.viterbi` (the
  reference, on padded batches) straight on the flat corpus and gives the same paths.
* **constrained** — the best sequence without invalid chunk transitions: a window model scores
  each token on its own, so greedy decoding can produce ``O I-PER`` under IOB2 or ``B-PER O``
  under IOBES.  The scheme's rules (:mod:`wintrain.data.tags`) become transition scores of
  0 (allowed) and −inf (forbidden), added to the learned transitions of an SLL model.

With scores s (the logits), transitions A, initial a0 and final scores e, a path y scores

    score(y) = a0[y_0] + Σ_t s[t, y_t] + Σ_{t≥1} A[y_{t-1}, y_t] + e[y_last].

``s`` may be log-probabilities or raw logits: log-softmax only subtracts one constant per
position, which every path pays once, so the best path is the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wintrain.data.tags import allowed_ends, allowed_transitions
from wintrain.nn.sll import pad_sentences, unpad
from wintrain.nn.sll import viterbi as viterbi_padded

__all__ = ["constraint_scores", "decode_corpus", "viterbi", "constrained_decode"]

_MAX_PADDED_CELLS = 1 << 24  # S·T·C scores padded at once (the padded fallback)
_MAX_CHUNK_TOKENS = 1 << 20  # tokens decoded at once: bounds the back-pointers (tokens × C)
_FEW_SENTENCES = 256  # Viterbi steps with at most this many sentences left use one (count, C, C) block


def constraint_scores(tags: Sequence[str], scheme: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The scheme's rules as scores: transitions (C, C), initial (C,) and final (C,), each 0 where
    allowed and −inf where forbidden."""
    allowed = allowed_transitions(tags, scheme)
    move = np.where(allowed, 0.0, -np.inf)
    return move[:-1], move[-1], np.where(allowed_ends(tags, scheme), 0.0, -np.inf)


def decode_corpus(
    scores: np.ndarray,
    sentence_starts: np.ndarray,
    transitions: np.ndarray,
    initial: np.ndarray,
    final: np.ndarray | None = None,
) -> np.ndarray:
    """The best path of every sentence of a corpus.

    Args:
        scores: (N, C) scores of all tokens, sentences back to back.
        sentence_starts: (S+1,) offsets; sentence i is rows ``starts[i]:starts[i+1]``.
        transitions, initial, final: (C, C), (C,) and (C,) or None, as in :func:`wintrain.nn.sll.viterbi`.

    Returns:
        (N,) int64 tag ids: the paths :func:`wintrain.nn.sll.viterbi` finds for the sentences
        padded into one batch (same arithmetic, same dtype, same tie-breaking: the first best
        previous tag, the first best last tag; a sentence whose every path scores −inf gets the
        argmax of each token's scores).  Decoded in chunks of about a million tokens; inputs
        with NaN go through the padded version itself (its max and argmax let NaN win).
    """
    starts = np.asarray(sentence_starts, dtype=np.int64)
    path = np.zeros(len(scores), dtype=np.int64)
    if len(starts) < 2:
        return path
    if any(np.isnan(array).any() for array in (scores, transitions, initial, final) if array is not None):
        return _decode_padded(scores, starts, transitions, initial, final, path)  # NaN: max and argmax as there
    first = 0
    while first < len(starts) - 1:
        # the sentences whose tokens end within _MAX_CHUNK_TOKENS of this chunk's start (at least one)
        stop = int(np.searchsorted(starts, starts[first] + _MAX_CHUNK_TOKENS, side="right")) - 1
        stop = min(max(stop, first + 1), len(starts) - 1)
        _viterbi_flat(scores, starts[first:stop + 1], transitions, initial, final, path)
        first = stop
    return path


def _decode_padded(
    scores: np.ndarray,
    starts: np.ndarray,
    transitions: np.ndarray,
    initial: np.ndarray,
    final: np.ndarray | None,
    path: np.ndarray,
) -> np.ndarray:
    """:func:`decode_corpus` through the padded :func:`wintrain.nn.sll.viterbi`, in chunks of bounded size."""
    lengths = np.diff(starts)
    per_chunk = max(1, _MAX_PADDED_CELLS // max(1, int(lengths.max()) * scores.shape[1]))
    for first in range(0, len(lengths), per_chunk):
        chunk = starts[first:first + per_chunk + 1]
        padded, chunk_lengths = pad_sentences(scores, chunk)
        best = viterbi_padded(padded, chunk_lengths, transitions, initial, final)
        path[chunk[0]:chunk[-1]] = unpad(best, chunk_lengths)
    return path


def _viterbi_flat(
    scores: np.ndarray,
    starts: np.ndarray,
    transitions: np.ndarray,
    initial: np.ndarray,
    final: np.ndarray | None,
    path: np.ndarray,
) -> None:
    """Best paths of the sentences ``starts`` (S+1,) of the flat ``scores`` (N, C), written into
    ``path`` (N,).

    The recursion of :func:`wintrain.nn.sll.viterbi` without padding: sentences are taken longest
    first, so step t works on the prefix of those longer than t, reading their scores at token
    ``first + t`` with one row gather.  Every sum is the one the padded version computes, in the
    same dtype, and the first best previous tag wins as with ``argmax``, so the paths are the same.
    """
    lengths = np.diff(starts)
    order = np.flatnonzero(lengths > 0)
    if order.size == 0:
        return
    order = order[np.argsort(-lengths[order], kind="stable")]
    first = starts[:-1][order]  # (S,) first token of each sentence, longest first
    sorted_lengths = lengths[order]
    n_sentences, n_steps, n_tags = len(order), int(sorted_lengths[0]), scores.shape[1]
    active = np.searchsorted(-sorted_lengths, -np.arange(n_steps), side="left")  # sentences longer than t
    dtype = np.result_type(scores.dtype, transitions.dtype, initial.dtype, np.float32)
    moves = transitions.astype(dtype, copy=False)
    moves_t = np.ascontiguousarray(moves.T)  # [j, i] = A[i, j]
    back_dtype = np.int8 if n_tags <= 127 else np.int16 if n_tags <= 32767 else np.int64
    best = (initial + scores[first]).astype(dtype, copy=False)  # δ_0, frozen once a sentence ends
    peak = np.empty((n_sentences, n_tags), dtype)
    candidate = np.empty((n_sentences, n_tags), dtype)
    better = np.empty((n_sentences, n_tags), bool)
    work = np.empty((min(n_sentences, _FEW_SENTENCES), n_tags, n_tags), dtype)
    back: list[np.ndarray] = []  # back[t − 1]: (active_t, C) the best previous tag of each tag at step t
    for t in range(1, n_steps):
        count = int(active[t])
        previous = best[:count]
        if count <= _FEW_SENTENCES:
            # one (count, C, C) block [b, j, i] = δ_{t−1}(i) + A[i, j], reduced along its last axis
            candidates = work[:count]
            np.add(previous[:, None, :], moves_t, out=candidates)
            winner = candidates.argmax(axis=2)
            back.append(winner.astype(back_dtype))
            top = np.take_along_axis(candidates, winner[:, :, None], axis=2)[:, :, 0]
        else:
            # many sentences: one previous tag i at a time on (count, C) arrays, a later i replacing
            # the best so far only when strictly better (the first maximum, as argmax)
            top, now, wins = peak[:count], candidate[:count], better[:count]
            winner = np.zeros((count, n_tags), back_dtype)
            np.add(previous[:, :1], moves[0], out=top)
            for i in range(1, n_tags):
                np.add(previous[:, i:i + 1], moves[i], out=now)
                np.greater(now, top, out=wins)
                np.copyto(top, now, where=wins)
                np.copyto(winner, back_dtype(i), where=wins)
            back.append(winner)
        np.add(top, scores[first[:count] + t], out=previous)
    if final is not None:
        best = best + final
    tags = best.argmax(axis=1)  # the last tag of each sentence
    path[first + sorted_lengths - 1] = tags
    rows = np.arange(n_sentences)
    for t in range(n_steps - 1, 0, -1):
        count = int(active[t])
        tags[:count] = back[t - 1][rows[:count], tags[:count]]
        path[first[:count] + t - 1] = tags[:count]
    for sentence in np.flatnonzero(~np.isfinite(best.max(axis=1))).tolist():  # no path scores above −inf
        begin = int(first[sentence])
        end = begin + int(sorted_lengths[sentence])
        path[begin:end] = scores[begin:end].argmax(axis=1)


def viterbi(scores: np.ndarray, allowed: np.ndarray, allowed_end: np.ndarray) -> np.ndarray:
    """The best allowed tag path of ONE sentence: scores (N, C), allowed (C+1, C) (row C = the
    sentence start), allowed_end (C,) → (N,) int64."""
    move = np.where(allowed, 0.0, -np.inf)
    return decode_corpus(np.asarray(scores), np.array([0, len(scores)]), move[:-1], move[-1],
                         np.where(allowed_end, 0.0, -np.inf))


def constrained_decode(
    scores: np.ndarray,
    sentence_starts: np.ndarray,
    tags: Sequence[str],
    scheme: str,
    transitions: np.ndarray | None = None,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """(N, C) scores → (N,) tag ids: the best sequences without invalid chunk transitions under
    ``scheme``, with learned ``transitions`` (C, C) and ``initial`` (C,) added when given."""
    move, start, end = constraint_scores(tags, scheme)
    if transitions is not None:
        move = move + transitions
    if initial is not None:
        start = start + initial
    return decode_corpus(scores, sentence_starts, move, start, end)
