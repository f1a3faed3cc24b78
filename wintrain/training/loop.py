"""The training loop.

:func:`prepare` loads everything a config names (data, vectors, model, optimizer,
schedule) and raises a :class:`~wintrain.errors.WintrainError` before anything is written.
:func:`run` trains and *yields progress events*; the caller decides how to show them (rich
bars, plain log lines, or nothing) — :func:`train` just drains them and returns the summary.
:func:`resume` continues a run folder from its ``last.npz`` and reaches the same final
parameters, bit for bit, as a run that was never interrupted.

The hot path (:meth:`Trainer.train_epoch`) is vectorised float32 NumPy: one gather, a few
matrix products and a sparse row update per mini-batch, no Python loop per example.
"""

from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np

from wintrain import __version__
from wintrain.checkpoint import Checkpoint, load_checkpoint, restore_parameters, save_checkpoint
from wintrain.config import Config, dump_config, load_config
from wintrain.data.dataset import Encoded, Encoder
from wintrain.data.load import load_corpora, load_encoder_and_vectors
from wintrain.data.reader import Corpus
from wintrain.errors import TrainingDiverged, WintrainError
from wintrain.evaluation.decode import infer_scheme
from wintrain.evaluation.evaluate import evaluate_encoded, main_score
from wintrain.nn.build import TableCoverage, build_model
from wintrain.plot import read_metrics, write_metrics_csv
from wintrain.nn.model import WindowClassifier
from wintrain.training.optimizers import OPTIMIZERS, Optimizer, clip_global_norm, global_norm
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
    coverage: TableCoverage | None  # None when resuming (vectors come from the checkpoint)
    epochs: int
    steps_per_epoch: int
    load_seconds: float
    resumed_at: tuple[int, int] | None = None  # (epoch, step) a resumed run continues after


@dataclass(frozen=True)
class EpochStarted:
    epoch: int  # 1-based
    epochs: int
    steps: int
    lr: float
    first_step: int = 0  # > 0 when a resumed run continues inside this epoch


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


@dataclass(frozen=True)
class RunInterrupted:
    run_dir: Path
    signal: int
    epoch: int
    step: int


Event = Union[RunStarted, EpochStarted, StepDone, EpochDone, RunDone, RunInterrupted]


class StopRequest:
    """Set by a signal handler (``signal.signal(SIGINT, stop)``); the loop finishes the current
    batch, writes ``last.npz`` and yields :class:`RunInterrupted`."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, frame: Any = None) -> None:
        self.signal = signum

    @property
    def requested(self) -> bool:
        return self.signal is not None


# ----------------------------------------------------------------------------- set-up
@dataclass
class Prepared:
    """Everything loaded and built from a config, before any output is written."""

    config: Config
    encoder: Encoder
    corpora: dict[str, Corpus]  # "train", "dev", "test" (those configured)
    datasets: dict[str, Encoded]
    model: WindowClassifier
    coverage: TableCoverage | None
    optimizer: Optimizer
    schedule: Schedule
    shuffle_rng: np.random.Generator
    model_rng: np.random.Generator  # initialisation, then dropout masks
    load_seconds: float

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.datasets["train"]) / self.config.train.batch_size)


def prepare(config: Config, saved: Checkpoint | None = None) -> Prepared:
    """Load data and vectors and build model, optimizer and schedule (nothing written yet).

    With ``saved`` (resuming), the vocabulary and tags come from the checkpoint and no vector
    file is read: the parameters are restored from the checkpoint afterwards.
    """
    started = time.perf_counter()
    init_seed, shuffle_seed = np.random.SeedSequence(config.seed).spawn(2)
    model_rng, shuffle_rng = np.random.default_rng(init_seed), np.random.default_rng(shuffle_seed)
    corpora = load_corpora(config)
    if saved is None:
        encoder, vectors = load_encoder_and_vectors(config, corpora["train"])
    else:
        encoder, vectors = saved.encoder, None
    if config.data.scheme == "auto":  # resolved once, so the saved config scores the same way later
        config.data.scheme = infer_scheme(encoder.tagset.tags, corpora["train"].tag_sentences())
    datasets = {split: encoder.encode(corpus) for split, corpus in corpora.items()}
    model, coverage = build_model(config, encoder, model_rng, vectors)
    optimizer = OPTIMIZERS.build(config.optimizer.name, config.optimizer.params, config.where("optimizer"),
                                 params=model.parameters())
    steps_per_epoch = math.ceil(len(datasets["train"]) / config.train.batch_size)
    schedule = SCHEDULES.build(
        config.schedule.name, config.schedule.params, config.where("schedule"),
        lr0=config.optimizer.lr, steps_per_epoch=steps_per_epoch, epochs=config.train.epochs,
    )
    return Prepared(config, encoder, corpora, datasets, model, None if saved else coverage, optimizer, schedule,
                    shuffle_rng, model_rng, time.perf_counter() - started)


def default_run_dir(config: Config) -> Path:
    stem = Path(config.source).stem if config.source else "run"
    return Path("runs") / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


def make_run_dir(path: Path, force: bool = False) -> Path:
    """Create the run folder; refuse to overwrite an earlier run unless ``force``."""
    if path.exists() and not path.is_dir():
        raise WintrainError(f"{path}: output.dir exists and is not a folder; choose another --out")
    holds_run = any((path / name).exists() for name in ("last.npz", "metrics.jsonl", "summary.json"))
    if path.is_dir() and holds_run and not force:
        raise WintrainError(
            f"{path}: already holds a run; resume it with --resume {path}, choose another --out, "
            "or pass --force to overwrite it"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise WintrainError(f"{path}: cannot write the run folder ({error.strerror}); choose another --out") from None
    for name in ("metrics.jsonl", "metrics.csv", "summary.json", "last.npz", "best.npz"):  # --force: a fresh run
        (path / name).unlink(missing_ok=True)
    return path


# ----------------------------------------------------------------------------- state
@dataclass
class TrainerState:
    """Everything besides parameters and optimizer state that an exact resume needs.

    ``epoch`` epochs are complete and ``step`` batches of the next one are done;
    ``epoch_rng`` is the shuffle generator's state *before* that epoch's permutation was
    drawn, so the interrupted epoch's order is recomputed exactly.
    """

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    history: list[float] = field(default_factory=list)  # dev main score per finished epoch
    best_score: float = -math.inf
    best_epoch: int = 0
    best_dev: dict[str, Any] = field(default_factory=dict)
    epochs_without_improvement: int = 0
    epoch_loss_sum: float = 0.0
    epoch_examples: int = 0
    skipped_batches: int = 0
    epoch_rng: dict[str, Any] = field(default_factory=dict)
    shuffle_rng: dict[str, Any] = field(default_factory=dict)
    model_rng: dict[str, Any] = field(default_factory=dict)
    train_seconds: float = 0.0
    finished: bool = False

    def end_epoch(self, epoch: int) -> None:
        """Mark ``epoch`` complete and reset the per-epoch counters (the next epoch starts at step 0)."""
        self.epoch, self.step = epoch, 0
        self.epoch_loss_sum, self.epoch_examples, self.skipped_batches = 0.0, 0, 0

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"state": np.array(json.dumps(asdict(self)))}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "TrainerState":
        values = json.loads(str(arrays["state"]))
        return cls(**values)


class _Interrupted(Exception):
    pass


# ----------------------------------------------------------------------------- loop
class Trainer:
    """Runs epochs over a :class:`Prepared` set-up, keeping a :class:`TrainerState`."""

    def __init__(self, prepared: Prepared, state: TrainerState | None = None, stop: StopRequest | None = None) -> None:
        self.p = prepared
        self.config = prepared.config
        self.params = prepared.model.parameters()
        self.state = state or TrainerState()
        self.stop = stop or StopRequest()
        self.on_checkpoint: Any = None  # called with no arguments every checkpoint_every_steps
        self.unk_probability = self.word_dropout_table()

    def word_dropout_table(self) -> np.ndarray | None:
        """Per word id, the probability α/(α + count) of replacing it by <unk> (None when off);
        counts are occurrences in the training data; <pad> and <unk> are never replaced."""
        alpha = self.config.train.word_dropout
        if alpha == 0.0:
            return None
        words = self.p.datasets["train"].features[0]
        centre = words[:, words.shape[1] // 2]
        counts = np.bincount(centre, minlength=len(self.p.encoder.vocab)).astype(np.float64)
        probability = np.where(counts > 0, alpha / (alpha + counts), 0.0)
        probability[:2] = 0.0
        return probability.astype(np.float32)

    def drop_words(self, word_ids: np.ndarray) -> None:
        """Word dropout on a batch's (B, w) word ids, in place (the batch is a copy)."""
        hit = self.p.model_rng.random(word_ids.shape, dtype=np.float32) < self.unk_probability[word_ids]
        word_ids[hit] = self.p.encoder.vocab.unk_id

    def epoch_order(self) -> np.ndarray:
        """This epoch's example order; remembers the generator state it was drawn from."""
        n = len(self.p.datasets["train"])
        if not self.config.train.shuffle:
            return np.arange(n)
        rng = self.p.shuffle_rng
        if self.state.step == 0:
            self.state.epoch_rng = rng.bit_generator.state
        else:  # resuming inside an epoch: redraw the same permutation
            rng.bit_generator.state = self.state.epoch_rng
        return rng.permutation(n)

    def train_epoch(self, epoch: int, progress_every: int) -> Iterator[StepDone]:
        """One pass over the shuffled training set (from ``state.step`` on when resuming);
        yields a StepDone every ``progress_every`` steps.  The last event's ``loss`` is the
        mean J of the epoch."""
        config, model, optimizer, schedule = self.config, self.p.model, self.p.optimizer, self.p.schedule
        state = self.state
        data = self.p.datasets["train"]
        batch_size = config.train.batch_size
        order = self.epoch_order()
        steps = math.ceil(len(order) / batch_size)
        clip = config.optimizer.clip_norm
        every = config.train.checkpoint_every_steps
        lr = schedule.lr(epoch - 1, state.global_step, state.history)
        started, seen_here = time.perf_counter(), 0
        for step in range(state.step, steps):
            index = order[step * batch_size:(step + 1) * batch_size]
            features, targets = data.batch(index)
            if self.unk_probability is not None:
                self.drop_words(features[0])
            if schedule.per_step:
                lr = schedule.lr(epoch - 1, state.global_step, state.history)
            with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are handled below
                loss, _ = model.loss_and_grads(features, targets, train=True)
                norm = global_norm(self.params)
            if math.isfinite(loss) and math.isfinite(norm):
                if clip is not None:
                    clip_global_norm(self.params, clip, norm)
                optimizer.step(lr)
                state.epoch_loss_sum += loss * len(index)
                state.epoch_examples += len(index)
            elif config.train.on_nonfinite == "skip_batch":
                state.skipped_batches += 1
            else:
                what = "loss" if not math.isfinite(loss) else "gradient norm"
                raise TrainingDiverged(
                    f"training diverged: the {what} is {loss if what == 'loss' else norm} at epoch {epoch}, "
                    f"step {step + 1} (lr {lr:.3g}); lower optimizer.lr or set optimizer.clip_norm "
                    "(last.npz and best.npz hold the last good epoch)"
                )
            state.global_step += 1
            state.step = step + 1
            seen_here += len(index)
            if every and state.step % every == 0 and state.step < steps and self.on_checkpoint:
                self.on_checkpoint()
            if (step + 1) % progress_every == 0 or step + 1 == steps:
                elapsed = time.perf_counter() - started
                mean = state.epoch_loss_sum / max(1, state.epoch_examples)
                yield StepDone(epoch, step + 1, steps, mean, lr, seen_here / max(elapsed, 1e-9))
            if self.stop.requested and step + 1 < steps:
                raise _Interrupted()

    def evaluate(self, split: str) -> dict[str, Any]:
        p = self.p
        config = self.config
        result = evaluate_encoded(p.model, p.encoder, p.corpora[split], p.datasets[split],
                                  config.train.eval_batch_size, config.evaluation.decode, config.data.scheme)
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


class Run:
    """One run folder being trained: writes checkpoints, metrics and the summary."""

    def __init__(self, prepared: Prepared, run_dir: Path, trainer: Trainer) -> None:
        self.p = prepared
        self.run_dir = run_dir
        self.trainer = trainer
        trainer.on_checkpoint = self.save_last

    def save(self, name: str, resumable: bool) -> None:
        p, state = self.p, self.trainer.state
        if resumable:
            state.shuffle_rng = p.shuffle_rng.bit_generator.state
            state.model_rng = p.model_rng.bit_generator.state
        save_checkpoint(
            self.run_dir / name, p.config, p.encoder, p.model,
            optimizer_arrays=p.optimizer.state_arrays() if resumable else None,
            trainer_arrays=state.to_arrays() if resumable else None,
        )

    def save_last(self) -> None:
        self.save("last.npz", resumable=True)

    def events(self) -> Iterator[Event]:
        p, trainer, state = self.p, self.trainer, self.trainer.state
        config, datasets = p.config, p.datasets
        epochs, steps = config.train.epochs, p.steps_per_epoch
        resumed_at = (state.epoch, state.step) if state.global_step else None
        yield RunStarted(
            self.run_dir, config, len(datasets["train"]), len(datasets.get("dev", ())), len(datasets.get("test", ())),
            len(p.encoder.vocab), list(p.encoder.tagset.tags), p.model.count_parameters(), p.coverage, epochs, steps,
            p.load_seconds, resumed_at,
        )
        progress_every = max(1, steps // 50)
        patience = config.train.patience
        stopped_early = patience is not None and state.epochs_without_improvement >= patience
        while state.epoch < epochs and not stopped_early:
            epoch = state.epoch + 1
            lr = p.schedule.lr(epoch - 1, state.global_step, state.history)
            yield EpochStarted(epoch, epochs, steps, lr, state.step)
            started = time.perf_counter()
            last: StepDone | None = None
            try:
                for event in trainer.train_epoch(epoch, progress_every):
                    last = event
                    yield event
            except _Interrupted:
                state.train_seconds += time.perf_counter() - started
                self.save_last()
                yield RunInterrupted(self.run_dir, int(trainer.stop.signal or signal.SIGINT), epoch, state.step)
                return
            seconds = time.perf_counter() - started
            state.train_seconds += seconds
            record, is_best = self.finish_epoch(epoch, last, seconds)
            if patience is not None and state.epochs_without_improvement >= patience:
                stopped_early = True
            yield EpochDone(record, is_best)
            if self.trainer.stop.requested and state.epoch < epochs and not stopped_early:
                yield RunInterrupted(self.run_dir, int(trainer.stop.signal), state.epoch, 0)
                return
        state.finished = True
        self.save_last()
        yield RunDone(self.run_dir, self.finish(stopped_early))

    def finish_epoch(self, epoch: int, last: StepDone | None, seconds: float) -> tuple[dict[str, Any], bool]:
        """Score dev, update best/patience, write the metrics row and checkpoints.
        Returns the metrics.jsonl row and whether this epoch is the best so far."""
        p, state, config = self.p, self.trainer.state, self.p.config
        n_train = len(p.datasets["train"])
        record: dict[str, Any] = {
            "epoch": epoch,
            "lr": last.lr if last else p.schedule.lr(epoch - 1, state.global_step, state.history),
            "train_loss": state.epoch_loss_sum / max(1, state.epoch_examples),
            "epoch_seconds": seconds,
            "tokens_per_second": n_train / seconds if seconds > 0 else 0.0,
        }
        if state.skipped_batches:
            record["skipped_batches"] = state.skipped_batches
        dev_metrics: dict[str, Any] = {}
        if "dev" in p.datasets:
            dev_metrics = self.trainer.evaluate("dev")
            _, score = main_score(dev_metrics)
            record.update(flatten_metrics("dev", dev_metrics))
            record["dev_score"] = score
        else:
            score = float(epoch)
        state.history.append(score)
        is_best = score > state.best_score + (config.train.min_delta if state.best_epoch else 0.0)
        if is_best:
            state.best_score, state.best_epoch, state.best_dev = score, epoch, dev_metrics
            state.epochs_without_improvement = 0
        else:
            state.epochs_without_improvement += 1
        state.end_epoch(epoch)
        with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        write_metrics_csv(read_metrics(self.run_dir), self.run_dir / "metrics.csv")
        if is_best:
            self.save("best.npz", resumable=False)
        self.save_last()
        return record, is_best

    def finish(self, stopped_early: bool) -> dict[str, Any]:
        p, state, config = self.p, self.trainer.state, self.p.config
        has_dev = "dev" in p.datasets
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
        }
        if "test" in p.datasets:
            restore_parameters(self.run_dir / "best.npz", p.model)  # training is over: score the best epoch
            summary["test"] = self.trainer.evaluate("test")
        (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        return summary


def environment(config: Config) -> dict[str, Any]:
    """What a reproduction needs besides the config: seed and package versions."""
    import platform

    import pydantic

    return {
        "seed": config.seed,
        "wintrain": __version__,
        "numpy": np.__version__,
        "pydantic": pydantic.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "started": datetime.now().isoformat(timespec="seconds"),
    }


def run(
    config: Config, run_dir: Path | None = None, force: bool = False, stop: StopRequest | None = None
) -> Iterator[Event]:
    """Train as the config says, yielding progress events; writes the run folder.

    Run folder: config.yaml (resolved), metrics.jsonl (one row per epoch), last.npz
    (resumable: parameters, optimizer and loop state), best.npz (best dev score; every
    epoch's improvement when there is no dev set) and summary.json.
    """
    prepared = prepare(config)
    run_dir = make_run_dir(Path(run_dir or config.output.dir or default_run_dir(config)), force)
    (run_dir / "config.yaml").write_text(dump_config(config), encoding="utf-8")
    (run_dir / "environment.json").write_text(json.dumps(environment(config), indent=2) + "\n", encoding="utf-8")
    yield from Run(prepared, run_dir, Trainer(prepared, stop=stop)).events()


def resume(run_dir: Path, stop: StopRequest | None = None) -> Iterator[Event]:
    """Continue the run in ``run_dir`` from its ``last.npz`` (config from its config.yaml)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise WintrainError(f"{run_dir}: not a run folder (no config.yaml); pass the folder a training run wrote")
    if not (run_dir / "last.npz").is_file():
        raise WintrainError(f"{run_dir}: no last.npz to resume from (the run stopped before its first checkpoint); "
                            "start it again with wintrain train")
    config = load_config(run_dir / "config.yaml")
    saved = load_checkpoint(run_dir / "last.npz")
    if "state" not in saved.trainer_arrays:
        raise WintrainError(f"{run_dir / 'last.npz'}: holds no training state to resume from")
    if saved.config.to_dict() != config.to_dict():
        raise WintrainError(f"{run_dir}: config.yaml differs from the config stored in last.npz; restore config.yaml")
    prepared = prepare(config, saved)
    where = run_dir / "last.npz"
    try:
        prepared.model.load_state(saved.model_arrays)
        prepared.optimizer.load_state_arrays(saved.optimizer_arrays)
    except (KeyError, ValueError) as error:
        raise WintrainError(f"{where}: checkpoint does not match its config ({error})") from None
    state = TrainerState.from_arrays(saved.trainer_arrays)
    if state.finished:
        raise WintrainError(f"{run_dir}: this run already finished ({state.epoch} epochs); "
                            "to train longer, start a new run with more train.epochs")
    prepared.shuffle_rng.bit_generator.state = state.shuffle_rng
    prepared.model_rng.bit_generator.state = state.model_rng
    keep_metrics_rows(run_dir / "metrics.jsonl", state.epoch)
    (run_dir / "summary.json").unlink(missing_ok=True)
    yield from Run(prepared, run_dir, Trainer(prepared, state, stop)).events()


def keep_metrics_rows(path: Path, epochs: int) -> None:
    """Drop metrics rows of epochs after the checkpoint (a crash may have written one more)."""
    if not path.exists():
        return
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = [line for line in rows if json.loads(line).get("epoch", 0) <= epochs]
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def train(config: Config, run_dir: Path | None = None, force: bool = False) -> dict[str, Any]:
    """Train without showing progress; return the summary (also written to summary.json)."""
    summary: dict[str, Any] = {}
    for event in run(config, run_dir, force):
        if isinstance(event, RunDone):
            summary = event.summary
    return summary
