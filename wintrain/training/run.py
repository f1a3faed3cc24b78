"""A training run: epochs of the trainer, scored on dev, saved into a run folder.

:func:`run` trains as a config says and *yields progress events*
(:mod:`wintrain.training.events`); :func:`train` just drains them and returns the summary.
:func:`resume` continues a run folder from its ``last.npz`` and reaches the same final
parameters, bit for bit, as a run that was never interrupted.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from wintrain import __version__
from wintrain.checkpoint import load_checkpoint, restore_parameters, save_checkpoint
from wintrain.config import Config, load_config
from wintrain.errors import CannotWrite, TrainingDiverged, WintrainError
from wintrain.evaluation.evaluate import main_score
from wintrain.runfolder import BEST, LAST, MetricsRow, RunFolder, default_run_dir, dev_columns
from wintrain.training.diagnostics import Diagnostics, advise, advise_initial
from wintrain.training.events import (
    EpochDone,
    EpochStarted,
    Event,
    RunDone,
    RunInterrupted,
    RunStarted,
    StepDone,
    StopRequest,
)
from wintrain.training.trainer import Interrupted, Prepared, Trainer, TrainerState, prepare


class Run:
    """One run folder being trained: writes checkpoints, metrics and the summary."""

    def __init__(self, prepared: Prepared, folder: RunFolder, trainer: Trainer) -> None:
        self.prepared = prepared
        self.folder = folder
        self.trainer = trainer
        self.last_saved: tuple[int, int] | None = None  # (epoch, step) that last.npz holds
        self.best_saved = 0  # the epoch best.npz holds (0: none yet)
        self.initial_advice: list[str] = []  # about the initial weights, shown with the first epoch
        trainer.on_checkpoint = self.save_last
        if prepared.config.train.diagnostics:
            trainer.diagnostics = Diagnostics(prepared, prepared.config.seed)

    def save(self, name: str, resumable: bool) -> None:
        prepared, state = self.prepared, self.trainer.state
        if resumable:
            state.shuffle_rng = dict(prepared.shuffle_rng.bit_generator.state)
            state.model_rng = dict(prepared.model_rng.bit_generator.state)
        save_checkpoint(
            self.folder.path / name, prepared.config, prepared.encoder, prepared.scheme, prepared.model,
            optimizer_arrays=prepared.optimizer.state_arrays() if resumable else None,
            trainer_arrays=state.to_arrays() if resumable else None,
            lexicon=prepared.lexicon,
        )

    def save_last(self) -> None:
        self.save(LAST, resumable=True)
        self.last_saved = (self.trainer.state.epoch, self.trainer.state.step)

    def save_best(self, epoch: int) -> None:
        with self.prepared.optimizer.averaged():  # best.npz holds what dev was scored with
            self.save(BEST, resumable=False)
        self.best_saved = epoch

    def checkpoints_note(self) -> str:
        """What the run folder holds now, for a message about a run that stopped."""
        if self.last_saved is None:
            return "no checkpoint was written yet"
        epoch, step = self.last_saved
        last = f"{LAST} holds epoch {epoch}" if not step else f"{LAST} holds step {step} of epoch {epoch + 1}"
        best = f", {BEST} epoch {self.best_saved}" if self.best_saved else ""
        return f"{last}{best}"

    def events(self) -> Iterator[Event]:
        """The run's progress events; the run folder stays locked until they end (or the caller stops)."""
        try:
            yield from self._events()
        except TrainingDiverged as error:
            raise TrainingDiverged(f"{error} ({self.checkpoints_note()})") from None
        except OSError as error:  # a full disk, a quota, a read-only or forbidden folder
            what = Path(error.filename).name if error.filename else "a file of the run folder"
            resume = (f"; free space or fix the folder, then resume with: wintrain train --resume {self.folder.path}"
                      if self.last_saved else "; free space or fix the folder and start again")
            raise CannotWrite(
                f"{self.folder.path}: cannot write {what} ({error.strerror or error}); "
                f"{self.checkpoints_note()} and stay intact{resume}"
            ) from None
        finally:
            self.folder.release()

    def _events(self) -> Iterator[Event]:
        prepared, trainer, state = self.prepared, self.trainer, self.trainer.state
        config, datasets = prepared.config, prepared.datasets
        epochs, steps = config.train.epochs, prepared.steps_per_epoch
        resumed_at = (state.epoch, state.step) if state.global_step else None
        if resumed_at:
            self.last_saved, self.best_saved = resumed_at, state.best_epoch
        yield RunStarted(
            self.folder.path, config, len(datasets["train"]), len(datasets.get("dev", ())),
            len(datasets.get("test", ())), len(prepared.encoder.vocab), list(prepared.encoder.tagset.tags),
            prepared.model.count_parameters(), prepared.coverage, epochs, steps, prepared.load_seconds, resumed_at,
        )
        progress_every = max(1, steps // 50)
        patience = config.train.patience
        if trainer.diagnostics is not None and state.global_step == 0:  # a fresh run: look at the initial weights
            initial = advise_initial(trainer.diagnostics.layers())
            state.advice += [item.to_json() for item in initial]  # kept (and saved) at once: a resume keeps them
            self.initial_advice = [item.message for item in initial]  # shown with the first epoch
        stopped_early = patience is not None and state.epochs_without_improvement >= patience
        while state.epoch < epochs and not stopped_early:
            epoch = state.epoch + 1
            lr = prepared.schedule.lr(epoch - 1, state.global_step, state.history)
            yield EpochStarted(epoch, epochs, steps, lr, state.step)
            started = time.perf_counter()
            last: StepDone | None = None
            try:
                for event in trainer.train_epoch(epoch, progress_every):
                    last = event
                    yield event
            except Interrupted:
                state.train_seconds += time.perf_counter() - started
                self.save_last()
                yield RunInterrupted(self.folder.path, int(trainer.stop.signal or signal.SIGINT), epoch, state.step)
                return
            seconds = time.perf_counter() - started
            state.train_seconds += seconds
            record, is_best, advice = self.finish_epoch(epoch, last, seconds)
            if patience is not None and state.epochs_without_improvement >= patience:
                stopped_early = True
            yield EpochDone(record, is_best, advice)
            if trainer.stop.requested and state.epoch < epochs and not stopped_early:
                yield RunInterrupted(self.folder.path, int(trainer.stop.signal or signal.SIGINT), state.epoch, 0)
                return
        state.finished = True
        self.save_last()
        yield RunDone(self.folder.path, self.finish(stopped_early))

    def finish_epoch(self, epoch: int, last: StepDone | None,
                     seconds: float) -> tuple[MetricsRow, bool, list[str]]:
        """Score dev, measure the diagnostics, update best/patience, write the metrics row and checkpoints.
        Returns the metrics.jsonl row, whether this epoch is the best so far and the new advice."""
        prepared, state, config = self.prepared, self.trainer.state, self.prepared.config
        record: MetricsRow = {
            "epoch": epoch,
            "lr": last.lr if last else prepared.schedule.lr(epoch - 1, state.global_step, state.history),
            "train_loss": state.epoch_loss_sum / max(1, state.epoch_examples),
            "epoch_seconds": seconds,
            "tokens_per_second": len(prepared.datasets["train"]) / seconds if seconds > 0 else 0.0,
            "skipped_batches": state.skipped_batches,
        }
        dev_metrics: dict[str, Any] = {}
        if "dev" in prepared.datasets:
            dev_metrics = self.trainer.evaluate("dev")
            _, score = main_score(dev_metrics)
            record.update(dev_columns(dev_metrics, score))
        else:
            score = float(epoch)
        state.history.append(score)
        is_best = score > state.best_score + (config.train.min_delta if state.best_epoch else 0.0)
        if is_best:
            state.best_score, state.best_epoch, state.best_dev = score, epoch, dev_metrics
            state.epochs_without_improvement = 0
        else:
            state.epochs_without_improvement += 1
        advice = self.diagnose(epoch, record, score if dev_metrics else math.nan)
        state.end_epoch(epoch)
        self.folder.append_metrics(record)
        if is_best:
            self.save_best(epoch)
        self.save_last()
        return record, is_best, advice

    def diagnose(self, epoch: int, record: MetricsRow, dev_score: float) -> list[str]:
        """Add the training score and the diagnostics to the epoch's ``record``; the advice not given before."""
        diagnostics, state = self.trainer.diagnostics, self.trainer.state
        if diagnostics is None:
            return []
        train_score, measured = diagnostics.measure(state.probes)
        record["train_score"] = train_score
        record["diagnostics"] = measured
        state.scores.append([train_score, dev_score])
        given = {f"{item['kind']}:{item['subject']}" for item in state.advice}
        name = main_score(state.best_dev)[0] if state.best_dev else "score"
        found = advise(epoch, measured, [(train, dev) for train, dev in state.scores if not math.isnan(dev)],
                       state.best_score, name, self.prepared.config)
        new = [item for item in found if item.key not in given]
        state.advice += [item.to_json() for item in new]
        shown, self.initial_advice = self.initial_advice + [item.message for item in new], []
        return shown

    def finish(self, stopped_early: bool) -> dict[str, Any]:
        prepared, state, config = self.prepared, self.trainer.state, self.prepared.config
        has_dev = "dev" in prepared.datasets
        summary: dict[str, Any] = {
            "best_epoch": state.best_epoch,
            "best_dev_score": state.best_score if has_dev else None,
            "score": main_score(state.best_dev)[0] if has_dev else None,
            "dev": state.best_dev if has_dev else None,
            "test": None,
            "epochs": state.epoch,
            "stopped_early": stopped_early,
            "train_seconds": state.train_seconds,
            "wintrain_version": __version__,
            "numpy_version": np.__version__,
            "seed": config.seed,
            "tag_scheme": {"data": prepared.scheme.data, "model": prepared.scheme.model},
            "advice": state.advice,
        }
        if "test" in prepared.datasets:
            restore_parameters(self.folder.best, prepared.model)  # training is over: score the best epoch
            summary["test"] = self.trainer.evaluate("test", averaged=False)  # best.npz is averaged already
        self.folder.write_summary(summary)
        return summary


def run(
    config: Config, run_dir: Path | None = None, force: bool = False, stop: StopRequest | None = None
) -> Iterator[Event]:
    """Train as the config says, yielding progress events; writes the run folder
    (see :mod:`wintrain.runfolder`)."""
    prepared = prepare(config)
    folder = RunFolder.create(Path(run_dir or config.output.dir or default_run_dir(config)), force)
    try:
        folder.start(config)
    except OSError as error:
        folder.release()
        raise WintrainError(
            f"{folder.path}: cannot write the run folder ({error.strerror}); choose another --out"
        ) from None
    yield from Run(prepared, folder, Trainer(prepared, stop=stop)).events()


def resume(run_dir: Path, stop: StopRequest | None = None) -> Iterator[Event]:
    """Continue the run in ``run_dir`` from its ``last.npz`` (config from its config.yaml)."""
    folder = RunFolder.existing(Path(run_dir))
    try:
        yield from _resume(folder, stop)
    finally:
        folder.release()


def _resume(folder: RunFolder, stop: StopRequest | None) -> Iterator[Event]:
    run_dir = folder.path
    config = load_config(folder.config_file)
    saved = load_checkpoint(folder.last)
    if "state" not in saved.trainer_arrays:
        raise WintrainError(f"{folder.last}: holds no training state to resume from")
    if saved.config.to_dict() != config.to_dict():
        raise WintrainError(f"{run_dir}: config.yaml differs from the config stored in last.npz; restore config.yaml")
    prepared = prepare(config, saved)
    try:
        prepared.model.load_state(saved.model_arrays)
        prepared.optimizer.load_state_arrays(saved.optimizer_arrays)
    except (KeyError, ValueError) as error:
        raise WintrainError(f"{folder.last}: checkpoint does not match its config ({error})") from None
    state = TrainerState.from_arrays(saved.trainer_arrays)
    if state.finished:
        raise WintrainError(f"{run_dir}: this run already finished ({state.epoch} epochs); "
                            "to train longer, start a new run with more train.epochs")
    prepared.shuffle_rng.bit_generator.state = state.shuffle_rng
    prepared.model_rng.bit_generator.state = state.model_rng
    folder.keep_epochs(state.epoch)
    folder.clear_summary()
    yield from Run(prepared, folder, Trainer(prepared, state, stop)).events()


def train(config: Config, run_dir: Path | None = None, force: bool = False) -> dict[str, Any]:
    """Train without showing progress; return the summary (also written to summary.json)."""
    summary: dict[str, Any] = {}
    for event in run(config, run_dir, force):
        if isinstance(event, RunDone):
            summary = event.summary
    return summary
