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

Tags are read as ``prefix-type`` split at the first ``-``; only ``B``, ``I``, ``E`` and
``S`` are chunk prefixes, every other tag (``O``, POS tags) behaves like ``O``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from wintrain.data.check import count_entity_starts
from wintrain.errors import WintrainError

__all__ = [
    "SCHEMES",
    "allowed_transitions",
    "allowed_ends",
    "viterbi",
    "viterbi_batch",
    "decode_corpus",
    "constrained_decode",
    "count_invalid",
    "infer_scheme",
]

SCHEMES = ("iob1", "iob2", "iobes")
_MAX_BATCH_CELLS = 1 << 22  # B·C·C floats per Viterbi step when sentences are batched


def _parts(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(C,) prefixes (``B``/``I``/``E``/``S``, else ``O``) and (C,) types of ``tags``."""
    prefixes, types = [], []
    for tag in tags:
        is_chunk = len(tag) > 2 and tag[1] == "-" and tag[0] in "BIES"
        prefixes.append(tag[0] if is_chunk else "O")
        types.append(tag[2:] if is_chunk else "")
    return np.array(prefixes, dtype=object), np.array(types, dtype=object)


def _check_scheme(tags: Sequence[str], scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """The tag parts; an unknown scheme or E-/S- tags outside iobes are WintrainErrors."""
    if scheme not in SCHEMES:
        raise WintrainError(f"unknown tagging scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    prefixes, types = _parts(tags)
    if scheme != "iobes":
        foreign = [tag for tag, prefix in zip(tags, prefixes) if prefix in ("E", "S")]
        if foreign:
            raise WintrainError(f"tag {foreign[0]!r} does not belong to the {scheme} scheme; use the iobes scheme")
    return prefixes, types


def allowed_transitions(tags: Sequence[str], scheme: str) -> np.ndarray:
    """(C+1, C) bool: ``allowed[i, j]`` when tag j may follow tag i; row C is the sentence start.

    The start row is the ``O`` row in every scheme.  Forbidden moves:

    * ``iob2``: ``I-X`` unless after ``B-X`` or ``I-X`` (so O→I-X, start→I-X, B-Y→I-X,
      I-Y→I-X are forbidden).
    * ``iob1``: ``B-X`` unless after ``B-X`` or ``I-X`` (B- only separates touching
      entities of one type); ``I-X`` may follow anything and then starts an entity.
    * ``iobes``: after ``B-X`` or ``I-X`` only ``I-X`` or ``E-X``; after ``E-*``, ``S-*``,
      ``O`` or the start only ``B-*``, ``S-*`` or ``O``.
    """
    prefixes, types = _check_scheme(tags, scheme)
    prev_prefix = np.append(prefixes, "O")[:, None]  # (C+1, 1)
    prev_type = np.append(types, "")[:, None]
    next_prefix, next_type = prefixes[None, :], types[None, :]  # (1, C)
    inside_same_type = np.isin(prev_prefix, ["B", "I"]) & (prev_type == next_type)
    if scheme == "iob2":
        return ~(next_prefix == "I") | inside_same_type
    if scheme == "iob1":
        return ~(next_prefix == "B") | inside_same_type
    continues = np.isin(next_prefix, ["I", "E"])
    return np.where(np.isin(prev_prefix, ["B", "I"]), continues & inside_same_type, ~continues)


def allowed_ends(tags: Sequence[str], scheme: str) -> np.ndarray:
    """(C,) bool: tags a sentence may end with; under ``iobes`` not ``B-*`` or ``I-*``."""
    prefixes, _ = _check_scheme(tags, scheme)
    if scheme == "iobes":
        return ~np.isin(prefixes, ["B", "I"])
    return np.ones(len(tags), dtype=bool)


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


def count_invalid(
    tag_ids: np.ndarray, sentence_starts: np.ndarray, allowed: np.ndarray, allowed_end: np.ndarray
) -> int:
    """Number of forbidden moves in a tagged corpus: transitions (start included) plus endings.

    ``tag_ids`` (N,), ``sentence_starts`` (S+1,).  Greedy output usually has some; the
    output of :func:`decode_corpus` has none whenever a valid path exists.
    """
    tag_ids = np.asarray(tag_ids, dtype=np.int64)
    starts = np.asarray(sentence_starts, dtype=np.int64)
    nonempty = starts[:-1][np.diff(starts) > 0]
    previous = np.concatenate(([0], tag_ids[:-1]))
    previous[nonempty] = allowed.shape[0] - 1  # the start row
    bad_moves = np.count_nonzero(~allowed[previous, tag_ids])
    last_tokens = starts[1:][np.diff(starts) > 0] - 1
    return int(bad_moves + np.count_nonzero(~allowed_end[tag_ids[last_tokens]]))


def infer_scheme(tags: Sequence[str], training_tag_sequences: Optional[Sequence[Sequence[str]]] = None) -> str:
    """Guess the tagging scheme of a tag set: ``iob1``, ``iob2`` or ``iobes``.

    * any ``E-``/``S-`` tag → ``iobes``;
    * with ``training_tag_sequences`` (sentences of tags): ``iob1`` when more entities
      start with ``I-X`` than with ``B-X`` (an entity starts where the previous tag is
      ``O``, another type or the sentence start; see
      :func:`wintrain.data.check.count_entity_starts`) — a few stray I- starts in IOB2
      data (the CoNLL-2003 copy here has 267 against 23,162) keep ``iob2``, whose
      constraints fit the B- starts;
    * ``iob1`` also when there are ``I-`` tags but no ``B-`` tags;
    * else ``iob2`` (also for tag sets without chunk tags, which no scheme constrains).
    """
    prefixes, _ = _parts(tags)
    if np.isin(prefixes, ["E", "S"]).any():
        return "iobes"
    if "I" in prefixes and "B" not in prefixes:
        return "iob1"
    if training_tag_sequences is not None:
        i_starts, b_starts = count_entity_starts(training_tag_sequences)
        if i_starts > b_starts:
            return "iob1"
    return "iob2"
