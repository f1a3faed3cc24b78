"""One trial of a sweep: a short training run from the base config plus a few overrides.

A trial trains ``epochs`` epochs (or stops after ``steps`` batches), scores dev after every
epoch, and returns a JSON-ready *record*; user errors are recorded, never raised, so one bad
setting does not stop a sweep.  A *stop rule* (:class:`MedianRule`) may end a trial early
after an epoch whose dev score is below the median of earlier trials at that epoch (pruning).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wintrain.config import Config, apply_overrides, config_from_dict
from wintrain.errors import TrainingDiverged, WintrainError
from wintrain.evaluation.evaluate import main_score
from wintrain.training.trainer import Trainer, check_choices, prepare

DIVERGENCE_FACTOR = 4.0  # a trial diverged when its loss ends above 4× its first batch's loss
PRUNE_STARTUP_TRIALS = 5  # the median rule prunes only once this many trials reached an epoch

StopRule = Callable[[int, float], bool]
"""``(epoch, dev score) -> stop?``, asked after each epoch of a trial."""


def trial_config(base: dict[str, Any], source: str | None, overrides: dict[str, Any]) -> Config:
    """The base config (a resolved dict) with one trial's overrides."""
    raw = json.loads(json.dumps(base))
    apply_overrides(raw, [f"{key}={json.dumps(value)}" for key, value in overrides.items()], Path.cwd())
    return config_from_dict(raw, source=Path(source) if source else None)


def check_trials(config: Config, trials: Sequence[dict[str, Any]]) -> None:
    """Refuse a sweep whose overrides name keys the config does not have — schema keys, or the
    parameters of a registry choice such as ``optimizer.betta1`` — since a typo would fail every
    trial; values that are rejected (an unknown activation name, a negative rate) fail only their
    own trials."""
    base, source = config.to_dict(), str(config.source) if config.source else None
    for overrides in trials:
        try:
            check_choices(trial_config(base, source, overrides))
        except WintrainError as error:
            if any(typo in str(error) for typo in ("unknown key", "is not a section", "unknown parameter")):
                raise WintrainError(f"sweep: {error}") from None


@dataclass(frozen=True)
class MedianRule:
    """Prune a trial whose dev score after epoch e is below the median of the earlier trials'
    scores after epoch e (Optuna's MedianPruner rule), once ``startup`` trials reached that epoch.

    ``history[e]`` holds the earlier trials' dev scores after epoch ``e`` (a snapshot taken when
    the trial starts, so the rule can travel to a worker process)."""

    history: dict[int, list[float]] = field(default_factory=dict)
    startup: int = PRUNE_STARTUP_TRIALS

    def __call__(self, epoch: int, score: float) -> bool:
        earlier = self.history.get(epoch, [])
        return len(earlier) >= self.startup and score < statistics.median(earlier)

    @classmethod
    def from_records(cls, records: Sequence[dict[str, Any]], startup: int = PRUNE_STARTUP_TRIALS) -> MedianRule:
        """The rule for a new trial, given the records of the trials finished so far."""
        history: dict[int, list[float]] = {}
        for record in records:
            for row in record.get("epochs") or []:
                if row.get("dev_score") is not None:
                    history.setdefault(int(row["epoch"]), []).append(float(row["dev_score"]))
        return cls(history, startup)


def run_trial(
    base: dict[str, Any],
    source: str | None,
    overrides: dict[str, Any],
    epochs: int | None,
    steps: int | None,
    stop_rule: StopRule | None = None,
) -> dict[str, Any]:
    """Train one trial and score dev after each epoch; never raises for user errors (they are recorded).

    Returns a JSON-ready record: ``overrides``; ``train_loss`` (mean over the last epoch or the
    steps run) and ``first_loss``; ``dev_score`` and ``best_epoch`` (the best epoch's dev score,
    ``score`` names it); ``epochs``, one row per finished epoch (``epoch``, ``train_loss``,
    ``dev_score``); ``steps`` (batches trained) and ``epochs_run`` (epochs trained, a fraction
    when ``steps`` ends a trial inside an epoch); ``pruned`` (stopped by ``stop_rule``),
    ``diverged``, ``seconds``, ``error``; and ``config``, the trial's full config, resolved as a
    run folder's ``config.yaml`` is (so ``wintrain compare`` sets them side by side).
    """
    started = time.perf_counter()
    record: dict[str, Any] = {"overrides": overrides, "train_loss": None, "first_loss": None, "dev_score": None,
                              "score": None, "best_epoch": None, "epochs": [], "steps": 0, "epochs_run": 0.0,
                              "pruned": False, "diverged": False, "error": None, "config": None}
    try:
        config = trial_config(base, source, overrides)
        if epochs is not None:
            config.train.epochs = epochs
        record["config"] = config.to_dict()
        _train(config, steps, stop_rule, record)
    except TrainingDiverged:
        record["diverged"] = True
    except WintrainError as error:
        record["error"] = str(error)
    record["seconds"] = time.perf_counter() - started
    return record


def _train(config: Config, steps: int | None, stop_rule: StopRule | None, record: dict[str, Any]) -> None:
    """The epochs of one trial, filling ``record`` as they go."""
    prepared = prepare(config)
    record["config"] = config.to_dict()
    record["tag_scheme"] = {"data": prepared.scheme.data, "model": prepared.scheme.model}
    trainer = Trainer(prepared)
    has_dev = "dev" in prepared.datasets
    done, last = 0, None
    for epoch in range(1, config.train.epochs + 1):
        for event in trainer.train_epoch(epoch, progress_every=1):
            last, done = event, done + 1
            record["steps"], record["epochs_run"] = done, round(epoch - 1 + event.step / event.steps, 4)
            if record["first_loss"] is None:
                record["first_loss"] = event.loss
            if steps is not None and done >= steps:
                break
        if last is None or not math.isfinite(last.loss) or (steps is not None and done >= steps):
            break
        trainer.state.end_epoch(epoch)
        row: dict[str, Any] = {"epoch": epoch, "train_loss": last.loss, "dev_score": None}
        if has_dev:
            name, score = main_score(trainer.evaluate("dev"))
            row["dev_score"] = score
            if record["dev_score"] is None or score > record["dev_score"]:
                record["score"], record["dev_score"], record["best_epoch"] = name, score, epoch
        record["epochs"].append(row)
        if has_dev and stop_rule is not None and epoch < config.train.epochs and stop_rule(epoch, row["dev_score"]):
            record["pruned"] = True
            break
    record["train_loss"] = last.loss if last else None
    record["diverged"] = (last is None or not math.isfinite(last.loss)
                          or last.loss > DIVERGENCE_FACTOR * record["first_loss"])
    if record["diverged"]:
        record["dev_score"] = record["score"] = record["best_epoch"] = None
    elif has_dev and record["dev_score"] is None:  # stopped inside the first epoch (--steps)
        record["score"], record["dev_score"] = main_score(trainer.evaluate("dev"))


def best_trial(records: Sequence[dict[str, Any]], prefer_key: str | None = None) -> dict[str, Any] | None:
    """The finished, non-diverged trial with the best dev score; ties go to the larger
    ``prefer_key`` value (the larger learning rate in an LR sweep)."""
    candidates = [r for r in records if not r["diverged"] and r["error"] is None and r["dev_score"] is not None]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r["dev_score"], r["overrides"].get(prefer_key, 0) if prefer_key else 0))
