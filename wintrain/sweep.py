"""Choosing hyper-parameters: grid sweeps, the lecture's learning-rate grid and Smith's LR range test.

* :func:`grid` — the cartesian product of ``KEY=V1,V2,…`` choices, each a *trial*: a short
  training run (``epochs`` or ``steps``) from the same seed, hence the same initial weights.
* :func:`lr_grid` — the lecture's advice as a grid: rates on a log scale, one point per
  decade by default, so 0.001 is on it.
* :func:`range_test` — the LR range test (Smith 2015; fastai's and Lightning's ``lr_find``):
  one run whose rate grows exponentially every batch; the suggestion is the rate where the
  smoothed loss falls fastest.

Trials run in this process, in ``jobs`` local processes, or on a Dask cluster; each trial
uses one BLAS thread, so results do not depend on where it ran.  :func:`run_sweep` yields
events for the caller to render and appends every finished trial to ``sweep.jsonl``, so an
interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wintrain.config import Config, apply_overrides, config_from_dict, parse_override
from wintrain.errors import TrainingDiverged, WintrainError
from wintrain.evaluation.evaluate import main_score
from wintrain.runfolder import FolderLock
from wintrain.training.trainer import Trainer, cycled_batches, prepare

DIVERGENCE_FACTOR = 4.0  # a trial diverged when its loss ends above 4× its first batch's loss


# ----------------------------------------------------------------------------- trials
def parse_grid(specs: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """``["loss.l2=0,1e-5", "model.activation=tanh,relu"]`` → [(key, [values…]), …] (values as YAML)."""
    axes = []
    for spec in specs:
        key, sep, raw = spec.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise WintrainError(f"--grid {spec!r}: expected KEY=V1,V2,..., e.g. --grid loss.l2=0,1e-5,1e-4")
        values = [parse_override(f"{key}={part}")[1] for part in split_values(raw)]
        axes.append((key.strip(), values))
    return axes


def split_values(raw: str) -> list[str]:
    """Split ``V1,V2,…`` at the commas outside brackets and quotes: ``[50],[20,10]`` → ["[50]", "[20,10]"]."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in raw:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts]


def check_trials(config: Config, trials: list[dict[str, Any]]) -> None:
    """Refuse a sweep whose overrides name keys the config schema does not have (a typo would
    otherwise fail every trial); values the schema rejects fail only their own trials."""
    base, source = config.to_dict(), str(config.source) if config.source else None
    for overrides in trials:
        try:
            trial_config(base, source, overrides)
        except WintrainError as error:
            if "unknown key" in str(error) or "is not a section" in str(error):
                raise WintrainError(f"sweep: {error}") from None


def grid(axes: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """The cartesian product of the axes, as override mappings in a stable order."""
    keys = [key for key, _ in axes]
    return [dict(zip(keys, combination)) for combination in itertools.product(*(values for _, values in axes))]


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


def trial_config(base: dict[str, Any], source: str | None, overrides: dict[str, Any]) -> Config:
    """The base config (a resolved dict) with one trial's overrides."""
    raw = json.loads(json.dumps(base))
    apply_overrides(raw, [f"{key}={json.dumps(value)}" for key, value in overrides.items()], Path.cwd())
    return config_from_dict(raw, source=Path(source) if source else None)


def run_trial(base: dict[str, Any], source: str | None, overrides: dict[str, Any],
              epochs: int | None, steps: int | None) -> dict[str, Any]:
    """Train one trial briefly and score it; never raises for user errors (they are recorded).

    Returns a JSON-ready record: overrides, train_loss (mean over the last epoch or the
    steps run), first_loss, dev metric, diverged, seconds, error.
    """
    started = time.perf_counter()
    record: dict[str, Any] = {"overrides": overrides, "train_loss": None, "first_loss": None, "dev_score": None,
                              "score": None, "diverged": False, "error": None}
    try:
        config = trial_config(base, source, overrides)
        if epochs is not None:
            config.train.epochs = epochs
        prepared = prepare(config)
        trainer = Trainer(prepared)
        done, last = 0, None
        for epoch in range(1, config.train.epochs + 1):
            for event in trainer.train_epoch(epoch, progress_every=1):
                last, done = event, done + 1
                if record["first_loss"] is None:
                    record["first_loss"] = event.loss
                if steps is not None and done >= steps:
                    break
            if steps is not None and done >= steps:
                break
            trainer.state.end_epoch(epoch)
        record["train_loss"] = last.loss if last else None
        loss_ok = last is not None and math.isfinite(last.loss)
        record["diverged"] = last is None or not loss_ok or last.loss > DIVERGENCE_FACTOR * record["first_loss"]
        if "dev" in prepared.datasets and not record["diverged"]:
            metrics = trainer.evaluate("dev")
            record["score"], record["dev_score"] = main_score(metrics)
    except TrainingDiverged:
        record["diverged"] = True
    except WintrainError as error:
        record["error"] = str(error)
    record["seconds"] = time.perf_counter() - started
    return record


def best_trial(records: Sequence[dict[str, Any]], prefer_key: str | None = None) -> dict[str, Any] | None:
    """The finished, non-diverged trial with the best dev score; ties go to the larger
    ``prefer_key`` value (the larger learning rate in an LR sweep)."""
    candidates = [r for r in records if not r["diverged"] and r["error"] is None and r["dev_score"] is not None]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r["dev_score"], r["overrides"].get(prefer_key, 0) if prefer_key else 0))


# ----------------------------------------------------------------------------- running
@dataclass(frozen=True)
class SweepStarted:
    total: int
    already_done: int
    out: Path


@dataclass(frozen=True)
class TrialDone:
    index: int
    record: dict[str, Any]
    done: int
    total: int


@dataclass(frozen=True)
class SweepDone:
    records: list[dict[str, Any]]
    best: dict[str, Any] | None


SweepEvent = SweepStarted | TrialDone | SweepDone


def _key(overrides: dict[str, Any], setup: str = "") -> str:
    return json.dumps([overrides, setup], sort_keys=True)


def setup_hash(base: dict[str, Any], epochs: int | None, steps: int | None) -> str:
    """Identifies what a trial's result depends on besides its overrides (config, length)."""
    import hashlib

    text = json.dumps([base, epochs, steps], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_finished(path: Path) -> dict[str, dict[str, Any]]:
    """Records already in sweep.jsonl, by their overrides (to skip them on resume)."""
    finished: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return finished
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if record.get("error") is None:  # failed trials run again
                finished[_key(record["overrides"], record.get("setup", ""))] = record
        except (ValueError, KeyError, TypeError):
            raise WintrainError(f"{path}:{number}: not a sweep record; move the file away to start afresh") from None
    return finished


def _submitter(jobs: int, scheduler: str | None) -> tuple[Any, Any, Callable[[], Any]]:
    """(submit(fn, *args) -> future, as_completed(futures) -> iterator, close()) for the chosen executor;
    (None, None, close) to run trials in this process."""
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise WintrainError('--scheduler needs dask.distributed: pip install "wintrain[distributed]"') from None
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as error:
            raise WintrainError(f"--scheduler {scheduler}: cannot connect ({error})") from None
        from dask.distributed import as_completed as dask_completed

        return (lambda fn, *args: client.submit(fn, *args, pure=False)), dask_completed, client.close
    if jobs > 1:
        import multiprocessing

        # fork on Linux: workers start without re-importing (BLAS threads are already fixed at 1);
        # spawn elsewhere, where forking a process with loaded libraries is not safe
        method = "fork" if sys.platform == "linux" else "spawn"
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method))
        return pool.submit, futures_completed, lambda: pool.shutdown(cancel_futures=True)
    return None, None, lambda: None


def run_sweep(
    config: Config,
    trials: list[dict[str, Any]],
    out: Path,
    epochs: int | None = None,
    steps: int | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    fail_fast: bool = False,
    prefer_key: str | None = None,
) -> Iterator[SweepEvent]:
    """Run every trial not yet in ``out/sweep.jsonl``; yield progress; pick the best.

    ``out`` is locked while the sweep runs (a second sweep on it is refused with one line)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WintrainError(f"{out}: cannot create the sweep folder ({error.strerror})") from None
    lock = FolderLock(out).acquire().announce()
    try:
        yield from _run_sweep(config, trials, out, epochs, steps, jobs, scheduler, fail_fast, prefer_key)
    finally:
        lock.release()


def _run_sweep(
    config: Config,
    trials: list[dict[str, Any]],
    out: Path,
    epochs: int | None,
    steps: int | None,
    jobs: int,
    scheduler: str | None,
    fail_fast: bool,
    prefer_key: str | None,
) -> Iterator[SweepEvent]:
    check_trials(config, trials)
    log_path = out / "sweep.jsonl"
    finished = read_finished(log_path)
    base, source = config.to_dict(), str(config.source) if config.source else None
    setup = setup_hash(base, epochs, steps)
    todo = [(i, t) for i, t in enumerate(trials) if _key(t, setup) not in finished]
    yield SweepStarted(len(trials), len(trials) - len(todo), out)
    results = {i: finished[_key(t, setup)] for i, t in enumerate(trials) if _key(t, setup) in finished}

    def record_done(index: int, record: dict[str, Any]) -> TrialDone:
        record = {"trial": index, "setup": setup, **record}
        results[index] = record
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        return TrialDone(index, record, len(results), len(trials))

    submit, as_completed, close = _submitter(jobs, scheduler)
    try:
        if submit is None:
            for index, overrides in todo:
                event = record_done(index, run_trial(base, source, overrides, epochs, steps))
                yield event
                if fail_fast and event.record["error"]:
                    break
        else:
            pending = {submit(run_trial, base, source, t, epochs, steps): i for i, t in todo}
            for future in as_completed(list(pending)):
                event = record_done(pending.pop(future), future.result())
                yield event
                if fail_fast and event.record["error"]:
                    for other in pending:
                        other.cancel()
                    break
    finally:
        close()
    ordered = [results[i] for i in sorted(results)]
    yield SweepDone(ordered, best_trial(ordered, prefer_key))


# ----------------------------------------------------------------------------- range test
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
    batches = cycled_batches(len(prepared.datasets["train"]), config.train.batch_size, prepared.shuffle_rng)
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


def default_jobs() -> int:
    return os.cpu_count() or 1
