"""The nodes of the computation graph.

Each node is a small class with ``forward`` and ``backward``.  ``forward`` keeps in
``self.cache`` exactly what ``backward`` needs; ``backward`` takes the gradient of the loss
with respect to the node's output and returns the gradient with respect to its input,
writing the gradients of its own parameters into ``Parameter.grad`` — so an optimizer needs
nothing but the list of parameters.

Shapes use B = batch size, w = window size, d = embedding dimension, C = number of tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np


class Parameter:
    """A trainable array and its gradient, side by side.

    Dense parameters have ``grad`` of the same shape as ``value``.  A sparse parameter (an
    embedding table) gets a gradient only for the rows a batch used: ``rows`` (U,) holds the
    distinct row ids and ``grad`` (U, d) their gradients; all other rows have zero gradient.
    ``decay`` says whether the L2 term includes it (weight matrices yes, biases no).
    """

    def __init__(self, name: str, value: np.ndarray, decay: bool = False, sparse: bool = False) -> None:
        self.name = name
        self.value = value
        self.decay = decay
        self.sparse = sparse
        self.rows: np.ndarray | None = None
        self.grad: np.ndarray = np.zeros((0,) + value.shape[1:], value.dtype) if sparse else np.zeros_like(value)
        self.flat: FlatParameters | None = None  # the buffer this parameter's value and grad are views of

    @property
    def size(self) -> int:
        return int(self.value.size)

    def dense_grad(self) -> np.ndarray:
        """The gradient as a full array of ``value``'s shape (scatters a sparse gradient)."""
        if not self.sparse:
            return self.grad
        full = np.zeros_like(self.value)
        if self.rows is not None:
            full[self.rows] = self.grad
        return full

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"


class FlatParameters:
    """Dense parameters laid end to end in one array, their gradients in another.

    Each member's ``value`` and ``grad`` become views into the two buffers (layers write their
    gradients in place, so nothing else changes), and an optimizer updates all of them with one
    NumPy call per operation instead of one per parameter: for the reference model that is 12
    calls over 52,009 numbers instead of 48 calls over four arrays.  ``members`` lists each
    parameter with its ``slice`` of the buffers.
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


class Layer:
    """Base class of a graph node: ``forward(input, train)`` caches what ``backward(dout)`` needs.

    Inputs and outputs are arrays for most nodes (ids for lookups, a list of id arrays for the
    window, a float for a loss), so the base class leaves their types open."""

    cache: Any = None

    def parameters(self) -> list[Parameter]:
        return []

    def forward(self, x: Any, train: bool = False) -> Any:
        raise NotImplementedError

    def backward(self, dout: Any) -> Any:
        raise NotImplementedError


def scatter_rows(ids: np.ndarray, values: np.ndarray, table_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sum the rows of ``values`` that share an id, without ``np.add.at``.

    ids: (n,) integer row ids; values: (n, d).  Returns (rows (U,), sums (U, d)) with the
    distinct ids in increasing order.  The ids are sorted (as uint16 — NumPy radix-sorts those —
    when the table has at most 65,536 rows, ``table_rows``), which makes the rows of each id
    one run.  Most words of a batch occur once or twice (Zipf), and ``np.add.reduceat`` pays
    about 0.2 µs per run, so the first two rows of every run are added with two vectorised
    passes and only the runs longer than two reach ``reduceat`` for the rest: about a third of
    the time of ``reduceat`` over every run.  When there are few runs (characters), plain
    ``reduceat`` is cheaper.  The sums are the same up to float rounding.
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
    if 4 * len(starts) < len(sorted_ids):  # few ids, long runs (e.g. characters): reduceat's per-run cost is small
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


class Embedding(Layer):
    """Lookup of a (V, d) table: ids (B, w) → vectors (B, w, d).

    The gradient touches only the rows in the batch (a sparse ``Parameter``) unless
    ``dense_updates`` asks for a full-table gradient.  A frozen table has no parameters.
    """

    def __init__(self, name: str, table: np.ndarray, trainable: bool = True, dense_updates: bool = False) -> None:
        self.table = Parameter(name, table, decay=False, sparse=not dense_updates)
        self.trainable = trainable
        self.dense_updates = dense_updates

    def parameters(self) -> list[Parameter]:
        return [self.table] if self.trainable else []

    @property
    def dim(self) -> int:
        return int(self.table.value.shape[1])

    def forward(self, ids: np.ndarray, train: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """ids: (B, w) int → (B, w, d); written into ``out`` when given (no extra copy)."""
        self.cache = ids
        if out is None:
            return self.table.value[ids]
        return np.take(self.table.value, ids, axis=0, out=out)

    def backward(self, dout: np.ndarray) -> None:
        """dout: (B, w, d).  Sets the table's gradient; returns nothing (ids have no gradient)."""
        if not self.trainable:
            return None
        ids = self.cache
        rows, grad = scatter_rows(ids.reshape(-1), dout.reshape(-1, self.dim), len(self.table.value))
        if self.dense_updates:  # in place: the gradient may be a view into a flat buffer
            self.table.grad[...] = 0.0
            self.table.grad[rows] = grad
        else:
            self.table.rows, self.table.grad = rows, grad
        return None


class WindowFeature(Protocol):
    """What :class:`WindowConcat` needs of a per-word feature: a (B, w, dim) output for the window
    positions, written into a slice of its buffer, and the gradient of that slice back.
    :class:`Embedding` is one; :class:`wintrain.nn.chars.CharFeature` is another."""

    trainable: bool

    @property
    def dim(self) -> int: ...

    def forward(self, ids: Any, train: bool = False, out: np.ndarray | None = None) -> np.ndarray: ...

    def backward(self, dout: np.ndarray) -> None: ...

    def parameters(self) -> list[Parameter]: ...


class WindowConcat(Layer):
    """Concatenate the looked-up feature vectors of each window position and flatten the window.

    Each embedding writes straight into a slice of one reused (B, w, D) buffer, D = Σ d_f;
    the output is its (B, w·D) view, so building the window input copies nothing twice.
    """

    def __init__(self, embeddings: Sequence[WindowFeature], window_size: int, dtype: np.dtype) -> None:
        self.embeddings = embeddings
        self.window_size = window_size
        self.dtype = dtype
        self.slices: list[slice] = []
        offset = 0
        for embedding in embeddings:
            self.slices.append(slice(offset, offset + embedding.dim))
            offset += embedding.dim
        self.width = offset
        self._buffer = np.empty((0, window_size, offset), dtype)

    @property
    def output_dim(self) -> int:
        return self.window_size * self.width

    def forward(self, feature_ids: list[Any], train: bool = False) -> np.ndarray:
        """feature_ids: one (B, w) id array per embedding (a CharBatch for characters) → x: (B, w·D)."""
        batch = feature_ids[0].shape[0]
        if self._buffer.shape[0] < batch:
            self._buffer = np.empty((batch, self.window_size, self.width), self.dtype)
        buffer = self._buffer[:batch]
        for embedding, ids, part in zip(self.embeddings, feature_ids, self.slices):
            if len(self.embeddings) == 1:
                embedding.forward(ids, train, out=buffer)
            else:
                embedding.forward(ids, train, out=buffer[:, :, part])
        return buffer.reshape(batch, self.output_dim)

    def backward(self, dx: np.ndarray) -> None:
        """dx: (B, w·D) → each embedding's (B, w, d_f) slice."""
        dwindow = dx.reshape(dx.shape[0], self.window_size, self.width)
        for embedding, part in zip(self.embeddings, self.slices):
            embedding.backward(dwindow[:, :, part])

    @property
    def needs_input_grad(self) -> bool:
        return any(embedding.trainable for embedding in self.embeddings)


class Affine(Layer):
    """y = x W + b.  x: (B, n_in), W: (n_in, n_out), b: (n_out,) → y: (B, n_out).

    Backward: dW = xᵀ dy, db = Σ_batch dy, dx = dy Wᵀ (skipped when nothing upstream needs it).
    """

    def __init__(self, name: str, weight: np.ndarray, bias: np.ndarray) -> None:
        self.weight = Parameter(f"{name}.W", weight, decay=True)
        self.bias = Parameter(f"{name}.b", bias, decay=False)
        self.needs_input_grad = True

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        self.cache = x
        out = x @ self.weight.value
        out += self.bias.value
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        x = self.cache
        np.matmul(x.T, dout, out=self.weight.grad)
        np.sum(dout, axis=0, out=self.bias.grad)
        return dout @ self.weight.value.T if self.needs_input_grad else None


class Dropout(Layer):
    """Inverted dropout: in training keep each unit with probability 1 − p and scale by 1/(1 − p),
    so evaluation (no dropout) needs no rescaling.  x: (B, n) → (B, n)."""

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        self.p = p
        self.rng = rng

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        if not train or self.p == 0.0:
            self.cache = None
            return x
        keep = 1.0 - self.p
        mask = (self.rng.random(x.shape, dtype=np.float32) < keep).astype(x.dtype)
        mask *= x.dtype.type(1.0 / keep)
        self.cache = mask
        return x * mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout if self.cache is None else dout * self.cache


class SoftmaxCrossEntropy(Layer):
    """Mean cross-entropy of a softmax: J = −(1/B) Σ_i log softmax(z_i)[y_i].

    logits z: (B, C), targets y: (B,) int.  Backward: dz = (softmax(z) − onehot(y)) / B.

    log softmax(z_i)[y] = (z_iy − c) − log Σ_k exp(z_ik − c) for any constant c; the usual
    choice c = max_k z_ik (one per row) keeps exp from overflowing, but a per-row max over a
    few tags costs more than the rest of the loss.  One c = max of the whole batch also keeps
    every exp ≤ 1, and is used unless some row would underflow (Σ_k exp(z_ik − c) < 1e−30,
    i.e. a row far below the batch's largest logit); then the per-row maxima are used.
    """

    _TINY = 1e-30

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:  # type: ignore[override]
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
        probs, targets, rows = self.cache
        grad = probs
        grad[rows, targets] -= 1.0
        grad *= grad.dtype.type(dout / len(targets))
        return grad


class L2Penalty:
    """The lecture's regulariser: λ·Σθ² over the selected parameters; its gradient is 2λθ.

    For a sparse parameter (an embedding table) the sum runs over the rows the batch used,
    so the penalty never costs a pass over the whole table.
    """

    def __init__(self, l2: float, parameters: list[Parameter]) -> None:
        self.l2 = l2
        self.parameters = parameters

    def forward(self) -> float:
        if self.l2 == 0.0:
            return 0.0
        total = 0.0
        for param in self.parameters:
            values = param.value[param.rows] if param.sparse and param.rows is not None else param.value
            total += float(np.vdot(values, values))
        return self.l2 * total

    def backward(self) -> None:
        """Add 2λθ to each parameter's gradient (call after the data gradient is in place)."""
        if self.l2 == 0.0:
            return
        for param in self.parameters:
            if param.sparse:
                if param.rows is not None:
                    param.grad += (2.0 * self.l2) * param.value[param.rows]
            else:
                param.grad += param.value.dtype.type(2.0 * self.l2) * param.value
