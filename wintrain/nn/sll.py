"""Sentence-level log-likelihood (Collobert et al. 2011, §3.3.2): a linear-chain CRF on top
of the window network's per-token tag scores.

The window network scores every token on its own; the cross-entropy loss then treats the
tags of a sentence as independent.  SLL instead scores whole tag paths, so the model can
learn that some tags rarely follow others (``I-PER`` after ``O``) and train for the best
*sequence*.  For a sentence of T tokens with tag scores ``s`` (T, C) (the network's
logits), a transition matrix ``A`` (C, C) (``A[i, j]``: tag j following tag i) and initial
scores ``a0`` (C,), a path y scores

    S(y) = a0[y_0] + s[0, y_0] + Σ_{t≥1} (A[y_{t-1}, y_t] + s[t, y_t])

and the loss of the sentence is the negative log-probability of its gold path under the
softmax over all C^T paths:

    NLL = −S(gold) + log Σ_y exp S(y) = −S(gold) + log Z.

log Z is summed over the C^T paths in O(T·C²) by the forward recursion, in log space so
nothing overflows (scores of magnitude 1e4 are fine):

    α_0(j) = a0[j] + s[0, j]
    α_t(j) = logsumexp_i (α_{t−1}(i) + A[i, j]) + s[t, j]          log Z = logsumexp_j α_{T−1}(j)

where ``logsumexp_i x_i = m + log Σ_i exp(x_i − m)`` with ``m = max_i x_i`` (the largest term
becomes exp 0 = 1, so the sum neither overflows nor underflows to 0).  The backward
recursion runs the other way,

    β_{T−1}(i) = 0,        β_{t−1}(i) = logsumexp_j (A[i, j] + s[t, j] + β_t(j)),

and together they give the marginals that make up the gradient (∂ log Z / ∂ score = the
probability that the path uses it):

    P(y_t = j)                 = exp(α_t(j) + β_t(j) − log Z)
    P(y_{t−1} = i, y_t = j)    = exp(α_{t−1}(i) + A[i, j] + s[t, j] + β_t(j) − log Z)

    ∂NLL/∂s[t, j] = P(y_t = j) − [gold_t = j]
    ∂NLL/∂A[i, j] = Σ_{t≥1} P(y_{t−1} = i, y_t = j) − #{t ≥ 1: gold_{t−1} = i, gold_t = j}
    ∂NLL/∂a0[j]   = P(y_0 = j) − [gold_0 = j]

A batch holds B sentences padded to a common length T with their ``lengths`` (B,);
positions t ≥ length change nothing (α is carried forward unchanged, β is 0 there) and get
zero gradient, and the scores stored at padded positions are never read into a result.  The
loss of the batch is **per token**, Σ_sentences NLL / Σ lengths, so its scale matches the
mean per-token cross-entropy of :class:`wintrain.nn.layers.SoftmaxCrossEntropy` and the
same learning rates and L2 weights apply.

:func:`viterbi` finds the best path with the same score function (max instead of
logsumexp), and accepts −inf entries, so the same code does constrained decoding.
:func:`pad_sentences` and :func:`unpad` convert between flat corpora (sentences back to
back, with offsets) and padded batches.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from wintrain.nn.layers import Layer, Parameter

__all__ = ["SentenceLogLikelihood", "SentenceLoss", "viterbi", "path_scores", "pad_sentences", "unpad", "length_mask",
           "log_forward", "log_marginals"]


def length_mask(lengths: np.ndarray, max_length: int) -> np.ndarray:
    """(B, T) bool: True at the real positions ``t < lengths[b]``.  lengths: (B,) int."""
    return np.arange(max_length)[None, :] < np.asarray(lengths)[:, None]


def _check_batch(scores: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Validate scores (B, T, C) and lengths (B,); return lengths as int64."""
    if scores.ndim != 3:
        raise ValueError(f"scores must be (B, T, C), got shape {scores.shape}")
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.shape != scores.shape[:1]:
        raise ValueError(f"lengths must be ({scores.shape[0]},), got shape {lengths.shape}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > scores.shape[1]):
        raise ValueError(f"lengths must lie in [0, {scores.shape[1]}], got {lengths.min()}..{lengths.max()}")
    return lengths


def path_scores(
    scores: np.ndarray,
    paths: np.ndarray,
    lengths: np.ndarray,
    transitions: np.ndarray,
    initial: np.ndarray,
    final: np.ndarray | None = None,
) -> np.ndarray:
    """S(y) of one given path per sentence.

    Args:
        scores: (B, T, C) tag scores.
        paths: (B, T) int tag ids; entries at padded positions are ignored.
        lengths: (B,) int sentence lengths.
        transitions: (C, C), ``transitions[i, j]`` = score of tag j following tag i.
        initial: (C,) score of the first tag.
        final: (C,) score of the last tag, or None for none.

    Returns:
        (B,) path scores (0 for an empty sentence), in the result dtype of the inputs.
    """
    lengths = _check_batch(scores, lengths)
    n_batch, max_length, _ = scores.shape
    if max_length == 0:
        return np.zeros(n_batch, dtype=np.result_type(scores, transitions, initial))
    mask = length_mask(lengths, max_length)
    safe_paths = np.where(mask, paths, 0)
    emitted = np.take_along_axis(scores, safe_paths[:, :, None], axis=2)[:, :, 0]
    moved = transitions[safe_paths[:, :-1], safe_paths[:, 1:]]
    nonempty = lengths > 0
    total = np.where(mask, emitted, 0).sum(axis=1) + np.where(mask[:, 1:], moved, 0).sum(axis=1)
    total = total + np.where(nonempty, initial[safe_paths[:, 0]], 0)
    if final is not None:
        last_tags = safe_paths[np.arange(n_batch), np.maximum(lengths - 1, 0)]
        total = total + np.where(nonempty, final[last_tags], 0)
    return total


class SentenceLogLikelihood(Layer):
    """The SLL loss node: tag scores (B, T, C) of padded sentences → per-token mean NLL.

    Parameters: ``transitions`` A (C, C) (L2-decayed, like a weight matrix) and ``initial``
    a0 (C,) (not decayed, like a bias), zeros unless given.  After :meth:`forward`,
    ``sentence_losses`` (B,) holds each sentence's NLL (unscaled; 0 for an empty sentence).
    """

    def __init__(
        self,
        n_tags: int,
        dtype: DTypeLike,
        transitions: np.ndarray | None = None,
        initial: np.ndarray | None = None,
    ) -> None:
        self.n_tags = n_tags
        self.dtype = np.dtype(dtype)
        transition_value = np.array(np.zeros((n_tags, n_tags)) if transitions is None else transitions, self.dtype)
        initial_value = np.array(np.zeros(n_tags) if initial is None else initial, self.dtype)
        if transition_value.shape != (n_tags, n_tags) or initial_value.shape != (n_tags,):
            raise ValueError(
                f"transitions must be ({n_tags}, {n_tags}) and initial ({n_tags},), "
                f"got {transition_value.shape} and {initial_value.shape}"
            )
        self.transitions = Parameter("sll.transitions", transition_value, decay=True)
        self.initial = Parameter("sll.initial", initial_value, decay=False)
        self.sentence_losses: np.ndarray = np.zeros(0, self.dtype)

    def parameters(self) -> list[Parameter]:
        return [self.transitions, self.initial]

    def forward(  # type: ignore[override]
        self, scores: np.ndarray, targets: np.ndarray, lengths: np.ndarray
    ) -> float:
        """Σ_sentences NLL / Σ lengths.

        Args:
            scores: (B, T, C) tag scores (logits) of B sentences padded to T; padded
                positions may hold anything.
            targets: (B, T) int gold tags; entries at padded positions are ignored.
            lengths: (B,) int, 0 ≤ lengths ≤ T.

        Returns:
            The loss per real token (0.0 for a batch without tokens).
        """
        lengths = _check_batch(scores, lengths)
        n_batch, max_length, n_tags = scores.shape
        if n_tags != self.n_tags:
            raise ValueError(f"scores have {n_tags} tags, the layer {self.n_tags}")
        targets = np.asarray(targets)
        if targets.shape != (n_batch, max_length):
            raise ValueError(f"targets must be {(n_batch, max_length)}, got shape {targets.shape}")
        dtype = scores.dtype
        mask = length_mask(lengths, max_length)
        safe_targets = np.where(mask, targets, 0)
        if safe_targets.size and (safe_targets.min() < 0 or safe_targets.max() >= n_tags):
            raise ValueError(f"targets at real positions must lie in [0, {n_tags})")
        transitions = self.transitions.value.astype(dtype, copy=False)
        initial = self.initial.value.astype(dtype, copy=False)
        n_tokens = int(lengths.sum())
        if max_length == 0 or n_tokens == 0:
            self.sentence_losses = np.zeros(n_batch, dtype)
            self.cache = np.zeros_like(scores)  # the whole gradient
            return 0.0

        gold = path_scores(scores, safe_targets, lengths, transitions, initial)
        gold_pairs = (safe_targets[:, :-1] * n_tags + safe_targets[:, 1:])[mask[:, 1:]]
        gold_counts = np.bincount(gold_pairs, minlength=n_tags * n_tags).astype(dtype)  # (C·C,)
        alpha, log_partition = log_forward(scores, mask, transitions, initial)
        self.cache = (scores, safe_targets, mask, alpha, log_partition, transitions, gold_counts, n_tokens)
        nonempty = lengths > 0
        self.sentence_losses = np.where(nonempty, log_partition - gold, 0).astype(dtype, copy=False)
        return float(self.sentence_losses.sum(dtype=np.float64) / n_tokens)

    def backward(self, dout: float = 1.0) -> np.ndarray:
        """Gradient of ``dout · loss`` w.r.t. the scores: (B, T, C), zero at padded positions.

        Also writes ``transitions.grad`` (C, C) and ``initial.grad`` (C,) in place.
        """
        if isinstance(self.cache, np.ndarray):  # the batch had no tokens
            self.transitions.grad[...] = 0
            self.initial.grad[...] = 0
            return self.cache
        scores, safe_targets, mask, alpha, log_partition, transitions, gold_counts, n_tokens = self.cache
        marginals, pair_marginals = log_marginals(scores, mask, alpha, log_partition, transitions)
        n_batch, max_length, n_tags = marginals.shape
        dtype = marginals.dtype
        weights = mask.astype(dtype)
        grad = marginals
        grad[~mask] = 0.0  # padded positions (they may hold anything, even NaN)
        rows = np.arange(n_batch)[:, None]
        positions = np.arange(max_length)[None, :]
        grad[rows, positions, safe_targets] -= weights
        scale = dtype.type(dout / n_tokens)
        grad *= scale
        self.initial.grad[...] = grad[:, 0].sum(axis=0)
        pair_marginals = pair_marginals.reshape(-1) - gold_counts
        pair_marginals *= scale
        self.transitions.grad[...] = pair_marginals.reshape(n_tags, n_tags)
        return grad


def log_forward(
    scores: np.ndarray, mask: np.ndarray, transitions: np.ndarray, initial: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """α (B, T, C) and log Z (B,) by the forward recursion in log space (exact for any finite
    or −inf scores)."""
    n_batch, max_length, n_tags = scores.shape
    dtype = scores.dtype
    padded = ~mask
    lowest = np.finfo(dtype).min
    alpha = np.empty((n_batch, max_length, n_tags), dtype)
    work = np.empty((n_batch, n_tags, n_tags), dtype)
    peak = np.empty((n_batch, n_tags), dtype)
    np.add(initial, scores[:, 0], out=alpha[:, 0])
    with np.errstate(divide="ignore"):  # log 0 = −inf is right when every way in is forbidden
        for t in range(1, max_length):
            alpha_t = alpha[:, t]
            np.add(alpha[:, t - 1, :, None], transitions, out=work)  # [b, i, j]
            np.max(work, axis=1, out=peak)
            np.maximum(peak, lowest, out=peak)  # an all −inf column: shift by a finite number
            np.subtract(work, peak[:, None, :], out=work)
            np.exp(work, out=work)
            np.sum(work, axis=1, out=alpha_t)
            np.log(alpha_t, out=alpha_t)
            alpha_t += peak
            alpha_t += scores[:, t]
            np.copyto(alpha_t, alpha[:, t - 1], where=padded[:, t, None])
        log_partition = _logsumexp_rows(alpha[:, -1])
    return alpha, log_partition


def log_marginals(
    scores: np.ndarray, mask: np.ndarray, alpha: np.ndarray, log_partition: np.ndarray,
    transitions: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """P(y_t = j) (B, T, C) and Σ_{b,t} P(y_{t−1} = i, y_t = j) (C·C,) by the backward recursion
    in log space."""
    n_batch, max_length, n_tags = scores.shape
    dtype = scores.dtype
    padded = ~mask
    lowest = np.finfo(dtype).min

    forward_part = alpha - log_partition[:, None, None]  # α_t − log Z
    beta = np.empty_like(alpha)
    beta[:, -1] = 0
    emit = np.empty((n_batch, n_tags), dtype)
    work = np.empty((n_batch, n_tags, n_tags), dtype)
    pair = np.empty((n_batch, n_tags, n_tags), dtype)
    peak = np.empty((n_batch, n_tags), dtype)
    pair_marginals = np.zeros(n_tags * n_tags, dtype)
    step_pair_marginals = np.empty(n_tags * n_tags, dtype)
    with np.errstate(divide="ignore"):
        for t in range(max_length - 1, 0, -1):
            beta_previous = beta[:, t - 1]
            np.add(scores[:, t], beta[:, t], out=emit)
            np.copyto(emit, -np.inf, where=padded[:, t, None])  # padded t: no path goes on, pair marginals 0
            np.add(transitions, emit[:, None, :], out=work)  # [b, i, j] = A[i, j] + s[t, j] + β_t(j)
            np.add(work, forward_part[:, t - 1, :, None], out=pair)
            np.exp(pair, out=pair)  # P(y_{t−1} = i, y_t = j)
            np.sum(pair.reshape(n_batch, n_tags * n_tags), axis=0, out=step_pair_marginals)
            pair_marginals += step_pair_marginals
            np.max(work, axis=2, out=peak)
            np.maximum(peak, lowest, out=peak)
            np.subtract(work, peak[:, :, None], out=work)
            np.exp(work, out=work)
            np.sum(work, axis=2, out=beta_previous)
            np.log(beta_previous, out=beta_previous)
            beta_previous += peak
            np.copyto(beta_previous, 0, where=padded[:, t, None])

    marginals = forward_part
    marginals += beta
    np.exp(marginals, out=marginals)
    return marginals, pair_marginals


def _logsumexp_rows(values: np.ndarray) -> np.ndarray:
    """(B, C) → (B,) log Σ_j exp values[b, j], shifted by the row maximum."""
    peak = np.maximum(values.max(axis=1), np.finfo(values.dtype).min)
    return np.log(np.exp(values - peak[:, None]).sum(axis=1)) + peak


def viterbi(
    scores: np.ndarray,
    lengths: np.ndarray,
    transitions: np.ndarray,
    initial: np.ndarray,
    final: np.ndarray | None = None,
) -> np.ndarray:
    """The best path of each padded sentence: argmax_y S(y) (+ ``final[y_last]`` when given).

    The recursion is the forward one with max for logsumexp:

        δ_0(j) = a0[j] + s[0, j],     δ_t(j) = max_i (δ_{t−1}(i) + A[i, j]) + s[t, j],
        ψ_t(j) = argmax_i (...),       y_last = argmax_j (δ_last(j) + final[j]),   y_{t−1} = ψ_t(y_t).

    Sentences are processed longest first, so step t touches only the sentences longer
    than t (a prefix of that order) and no work is spent on padding.

    Args:
        scores: (B, T, C) tag scores; padded positions are ignored.
        lengths: (B,) int sentence lengths.
        transitions: (C, C), may hold −inf (forbidden moves: 0 allowed / −inf forbidden
            turns this into constrained decoding; add it to learned transitions to combine).
        initial: (C,) score of the first tag, may hold −inf.
        final: (C,) score of the last tag, may hold −inf; None for none.

    Returns:
        (B, T) int64 tag ids, 0 at padded positions.  A sentence whose every path scores
        −inf gets the argmax of its scores per token instead.
    """
    lengths = _check_batch(scores, lengths)
    n_batch, max_length, n_tags = scores.shape
    path = np.zeros((n_batch, max_length), dtype=np.int64)
    if n_batch == 0 or max_length == 0:
        return path
    dtype = np.result_type(scores.dtype, transitions.dtype, initial.dtype, np.float32)
    transitions = transitions.astype(dtype, copy=False)
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    sorted_scores = scores[order]
    active_counts = np.count_nonzero(sorted_lengths[None, :] > np.arange(max_length)[:, None], axis=1)  # (T,)
    back_dtype = np.int8 if n_tags <= 127 else np.int16 if n_tags <= 32767 else np.int64
    back = np.zeros((n_batch, max_length, n_tags), dtype=back_dtype)
    best = (initial + sorted_scores[:, 0]).astype(dtype, copy=False)  # δ, frozen once a sentence ends
    work = np.empty((n_batch, n_tags, n_tags), dtype)
    for t in range(1, max_length):
        active = int(active_counts[t])
        candidates = work[:active]
        np.add(best[:active, :, None], transitions, out=candidates)  # [b, i, j]
        back[:active, t] = candidates.argmax(axis=1)
        np.max(candidates, axis=1, out=best[:active])
        best[:active] += sorted_scores[:active, t]
    if final is not None:
        best = best + final
    nonempty = int(active_counts[0])
    rows = np.arange(nonempty)
    path[rows, sorted_lengths[:nonempty] - 1] = best[:nonempty].argmax(axis=1)
    for t in range(max_length - 1, 0, -1):
        active = int(active_counts[t])
        path[:active, t - 1] = back[rows[:active], t, path[:active, t]]
    stuck = np.flatnonzero(~np.isfinite(best[:nonempty].max(axis=1)))
    if stuck.size:
        path[stuck] = np.where(
            length_mask(sorted_lengths[stuck], max_length), sorted_scores[stuck].argmax(axis=2), 0
        )
    unsorted = np.empty_like(path)
    unsorted[order] = path
    return unsorted


def pad_sentences(values: np.ndarray, starts: np.ndarray, fill: float = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flat corpus → padded batch.

    Args:
        values: (N, ...) per-token rows, sentences back to back (scores (N, C), tags (N,)).
        starts: (S+1,) non-decreasing offsets; sentence i is rows ``starts[i]:starts[i+1]``.
        fill: the value of padded entries.

    Returns:
        padded (S, T_max, ...) of ``values``' dtype and lengths (S,) int64.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.diff(starts)
    n_sentences = len(lengths)
    max_length = int(lengths.max()) if n_sentences else 0
    padded = np.full((n_sentences, max_length) + values.shape[1:], fill, dtype=values.dtype)
    sentence_of_token = np.repeat(np.arange(n_sentences), lengths)
    token = np.arange(starts[0], starts[-1]) if n_sentences else np.zeros(0, np.int64)
    padded[sentence_of_token, token - starts[sentence_of_token]] = values[token]
    return padded, lengths


def unpad(padded: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Padded batch → flat rows: padded (S, T, ...), lengths (S,) → (Σ lengths, ...), sentences in order."""
    return padded[length_mask(lengths, padded.shape[1])]


class SentenceLoss(Layer):
    """The SLL loss of the window network: logits (N, C) of whole sentences back to back, targets (N,)
    and the sentences' lengths (S,) → the per-token NLL, through :class:`SentenceLogLikelihood` on the
    sentences padded into one (S, T, C) batch; the gradient comes back unpadded, (N, C).

    Its transitions are the parameters of the model's loss node (``sll.transitions``, ``sll.initial``).
    """

    name = "sentence log-likelihood"

    def __init__(self, n_tags: int, dtype: DTypeLike) -> None:
        self.sll = SentenceLogLikelihood(n_tags, dtype)

    def parameters(self) -> list[Parameter]:
        return self.sll.parameters()

    @property
    def transitions(self) -> Parameter:
        return self.sll.transitions

    @property
    def initial(self) -> Parameter:
        return self.sll.initial

    def forward(self, logits: np.ndarray, targets: np.ndarray,  # type: ignore[override]
                lengths: np.ndarray | None = None) -> float:
        """Σ_s (log Z_s − S(gold_s)) / N over the sentences of the batch (``lengths`` is required)."""
        if lengths is None:
            raise ValueError("the sentence-level loss needs the sentence lengths of its batch")
        lengths = np.asarray(lengths, dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(lengths)))
        scores, _ = pad_sentences(logits, starts)
        gold, _ = pad_sentences(np.asarray(targets), starts)
        self.cache = lengths
        return self.sll.forward(scores, gold, lengths)

    def backward(self, dout: float = 1.0) -> np.ndarray:
        """(N, C) gradient of the loss with respect to the logits; fills the transitions' gradients."""
        return unpad(self.sll.backward(dout), self.cache)
