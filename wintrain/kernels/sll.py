"""Fast twin of the sentence-level loss of :mod:`wintrain.nn.sll`: the forward–backward recursions in
probability space, straight from the flat batch.

The textbook loss pads the batch's sentences and runs the forward and backward recursions in log
space, one (B, C, C) log-sum-exp per position.  :class:`ScaledSentenceLoss` instead gathers the logits
into a time-major, longest-first layout with one gather and runs the *scaled* recursions of HMMs
(:class:`_ScaledPass`): one small matrix product per position, a rescaling now and then.  Batches whose
scores are too extreme for that (a scale factor underflows) go through the textbook log-space loss.
The sums are reordered, so the loss and gradients equal the textbook ones to float rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wintrain.kernels import twin_of
from wintrain.nn.sll import SentenceLoss


@twin_of(SentenceLoss)
class ScaledSentenceLoss(SentenceLoss):
    """:class:`~wintrain.nn.sll.SentenceLoss` computed in probability space on the flat batch: the logits go
    straight into the time-major, longest-first layout of :class:`_ScaledPass` with one gather, the gold
    path's score is summed on the flat arrays, and the gradient comes back with one gather — no padding.
    """

    flat_cache: tuple[Any, ...] | None = None  # the scaled pass's cache (None: the batch took the textbook path)

    def forward(self, logits: np.ndarray, targets: np.ndarray,  # type: ignore[override]
                lengths: np.ndarray | None = None) -> float:
        """The per-token mean NLL of the sentences' gold tag paths: Σ_s (log Z_s − S(gold_s)) / N."""
        if lengths is None:
            raise ValueError("the sentence-level loss needs the sentence lengths of its batch")
        lengths = np.asarray(lengths, dtype=np.int64)
        targets = np.asarray(targets)
        n_tokens, n_tags = logits.shape
        transitions = self.sll.transitions.value
        initial = self.sll.initial.value
        starts = np.cumsum(lengths) - lengths
        order = np.argsort(-lengths, kind="stable")
        sorted_lengths = lengths[order]
        max_length = int(sorted_lengths[0]) if len(lengths) else 0
        mask = np.arange(max_length)[:, None] < sorted_lengths[None, :]  # (T, S)
        tokens = (starts[order][None, :] + np.arange(max_length)[:, None])[mask]  # time-major token order
        emit = np.zeros((max_length, len(lengths), n_tags), logits.dtype)
        emit[mask] = logits[tokens]
        scaled = _ScaledPass.run(emit, sorted_lengths, transitions, initial) if n_tokens else None
        if scaled is None:  # an empty batch, or one only the log-space recursion can take
            self.flat_cache = None
            return super().forward(logits, targets, lengths)
        first = np.zeros(n_tokens, dtype=bool)
        first[starts[lengths > 0]] = True
        follows = ~first[1:]  # token i (≥ 1) continues the sentence of token i − 1
        previous, current = targets[:-1][follows], targets[1:][follows]
        gold = (float(logits[np.arange(n_tokens), targets].sum(dtype=np.float64))
                + float(transitions[previous, current].sum(dtype=np.float64))
                + float(initial[targets[first]].sum(dtype=np.float64)))
        gold_counts = np.bincount(previous * n_tags + current, minlength=n_tags * n_tags)
        self.flat_cache = (scaled, mask, tokens, targets, first, gold_counts)
        log_partition = scaled.log_partition[sorted_lengths > 0]  # an empty sentence has no paths to sum over
        return (float(log_partition.sum(dtype=np.float64)) - gold) / n_tokens

    def backward(self, dout: float = 1.0) -> np.ndarray:
        """(N, C) gradient of the loss with respect to the logits; fills the transitions' gradients."""
        if self.flat_cache is None:
            return super().backward(dout)
        scaled, mask, tokens, targets, first, gold_counts = self.flat_cache
        time_major, pairs = scaled.marginals()
        n_tokens = len(targets)
        grad = np.empty((n_tokens, time_major.shape[2]), time_major.dtype)
        grad[tokens] = time_major[mask]  # P(y_t = j) of every token, back in batch order
        scale = grad.dtype.type(dout / n_tokens)
        rows = np.arange(n_tokens)
        grad[rows, targets] -= 1.0
        grad *= scale
        self.sll.initial.grad[...] = grad[first].sum(axis=0)
        pairs -= gold_counts.reshape(pairs.shape)
        pairs *= scale
        self.sll.transitions.grad[...] = pairs
        return grad


class _ScaledPass:
    """The forward–backward recursions in probability space with one scale factor per step
    (the scaled algorithm of HMMs), which needs one small matrix product per position instead of
    the (B, C, C) log-sum-exp of the log-space recursion:

        E = exp(A − max A),  e0 = exp(a0 − max a0),  Q_t = exp(s_t − max_j s_t[j])
        α̂_0 = e0 ⊙ Q_0 / c_0,     α̂_t = (α̂_{t−1} E) ⊙ Q_t / c_t,   c_t making Σ_j α̂_t(j) = 1
                                  (or c_t = 1 between normalised steps, see below)
        log Z = Σ_t (log c_t + max_j s_t[j]) + (T − 1) max A + max a0
        β̂_{T−1} = 1,              β̂_{t−1} = ((Q_t ⊙ β̂_t) Eᵀ) / c_t
        P(y_t = j) = α̂_t(j) β̂_t(j),   Σ_t P(y_{t−1} = i, y_t = j) = E(i, j) Σ_t α̂_{t−1}(i) Q_t(j) β̂_t(j) / c_t

    Normalising is only needed now and then: with E ≤ 1 and Q_t ≤ 1 a few steps without it stay
    far from float32's limits, so α̂ is normalised every :attr:`NORMALISE_EVERY` steps and at every
    sentence's last step (c_t = 1 in between; the formulas hold for any such choice).

    The input is *time-major* and *longest first*: scores (T, S, C) with sentence k of length
    ``lengths[k]`` (non-increasing), so step t touches the contiguous prefix of the sentences
    still running.  :meth:`run` returns None when a scale factor underflows (extreme scores
    meeting forbidden moves); the caller then uses the log-space recursion, exact for any scores.
    """

    TINY = 1e-30
    NORMALISE_EVERY = 4  # steps; c_t = 1 at the steps in between

    def __init__(self, lengths: np.ndarray, mask: np.ndarray, running: np.ndarray, alpha: np.ndarray,
                 scale: np.ndarray, emit: np.ndarray, moves: np.ndarray, log_partition: np.ndarray) -> None:
        self.lengths, self.mask, self.running = lengths, mask, running
        self.alpha, self.scale, self.emit, self.moves = alpha, scale, emit, moves
        self.log_partition = log_partition

    @classmethod
    def run(cls, emit: np.ndarray, lengths: np.ndarray, transitions: np.ndarray,
            initial: np.ndarray) -> _ScaledPass | None:
        """The forward pass: emit (T, S, C) time-major scores of sentences of non-increasing
        ``lengths`` (S,) — taken over and overwritten — or None.  ``log_partition`` is (S,)."""
        max_length, n_sentences, n_tags = emit.shape
        dtype = emit.dtype
        running = np.count_nonzero(lengths[None, :] > np.arange(max_length)[:, None], axis=1)  # (T,)
        mask = np.arange(max_length)[:, None] < lengths[None, :]  # (T, S)
        finite_moves = transitions[np.isfinite(transitions)]
        if finite_moves.size == 0 or not np.isfinite(initial).any():
            return None
        move_peak, start_peak = dtype.type(finite_moves.max()), dtype.type(initial[np.isfinite(initial)].max())
        with np.errstate(under="ignore", invalid="ignore"):
            moves = np.exp(transitions - move_peak)
            start = np.exp(initial - start_peak)
            emit_peak = emit.max(axis=2)  # (T, S)
            emit -= emit_peak[:, :, None]
            np.exp(emit, out=emit)
        alpha = np.zeros_like(emit)  # zeros where a sentence has ended: they enter the pair sums
        scale = np.ones((max_length, n_sentences), dtype)
        np.multiply(start, emit[0], out=alpha[0])
        alpha[0].sum(axis=1, out=scale[0])
        alpha[0] /= scale[0][:, None]
        # normalising every step is not needed: E ≤ 1 and Q_t ≤ 1, so a few steps without it stay far
        # from float32's limits; a sentence's last step must be normalised (log Z is read from it)
        normalised = np.arange(max_length) % cls.NORMALISE_EVERY == cls.NORMALISE_EVERY - 1
        normalised[lengths[lengths > 0] - 1] = True
        with np.errstate(under="ignore", divide="ignore", invalid="ignore"):
            for t in range(1, max_length):
                k = int(running[t])
                alpha_t = alpha[t, :k]
                np.matmul(alpha[t - 1, :k], moves, out=alpha_t)
                alpha_t *= emit[t, :k]
                if normalised[t]:
                    alpha_t.sum(axis=1, out=scale[t, :k])
                    alpha_t /= scale[t, :k, None]
            if not np.all(np.where(mask, scale, 1.0) > cls.TINY):
                return None
            terms = np.where(mask, np.log(scale) + emit_peak, 0.0)
        log_partition = terms.sum(axis=0) + np.maximum(lengths - 1, 0) * move_peak + start_peak
        return cls(lengths, mask, running, alpha, scale, emit, moves, log_partition.astype(dtype, copy=False))

    def marginals(self) -> tuple[np.ndarray, np.ndarray]:
        """P(y_t = j), time-major (T, S, C) (zero where a sentence has ended), and the pair marginals
        summed over the sentences and positions (C, C)."""
        max_length, n_sentences, n_tags = self.alpha.shape
        beta = np.ones_like(self.alpha)
        weighted = self.emit  # becomes Q_t ⊙ β̂_t / c_t, zero where a sentence has ended
        weighted /= self.scale[:, :, None]
        weighted[~self.mask] = 0.0
        with np.errstate(under="ignore"):
            for t in range(max_length - 1, 0, -1):
                k = int(self.running[t])
                weighted[t, :k] *= beta[t, :k]
                np.matmul(weighted[t, :k], self.moves.T, out=beta[t - 1, :k])
        # Σ_{t ≥ 1} α̂_{t−1}ᵀ (Q_t ⊙ β̂_t / c_t) over all sentences at once: one matrix product
        pairs = self.alpha[:-1].reshape(-1, n_tags).T @ weighted[1:].reshape(-1, n_tags)
        pairs *= self.moves
        beta *= self.alpha
        return beta, pairs
