"""The nodes of the computation graph, in their textbook form.

Each node is a small class with ``forward`` and ``backward``.  ``forward`` keeps in ``self.cache``
exactly what ``backward`` needs; ``backward`` takes the gradient of the loss with respect to the node's
output and returns the gradient with respect to its input, writing the gradients of its own parameters
into ``Parameter.grad`` — so an optimizer needs nothing but the list of parameters.

**Gradients are written in place** (``grad[...] = …`` or ``out=grad``), never by rebinding
``param.grad`` to a new array: the fast kernels lay the dense parameters of a network end to end in one
buffer (:class:`wintrain.kernels.layers.FlatParameters`) whose slices *are* the parameters' ``value`` and
``grad``, and the fast optimizers read the gradients there; they check this at every step.  Only a
sparse gradient (an embedding table's ``rows`` and their ``grad``) is set anew each batch.

Shapes use B = batch size, w = window size, d = embedding dimension, C = number of tags.  The fast
twins of these nodes (:mod:`wintrain.kernels.layers`) compute the same numbers with less work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np


class Parameter:
    """A trainable array and its gradient, side by side.

    Dense parameters have ``grad`` of the same shape as ``value``.  A sparse parameter (an
    embedding table) gets a gradient only for the rows a batch used: ``rows`` (U,) holds the
    distinct row ids in increasing order and ``grad`` (U, d) their gradients; all other rows have
    zero gradient.  ``decay`` says whether the L2 term includes it (weight matrices yes, biases no).
    ``flat`` is the fast kernels' buffer that this parameter's ``value`` and ``grad`` are views of, when
    it is laid out in one (:class:`wintrain.kernels.layers.FlatParameters`); None in the textbook form.
    """

    def __init__(self, name: str, value: np.ndarray, decay: bool = False, sparse: bool = False) -> None:
        self.name = name
        self.value = value
        self.decay = decay
        self.sparse = sparse
        self.rows: np.ndarray | None = None
        self.grad: np.ndarray = np.zeros((0,) + value.shape[1:], value.dtype) if sparse else np.zeros_like(value)
        self.flat: Any = None

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


class Layer:
    """Base class of a graph node: ``forward(input, train)`` caches what ``backward(dout)`` needs.

    Inputs and outputs are arrays for most nodes (ids for lookups, a list of id arrays for the
    window, a float for a loss), so the base class leaves their types open.  ``name`` is how the
    node is shown (``hidden1``, ``hidden1.tanh``); parameter names start with it.  ``group`` is the hidden
    layer a nonlinearity or dropout node belongs to (``hidden1``; ``input`` for the dropout of the window),
    empty for the others."""

    name: str = ""
    group: str = ""
    cache: Any = None

    def parameters(self) -> list[Parameter]:
        return []

    def forward(self, x: Any, train: bool = False) -> Any:
        raise NotImplementedError

    def backward(self, dout: Any) -> Any:
        raise NotImplementedError


def scatter_rows(ids: np.ndarray, values: np.ndarray, table_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sum the rows of ``values`` that share an id: the gradient of a table lookup.

    ids: (n,) integer row ids; values: (n, d).  Returns (rows (U,), sums (U, d)) with the distinct
    ids in increasing order: ``sums[k] = Σ_{i: ids[i] = rows[k]} values[i]``, accumulated with
    ``np.add.at`` (which, unlike ``sums[inverse] += values``, adds every repeated id).
    ``table_rows`` (the table's size) is unused here; the fast twin sorts with it.
    """
    rows, inverse = np.unique(ids, return_inverse=True)
    sums = np.zeros((len(rows),) + values.shape[1:], values.dtype)
    np.add.at(sums, inverse.reshape(-1), values)
    return rows, sums


class Embedding(Layer):
    """Lookup of a (V, d) table: ids (B, w) → vectors (B, w, d).

    Backward: ∂J/∂E[v] = Σ of the output gradients of every position that looked up row v
    (:attr:`scatter`).  The gradient touches only the rows in the batch (a sparse ``Parameter``)
    unless ``dense_updates`` asks for a full-table gradient.  A frozen table has no parameters.
    """

    scatter: Callable[..., tuple[np.ndarray, np.ndarray]] = staticmethod(scatter_rows)

    def __init__(self, name: str, table: np.ndarray, trainable: bool = True, dense_updates: bool = False) -> None:
        self.name = name
        self.table = Parameter(name, table, decay=False, sparse=not dense_updates)
        self.trainable = trainable
        self.dense_updates = dense_updates

    def parameters(self) -> list[Parameter]:
        return [self.table] if self.trainable else []

    @property
    def dim(self) -> int:
        return int(self.table.value.shape[1])

    def forward(self, ids: np.ndarray, train: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """ids: (B, w) int → (B, w, d), written into ``out`` when given."""
        self.cache = ids
        return np.take(self.table.value, ids, axis=0, out=out)

    def backward(self, dout: np.ndarray) -> None:
        """dout: (B, w, d).  Sets the table's gradient; returns nothing (ids have no gradient)."""
        if not self.trainable:
            return None
        ids = self.cache
        rows, grad = self.scatter(ids.reshape(-1), dout.reshape(-1, self.dim), len(self.table.value))
        if self.dense_updates:  # in place, like every dense gradient
            self.table.grad[...] = 0.0
            self.table.grad[rows] = grad
        else:
            self.table.rows, self.table.grad = rows, grad
        return None


class WindowFeature(Protocol):
    """What :class:`WindowConcat` needs of a per-word feature: a (B, w, dim) output for the window
    positions (written into ``out`` when given) and the gradient of that output back.
    :class:`Embedding` is one; :class:`wintrain.nn.chars.CharFeature` is another."""

    name: str
    trainable: bool

    @property
    def table(self) -> Parameter: ...

    @property
    def dim(self) -> int: ...

    def forward(self, ids: Any, train: bool = False, out: np.ndarray | None = None) -> np.ndarray: ...

    def backward(self, dout: np.ndarray) -> None: ...

    def parameters(self) -> list[Parameter]: ...


class WindowConcat(Layer):
    """The window: each feature's vectors of the w positions side by side, flattened.

    feature ids, one (B, w) array per feature (a CharBatch for characters) → x (B, w·D) with
    D = Σ_f d_f: x[b] = [f_1(pos 1), f_2(pos 1), …, f_1(pos 2), …].  Backward splits ∂J/∂x back into
    each feature's (B, w, d_f) part.
    """

    def __init__(self, features: Sequence[WindowFeature], window_size: int, dtype: np.dtype,
                 name: str = "concat") -> None:
        self.name = name
        self.features = list(features)
        self.window_size = window_size
        self.dtype = dtype
        self.slices: list[slice] = []  # each feature's columns of a window position
        offset = 0
        for feature in self.features:
            self.slices.append(slice(offset, offset + feature.dim))
            offset += feature.dim
        self.width = offset  # D

    @property
    def output_dim(self) -> int:
        return self.window_size * self.width

    def parameters(self) -> list[Parameter]:
        return [param for feature in self.features for param in feature.parameters()]

    def forward(self, feature_ids: list[Any], train: bool = False) -> np.ndarray:
        """feature_ids: one (B, w) id array per feature → x (B, w·D)."""
        parts = [feature.forward(ids, train) for feature, ids in zip(self.features, feature_ids)]
        window = np.concatenate(parts, axis=2)  # (B, w, D)
        return window.reshape(len(window), self.output_dim)

    def backward(self, dx: np.ndarray) -> None:
        """dx: (B, w·D) → each feature's (B, w, d_f) slice."""
        dwindow = dx.reshape(dx.shape[0], self.window_size, self.width)
        for feature, part in zip(self.features, self.slices):
            feature.backward(dwindow[:, :, part])

    @property
    def needs_input_grad(self) -> bool:
        """Whether any feature learns (else nothing needs ∂J/∂x)."""
        return any(feature.trainable for feature in self.features)


class Affine(Layer):
    """y = x W + b.  x: (B, n_in), W: (n_in, n_out), b: (n_out,) → y: (B, n_out).

    Backward: dW = xᵀ dy, db = Σ_batch dy, dx = dy Wᵀ (skipped when nothing upstream needs it).
    """

    def __init__(self, name: str, weight: np.ndarray, bias: np.ndarray) -> None:
        self.name = name
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
        np.matmul(x.T, dout, out=self.weight.grad)  # dW = xᵀ dy
        np.sum(dout, axis=0, out=self.bias.grad)  # db = Σ_batch dy
        return dout @ self.weight.value.T if self.needs_input_grad else None


class Dropout(Layer):
    """Inverted dropout: in training keep each unit with probability 1 − p and scale by 1/(1 − p),
    so evaluation (no dropout) needs no rescaling.  x: (B, n) → (B, n)."""

    def __init__(self, p: float, rng: np.random.Generator, name: str = "dropout", group: str = "") -> None:
        self.name = name
        self.group = group
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

    log softmax(z_i)[y] = (z_iy − m_i) − log Σ_k exp(z_ik − m_i) with m_i = max_k z_ik: shifting each
    row by its own maximum leaves the value unchanged and keeps exp from overflowing (the largest
    term becomes exp 0 = 1, so the sum is at least 1 and its log is finite).
    """

    name = "softmax cross-entropy"

    def forward(self, logits: np.ndarray, targets: np.ndarray,  # type: ignore[override]
                lengths: np.ndarray | None = None) -> float:
        """The loss; ``lengths`` (the sentences of the batch) is the sentence-level loss's and unused here."""
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(targets))
        log_likelihood = shifted[rows, targets] - np.log(sums[:, 0])
        probabilities = exp / sums
        self.cache = (probabilities, targets)
        return float(-log_likelihood.mean())

    def backward(self, dout: float = 1.0) -> np.ndarray:
        probabilities, targets = self.cache
        grad = probabilities  # owned by this pass
        grad[np.arange(len(targets)), targets] -= 1.0
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
