"""Choosing the learning rate: the lecture's grid of rates and Smith's LR range test.

* :func:`lr_grid` — the lecture's advice as a grid: rates on a log scale, one point per
  decade by default, so 0.001 is on it; each rate is a trial of :func:`~.runner.run_sweep`
  from the same seed, hence the same initial weights.
* :func:`range_test` — the LR range test (Smith 2015; fastai's and Lightning's ``lr_find``):
  one run whose rate grows exponentially every batch; the suggestion is the rate where the
  smoothed loss falls fastest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wintrain.config import Config
from wintrain.errors import TrainingDiverged, WintrainError
from wintrain.sweep.runner import SweepDone
from wintrain.sweep.trials import DIVERGENCE_FACTOR
from wintrain.training.trainer import Trainer, prepare


def lr_grid(low: float = 1e-4, high: float = 1.0, per_decade: int = 1) -> list[float]:
    """Rates 10^k on a log grid from ``low`` to ``high``, ``per_decade`` points per decade."""
    if not 0 < low < high:
        raise WintrainError(f"--min {low} and --max {high}: need 0 < min < max")
    if per_decade < 1:
        raise WintrainError(f"--per-decade {per_decade}: need at least 1")
    count = int(round(math.log10(high / low) * per_decade)) + 1
    return [float(f"{rate:.6g}") for rate in np.logspace(math.log10(low), math.log10(high), count)]


LR_KEY = "optimizer.lr"


def lr_trials(rates: Sequence[float]) -> list[dict[str, Any]]:
    """One trial per rate, for :func:`run_sweep`."""
    return [{LR_KEY: rate} for rate in rates]


def chosen_lr(done: SweepDone | None) -> float | None:
    """The rate of the best trial of an LR grid (best dev score; ties go to the larger rate)."""
    if done is None or done.best is None:
        return None
    return float(done.best["overrides"][LR_KEY])


def final_losses(done: SweepDone) -> list[float]:
    """Each trial's final train loss (NaN for failed trials), in trial order: the grid's loss curve."""
    return [math.nan if r["train_loss"] is None else float(r["train_loss"]) for r in done.records]


@dataclass(frozen=True)
class RangeTest:
    rates: list[float]
    losses: list[float]  # raw batch losses
    smoothed: list[float]  # bias-corrected exponential moving average (β = 0.98)
    suggestion: float | None
    rule: str


def smooth(losses: Sequence[float], beta: float = 0.98) -> list[float]:
    """Bias-corrected EMA: a_t = β·a_{t−1} + (1−β)·x_t,  s_t = a_t / (1 − β^t)."""
    average, out = 0.0, []
    for t, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta**t))
    return out


def suggest(rates: Sequence[float], smoothed: Sequence[float], skip_fraction: float = 0.1) -> tuple[float | None, str]:
    """The rate of steepest descent of the smoothed loss against log10(lr), ignoring the first
    ``skip_fraction`` of the points and any non-finite tail."""
    finite = len(smoothed)
    while finite and not math.isfinite(smoothed[finite - 1]):
        finite -= 1
    start = int(len(rates) * skip_fraction)
    if finite - start < 3:
        return None, "too few finite points after skipping the first 10%: widen --min/--max or add --steps"
    x = np.log10(np.asarray(rates[start:finite]))
    y = np.asarray(smoothed[start:finite])
    slopes = np.gradient(y, x)
    best = int(np.argmin(slopes))
    return float(rates[start + best]), "steepest descent of the smoothed loss against log10(lr)"


def range_test(
    config: Config, low: float = 1e-7, high: float = 10.0, steps: int = 100, beta: float = 0.98
) -> RangeTest:
    """Smith's LR range test on a fresh model (nothing the caller holds is changed):
    lr_i = low·(high/low)^(i/(steps−1)) for batch i, each a real training step (clipping and
    word dropout as configured); stop once the smoothed loss exceeds 4× its minimum or a loss
    is not finite."""
    if not 0 < low < high or steps < 2:
        raise WintrainError(f"--min {low} --max {high} --steps {steps}: need 0 < min < max and at least 2 steps")
    config = config.model_copy(deep=True)
    config.train.on_nonfinite = "stop"
    prepared = prepare(config)
    trainer = Trainer(prepared)
    batches = trainer.endless_batches()
    rates: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    average, minimum = 0.0, math.inf
    for i in range(steps):
        lr = low * (high / low) ** (i / (steps - 1))
        rates.append(lr)
        try:
            with np.errstate(all="ignore"):  # rates near the top of the range overflow on purpose
                loss = trainer.step(next(batches), lr).loss
        except TrainingDiverged:
            losses.append(math.inf)
            smoothed.append(math.inf)
            break
        losses.append(loss)
        average = beta * average + (1 - beta) * loss
        value = average / (1 - beta ** (i + 1))
        smoothed.append(value)
        minimum = min(minimum, value)
        if value > DIVERGENCE_FACTOR * minimum:
            break
    suggestion, rule = suggest(rates, smoothed)
    return RangeTest(rates, losses, smoothed, suggestion, rule)
