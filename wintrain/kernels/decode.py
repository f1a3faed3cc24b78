"""Fast twin of :func:`wintrain.evaluation.decode.decode_corpus`: Viterbi on the flat corpus, no padding.

The textbook decoder pads the sentences into one batch and runs :func:`wintrain.nn.sll.viterbi` over it.
:func:`flat_decode_corpus` runs the same recursion straight on the flat (N, C) scores: sentences are taken
longest first, so step t works on the prefix of those longer than t, reading their scores at token
``first + t`` with one row gather.  Every sum is the one the padded version computes, in the same dtype,
and the first best previous tag wins as with ``argmax``: the paths are the same, bit for bit.  Inputs with
NaN go through the textbook decoder (its max and argmax let NaN win).
"""

from __future__ import annotations

import numpy as np

from wintrain.evaluation.decode import decode_corpus
from wintrain.kernels import twin_of

MAX_CHUNK_TOKENS = 1 << 20  # tokens decoded at once: bounds the back-pointers (tokens × C)
FEW_SENTENCES = 256  # Viterbi steps with at most this many sentences left use one (count, C, C) block


@twin_of(decode_corpus)
def flat_decode_corpus(
    scores: np.ndarray,
    sentence_starts: np.ndarray,
    transitions: np.ndarray,
    initial: np.ndarray,
    final: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`~wintrain.evaluation.decode.decode_corpus` on the flat scores (N, C), in chunks of about a
    million tokens.  → (N,) int64 tag ids."""
    starts = np.asarray(sentence_starts, dtype=np.int64)
    path = np.zeros(len(scores), dtype=np.int64)
    if len(starts) < 2:
        return path
    if any(np.isnan(array).any() for array in (scores, transitions, initial, final) if array is not None):
        return decode_corpus(scores, starts, transitions, initial, final)
    first = 0
    while first < len(starts) - 1:
        # the sentences whose tokens end within MAX_CHUNK_TOKENS of this chunk's start (at least one)
        stop = int(np.searchsorted(starts, starts[first] + MAX_CHUNK_TOKENS, side="right")) - 1
        stop = min(max(stop, first + 1), len(starts) - 1)
        _viterbi_flat(scores, starts[first:stop + 1], transitions, initial, final, path)
        first = stop
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
    work = np.empty((min(n_sentences, FEW_SENTENCES), n_tags, n_tags), dtype)
    back: list[np.ndarray] = []  # back[t − 1]: (active_t, C) the best previous tag of each tag at step t
    for t in range(1, n_steps):
        count = int(active[t])
        previous = best[:count]
        if count <= FEW_SENTENCES:
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
