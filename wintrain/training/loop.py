"""The training loop.

:func:`prepare` loads everything a config names (data, vectors, model, optimizer,
schedule) and raises a :class:`~wintrain.errors.WintrainError` before anything is written.
:func:`run` trains and *yields progress events*; the caller decides how to show them (rich
bars, plain log lines, or nothing) — :func:`train` just drains them and returns the summary.

The hot path (:meth:`Trainer.train_epoch`) is vectorised float32 NumPy: one gather, a few
matrix products and a sparse row update per mini-batch, no Python loop per example.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np

from wintrain import __version__
from wintrain.checkpoint import load_checkpoint, save_checkpoint
from wintrain.config import Config, dump_config
from wintrain.data.dataset import Encoded, Encoder
from wintrain.data.load import load_corpora, load_encoder_and_vectors
from wintrain.data.reader import Corpus
from wintrain.errors import WintrainError
from wintrain.evaluation.evaluate import evaluate_encoded, main_score
from wintrain.nn.build import TableCoverage, build_model
from wintrain.nn.model import WindowClassifier
from wintrain.training.optimizers import OPTIMIZERS, Optimizer, clip_global_norm
from wintrain.training.schedules import SCHEDULES, Schedule


# ----------------------------------------------------------------------------- events
@dataclass(frozen=True)
class RunStarted:
    run_dir: Path
    config: Config
    train_tokens: int
    dev_tokens: int
    test_tokens: int
    vocab_size: int
    tags: list[str]
    parameters: int
    coverage: TableCoverage
    epochs: int
    steps_per_epoch: int
    load_seconds: float


@dataclass(frozen=True)
class EpochStarted:
    epoch: int  # 1-based
    epochs: int
    steps: int
    lr: float


@dataclass(frozen=True)
class StepDone:
    epoch: int
    step: int  # steps done in this epoch
    steps: int
    loss: float  # running mean of J over the epoch so far
    lr: float
    tokens_per_second: float


@dataclass(frozen=True)
class EpochDone:
    record: dict[str, Any]  # the metrics.jsonl row
    is_best: bool


@dataclass(frozen=True)
class RunDone:
    run_dir: Path
    summary: dict[str, Any]


Event = Union[RunStarted, EpochStarted, StepDone, EpochDone, RunDone]


# ----------------------------------------------------------------------------- set-up
@dataclass
class Prepared:
    """Everything loaded and built from a config, before any output is written."""

    config: Config
    encoder: Encoder
    corpora: dict[str, Corpus]  # "train", "dev", "test" (those configured)
    datasets: dict[str, Encoded]
    model: WindowClassifier
    coverage: TableCoverage
    optimizer: Optimizer
    schedule: Schedule
    shuffle_rng: np.random.Generator
    load_seconds: float


def prepare(config: Config) -> Prepared:
    """Load data and vectors and build model, optimizer and schedule (nothing written yet)."""
    started = time.perf_counter()
    seeds = np.random.SeedSequence(config.seed).spawn(2)
    init_rng, shuffle_rng = (np.random.default_rng(s) for s in seeds)
    corpora = load_corpora(config)
    encoder, vectors = load_encoder_and_vectors(config, corpora["train"])
    datasets = {split: encoder.encode(corpus) for split, corpus in corpora.items()}
    model, coverage = build_model(config, encoder, init_rng, vectors)
    where = config.where("optimizer")
    optimizer = OPTIMIZERS.build(config.optimizer.name, config.optimizer.params, where, params=model.parameters())
    steps_per_epoch = math.ceil(len(datasets["train"]) / config.train.batch_size)
    schedule = SCHEDULES.build(
        config.schedule.name, config.schedule.params, config.where("schedule"),
        lr0=config.optimizer.lr, steps_per_epoch=steps_per_epoch, epochs=config.train.epochs,
    )
    return Prepared(config, encoder, corpora, datasets, model, coverage, optimizer, schedule, shuffle_rng,
                    time.perf_counter() - started)


def default_run_dir(config: Config) -> Path:
    stem = Path(config.source).stem if config.source else "run"
    return Path("runs") / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


def make_run_dir(path: Path, force: bool = False) -> Path:
    """Create the run folder; refuse to overwrite an earlier run unless ``force``."""
    if path.exists() and not path.is_dir():
        raise WintrainError(f"{path}: output.dir exists and is not a folder; choose another --out")
    if path.is_dir() and any((path / name).exists() for name in ("last.npz", "metrics.jsonl", "summary.json")) and not force:
        raise WintrainError(f"{path}: already holds a run; choose another --out, or pass --force to overwrite it")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise WintrainError(f"{path}: cannot write the run folder ({error.strerror}); choose another --out") from None
    (path / "metrics.jsonl").unlink(missing_ok=True)
    return path


# ----------------------------------------------------------------------------- loop
class Trainer:
    """Runs epochs over a :class:`Prepared` set-up."""

    def __init__(self, prepared: Prepared) -> None:
        self.p = prepared
        self.config = prepared.config
        self.params = prepared.model.parameters()
        self.history: list[float] = []  # dev main score per finished epoch
        self.global_step = 0

    def train_epoch(self, epoch: int, progress_every: int) -> Iterator[StepDone]:
        """One pass over the shuffled training set; yields a StepDone every ``progress_every`` steps.

        The last event's ``loss`` is the mean J of the epoch.
        """
        config, model, optimizer, schedule = self.config, self.p.model, self.p.optimizer, self.p.schedule
        data = self.p.datasets["train"]
        n = len(data)
        batch_size = config.train.batch_size
        order = self.p.shuffle_rng.permutation(n) if config.train.shuffle else np.arange(n)
        steps = math.ceil(n / batch_size)
        clip = config.optimizer.clip_norm
        total_loss, seen = 0.0, 0
        lr = schedule.lr(epoch - 1, self.global_step, self.history)
        started = time.perf_counter()
        for step in range(steps):
            index = order[step * batch_size:(step + 1) * batch_size]
            features, targets = data.batch(index)
            if schedule.per_step:
                lr = schedule.lr(epoch - 1, self.global_step, self.history)
            with np.errstate(over="ignore", invalid="ignore"):  # a non-finite loss is reported below
                loss, _ = model.loss_and_grads(features, targets, train=True)
            if not math.isfinite(loss):
                raise WintrainError(
                    f"training diverged: loss is {loss} at epoch {epoch}, step {step + 1} (lr {lr:.3g}); "
                    "lower optimizer.lr, or set optimizer.clip_norm"
                )
            if clip is not None:
                clip_global_norm(self.params, clip)
            optimizer.step(lr)
            self.global_step += 1
            total_loss += loss * len(index)
            seen += len(index)
            if (step + 1) % progress_every == 0 or step + 1 == steps:
                elapsed = time.perf_counter() - started
                yield StepDone(epoch, step + 1, steps, total_loss / seen, lr, seen / max(elapsed, 1e-9))

    def evaluate(self, split: str) -> dict[str, Any]:
        p = self.p
        result = evaluate_encoded(p.model, p.encoder, p.corpora[split], p.datasets[split],
                                  self.config.train.eval_batch_size)
        return result.metrics


def flatten_metrics(prefix: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of a metrics dict for one metrics.jsonl row."""
    row = {f"{prefix}_accuracy": metrics["accuracy"]}
    if "entity" in metrics:
        entity = metrics["entity"]
        row.update({f"{prefix}_precision": entity["precision"], f"{prefix}_recall": entity["recall"],
                    f"{prefix}_f1": entity["f1"]})
    elif "macro_f1" in metrics:
        row[f"{prefix}_macro_f1"] = metrics["macro_f1"]
    return row


def run(config: Config, run_dir: Path | None = None, force: bool = False) -> Iterator[Event]:
    """Train as the config says, yielding progress events; writes the run folder.

    Run folder: config.yaml (resolved), metrics.jsonl (one row per epoch), last.npz,
    best.npz (best dev score; every epoch when there is no dev set) and summary.json.
    """
    prepared = prepare(config)
    run_dir = make_run_dir(Path(run_dir or config.output.dir or default_run_dir(config)), force)
    (run_dir / "config.yaml").write_text(dump_config(config), encoding="utf-8")
    trainer = Trainer(prepared)
    model, encoder = prepared.model, prepared.encoder
    datasets = prepared.datasets
    epochs = config.train.epochs
    steps = math.ceil(len(datasets["train"]) / config.train.batch_size)
    yield RunStarted(
        run_dir, config, len(datasets["train"]), len(datasets.get("dev", ())), len(datasets.get("test", ())),
        len(encoder.vocab), list(encoder.tagset.tags), model.count_parameters(), prepared.coverage, epochs, steps,
        prepared.load_seconds,
    )
    progress_every = max(1, steps // 50)
    best_score, best_epoch, best_dev = -math.inf, 0, {}
    run_started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        lr = prepared.schedule.lr(epoch - 1, trainer.global_step, trainer.history)
        yield EpochStarted(epoch, epochs, steps, lr)
        started = time.perf_counter()
        last: StepDone | None = None
        for event in trainer.train_epoch(epoch, progress_every):
            last = event
            yield event
        seconds = time.perf_counter() - started
        assert last is not None
        record: dict[str, Any] = {
            "epoch": epoch,
            "lr": last.lr,
            "train_loss": last.loss,
            "epoch_seconds": seconds,
            "tokens_per_second": len(datasets["train"]) / seconds,
        }
        dev_metrics: dict[str, Any] = {}
        if "dev" in datasets:
            dev_metrics = trainer.evaluate("dev")
            score_name, score = main_score(dev_metrics)
            record.update(flatten_metrics("dev", dev_metrics))
            record["dev_score"] = score
        else:
            score_name, score = "epoch", float(epoch)
        trainer.history.append(score)
        is_best = score > best_score
        save_checkpoint(run_dir / "last.npz", config, encoder, model)
        if is_best:
            best_score, best_epoch, best_dev = score, epoch, dev_metrics
            save_checkpoint(run_dir / "best.npz", config, encoder, model)
        with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        yield EpochDone(record, is_best)
    summary: dict[str, Any] = {
        "best_epoch": best_epoch,
        "best_dev_score": best_score if best_dev else None,
        "score": score_name if best_dev else None,
        "dev": best_dev or None,
        "test": None,
        "epochs": epochs,
        "train_seconds": time.perf_counter() - run_started,
        "wintrain_version": __version__,
        "numpy_version": np.__version__,
        "seed": config.seed,
    }
    if "test" in datasets:
        model.load_state(load_checkpoint(run_dir / "best.npz").model_arrays)
        summary["test"] = trainer.evaluate("test")
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    yield RunDone(run_dir, summary)


def train(config: Config, run_dir: Path | None = None, force: bool = False) -> dict[str, Any]:
    """Train without showing progress; return the summary (also written to summary.json)."""
    summary: dict[str, Any] = {}
    for event in run(config, run_dir, force):
        if isinstance(event, RunDone):
            summary = event.summary
    return summary
