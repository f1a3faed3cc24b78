"""The training step as it was before the performance work (issue 13), kept as the reference the
optimised step is tested against: per-parameter optimizers, the ``np.add.reduceat`` scatter of
embedding gradients and the plain softmax cross-entropy.  Not used by the package."""

from __future__ import annotations

import math

import numpy as np

from wintrain.nn.layers import Layer, Parameter


def scatter_rows(ids: np.ndarray, values: np.ndarray, table_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sum the rows of ``values`` that share an id, without ``np.add.at``.

    ids: (n,) integer row ids; values: (n, d).  Returns (rows (U,), sums (U, d)) with the
    distinct ids in increasing order.  Sorting the ids and summing each run with
    ``np.add.reduceat`` is many times faster than ``np.add.at``; ids of a table with at most
    65,536 rows (``table_rows``) are sorted as uint16, which NumPy radix-sorts.
    """
    keys = ids.astype(np.uint16) if table_rows is not None and table_rows <= 65536 else ids
    order = np.argsort(keys, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    return sorted_ids[starts], np.add.reduceat(values[order], starts, axis=0)


class SoftmaxCrossEntropy(Layer):
    """Mean cross-entropy of a softmax: J = −(1/B) Σ_i log softmax(z_i)[y_i].

    logits z: (B, C), targets y: (B,) int.  Backward: dz = (softmax(z) − onehot(y)) / B.
    """

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:  # type: ignore[override]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(targets))
        log_likelihood = shifted[rows, targets] - np.log(sums[:, 0])
        exp /= sums
        self.cache = (exp, targets)
        return float(-log_likelihood.mean())

    def backward(self, dout: float = 1.0) -> np.ndarray:
        probs, targets = self.cache
        grad = probs
        grad[np.arange(len(targets)), targets] -= 1.0
        grad *= grad.dtype.type(dout / len(targets))
        return grad


class Optimizer:
    """Base class.  Subclasses implement :meth:`update` (dense) and may override :meth:`update_rows`."""

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        self.state: dict[str, dict[str, np.ndarray]] = {p.name: {} for p in params}
        self.steps = 0

    def slot(self, param: Parameter, name: str, fill: float = 0.0) -> np.ndarray:
        """A state array shaped like the parameter, created on first use."""
        slots = self.state[param.name]
        if name not in slots:
            slots[name] = np.full_like(param.value, fill)
        return slots[name]

    def row_slot(self, param: Parameter, name: str, rows: np.ndarray) -> np.ndarray:
        """A per-row state array for a sparse parameter, covering at least row ``max(rows)``.

        It grows (doubling) only as far as the largest row that has had a gradient: rows that
        never occur in training — e.g. the pretrained words added by ``extend_vocab`` — cost
        no optimizer memory.  Rows past its end have the initial state (zeros).
        """
        slots = self.state[param.name]
        needed = int(rows[-1]) + 1 if len(rows) else 0
        current = slots.get(name)
        if current is None or len(current) < needed:
            size = min(len(param.value), max(needed, 2 * (0 if current is None else len(current))))
            grown = np.zeros((size,) + param.value.shape[1:], dtype=param.value.dtype)
            if current is not None:
                grown[:len(current)] = current
            slots[name] = current = grown
        return current

    def step(self, lr: float) -> None:
        """Apply one update with learning rate ``lr`` to every parameter."""
        self.steps += 1
        for param in self.params:
            if param.sparse:
                if param.rows is not None and len(param.rows):
                    self.update_rows(param, lr)
            else:
                self.update(param, param.grad, lr)

    def update(self, param: Parameter, grad: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def update_rows(self, param: Parameter, lr: float) -> None:
        """Sparse gradient (``param.rows``, ``param.grad``): the dense update with zeros elsewhere."""
        self.update(param, param.dense_grad(), lr)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Optimizer state as flat ``{"param/slot": array}`` plus the step count.

        The arrays are the live state (no copies: the embedding table's moments can be
        hundreds of MB); save them before the next :meth:`step`."""
        arrays = {f"{p}/{s}": a for p, slots in self.state.items() for s, a in slots.items()}
        arrays["steps"] = np.array(self.steps, dtype=np.int64)
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.steps = int(arrays["steps"])
        for key, value in arrays.items():
            if key != "steps":
                param, _, slot = key.rpartition("/")
                self.state[param][slot] = value.copy()


class SGD(Optimizer):
    """θ ← θ − lr·g; with momentum μ: v ← μv + g, θ ← θ − lr·v
    (Nesterov: θ ← θ − lr·(g + μv))."""

    def __init__(self, params: list[Parameter], momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.nesterov = nesterov

    def update(self, param: Parameter, grad: np.ndarray, lr: float) -> None:
        if self.momentum == 0.0:
            param.value -= param.value.dtype.type(lr) * grad
            return
        velocity = self.slot(param, "velocity")
        velocity *= self.momentum
        velocity += grad
        direction = grad + self.momentum * velocity if self.nesterov else velocity
        param.value -= param.value.dtype.type(lr) * direction

    def update_rows(self, param: Parameter, lr: float) -> None:
        if self.momentum == 0.0:  # zero gradient rows do not move: the lazy update is exact
            param.value[param.rows] -= param.value.dtype.type(lr) * param.grad
        else:
            super().update_rows(param, lr)


class Adagrad(Optimizer):
    """G ← G + g²;  θ ← θ − lr·g / (√G + ε)  (Duchi et al. 2011)."""

    def __init__(self, params: list[Parameter], eps: float = 1e-10, initial_accumulator: float = 0.0) -> None:
        super().__init__(params)
        self.eps = eps
        self.initial_accumulator = initial_accumulator

    def update(self, param: Parameter, grad: np.ndarray, lr: float) -> None:
        accumulator = self.slot(param, "sum_sq", self.initial_accumulator)
        accumulator += grad * grad
        param.value -= param.value.dtype.type(lr) * grad / (np.sqrt(accumulator) + self.eps)

    def update_rows(self, param: Parameter, lr: float) -> None:  # rows with zero gradient do not change: lazy is exact
        rows, grad = param.rows, param.grad
        accumulator = self.slot(param, "sum_sq", self.initial_accumulator)  # full size: initial value may be ≠ 0
        accumulated = accumulator[rows] + grad * grad
        accumulator[rows] = accumulated
        param.value[rows] -= param.value.dtype.type(lr) * grad / (np.sqrt(accumulated) + self.eps)


class RMSprop(Optimizer):
    """v ← ρv + (1−ρ)g²;  θ ← θ − lr·g / (√v + ε)  (Hinton's lecture 6e);
    with momentum μ: b ← μb + g/(√v + ε), θ ← θ − lr·b."""

    def __init__(self, params: list[Parameter], rho: float = 0.9, eps: float = 1e-8, momentum: float = 0.0) -> None:
        super().__init__(params)
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"rho must be in [0, 1), got {rho}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.rho, self.eps, self.momentum = rho, eps, momentum

    def update(self, param: Parameter, grad: np.ndarray, lr: float) -> None:
        mean_sq = self.slot(param, "mean_sq")
        mean_sq *= self.rho
        mean_sq += (1.0 - self.rho) * grad * grad
        scaled = grad / (np.sqrt(mean_sq) + self.eps)
        if self.momentum:
            buffer = self.slot(param, "momentum")
            buffer *= self.momentum
            buffer += scaled
            scaled = buffer
        param.value -= param.value.dtype.type(lr) * scaled


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015):  m ← β1·m + (1−β1)g,  v ← β2·v + (1−β2)g²,
    m̂ = m/(1−β1^t),  v̂ = v/(1−β2^t),  θ ← θ − lr·m̂/(√v̂ + ε).
    With ``amsgrad`` the denominator uses the running maximum of v (bias-corrected by the
    current step, as PyTorch does; Reddi et al. 2018)."""

    def __init__(
        self,
        params: list[Parameter],
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params)
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{label} must be in [0, 1), got {beta}")
        self.beta1, self.beta2, self.eps, self.amsgrad = beta1, beta2, eps, amsgrad
        self._scratch: dict[str, np.ndarray] = {}  # work arrays per parameter, not part of the saved state

    def step_size(self, lr: float) -> tuple[float, float]:
        """(lr / (1 − β1^t), √(1 − β2^t)): bias corrections folded into two scalars."""
        t = self.steps
        return lr / (1.0 - self.beta1**t), math.sqrt(1.0 - self.beta2**t)

    def adam_step(self, m: np.ndarray, v: np.ndarray, v_max: np.ndarray | None, grad: np.ndarray, lr: float,
                  scratch: np.ndarray) -> np.ndarray:
        """Update m, v (and v_max) in place and return the step lr·m̂/(√v̂ + ε), written into ``scratch``.

        Every operation writes into an existing array: no temporaries on the hot path.
        """
        np.multiply(grad, 1.0 - self.beta1, out=scratch)
        m *= self.beta1
        m += scratch
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - self.beta2
        v *= self.beta2
        v += scratch
        if v_max is not None:
            np.maximum(v_max, v, out=v_max)
        # lr·m̂/(√v̂ + ε) = (scale·c2)·m / (√v + ε·c2), with scale = lr/(1−β1^t), c2 = √(1−β2^t)
        scale, correction2 = self.step_size(lr)
        np.sqrt(v if v_max is None else v_max, out=scratch)
        scratch += self.eps * correction2
        np.divide(m, scratch, out=scratch)
        scratch *= scale * correction2
        return scratch

    def scratch(self, param: Parameter) -> np.ndarray:
        """A reusable work array shaped like the parameter (not part of the saved state)."""
        if param.name not in self._scratch:
            self._scratch[param.name] = np.empty_like(param.value)
        return self._scratch[param.name]

    def update(self, param: Parameter, grad: np.ndarray, lr: float) -> None:
        v_max = self.slot(param, "v_max") if self.amsgrad else None
        param.value -= self.adam_step(self.slot(param, "m"), self.slot(param, "v"), v_max, grad, lr,
                                      self.scratch(param))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): θ ← θ − lr·wd·θ, then the Adam step.
    Decay applies to the parameters the L2 term would select (weight matrices), not to biases."""

    def __init__(
        self,
        params: list[Parameter],
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        amsgrad: bool = False,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, beta1, beta2, eps, amsgrad)
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be ≥ 0, got {weight_decay}")
        self.weight_decay = weight_decay

    def update(self, param: Parameter, grad: np.ndarray, lr: float) -> None:
        if param.decay and self.weight_decay:
            param.value *= param.value.dtype.type(1.0 - lr * self.weight_decay)
        super().update(param, grad, lr)


class SparseAdam(Adam):
    """Adam for dense parameters; *lazy* Adam for embedding tables: only the rows in the batch
    update their moments and values (the lecture's SparseAdam).  The bias correction uses the
    global step t, so a row present in every batch follows dense Adam exactly."""

    def update_rows(self, param: Parameter, lr: float) -> None:
        rows, grad = param.rows, param.grad  # rows are sorted (scatter_rows)
        assert rows is not None
        m_all, v_all = self.row_slot(param, "m", rows), self.row_slot(param, "v", rows)
        v_max_all = self.row_slot(param, "v_max", rows) if self.amsgrad else None
        m, v = m_all[rows], v_all[rows]
        v_max = v_max_all[rows] if v_max_all is not None else None
        step = self.adam_step(m, v, v_max, grad, lr, np.empty_like(grad))
        m_all[rows], v_all[rows] = m, v
        if v_max_all is not None:
            v_max_all[rows] = v_max
        param.value[rows] -= step


def global_norm(params: list[Parameter]) -> float:
    """‖g‖ of all gradients together (sparse tables: their batch rows)."""
    return math.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params))


def clip_global_norm(params: list[Parameter], max_norm: float, norm: float | None = None) -> float:
    """Scale every gradient by min(1, max_norm / ‖g‖), ‖g‖ the norm of all gradients together
    (pass ``norm`` when already computed).  Returns the norm before clipping."""
    total = global_norm(params) if norm is None else norm
    if total > max_norm:
        factor = max_norm / (total + 1e-12)
        for param in params:
            param.grad *= param.grad.dtype.type(factor)
    return total
