"""The vectorisation lesson: the window model's training step written one example at a time.

The model is wintrain's reference window classifier with one hidden layer:
x = concat(E[ids]) (w·d) → a = x W1 + b1 → h = tanh(a) → z = h W2 + b2 → softmax cross-entropy,
trained with lazy ("sparse") Adam: the dense parameters get the usual Adam update, the
embedding table only in the rows that occur (the same update as wintrain's ``sparse_adam``).

Every example gets its own forward and backward pass written with NumPy *vector*–matrix
products (nothing is batched across examples).  Two update modes:

* ``update="batch"``: the per-example gradients are accumulated (each scaled by 1/B, i.e.
  the mean over the batch) and **one Adam update is applied per batch** — exactly the same
  step as wintrain's vectorised one, only computed example by example.  This is the fair
  comparison and the one the targets use.
* ``update="example"``: **an Adam update after every example** (batch size 1), the classic
  non-vectorised SGD loop; it does more work per example (a full dense Adam pass over W1).

It is the lecture's ``%timeit`` lesson on the real model: ``benchmarks/kernels_speed.py`` times it
against the textbook (:mod:`wintrain.nn.layers`, batched) and the fast kernels, and
``tests/nn/test_per_example.py`` proves its batch update equals the textbook step.  Not used in training.
"""

from __future__ import annotations

import math

import numpy as np

from wintrain.nn.layers import Affine
from wintrain.nn.model import WindowClassifier


def lecture_arrays(network: WindowClassifier) -> list[np.ndarray]:
    """Copies of [E, W1, b1, W2, b2] of a network with one feature (the word table) and one hidden layer:
    the lecture's model, as :class:`PerExampleTrainer` (and a PyTorch twin in the benchmarks) takes it."""
    affines = [layer for layer in network.layers if isinstance(layer, Affine)]
    if len(network.features) != 1 or len(affines) != 2:
        raise ValueError("the lecture's model has one feature (the word table) and one hidden layer")
    hidden, output = affines
    return [network.features[0].table.value.copy(), hidden.weight.value.copy(), hidden.bias.value.copy(),
            output.weight.value.copy(), output.bias.value.copy()]


class PerExampleTrainer:
    """The step of the lecture's model (``lecture_arrays``) one window at a time, with lazy Adam."""

    def __init__(self, table: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray,
                 lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 update: str = "batch") -> None:
        if update not in ("batch", "example"):
            raise ValueError(f"update must be 'batch' or 'example', got {update!r}")
        f32 = np.float32
        self.table = np.array(table, dtype=f32)
        self.dense = [np.array(p, dtype=f32) for p in (w1, b1, w2, b2)]
        self.grads = [np.zeros_like(p) for p in self.dense]
        self.m = [np.zeros_like(p) for p in self.dense]
        self.v = [np.zeros_like(p) for p in self.dense]
        self.table_m = np.zeros_like(self.table)
        self.table_v = np.zeros_like(self.table)
        self.table_grads: dict[int, np.ndarray] = {}
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.update = update
        self.t = 0
        self.dim = self.table.shape[1]

    @property
    def parameters(self) -> list[np.ndarray]:
        """[table, W1, b1, W2, b2]."""
        return [self.table, *self.dense]

    # ------------------------------------------------------------------ one example
    def _accumulate(self, ids: list[int], target: int, scale: float) -> float:
        """Forward and backward of one window; adds scale·∂loss/∂θ to the gradients; returns its loss."""
        w1, b1, w2, b2 = self.dense
        g_w1, g_b1, g_w2, g_b2 = self.grads
        d = self.dim
        x = self.table[ids].reshape(-1)               # (w·d,)
        h = np.tanh(x @ w1 + b1)                      # (H,)
        z = h @ w2 + b2                               # (C,)
        z -= z.max()
        e = np.exp(z)
        total = e.sum()
        loss = math.log(total) - float(z[target])
        dz = e / total                                # softmax
        dz[target] -= 1.0
        dz *= scale
        g_w2 += np.outer(h, dz)
        g_b2 += dz
        da = (w2 @ dz) * (1.0 - h * h)                # (H,)
        g_w1 += np.outer(x, da)
        g_b1 += da
        dx = w1 @ da                                  # (w·d,)
        rows = self.table_grads
        for position, row in enumerate(ids):
            part = dx[position * d:(position + 1) * d]
            known = rows.get(row)
            if known is None:
                rows[row] = part.copy()
            else:
                known += part
        return loss

    # ------------------------------------------------------------------ the update
    def _apply(self) -> None:
        """One Adam step with the accumulated gradients (lazy in the table), then zero them."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        scale = np.float32(self.lr / (1.0 - b1 ** self.t))
        correction = np.float32(math.sqrt(1.0 - b2 ** self.t))
        for value, grad, m, v in zip(self.dense, self.grads, self.m, self.v):
            m *= b1
            m += (1.0 - b1) * grad
            v *= b2
            v += (1.0 - b2) * (grad * grad)
            value -= scale * (m / (np.sqrt(v) / correction + self.eps))
            grad.fill(0.0)
        rows = np.fromiter(self.table_grads.keys(), dtype=np.int64, count=len(self.table_grads))
        grad = np.stack(list(self.table_grads.values()))
        m = b1 * self.table_m[rows] + (1.0 - b1) * grad
        v = b2 * self.table_v[rows] + (1.0 - b2) * (grad * grad)
        self.table_m[rows], self.table_v[rows] = m, v
        self.table[rows] -= scale * (m / (np.sqrt(v) / correction + self.eps))
        self.table_grads = {}

    def step(self, ids: np.ndarray, targets: np.ndarray) -> float:
        """Train on one batch: ids (B, w) int, targets (B,) int.  Returns the mean loss."""
        id_rows = ids.tolist()
        target_list = targets.tolist()
        total = 0.0
        if self.update == "batch":
            scale = 1.0 / len(target_list)
            for window, target in zip(id_rows, target_list):
                total += self._accumulate(window, target, scale)
            self._apply()
        else:
            for window, target in zip(id_rows, target_list):
                total += self._accumulate(window, target, 1.0)
                self._apply()
        return total / len(target_list)
