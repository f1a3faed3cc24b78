"""Optimizers: how a gradient becomes an update, written out per parameter as in the lecture.

Each optimizer reads ``Parameter.value`` / ``Parameter.grad`` and keeps its own state (moments,
accumulators) in ``self.state[param.name]`` — apart from its hyper-parameters, so the state can be
checkpointed as plain arrays.  The learning rate is passed to every :meth:`Optimizer.step`, because
the schedule owns it.

Embedding tables carry a *sparse* gradient (only the rows in the batch).  By default an optimizer
applies exactly the dense update it would apply to the full gradient (zeros in the untouched rows) —
for SGD and Adagrad that touches only the batch rows anyway, for momentum methods it decays every
row's state.  ``sparse_adam`` is the lazy variant: Adam whose moments and values change only in the
rows of the batch (PyTorch's SparseAdam).

The fast twins (:mod:`wintrain.kernels.optimizers`) apply the same rules to a network's dense
parameters laid out in one flat buffer, with Adam's arithmetic fused into in-place passes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from wintrain.nn.layers import Parameter
from wintrain.registry import Registry
from wintrain.training.averaging import average_dense, average_rows, caught_up_rows, estimate

OPTIMIZERS: Registry[Optimizer] = Registry("optimizer")


class Optimizer:
    """Base class.  Subclasses implement :meth:`update` (dense) and may override :meth:`update_rows`.

    :attr:`blocks` are the arrays a step updates: here each parameter on its own (the fast twins lay a
    network's dense parameters out in one block).  With ``ema_decay`` set, every step also updates the
    parameters' moving average (:mod:`wintrain.training.averaging`).
    """

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        self.blocks: list[Parameter] = self.arrange(params)
        self.state: dict[str, dict[str, np.ndarray]] = {block.name: {} for block in self.blocks}
        self.steps = 0
        self.ema_decay: float | None = None  # d of the parameters' moving average (None: off)

    def arrange(self, params: list[Parameter]) -> list[Parameter]:
        """The blocks a step updates: the parameters themselves."""
        return list(params)

    def blocks_of(self, params: list[Parameter]) -> list[Parameter]:
        """The blocks that hold ``params`` (to clip one network's gradient on its own)."""
        wanted = {id(param) for param in params}
        return [block for block in self.blocks if id(block) in wanted]

    def slot(self, param: Parameter, name: str, fill: float = 0.0) -> np.ndarray:
        """A state array shaped like the parameter, created on first use."""
        slots = self.state[param.name]
        if name not in slots:
            slots[name] = np.full_like(param.value, fill)
        return slots[name]

    def row_slot(self, param: Parameter, name: str, rows: np.ndarray, dtype: type | None = None) -> np.ndarray:
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
            shape = (size,) + (param.value.shape[1:] if dtype is None else ())
            grown = np.zeros(shape, dtype=param.value.dtype if dtype is None else dtype)
            if current is not None:
                grown[:len(current)] = current
            slots[name] = current = grown
        return current

    def step(self, lr: float) -> None:
        """Apply one update with learning rate ``lr`` to every block (and to their moving
        average, when ``ema_decay`` is set)."""
        self.steps += 1
        decay = self.ema_decay
        for param in self.blocks:
            if not param.sparse:
                self.update(param, param.grad, lr)
                if decay is not None:
                    average_dense(self.slot(param, "ema"), param.value, decay)
                continue
            rows = param.rows if param.rows is not None and len(param.rows) else None
            lazy = decay is not None and self.changes_only_batch_rows()
            if rows is not None and lazy and decay is not None:  # the rows are about to change: catch up first
                average = self.row_slot(param, "ema", rows)
                last_step = self.row_slot(param, "ema_step", rows, np.int64)
                caught_up = caught_up_rows(average, last_step, param.value, rows, self.steps - 1, decay)
            if rows is not None:
                self.update_rows(param, lr)
            if decay is None:
                continue
            if not lazy:
                average_dense(self.slot(param, "ema"), param.value, decay)
            elif rows is not None:
                average_rows(average, last_step, param.value, rows, caught_up, self.steps, decay)

    def changes_only_batch_rows(self) -> bool:
        """Whether :meth:`update_rows` leaves every row outside ``param.rows`` unchanged (then the
        moving average of a table can be lazy too)."""
        return False

    @contextmanager
    def averaged(self) -> Iterator[None]:
        """Inside the block the parameters hold their moving averages (nothing changes when the
        average is off or no step was taken); their values are restored afterwards."""
        decay = self.ema_decay
        kept: list[tuple[Parameter, np.ndarray]] = []
        try:
            if decay is not None:
                for param in self.blocks:
                    average = estimate(param, self.state[param.name], self.steps, decay)
                    if average is not None:
                        rows = param.value[:len(average)]
                        kept.append((param, rows.copy()))
                        rows[...] = average
            yield
        finally:
            for param, value in kept:
                param.value[:len(value)] = value

    def update(self, param: Parameter, grad: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def update_rows(self, param: Parameter, lr: float) -> None:
        """Sparse gradient (``param.rows``, ``param.grad``): the dense update with zeros elsewhere."""
        self.update(param, param.dense_grad(), lr)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Optimizer state as ``{"param/slot": array}`` plus the step count, one entry per model parameter.

        The arrays are the live state (no copies: the embedding table's moments can be hundreds of
        MB); save them before the next :meth:`step`."""
        arrays = {f"{name}/{slot}": array for name, slots in self.state.items() for slot, array in slots.items()}
        arrays["steps"] = np.array(self.steps, dtype=np.int64)
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_arrays` gave (from either kernel set: the keys are the same)."""
        self.steps = int(arrays["steps"])
        for key, value in arrays.items():
            if key != "steps":
                name, _, slot = key.rpartition("/")
                self.state[name][slot] = value.copy()


@OPTIMIZERS.register("sgd")
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

    def changes_only_batch_rows(self) -> bool:
        return self.momentum == 0.0

    def update_rows(self, param: Parameter, lr: float) -> None:
        if self.momentum == 0.0:  # zero gradient rows do not move: the lazy update is exact
            param.value[param.rows] -= param.value.dtype.type(lr) * param.grad
        else:
            super().update_rows(param, lr)


@OPTIMIZERS.register("adagrad")
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

    def changes_only_batch_rows(self) -> bool:
        return True

    def update_rows(self, param: Parameter, lr: float) -> None:  # rows with zero gradient do not change: lazy is exact
        rows, grad = param.rows, param.grad
        accumulator = self.slot(param, "sum_sq", self.initial_accumulator)  # full size: initial value may be ≠ 0
        accumulated = accumulator[rows] + grad * grad
        accumulator[rows] = accumulated
        param.value[rows] -= param.value.dtype.type(lr) * grad / (np.sqrt(accumulated) + self.eps)


@OPTIMIZERS.register("rmsprop")
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


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), with t the step count:

        m ← β1·m + (1−β1)·g,      v ← β2·v + (1−β2)·g²,
        m̂ = m / (1−β1^t),         v̂ = v / (1−β2^t),          θ ← θ − lr·m̂ / (√v̂ + ε).

    m̂ and v̂ correct the bias of moments that start at zero.  With ``amsgrad`` the denominator uses
    the running maximum of v (bias-corrected by the current step, as PyTorch does; Reddi et al. 2018).
    An embedding table's sparse gradient gets the dense update (every row's moments decay)."""

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

    def adam_direction(self, m: np.ndarray, v: np.ndarray, v_max: np.ndarray | None, grad: np.ndarray
                       ) -> np.ndarray:
        """Update the moments m, v (and v_max) in place and return m̂ / (√v̂ + ε)."""
        t = self.steps
        m[...] = self.beta1 * m + (1.0 - self.beta1) * grad
        v[...] = self.beta2 * v + (1.0 - self.beta2) * grad * grad
        if v_max is not None:
            np.maximum(v_max, v, out=v_max)
        m_hat = m / (1.0 - self.beta1**t)
        v_hat = (v if v_max is None else v_max) / (1.0 - self.beta2**t)
        return m_hat / (np.sqrt(v_hat) + self.eps)

    def update(self, param: Parameter, grad: np.ndarray, lr: float) -> None:
        v_max = self.slot(param, "v_max") if self.amsgrad else None
        direction = self.adam_direction(self.slot(param, "m"), self.slot(param, "v"), v_max, grad)
        param.value -= param.value.dtype.type(lr) * direction


@OPTIMIZERS.register("adamw")
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


@OPTIMIZERS.register("sparse_adam")
class SparseAdam(Adam):
    """Adam for dense parameters; *lazy* Adam for embedding tables: only the rows in the batch update
    their moments and values (the lecture's SparseAdam).  The bias correction uses the global step t,
    so a row present in every batch follows dense Adam exactly."""

    def changes_only_batch_rows(self) -> bool:
        return True

    def update_rows(self, param: Parameter, lr: float) -> None:
        rows, grad = param.rows, param.grad  # the distinct rows of the batch, in increasing order
        assert rows is not None
        m, v = self.row_slot(param, "m", rows), self.row_slot(param, "v", rows)
        v_max = self.row_slot(param, "v_max", rows) if self.amsgrad else None
        m_rows, v_rows = m[rows], v[rows]
        v_max_rows = v_max[rows] if v_max is not None else None
        direction = self.adam_direction(m_rows, v_rows, v_max_rows, grad)
        m[rows], v[rows] = m_rows, v_rows
        if v_max is not None and v_max_rows is not None:
            v_max[rows] = v_max_rows
        param.value[rows] -= param.value.dtype.type(lr) * direction


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
