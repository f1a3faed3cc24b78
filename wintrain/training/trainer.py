"""The trainer: one set-up (:func:`prepare`), one training step (:meth:`Trainer.step`), epochs of steps.

:func:`prepare` loads everything a config names (data, vectors, model, optimizer, schedule)
and raises a :class:`~wintrain.errors.WintrainError` before anything is written.
:meth:`Trainer.step` is *the* training step — word dropout, forward and backward pass,
non-finite check, gradient clipping, optimizer update — used alike by training epochs, the
LR range test and the profiler.  The hot path is vectorised float32 NumPy: one gather, a few
matrix products and a sparse row update per mini-batch, no Python loop per example.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import wintrain.kernels.optimizers  # noqa: F401  (registers the fast optimizers)
from wintrain.checkpoint import Checkpoint
from wintrain.config import Config
from wintrain.data.dataset import Encoded, Encoder
from wintrain.data.load import load_corpora, load_encoder_and_vectors, to_model_tags, training_scheme
from wintrain.data.reader import Corpus
from wintrain.data.tags import TagScheme
from wintrain.data.ud import MultiwordLexicon, read_ud_file
from wintrain.errors import TrainingDiverged
from wintrain.evaluation.decode import resolve_decode
from wintrain.evaluation.evaluate import evaluate_encoded
from wintrain.nn.build import TableCoverage, build_model
from wintrain.nn.ensemble import Model
from wintrain.nn.layers import Parameter
from wintrain.training.diagnostics import Diagnostics
from wintrain.training.events import StepDone, StopRequest
from wintrain.training.optimizers import OPTIMIZERS, Optimizer, clip_global_norm, global_norm
from wintrain.training.schedules import SCHEDULES, Schedule


# ----------------------------------------------------------------------------- set-up
@dataclass
class Prepared:
    """Everything loaded and built from a config, before any output is written."""

    config: Config
    encoder: Encoder
    scheme: TagScheme  # how the tags read (resolved once; saved in every checkpoint)
    decode: str  # how dev and test are decoded (evaluation.decode resolved once)
    corpora: dict[str, Corpus]  # "train", "dev", "test" (those configured), in the data's tags
    datasets: dict[str, Encoded]  # encoded in the model's tags
    model: Model
    coverage: TableCoverage | None
    optimizer: Optimizer
    schedule: Schedule
    shuffle_rng: np.random.Generator
    model_rng: np.random.Generator  # initialisation, then dropout masks and word dropout
    load_seconds: float
    lexicon: MultiwordLexicon | None = None  # task: tokenize — multiword tokens → words, learned from train

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
    scheme = saved.scheme if saved else training_scheme(config, corpora["train"])
    learned = {split: to_model_tags(corpus, scheme) for split, corpus in corpora.items()}  # IOBES if asked
    if saved is None:
        encoder, vectors = load_encoder_and_vectors(config, learned["train"], scheme)
    else:
        encoder, vectors = saved.encoder, None
    datasets = {split: encoder.encode(corpus) for split, corpus in learned.items()}
    model, coverage = build_model(config, encoder, model_rng, vectors)
    decode = resolve_decode(config.evaluation.decode, model.sentence_level, scheme.chunks)
    optimizer = build_optimizer(config, model)
    schedule = build_schedule(config, steps_per_epoch=math.ceil(len(datasets["train"]) / config.train.batch_size))
    lexicon = None
    if config.task == "tokenize":
        lexicon = saved.lexicon if saved and saved.lexicon else MultiwordLexicon.learn(read_ud_file(config.data.train))
    return Prepared(config, encoder, scheme, decode, corpora, datasets, model, None if saved else coverage, optimizer,
                    schedule, shuffle_rng, model_rng, time.perf_counter() - started, lexicon)


def check_choices(config: Config) -> None:
    """Check every registry choice of ``config`` — names, parameters and their values — without
    loading data or vectors: whatever choice would stop :func:`prepare` stops here with the same
    one-line WintrainError (``wintrain check``; a sweep before its first trial).

    Names and parameter keys are checked first, so a mistyped key is reported before a bad value
    (a sweep refuses the former; the latter fail only their own trials).  Then the choices are
    built as :func:`prepare` builds them — the model by :func:`~wintrain.nn.build.build_model` over a
    few made-up words, the optimizer and schedule by their registries — which runs each entry's
    own checks of its values (``momentum`` < 1, ``every`` ≥ 1, …); that takes milliseconds."""
    from wintrain.nn.activations import ACTIVATIONS
    from wintrain.nn.gradcheck import synthetic_encoder
    from wintrain.nn.init import INITIALIZERS

    model = config.model
    ACTIVATIONS.check_params(model.activation.name, model.activation.params, config.where("model.activation"))
    for key, choice in (("model.init", model.init), ("model.bias_init", model.bias_init),
                        ("embeddings.unknown_init", config.embeddings.unknown_init)):
        INITIALIZERS.check_params(choice.name, choice.params, config.where(key))
    OPTIMIZERS.check_params(config.optimizer.name, config.optimizer.params, config.where("optimizer"),
                            config.optimizer.declared_keys)
    SCHEDULES.check_params(config.schedule.name, config.schedule.params, config.where("schedule"),
                           config.schedule.declared_keys)

    built, _ = build_model(config, synthetic_encoder(config), np.random.default_rng(config.seed))
    build_optimizer(config, built)
    build_schedule(config, steps_per_epoch=1)


def build_optimizer(config: Config, model: Model) -> Optimizer:
    """The configured optimizer over ``model``'s parameters (its fast twin with ``train.kernels: fast``),
    with its weight averaging."""
    choice = config.optimizer
    optimizer = OPTIMIZERS.build(choice.name, choice.params, config.where("optimizer"), choice.declared_keys,
                                 config.train.kernels, params=model.parameters())
    optimizer.ema_decay = config.optimizer.ema_decay
    return optimizer


def build_schedule(config: Config, steps_per_epoch: int) -> Schedule:
    """The configured learning-rate schedule, from ``optimizer.lr`` over ``train.epochs``."""
    return SCHEDULES.build(config.schedule.name, config.schedule.params, config.where("schedule"),
                           config.schedule.declared_keys, lr0=config.optimizer.lr, steps_per_epoch=steps_per_epoch,
                           epochs=config.train.epochs)


def clipping_groups(model: Model, optimizer: Optimizer) -> list[list[Parameter]]:
    """The optimizer's blocks of each network of ``model``: ``optimizer.clip_norm`` bounds each network's
    gradient on its own.  Member k of an ensemble of K holds (1/K)·∂J_k/∂θ_k, so it is clipped at
    clip_norm/K: exactly where it would be clipped alone, whatever the other members do."""
    if len(model.networks) == 1:
        return [optimizer.blocks]
    groups = [optimizer.blocks_of(network.parameters()) for network in model.networks]
    assert sum(map(len, groups)) == len(optimizer.blocks), "every block belongs to one network"
    return groups


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
    probes: dict[str, list[float]] = field(default_factory=dict)  # this epoch's measured updates (diagnostics)
    scores: list[list[float]] = field(default_factory=list)  # [train score, dev score] per finished epoch
    advice: list[dict[str, Any]] = field(default_factory=list)  # every advice given so far

    def end_epoch(self, epoch: int) -> None:
        """Mark ``epoch`` complete and reset the per-epoch counters (the next epoch starts at step 0)."""
        self.epoch, self.step = epoch, 0
        self.epoch_loss_sum, self.epoch_examples, self.skipped_batches = 0.0, 0, 0
        self.probes = {}

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"state": np.array(json.dumps(asdict(self)))}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TrainerState:
        return cls(**json.loads(str(arrays["state"])))


class Interrupted(Exception):
    """Raised inside an epoch when a :class:`StopRequest` is set (after a finished batch)."""


@dataclass(frozen=True)
class StepResult:
    """One training step: ``loss`` is J of the batch before the update (non-finite when the step
    was skipped), ``applied`` whether the optimizer updated the parameters."""

    loss: float
    gradient_norm: float
    applied: bool


# ----------------------------------------------------------------------------- trainer
class Trainer:
    """Runs training steps and epochs over a :class:`Prepared` set-up, keeping a :class:`TrainerState`."""

    def __init__(self, prepared: Prepared, state: TrainerState | None = None, stop: StopRequest | None = None) -> None:
        self.prepared = prepared
        self.config = prepared.config
        self.blocks = prepared.optimizer.blocks  # what the gradient norm runs over
        self.clip_groups = clipping_groups(prepared.model, prepared.optimizer)
        self.state = state or TrainerState()
        self.stop = stop or StopRequest()
        self.on_checkpoint: Any = None  # called with no arguments every checkpoint_every_steps
        self.unk_probability = self.word_dropout_table()
        self.diagnostics: Diagnostics | None = None  # set by a run with train.diagnostics (it measures updates)

    def word_dropout_table(self) -> np.ndarray | None:
        """Per word id, the probability α/(α + count) of replacing it by <unk> (None when off);
        counts are occurrences in the training data; <pad> and <unk> are never replaced."""
        alpha = self.config.train.word_dropout
        if alpha == 0.0:
            return None
        words = self.prepared.datasets["train"].features[0]
        assert isinstance(words, np.ndarray)
        centre = words[:, words.shape[1] // 2]
        counts = np.bincount(centre, minlength=len(self.prepared.encoder.vocab)).astype(np.float64)
        probability = np.where(counts > 0, alpha / (alpha + counts), 0.0)
        probability[:2] = 0.0
        return probability.astype(np.float32)

    def drop_words(self, word_ids: np.ndarray) -> None:
        """Word dropout on a batch's (B, w) word ids, in place (the batch is a copy)."""
        assert self.unk_probability is not None
        hit = self.prepared.model_rng.random(word_ids.shape, dtype=np.float32) < self.unk_probability[word_ids]
        word_ids[hit] = self.prepared.encoder.vocab.unk_id

    def step(self, index: np.ndarray, lr: float) -> StepResult:
        """Train on the examples ``index`` (B,) with learning rate ``lr``.

        A non-finite loss or gradient skips the update (``train.on_nonfinite: skip_batch``) or
        raises :class:`~wintrain.errors.TrainingDiverged` (``stop``, the default).
        """
        data = self.prepared.datasets["train"]
        features, targets = data.batch(index)
        if self.unk_probability is not None:
            assert isinstance(features[0], np.ndarray)
            self.drop_words(features[0])
        assert targets is not None
        lengths = data.sentence_lengths(index) if self.prepared.model.sentence_level else None
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are handled below
            loss, _ = self.prepared.model.loss_and_grads(features, targets, train=True, lengths=lengths)
            norm = global_norm(self.blocks)
        if math.isfinite(loss) and math.isfinite(norm):
            diagnostics = self.diagnostics
            probe = diagnostics.before_update() if diagnostics and diagnostics.probing(
                self.state.step, self.prepared.steps_per_epoch) else None
            clip = self.config.optimizer.clip_norm
            if clip is not None:
                if len(self.clip_groups) == 1:
                    clip_global_norm(self.blocks, clip, norm)
                else:
                    for blocks in self.clip_groups:
                        clip_global_norm(blocks, clip / len(self.clip_groups))
            self.prepared.optimizer.step(lr)
            if diagnostics is not None and probe is not None:
                diagnostics.after_update(probe, self.state.probes)
            return StepResult(loss, norm, True)
        if self.config.train.on_nonfinite == "skip_batch":
            return StepResult(loss, norm, False)
        what, value = ("loss", loss) if not math.isfinite(loss) else ("gradient norm", norm)
        raise TrainingDiverged(
            f"training diverged: the {what} is {value} at epoch {self.state.epoch + 1}, step {self.state.step + 1} "
            f"(lr {lr:.3g}); lower optimizer.lr or set optimizer.clip_norm"
        )

    def epoch_order(self, n: int) -> np.ndarray:
        """This epoch's order of ``n`` items (shuffled when configured); remembers the generator
        state it was drawn from, so a resumed epoch redraws the same order."""
        if not self.config.train.shuffle:
            return np.arange(n)
        rng = self.prepared.shuffle_rng
        if self.state.step == 0:
            self.state.epoch_rng = dict(rng.bit_generator.state)
        else:  # resuming inside an epoch: redraw the same permutation
            rng.bit_generator.state = self.state.epoch_rng
        return rng.permutation(n)

    def endless_batches(self) -> Iterator[np.ndarray]:
        """The batches of one epoch after another, without end (the LR range test, the profiler)."""
        while True:
            yield from self.epoch_batches()

    def epoch_batches(self) -> list[np.ndarray]:
        """This epoch's batches of example (window) indices.

        Cross-entropy: ``train.batch_size`` windows each, in a shuffled order.  SLL: whole
        sentences in a shuffled order, filled sentence by sentence — a sentence joins batch k
        when it starts in tokens [k·B, (k+1)·B) of the shuffled stream, so a batch holds about
        B tokens and no sentence is split.
        """
        data, size = self.prepared.datasets["train"], self.config.train.batch_size
        if not self.prepared.model.sentence_level:
            order = self.epoch_order(len(data))
            return [order[start:start + size] for start in range(0, len(order), size)]
        starts = data.sentence_starts
        lengths = np.diff(starts)
        order = self.epoch_order(len(lengths))
        ordered = lengths[order]
        offsets = np.cumsum(ordered) - ordered  # where each sentence starts in the shuffled stream
        tokens = np.repeat(starts[:-1][order] - offsets, ordered) + np.arange(int(ordered.sum()))
        batch_of_sentence = offsets // size
        sentence_counts = np.bincount(batch_of_sentence)
        token_counts = np.bincount(batch_of_sentence, weights=ordered).astype(np.int64)
        bounds = np.cumsum(token_counts[sentence_counts > 0])[:-1]
        return np.split(tokens, bounds)

    def train_epoch(self, epoch: int, progress_every: int) -> Iterator[StepDone]:
        """One pass over the shuffled training set (from ``state.step`` on when resuming);
        yields a StepDone every ``progress_every`` steps.  The last event's ``loss`` is the
        mean J of the epoch."""
        schedule, state = self.prepared.schedule, self.state
        batches = self.epoch_batches()
        steps = len(batches)
        every = self.config.train.checkpoint_every_steps
        lr = schedule.lr(epoch - 1, state.global_step, state.history)
        started, seen_here = time.perf_counter(), 0
        for step in range(state.step, steps):
            index = batches[step]
            if schedule.per_step:
                lr = schedule.lr(epoch - 1, state.global_step, state.history)
            result = self.step(index, lr)
            if result.applied:
                state.epoch_loss_sum += result.loss * len(index)
                state.epoch_examples += len(index)
            else:
                state.skipped_batches += 1
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
                raise Interrupted()

    def evaluate(self, split: str, averaged: bool = True) -> dict[str, Any]:
        """The metrics of the current model on a configured split ("dev" or "test"), with the
        parameters' moving average when ``optimizer.ema_decay`` is set and ``averaged``."""
        prepared, config = self.prepared, self.config
        with prepared.optimizer.averaged() if averaged else nullcontext():
            result = evaluate_encoded(prepared.model, prepared.encoder, prepared.scheme, prepared.corpora[split],
                                      prepared.datasets[split], prepared.decode, config.train.eval_batch_size,
                                      config.train.kernels)
        return result.metrics
