"""An exponential moving average (EMA) of the parameters, used to evaluate and to save best.npz.

After optimizer step t the average of a parameter θ is

    a_t = d·a_{t−1} + (1 − d)·θ_t,   a_0 = 0,   and the estimate is  â_t = a_t / (1 − d^t)

(``optimizer.ema_decay`` = d, e.g. 0.999: about the last 1/(1 − d) = 1000 steps).  Starting
from zero and dividing by 1 − d^t (the sum of the weights, as in Adam's bias correction)
means the initial weights get no weight of their own.  The average of noisy late-training
weights generalises a little better than the last weights (Polyak & Juditsky 1992).

Embedding tables updated lazily (only a batch's rows change, e.g. ``sparse_adam``) are
averaged lazily too, and exactly: a row that did not change for k steps has
a ← d^k·a + (1 − d^k)·θ = θ + d^k·(a − θ), so each row remembers the step it was last averaged at and
catches up just before its value changes; the estimate of the whole table applies the same
catch-up to every row.  A table whose optimizer moves every row (dense Adam, momentum SGD)
is averaged like any dense parameter.

The state lives in the optimizer's slots ("ema", and "ema_step" for lazy rows), so it is
saved and restored with the optimizer state for an exact resume.
"""

from __future__ import annotations

import numpy as np

from wintrain.nn.layers import Parameter


def average_dense(average: np.ndarray, value: np.ndarray, decay: float) -> None:
    """a ← d·a + (1 − d)·θ in place.  average, value: the same shape."""
    average *= average.dtype.type(decay)
    average += average.dtype.type(1.0 - decay) * value


def caught_up_rows(average: np.ndarray, last_step: np.ndarray, value: np.ndarray, rows: np.ndarray,
                   step: int, decay: float) -> np.ndarray:
    """The averages of ``rows`` of a lazily averaged table brought to step ``step`` (a new
    (n, d) array; the slots are not changed).  Each row's value has not changed since
    ``last_step[row]``, so a ← θ + d^k·(a − θ) with k = step − last_step[row].

    average: (R, d) and last_step: (R,) int64 cover rows < R; value: (V, d), V ≥ R;
    rows: (n,) distinct ids < R."""
    weight = np.power(decay, step - last_step[rows]).astype(average.dtype)[:, None]  # d^k
    current = value[rows]
    caught_up = average[rows]
    caught_up -= current
    caught_up *= weight
    caught_up += current
    return caught_up


def average_rows(average: np.ndarray, last_step: np.ndarray, value: np.ndarray, rows: np.ndarray,
                 caught_up: np.ndarray, step: int, decay: float) -> None:
    """One step of the average for ``rows`` whose values just changed: a ← θ + d·(a − θ) from
    their ``caught_up`` averages of the step before (:func:`caught_up_rows`, taken before the
    update); ``last_step[rows]`` becomes ``step``."""
    current = value[rows]
    caught_up -= current
    caught_up *= average.dtype.type(decay)
    caught_up += current
    average[rows] = caught_up
    last_step[rows] = step


def estimate(param: Parameter, slots: dict[str, np.ndarray], step: int, decay: float) -> np.ndarray | None:
    """â_t of one parameter's leading rows (a new array of ``value[:len(result)]``'s shape), or
    None when nothing has been averaged yet.

    A dense parameter's estimate covers all of it.  A lazily averaged table's covers the rows
    its slots reach: the rows past them never changed, and their estimate is their value."""
    average = slots.get("ema")
    if average is None or step == 0:
        return None
    correction = average.dtype.type(1.0 / (1.0 - decay**step))
    if "ema_step" not in slots:
        return average * correction
    covered = len(average)
    caught_up = caught_up_rows(average, slots["ema_step"], param.value[:covered], np.arange(covered), step, decay)
    caught_up *= correction
    return caught_up
