"""Fast twins of the optimizers of :mod:`wintrain.training.optimizers`.

* Flat blocks (:class:`FlatBlocks`): a network built with the fast kernels lays its dense parameters out
  in one buffer (:class:`~wintrain.kernels.layers.FlatParameters`), and these optimizers update that
  buffer as one array — the same arithmetic per number, one NumPy call per operation instead of one per
  parameter.  Their state is one array per slot, saved and loaded under each parameter's own name, so
  checkpoints do not depend on the kernels.  Every step first checks that each gradient still lies in its
  buffer (:meth:`~wintrain.kernels.layers.FlatParameters.check`).  SGD, Adagrad and RMSprop are then
  bit-identical to their textbook forms.
* Fused Adam (:class:`FusedAdam` and its variants): the bias corrections folded into two scalars,
  lr·m̂/(√v̂ + ε) = (lr/(1−β1^t))·√(1−β2^t) · m / (√v + ε·√(1−β2^t)), every operation written into an
  existing array (no temporaries); the lazy table update works in reused row buffers.  Reordered
  arithmetic: equal to the textbook Adam to float rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wintrain.kernels import twin_of
from wintrain.kernels.layers import FlatParameters
from wintrain.nn.layers import Parameter
from wintrain.training.optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, SparseAdam


class FlatBlocks(Optimizer):
    """The layout of a fast optimizer: one block per flat buffer (a network's dense parameters), then each
    parameter that is in none (embedding tables).  Mixed in before a textbook optimizer class."""

    flat_groups: dict[str, FlatParameters]

    def arrange(self, params: list[Parameter]) -> list[Parameter]:
        self.flat_groups = {}
        blocks: list[Parameter] = []
        for param in params:
            group = param.flat
            if group is None or param.sparse:
                blocks.append(param)
            elif group.parameter.name not in self.flat_groups:
                self.flat_groups[group.parameter.name] = group
                blocks.append(group.parameter)
        return blocks

    def blocks_of(self, params: list[Parameter]) -> list[Parameter]:
        wanted = {id(param) for param in params}
        return [block for block in self.blocks
                if id(block) in wanted or any(id(member) in wanted for member, _ in self._members(block))]

    def _members(self, block: Parameter) -> list[tuple[Parameter, slice]]:
        group = self.flat_groups.get(block.name)
        return group.members if group is not None else []

    def step(self, lr: float) -> None:
        for group in self.flat_groups.values():
            group.check()
        super().step(lr)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """As the textbook optimizer's: one entry per model parameter (a flat buffer's state is given as its
        members' slices)."""
        arrays = {}
        for block, slots in self.state.items():
            group = self.flat_groups.get(block)
            for slot, array in slots.items():
                if group is None:
                    arrays[f"{block}/{slot}"] = array
                else:
                    for member, part in group.members:
                        arrays[f"{member.name}/{slot}"] = array[part].reshape(member.value.shape)
        arrays["steps"] = np.array(self.steps, dtype=np.int64)
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.steps = int(arrays["steps"])
        home = {member.name: (group, part) for group in self.flat_groups.values() for member, part in group.members}
        for key, value in arrays.items():
            if key == "steps":
                continue
            name, _, slot = key.rpartition("/")
            if name in home:
                group, part = home[name]
                slots = self.state[group.parameter.name]
                if slot not in slots:
                    slots[slot] = np.zeros_like(group.value)
                slots[slot][part] = value.reshape(-1)
            else:
                self.state[name][slot] = value.copy()

    def decayed(self, block: Parameter) -> list[np.ndarray]:
        """The values of ``block`` that weight decay applies to (its L2-decayed members, for a flat buffer)."""
        group = self.flat_groups.get(block.name)
        if group is None:
            return [block.value] if block.decay else []
        return [member.value for member, _ in group.members if member.decay]


@twin_of(SGD)
class FlatSGD(FlatBlocks, SGD):
    """:class:`~wintrain.training.optimizers.SGD` on flat blocks (bit-identical)."""


@twin_of(Adagrad)
class FlatAdagrad(FlatBlocks, Adagrad):
    """:class:`~wintrain.training.optimizers.Adagrad` on flat blocks (bit-identical)."""


@twin_of(RMSprop)
class FlatRMSprop(FlatBlocks, RMSprop):
    """:class:`~wintrain.training.optimizers.RMSprop` on flat blocks (bit-identical)."""


class FusedAdamStep(Adam):
    """Adam's update with the bias corrections folded into two scalars and every operation in place."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scratch: dict[str, np.ndarray] = {}  # work arrays per parameter, not part of the saved state

    def step_size(self, lr: float) -> tuple[float, float]:
        """(lr / (1 − β1^t), √(1 − β2^t)): the bias corrections as two scalars."""
        t = self.steps
        return lr / (1.0 - self.beta1**t), math.sqrt(1.0 - self.beta2**t)

    def adam_step(self, m: np.ndarray, v: np.ndarray, v_max: np.ndarray | None, grad: np.ndarray, lr: float,
                  scratch: np.ndarray) -> np.ndarray:
        """Update m, v (and v_max) in place and return the step lr·m̂/(√v̂ + ε), written into ``scratch``."""
        np.multiply(grad, 1.0 - self.beta1, out=scratch)
        m *= self.beta1
        m += scratch
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - self.beta2
        v *= self.beta2
        v += scratch
        if v_max is not None:
            np.maximum(v_max, v, out=v_max)
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


@twin_of(Adam)
class FusedAdam(FlatBlocks, FusedAdamStep):
    """:class:`~wintrain.training.optimizers.Adam` on flat blocks with the fused update."""


@twin_of(AdamW)
class FusedAdamW(FlatBlocks, FusedAdamStep, AdamW):
    """:class:`~wintrain.training.optimizers.AdamW` on flat blocks with the fused update: the decay applies
    to a block's L2-decayed members."""

    def update(self, param: Parameter, grad: np.ndarray, lr: float) -> None:
        if self.weight_decay:
            for values in self.decayed(param):
                values *= values.dtype.type(1.0 - lr * self.weight_decay)
        FusedAdamStep.update(self, param, grad, lr)


@twin_of(SparseAdam)
class FusedSparseAdam(FlatBlocks, FusedAdamStep, SparseAdam):
    """:class:`~wintrain.training.optimizers.SparseAdam` on flat blocks with the fused update; a table's rows
    are updated in four reused row buffers."""

    def update_rows(self, param: Parameter, lr: float) -> None:
        rows, grad = param.rows, param.grad  # rows are sorted (scatter_rows)
        assert rows is not None
        m_all, v_all = self.row_slot(param, "m", rows), self.row_slot(param, "v", rows)
        v_max_all = self.row_slot(param, "v_max", rows) if self.amsgrad else None
        m, v, values, step = self.row_buffers(param, len(rows))
        np.take(m_all, rows, axis=0, out=m)
        np.take(v_all, rows, axis=0, out=v)
        v_max = np.take(v_max_all, rows, axis=0) if v_max_all is not None else None
        self.adam_step(m, v, v_max, grad, lr, step)
        m_all[rows], v_all[rows] = m, v
        if v_max_all is not None and v_max is not None:
            v_max_all[rows] = v_max
        np.take(param.value, rows, axis=0, out=values)
        values -= step
        param.value[rows] = values

    def row_buffers(self, param: Parameter, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Four reused (count, d) work arrays for a table's rows (grown when a batch has more rows)."""
        buffers = self._scratch.get(param.name)
        if buffers is None or buffers.shape[1] < count:
            size = max(count, 2 * (0 if buffers is None else buffers.shape[1]))
            buffers = np.empty((4, size) + param.value.shape[1:], param.value.dtype)
            self._scratch[param.name] = buffers
        return buffers[0, :count], buffers[1, :count], buffers[2, :count], buffers[3, :count]
