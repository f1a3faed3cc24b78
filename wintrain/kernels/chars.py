"""Fast twin of the character convolution of :mod:`wintrain.nn.chars`.

Why it is computed this way (U words, N = Σ_u lengths[u] real windows, C characters):

* A window's score is a sum over its offsets, x_{u,p} W = Σ_o E[ids[u, p+o]] W_o, where W_o is the
  (dim, F) block of W for offset o.  E[c] W_o depends only on (c, o), so forward first computes the
  (width, C, F) table of all of them with one small product (C is ~100) and then scores the N real
  windows with ``width`` row gathers and adds: no (N, width·dim) matrix and no product over it, and
  windows centred on padding are never scored.
* The max works on words sorted by length: the words of one length are one (count, n, F) block, so it
  takes one ``max`` and one ``equal`` per distinct length instead of a cost per word.  The ``equal``
  marks each word's winning window per filter; ties (identical windows, e.g. "ana" twice in "banana")
  keep the first, as ``argmax`` does.
* Backward: dz = dout repeated over the word's windows × the winner mask; then ∂/∂(E[c] W_o) = Σ of dz
  over windows with character c at offset o (one scatter per offset, C rows), from which
  dW_o = Eᵀ ∂(E W_o) and dE = Σ_o ∂(E W_o) W_oᵀ are small products; db = Σ_u dout.

The sums are reordered, so the numbers equal the plain convolution's to float rounding.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wintrain.kernels import twin_of
from wintrain.kernels.layers import sorted_scatter_rows
from wintrain.nn.chars import PAD_ID, CharCNN, CharFeature


@twin_of(CharCNN)
class ProjectionCharCNN(CharCNN):
    """:class:`~wintrain.nn.chars.CharCNN` scored from per-offset projection tables (see the module docstring)."""

    scatter = staticmethod(sorted_scatter_rows)

    def forward(self, ids: np.ndarray, lengths: np.ndarray, train: bool = False) -> np.ndarray:  # type: ignore[override]
        """ids: (U, L) int character ids, lengths: (U,) int (1 ≤ lengths ≤ L − width + 1) →
        (U, filters).  Columns outside a word's characters must be ``<pad>`` (0)."""
        positions = self.check_input(ids, lengths)
        if len(ids) == 0:
            self.cache = None
            return np.empty((0, self.output_dim), self.table.value.dtype)
        order = None if np.all(lengths[1:] >= lengths[:-1]) else np.argsort(lengths, kind="stable")
        if order is not None:  # the max below works on words grouped by length
            ids, lengths = ids[order], lengths[order]
        is_character = np.arange(positions) < lengths[:, None]  # (U, P): window centred on a character
        window_ids = sliding_window_view(ids, self.width, axis=1)[is_character]  # (N, width)
        projections = self._projections()  # (width·n_chars, F)
        n_chars = len(self.table.value)
        scores = np.take(projections, window_ids[:, 0], axis=0)  # (N, F)
        for offset in range(1, self.width):
            scores += np.take(projections, window_ids[:, offset] + offset * n_chars, axis=0)
        best = _max_by_length(scores, lengths)  # (U, F)
        self.cache = (window_ids, scores, best, lengths, order)
        out = best + self.bias.value
        if order is not None:
            unsorted = np.empty_like(out)
            unsorted[order] = out
            return unsorted
        return out

    def _projections(self) -> np.ndarray:
        """(width·n_chars, F): row o·n_chars + c is E[c] W_o, the contribution of character c at
        window offset o — a convolution over one-hot characters is a sum of table lookups."""
        width, dim, filters = self.width, self.dim, self.output_dim
        per_offset = self.weight.value.reshape(width, dim, filters)  # W_o
        stacked = self.table.value @ per_offset.transpose(1, 0, 2).reshape(dim, width * filters)  # (C, width·F)
        return stacked.reshape(-1, width, filters).transpose(1, 0, 2).reshape(width * len(self.table.value), filters)

    def backward(self, dout: np.ndarray) -> None:
        """dout: (U, filters).  Sets the gradients of W, b and the used table rows; returns
        nothing (character ids have no gradient)."""
        if self.cache is None:
            self.weight.grad[...] = 0
            self.bias.grad[...] = 0
            self.table.rows = np.zeros(0, np.int64)
            self.table.grad = np.zeros((0, self.dim), self.table.value.dtype)
            return None
        window_ids, scores, best, lengths, order = self.cache
        winners = _winners_by_length(scores, best, lengths)  # (N, F): the first maximum of each word
        dout = np.asarray(dout, dtype=self.table.value.dtype)
        np.sum(dout, axis=0, out=self.bias.grad)
        if order is not None:
            dout = dout[order]
        dscores = np.repeat(dout, lengths, axis=0)  # the gradient goes to each word's winning window
        dscores *= winners

        # ∂/∂(E[c] W_o) = Σ of dscores over the windows with character c at offset o
        width, dim, filters, n_chars = self.width, self.dim, self.output_dim, len(self.table.value)
        dprojections = np.zeros((width, n_chars, filters), dscores.dtype)
        for offset in range(width):
            rows, sums = self.scatter(window_ids[:, offset], dscores, n_chars)
            dprojections[offset, rows] = sums
        table = self.table.value
        dweight = table.T @ dprojections.transpose(1, 0, 2).reshape(n_chars, width * filters)  # (dim, width·F)
        self.weight.grad[...] = dweight.reshape(dim, width, filters).transpose(1, 0, 2).reshape(width * dim, filters)
        per_offset = self.weight.value.reshape(width, dim, filters)
        dtable = np.einsum("ocf,odf->cd", dprojections, per_offset)  # Σ_o dT_o W_oᵀ: (C, dim)
        used = np.flatnonzero(np.bincount(window_ids.reshape(-1), minlength=n_chars))
        used = used[used != PAD_ID]
        self.table.rows, self.table.grad = used, dtable[used]
        return None


def _max_by_length(scores: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """scores: (N, F), the windows of U words of non-decreasing ``lengths`` (U,) back to back →
    each word's maximum over its windows (U, F).

    Words of one length are one (count, n, F) block, so each step is one reduction per distinct
    length: ``np.maximum.reduceat`` and ``argmax`` over the middle axis pay per word and would
    take several times longer."""
    best = np.empty((len(lengths), scores.shape[1]), scores.dtype)
    for rows, words, length in _length_blocks(lengths):
        np.max(scores[rows].reshape(words.stop - words.start, length, -1), axis=1, out=best[words])
    return best


def _winners_by_length(scores: np.ndarray, best: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The (N, F) mask of each word's winning window per filter (``scores`` == its word's max
    ``best``), the first where windows tie (a word that repeats a window of characters).
    Arguments as for :func:`_max_by_length`; only backward needs it."""
    winners = np.empty(scores.shape, bool)
    for rows, words, length in _length_blocks(lengths):
        count = words.stop - words.start
        top = best[words]
        mask = winners[rows].reshape(count, length, -1)
        np.equal(scores[rows].reshape(count, length, -1), top[:, None, :], out=mask)
        if length > 1 and np.count_nonzero(mask) > top.size:  # ties: keep the first winner of each
            mask &= np.cumsum(mask, axis=1, dtype=np.int16) == 1
    return winners


def _length_blocks(lengths: np.ndarray) -> list[tuple[slice, slice, int]]:
    """For non-decreasing ``lengths`` (U,): per distinct length n, the slice of its windows
    (rows of the (N, F) scores), the slice of its words, and n."""
    values, counts = np.unique(lengths, return_counts=True)
    blocks, row, word = [], 0, 0
    for length, count in zip(values.tolist(), counts.tolist()):
        blocks.append((slice(row, row + length * count), slice(word, word + count), length))
        row += length * count
        word += count
    return blocks


@twin_of(CharFeature)
class SortedScatterCharFeature(CharFeature):
    """:class:`~wintrain.nn.chars.CharFeature` whose backward sums the positions of a form with a sorted scatter."""

    scatter = staticmethod(sorted_scatter_rows)
