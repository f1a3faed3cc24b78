"""Decoding: from per-token tag scores to the tags of a corpus.

* **greedy** — the best tag per token (argmax of its scores).
* **viterbi** — per sentence, the best tag *sequence* under the transitions an SLL model
  learned: :func:`decode_corpus` runs :func:`wintrain.nn.sll.viterbi` on the sentences padded into
  batches (its fast twin, :func:`wintrain.kernels.decode.flat_decode_corpus`, runs the same
  recursion straight on the flat corpus and gives the same paths).
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

from collections.abc import Callable, Sequence

import numpy as np

from wintrain.data.tags import allowed_ends, allowed_transitions
from wintrain.errors import WintrainError
from wintrain.nn.sll import pad_sentences, unpad
from wintrain.nn.sll import viterbi as padded_viterbi

__all__ = ["best_allowed_path", "constraint_scores", "constrained_decode", "decode_corpus", "resolve_decode"]

DECODERS = ("greedy", "viterbi", "constrained")
_MAX_PADDED_CELLS = 1 << 24  # S·T·C scores padded at once


def resolve_decode(requested: str, sentence_level: bool, chunks: bool) -> str:
    """The decoder ``requested`` (``evaluation.decode`` or ``--decode``) stands for, resolved once:
    ``auto`` is ``viterbi`` for an sll model (it learned transitions) and ``greedy`` otherwise;
    ``constrained`` on a tag set without chunks has nothing to constrain and falls back the same way;
    ``viterbi`` without learned transitions is a user error."""
    if requested not in (*DECODERS, "auto"):
        raise WintrainError(f"unknown decoder {requested!r}; choose one of auto, {', '.join(DECODERS)}")
    plain = "viterbi" if sentence_level else "greedy"
    if requested == "auto" or (requested == "constrained" and not chunks):
        return plain
    if requested == "viterbi" and not sentence_level:
        raise WintrainError("decode viterbi needs a model trained with loss sll; decode greedy or constrained")
    return requested


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
    """The best path of every sentence of a corpus, by :func:`wintrain.nn.sll.viterbi` over the sentences
    padded into batches (of at most a few million scores).

    Args:
        scores: (N, C) scores of all tokens, sentences back to back.
        sentence_starts: (S+1,) offsets; sentence i is rows ``starts[i]:starts[i+1]``.
        transitions, initial, final: (C, C), (C,) and (C,) or None, as in :func:`wintrain.nn.sll.viterbi`.

    Returns:
        (N,) int64 tag ids: the paths :func:`wintrain.nn.sll.viterbi` finds for the sentences
        padded into one batch (same arithmetic, same dtype, same tie-breaking: the first best
        previous tag, the first best last tag; a sentence whose every path scores −inf gets the
        argmax of each token's scores).  The fast twin is
        :func:`wintrain.kernels.decode.flat_decode_corpus`.
    """
    starts = np.asarray(sentence_starts, dtype=np.int64)
    path = np.zeros(len(scores), dtype=np.int64)
    if len(starts) < 2:
        return path
    lengths = np.diff(starts)
    per_chunk = max(1, _MAX_PADDED_CELLS // max(1, int(lengths.max()) * scores.shape[1]))
    for first in range(0, len(lengths), per_chunk):
        chunk = starts[first:first + per_chunk + 1]
        padded, chunk_lengths = pad_sentences(scores, chunk)
        best = padded_viterbi(padded, chunk_lengths, transitions, initial, final)
        path[chunk[0]:chunk[-1]] = unpad(best, chunk_lengths)
    return path


def best_allowed_path(scores: np.ndarray, allowed: np.ndarray, allowed_end: np.ndarray) -> np.ndarray:
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
    decoder: Callable[..., np.ndarray] = decode_corpus,
) -> np.ndarray:
    """(N, C) scores → (N,) tag ids: the best sequences without invalid chunk transitions under
    ``scheme``, with learned ``transitions`` (C, C) and ``initial`` (C,) added when given; ``decoder`` is
    :func:`decode_corpus` or its fast twin."""
    move, start, end = constraint_scores(tags, scheme)
    if transitions is not None:
        move = move + transitions
    if initial is not None:
        start = start + initial
    return decoder(scores, sentence_starts, move, start, end)
