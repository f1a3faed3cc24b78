"""Learning-rate schedules.

A schedule is a pure function of (epoch, global step, history of the dev metric), so a
resumed run recomputes exactly the rate an uninterrupted one would use.  ``epoch`` is
0-based (the lecture's t), ``step`` counts batches from 0 over the whole run, ``history``
holds the dev metric of each finished epoch (higher is better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from wintrain.registry import Registry

SCHEDULES: Registry[Schedule] = Registry("schedule")


class Schedule:
    """Base class; ``lr0`` is ``optimizer.lr``."""

    per_step = False  # True when the rate changes inside an epoch

    def __init__(self, lr0: float, steps_per_epoch: int, epochs: int) -> None:
        self.lr0 = lr0
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.epochs = epochs

    def lr(self, epoch: int, step: int, history: Sequence[float] = ()) -> float:
        raise NotImplementedError


@SCHEDULES.register("constant")
class Constant(Schedule):
    """lr = lr0 throughout (the lecture's fixed rate)."""

    def lr(self, epoch: int, step: int, history: Sequence[float] = ()) -> float:
        return self.lr0


@SCHEDULES.register("step")
class Step(Schedule):
    """lr = lr0·γ^⌊t / k⌋: multiply by γ every k epochs (γ = 0.5: halve every k epochs)."""

    def __init__(self, lr0: float, steps_per_epoch: int, epochs: int, every: int = 2, gamma: float = 0.5) -> None:
        super().__init__(lr0, steps_per_epoch, epochs)
        if every < 1:
            raise ValueError(f"every must be ≥ 1 epoch, got {every}")
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        self.every, self.gamma = every, gamma

    def lr(self, epoch: int, step: int, history: Sequence[float] = ()) -> float:
        return self.lr0 * self.gamma ** (epoch // self.every)


@SCHEDULES.register("exponential")
class Exponential(Schedule):
    """lr = lr0·e^(−k·t), t the epoch."""

    def __init__(self, lr0: float, steps_per_epoch: int, epochs: int, k: float = 0.1) -> None:
        super().__init__(lr0, steps_per_epoch, epochs)
        if k < 0:
            raise ValueError(f"k must be ≥ 0 (a decay), got {k}")
        self.k = k

    def lr(self, epoch: int, step: int, history: Sequence[float] = ()) -> float:
        return self.lr0 * math.exp(-self.k * epoch)


@SCHEDULES.register("cyclic")
class Cyclic(Schedule):
    """Cyclical learning rate (Smith 2017), stepped per batch, as PyTorch's CyclicLR:
    cycle = ⌊1 + s/(2·step_size)⌋,  x = |s/step_size − 2·cycle + 1|,
    lr = base_lr + (max_lr − base_lr)·max(0, 1 − x)·scale, with scale = 1 (triangular),
    1/2^(cycle−1) (triangular2) or γ^s (exp_range).
    Defaults: max_lr = lr0, base_lr = lr0/10, step_size = 2 epochs of batches."""

    per_step = True

    def __init__(
        self,
        lr0: float,
        steps_per_epoch: int,
        epochs: int,
        mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
        base_lr: float | None = None,
        max_lr: float | None = None,
        step_size: int | None = None,
        gamma: float = 1.0,
    ) -> None:
        super().__init__(lr0, steps_per_epoch, epochs)
        self.mode = mode
        self.max_lr = lr0 if max_lr is None else max_lr
        self.base_lr = self.max_lr / 10.0 if base_lr is None else base_lr
        self.step_size = 2 * self.steps_per_epoch if step_size is None else step_size
        if self.step_size < 1:
            raise ValueError(f"step_size must be ≥ 1 batch, got {self.step_size}")
        if not 0 <= self.base_lr <= self.max_lr or self.max_lr <= 0 or gamma <= 0:
            raise ValueError(
                f"need 0 ≤ base_lr ≤ max_lr, max_lr > 0 and gamma > 0, got {self.base_lr}, {self.max_lr}, {gamma}"
            )
        self.gamma = gamma

    def lr(self, epoch: int, step: int, history: Sequence[float] = ()) -> float:
        cycle = math.floor(1 + step / (2 * self.step_size))
        x = abs(step / self.step_size - 2 * cycle + 1)
        scale = {"triangular": 1.0, "triangular2": 1.0 / 2 ** (cycle - 1), "exp_range": self.gamma**step}[self.mode]
        return self.base_lr + (self.max_lr - self.base_lr) * max(0.0, 1.0 - x) * scale


@SCHEDULES.register("cosine")
class Cosine(Schedule):
    """Linear warm-up then cosine decay, per batch (Loshchilov & Hutter 2017, without restarts):
    s < W: lr = lr0·(s + 1)/W;  otherwise lr = min_lr + ½(lr0 − min_lr)(1 + cos(π·(s − W)/(T − W))),
    W = warmup_epochs·steps per epoch, T = all steps of the run."""

    per_step = True

    def __init__(
        self, lr0: float, steps_per_epoch: int, epochs: int, warmup_epochs: float = 0.0, min_lr: float = 0.0
    ) -> None:
        super().__init__(lr0, steps_per_epoch, epochs)
        if warmup_epochs < 0 or min_lr < 0:
            raise ValueError(f"warmup_epochs and min_lr must be ≥ 0, got {warmup_epochs}, {min_lr}")
        self.warmup = int(round(warmup_epochs * self.steps_per_epoch))
        self.total = max(self.warmup + 1, epochs * self.steps_per_epoch)
        self.min_lr = min_lr

    def lr(self, epoch: int, step: int, history: Sequence[float] = ()) -> float:
        if step < self.warmup:
            return self.lr0 * (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / (self.total - self.warmup))
        return self.min_lr + 0.5 * (self.lr0 - self.min_lr) * (1.0 + math.cos(math.pi * progress))


@SCHEDULES.register("plateau")
class Plateau(Schedule):
    """Reduce on plateau of the dev metric (as PyTorch's ReduceLROnPlateau, mode max):
    an epoch improves when its metric > best + threshold; after more than ``patience`` epochs
    in a row without improvement, lr ← max(lr·factor, min_lr) and the count restarts."""

    def __init__(
        self, lr0: float, steps_per_epoch: int, epochs: int,
        factor: float = 0.5, patience: int = 2, min_lr: float = 0.0, threshold: float = 0.0,
    ) -> None:
        super().__init__(lr0, steps_per_epoch, epochs)
        if not 0.0 < factor < 1.0:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        if patience < 0 or min_lr < 0 or threshold < 0:
            raise ValueError(f"patience, min_lr and threshold must be ≥ 0, got {patience}, {min_lr}, {threshold}")
        self.factor, self.patience, self.min_lr, self.threshold = factor, patience, min_lr, threshold

    def lr(self, epoch: int, step: int, history: Sequence[float] = ()) -> float:
        rate, best, bad = self.lr0, -math.inf, 0
        for metric in history[:epoch]:
            if metric > best + self.threshold:
                best, bad = metric, 0
            else:
                bad += 1
                if bad > self.patience:
                    rate, bad = max(rate * self.factor, self.min_lr), 0
        return rate
