"""Fast twins of the graph nodes of :mod:`wintrain.nn.layers`, and the flat parameter buffer.

* :func:`sorted_scatter_rows` — the lookup gradient without ``np.add.at``: ids sorted (radix-sorted
  as uint16 for tables of at most 65,536 rows) so the rows of each id form one run; most words of a
  batch occur once or twice (Zipf), so the first two rows of every run are added by two vectorised
  passes and only longer runs reach ``np.add.reduceat``.  Sums reordered: equal to float rounding.
* :class:`SortedScatterEmbedding` — :class:`~wintrain.nn.layers.Embedding` with that scatter.
* :class:`BufferedWindowConcat` — each feature writes straight into its slice of one reused
  (B, w, D) buffer, so the window input is built with no concatenation copy.  Bit-identical.
* :class:`BatchMaxSoftmaxCrossEntropy` — the softmax shifted by one maximum for the whole batch
  instead of one per row (the per-row maxima of a few tags cost more than the rest of the loss);
  the per-row shift is kept for batches where a row would underflow.  Equal to float rounding.
* :class:`FlatParameters` — a network's dense parameters laid end to end in one array and their
  gradients in another, so the fast optimizers (:mod:`wintrain.kernels.optimizers`) update all of them
  with one NumPy call per operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from wintrain.kernels import twin_of
from wintrain.nn.layers import (
    Embedding,
    Parameter,
    SoftmaxCrossEntropy,
    WindowConcat,
    WindowFeature,
    scatter_rows,
)


@twin_of(scatter_rows)
def sorted_scatter_rows(ids: np.ndarray, values: np.ndarray,
                        table_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~wintrain.nn.layers.scatter_rows` by sorting: ids (n,), values (n, d) → rows (U,), sums (U, d).

    ``table_rows`` (the table's size) lets ids of a table of at most 65,536 rows sort as uint16.
    When there are few distinct ids with long runs (characters), plain ``reduceat`` is cheaper.
    """
    keys = ids.astype(np.uint16) if table_rows is not None and table_rows <= 65536 else ids
    order = np.argsort(keys, kind="stable")
    sorted_ids = ids[order]
    first = np.empty(len(sorted_ids), dtype=bool)
    first[:1] = True
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    rows = sorted_ids[starts]
    ordered = np.take(values, order, axis=0)
    if 4 * len(starts) < len(sorted_ids):  # few ids, long runs: reduceat's per-run cost is small
        return rows, np.add.reduceat(ordered, starts, axis=0)
    sums = ordered[starts]
    counts = np.diff(np.append(starts, len(sorted_ids)))
    pairs = np.flatnonzero(counts > 1)
    if pairs.size:
        sums[pairs] += ordered[starts[pairs] + 1]
        longer = np.flatnonzero(counts > 2)
        if longer.size:
            tails = _tail_positions(starts[longer] + 2, counts[longer] - 2)
            tail_starts = np.concatenate(([0], np.cumsum(counts[longer] - 2)[:-1]))
            sums[longer] += np.add.reduceat(ordered[tails], tail_starts, axis=0)
    return rows, sums


def _tail_positions(firsts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions firsts[k], firsts[k]+1, …, firsts[k]+lengths[k]−1 of every run k, concatenated."""
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(firsts - offsets, lengths) + np.arange(int(lengths.sum()))


@twin_of(Embedding)
class SortedScatterEmbedding(Embedding):
    """An :class:`~wintrain.nn.layers.Embedding` whose backward sums rows with :func:`sorted_scatter_rows`."""

    scatter = staticmethod(sorted_scatter_rows)


@twin_of(WindowConcat)
class BufferedWindowConcat(WindowConcat):
    """A :class:`~wintrain.nn.layers.WindowConcat` that has each feature write into its slice of one
    reused (B, w, D) buffer; the output is the buffer's (B, w·D) view (valid until the next forward)."""

    def __init__(self, features: Sequence[WindowFeature], window_size: int, dtype: np.dtype,
                 name: str = "concat") -> None:
        super().__init__(features, window_size, dtype, name)
        self._buffer = np.empty((0, self.window_size, self.width), self.dtype)

    def forward(self, feature_ids: list[Any], train: bool = False) -> np.ndarray:
        batch = feature_ids[0].shape[0]
        if self._buffer.shape[0] < batch:
            self._buffer = np.empty((batch, self.window_size, self.width), self.dtype)
        buffer = self._buffer[:batch]
        for feature, ids, part in zip(self.features, feature_ids, self.slices):
            if len(self.features) == 1:
                feature.forward(ids, train, out=buffer)
            else:
                feature.forward(ids, train, out=buffer[:, :, part])
        return buffer.reshape(batch, self.output_dim)


@twin_of(SoftmaxCrossEntropy)
class BatchMaxSoftmaxCrossEntropy(SoftmaxCrossEntropy):
    """:class:`~wintrain.nn.layers.SoftmaxCrossEntropy` shifted by the batch's maximum logit c:
    log softmax(z_i)[y] = (z_iy − c) − log Σ_k exp(z_ik − c) holds for any c, and one c for the batch
    keeps every exp ≤ 1; when some row would underflow (Σ_k exp(z_ik − c) < 1e−30, a row far below the
    largest logit) the per-row maxima are used."""

    _TINY = 1e-30

    def forward(self, logits: np.ndarray, targets: np.ndarray,  # type: ignore[override]
                lengths: np.ndarray | None = None) -> float:
        rows = np.arange(len(targets))
        shifted = logits - logits.max()
        exp = np.exp(shifted)
        sums = exp.sum(axis=1)
        if sums.min() < self._TINY:  # a row far below the largest logit: shift every row by its own max
            shifted = logits - logits.max(axis=1, keepdims=True)
            np.exp(shifted, out=exp)
            exp.sum(axis=1, out=sums)
        loss = (float(np.log(sums).sum()) - float(shifted[rows, targets].sum())) / len(targets)
        exp /= sums[:, None]
        self.cache = (exp, targets, rows)
        return loss

    def backward(self, dout: float = 1.0) -> np.ndarray:
        probabilities, targets, rows = self.cache
        grad = probabilities  # owned by this pass: no copy
        grad[rows, targets] -= 1.0
        grad *= grad.dtype.type(dout / len(targets))
        return grad


class FlatParameters:
    """Dense parameters laid end to end in one array, their gradients in another.

    Each member's ``value`` and ``grad`` become views into the two buffers; the layers write their
    gradients in place (see :mod:`wintrain.nn.layers`), so nothing else changes, and a fast optimizer
    updates all of them with one NumPy call per operation.  ``members`` lists each parameter with its
    ``slice`` of the buffers; ``parameter`` is the whole buffer as one Parameter (value, grad).
    """

    def __init__(self, params: list[Parameter], name: str = "dense") -> None:
        if not params:
            raise ValueError("no parameters to lay out")
        dtype = params[0].value.dtype
        total = sum(p.size for p in params)
        self.value = np.empty(total, dtype)
        self.grad = np.zeros(total, dtype)
        self.members: list[tuple[Parameter, slice]] = []
        offset = 0
        for param in params:
            if param.sparse or param.value.dtype != dtype:
                raise ValueError(f"{param.name}: only dense parameters of one dtype share a buffer")
            part = slice(offset, offset + param.size)
            self.value[part] = param.value.reshape(-1)
            param.value = self.value[part].reshape(param.value.shape)
            param.grad = self.grad[part].reshape(param.value.shape)
            param.flat = self
            self.members.append((param, part))
            offset = part.stop
        self.parameter = Parameter(name, self.value)
        self.parameter.grad = self.grad

    def check(self) -> None:
        """Raise when a member's ``value`` or ``grad`` no longer lies in the buffers: a layer that
        rebinds ``param.grad`` instead of writing into it would leave the optimizer reading stale
        numbers (see :mod:`wintrain.nn.layers`)."""
        for param, _ in self.members:
            for what, array, buffer in (("grad", param.grad, self.grad), ("value", param.value, self.value)):
                if array.base is not buffer:
                    raise RuntimeError(
                        f"{param.name}: its {what} was replaced by a new array instead of written in place "
                        f"({what}[...] = ...); the fast optimizers read it from the flat buffer"
                    )

