"""Choosing hyper-parameters: grids, random and TPE search with pruning, the learning-rate tools,
and comparing runs.

* :mod:`.trials` — one trial: a short training run with overrides, scored on dev each epoch;
  the median pruning rule.
* :mod:`.space` — grids (``--grid``), search spaces (``--space``), random and TPE proposers.
* :mod:`.runner` — :func:`run_sweep`: trials here, in local processes or on Dask; ``sweep.jsonl``
  and resuming.
* :mod:`.lr` — the lecture's learning-rate grid and Smith's LR range test.
* :mod:`.compare` — runs and trials side by side (``wintrain compare``).
"""

from wintrain.sweep.lr import RangeTest, chosen_lr, final_losses, lr_grid, lr_trials, range_test, smooth, suggest
from wintrain.sweep.runner import (
    SweepDone,
    SweepEvent,
    SweepStarted,
    TrialDone,
    check_some_trial_ran,
    default_jobs,
    read_finished,
    read_records,
    run_sweep,
    setup_hash,
)
from wintrain.sweep.space import (
    Distribution,
    FixedTrials,
    TPETrials,
    grid,
    parse_grid,
    parse_space,
    random_trials,
    split_values,
    sweep_plan,
)
from wintrain.sweep.trials import MedianRule, best_trial, check_trials, run_trial, trial_config

__all__ = [
    "Distribution",
    "FixedTrials",
    "MedianRule",
    "RangeTest",
    "SweepDone",
    "SweepEvent",
    "SweepStarted",
    "TPETrials",
    "TrialDone",
    "best_trial",
    "check_some_trial_ran",
    "check_trials",
    "chosen_lr",
    "default_jobs",
    "final_losses",
    "grid",
    "lr_grid",
    "lr_trials",
    "parse_grid",
    "parse_space",
    "random_trials",
    "range_test",
    "read_finished",
    "read_records",
    "run_sweep",
    "run_trial",
    "setup_hash",
    "smooth",
    "split_values",
    "suggest",
    "sweep_plan",
    "trial_config",
]
