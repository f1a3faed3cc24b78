"""See inside training: the lecture's diagnostics, measured every epoch on fixed samples, and the advice they trigger.

What goes wrong when a network trains badly is, in the lecture's words, mostly one of these, and each
can be measured cheaply:

* **ReLU units that die**: a unit whose pre-activation is negative on every input gets no gradient and
  never recovers (a learning rate too large pushes many there).  *Dead share* of a ReLU-family layer
  (relu, leaky_relu, prelu, elu, gelu, swish): the fraction of its units never active (z > 0) on the
  sample windows.
* **tanh and sigmoid units that saturate**, where the derivative vanishes: weights initialised too
  large, or a learning rate too high.  *Saturated share* of a sigmoid, tanh or hardtanh layer: the
  fraction of (input, unit) pairs of the sample whose derivative is below :data:`DERIVATIVE_BELOW`.
* **weights initialised too small**: activations that barely vary (*act_std*).
* **a learning rate too large or too small**: the *update/weight ratio* ‖Δθ‖/‖θ‖ of each weight matrix,
  embedding table and transition matrix, measured on a few training steps per epoch (for an embedding
  table over the rows the batch updated).
* **a model that overfits**: the training score (on a fixed sample of training sentences, decoded and
  scored like dev) pulls away from the dev score.

The samples are drawn once from their own generator (seeded by ``seed``), so measuring changes nothing
in training (resume stays bit-identical), and cost a few per cent of an epoch.  ``train.diagnostics:
false`` turns them off.  Each advice (:func:`advise`) is one line, given once per run, and kept in the
run's ``summary.json``.

Thresholds (chosen so that the tuned shipped configs trigger none; the CS224n reference config, with no
dropout, gets the overfitting advice, as its dev score peaks at epoch 6 of 10):

* saturated: derivative below 0.01 on more than half of a layer's (input, unit) pairs;
* dead: a quarter or more of a layer's units never active on the 1,024 sample windows;
* update/weight ratio of a weight matrix (or the transitions) above 0.1 on any of the 8 measured
  steps of the epoch (learning rate too high), or below 1e-5 in their median (too low); a parameter
  that starts at zero (the transitions) is judged from the second epoch on, as its first updates are
  large next to its own small norm (``from_zero`` in the epoch's diagnostics);
* activations with a standard deviation below 0.01 (at initialisation, and after each epoch);
* overfitting: training score minus dev score above 0.05 (5 points), larger than at each of the two
  epochs before, while dev is below its best; the training score is measured on about 4,000 tokens of
  whole training sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wintrain.data.reader import Corpus
from wintrain.evaluation.evaluate import evaluate_encoded, main_score
from wintrain.nn.activations import Activation
from wintrain.nn.layers import Affine, Parameter
from wintrain.nn.model import WindowClassifier

DERIVATIVE_BELOW = 0.01  # a unit is saturated on an input where its derivative f'(z) is below this
SATURATED_SHARE = 0.5  # advice: more than half of a layer's (input, unit) pairs saturated
DEAD_SHARE = 0.25  # advice: a quarter or more of a ReLU-family layer's units never active on the sample
UPDATE_RATIO_HIGH = 0.1  # advice: a weight matrix or table changes by more than 10 % of its norm per step
UPDATE_RATIO_LOW = 1e-5  # advice: ... by less than 1e-5 of its norm per step
TINY_ACTIVATIONS = 0.01  # advice: a layer's activations have a spread (std) below this after epoch 1
OVERFIT_GAP = 0.05  # advice: the training score exceeds dev by 5 points and the gap grew two epochs running

SAMPLE_WINDOWS = 1024  # training windows the activations are measured on
SAMPLE_TOKENS = 4000  # tokens of whole training sentences the training score is measured on
PROBES_PER_EPOCH = 8  # training steps per epoch whose updates are measured

SATURATING = ("sigmoid", "tanh", "hardtanh")
RECTIFYING = ("relu", "leaky_relu", "prelu", "elu", "gelu", "swish")

@dataclass(frozen=True)
class Advice:
    """One line of advice: ``kind`` (dead_units, saturated, tiny_activations, update_high, update_low,
    overfitting), the layer or parameter it is about (``subject``, empty for the whole model), the epoch."""

    epoch: int
    kind: str
    subject: str
    message: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    def to_json(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "kind": self.kind, "subject": self.subject, "message": self.message}


def watched(network: WindowClassifier) -> list[Parameter]:
    """The parameter groups whose norms and update ratios are measured: every weight matrix, the
    embedding tables and the transitions (the L2-decayed parameters and the tables), not the biases."""
    tables = {id(param) for feature in network.features for param in feature.parameters()
              if param is getattr(feature, "table", None)}
    return [param for param in network.parameters() if param.decay or id(param) in tables]


class Diagnostics:
    """The samples of one run and the measurements taken on them (see the module docstring).

    ``prepared`` is the run's :class:`~wintrain.training.trainer.Prepared` set-up (typed loosely: this
    module sits beside the trainer)."""

    def __init__(self, prepared: Any, seed: int) -> None:
        self.prepared = prepared
        rng = np.random.default_rng([seed, 0x5EE])  # its own stream: training's generators are untouched
        train = prepared.datasets["train"]
        self.windows = np.sort(rng.choice(len(train), size=min(SAMPLE_WINDOWS, len(train)), replace=False))
        corpus: Corpus = prepared.corpora["train"]
        order = rng.permutation(corpus.n_sentences)
        lengths = np.diff(corpus.sentence_starts)[order]
        chosen = np.sort(order[:max(1, int(np.searchsorted(np.cumsum(lengths), SAMPLE_TOKENS)) + 1)])
        self.corpus = corpus.subset(chosen)
        self.encoded = train.subset(chosen)
        self.params = [param for network in prepared.model.networks for param in watched(network)]

    def probing(self, step: int, steps: int) -> bool:
        """Whether step ``step`` (0-based) of an epoch of ``steps`` is one whose update is measured: the
        first of each eighth of the epoch."""
        return step % max(1, steps // PROBES_PER_EPOCH) == 0

    def before_update(self) -> list[tuple[Parameter, np.ndarray | None, np.ndarray, float]]:
        """Each watched parameter's rows about to change, a copy of their values and its gradient norm
        (taken before clipping)."""
        snapshot = []
        for param in self.params:
            rows = param.rows if param.sparse else None
            values = param.value[rows] if rows is not None else param.value.copy()
            snapshot.append((param, rows, values, float(np.linalg.norm(param.grad))))
        return snapshot

    def after_update(self, snapshot: list[tuple[Parameter, np.ndarray | None, np.ndarray, float]],
                     probes: dict[str, list[float]]) -> None:
        """Record each parameter's ‖Δθ‖/‖θ‖ of the step just taken (and its gradient norm) in ``probes``."""
        for param, rows, before, grad_norm in snapshot:
            after = param.value[rows] if rows is not None else param.value
            weight = float(np.linalg.norm(before))
            if weight > 0:
                probes.setdefault(f"{param.name}/ratio", []).append(float(np.linalg.norm(after - before)) / weight)
            else:  # a parameter that starts at zero (the transitions): no ratio, and this epoch is not judged
                probes[f"{param.name}/from_zero"] = [1.0]
            probes.setdefault(f"{param.name}/grad", []).append(grad_norm)

    def layers(self) -> dict[str, Any]:
        """The hidden layers' statistics on the sample windows now (before training: at initialisation)."""
        prepared = self.prepared
        features, _ = prepared.datasets["train"].batch(self.windows)
        layers: dict[str, Any] = {}
        for index, network in enumerate(prepared.model.networks):
            prefix = f"member{index + 1}." if len(prepared.model.networks) > 1 else ""
            layers.update({prefix + name: stats for name, stats in layer_statistics(network, features).items()})
        return layers

    def measure(self, probes: dict[str, list[float]]) -> tuple[float, dict[str, Any]]:
        """The training score on the sample sentences and the diagnostics of the epoch (``probes`` are its
        measured updates): ``{"layers": {name: {...}}, "params": {name: {...}}}``."""
        prepared = self.prepared
        config = prepared.config
        with prepared.optimizer.averaged():
            result = evaluate_encoded(prepared.model, prepared.encoder, prepared.scheme, self.corpus, self.encoded,
                                      prepared.decode, config.train.eval_batch_size, config.train.kernels)
            layers = self.layers()
        params = {}
        for param in self.params:
            ratios, grads = probes.get(f"{param.name}/ratio", []), probes.get(f"{param.name}/grad", [])
            params[param.name] = {
                "grad_norm": float(np.mean(grads)) if grads else None,
                "weight_norm": float(np.linalg.norm(param.value)),
                "update_ratio": float(np.median(ratios)) if ratios else None,
                "update_ratio_max": float(np.max(ratios)) if ratios else None,
                "matrix": param.decay,  # a weight matrix or the transitions (not an embedding table)
                "from_zero": f"{param.name}/from_zero" in probes,
            }
        return main_score(result.metrics)[1], {"layers": layers, "params": params}


def layer_statistics(network: WindowClassifier, features: list[Any]) -> dict[str, dict[str, Any]]:
    """Per hidden layer (an affine node and the nonlinearity after it in the layer list): the mean and
    spread of its pre-activations z and activations f(z) on ``features``, and its saturated share
    (sigmoid, tanh, hardtanh) or dead share (ReLU family).  Runs the layers in inference mode."""
    stats: dict[str, dict[str, Any]] = {}
    x: Any = features
    pre: np.ndarray | None = None
    for layer in network.layers:
        out = layer.forward(x, False)
        if isinstance(layer, Affine):
            pre = out.copy()  # the nonlinearity after it may work in place
        elif isinstance(layer, Activation) and pre is not None:
            name, kind = layer.group, layer.kind
            stats[name] = {
                "activation": kind, "pre_mean": float(pre.mean()), "pre_std": float(pre.std()),
                "act_mean": float(out.mean()), "act_std": float(out.std()),
                "saturated": saturated_share(kind, pre, out), "dead": dead_share(kind, pre),
            }
            pre = None
        x = out
    return stats


def saturated_share(kind: str, pre: np.ndarray, post: np.ndarray) -> float | None:
    """The fraction of (input, unit) pairs whose derivative is below :data:`DERIVATIVE_BELOW`, for the
    saturating nonlinearities (``kind``: the activation's registry name); None for the others."""
    if kind == "sigmoid":
        derivative = post * (1.0 - post)
    elif kind == "tanh":
        derivative = 1.0 - post * post
    elif kind == "hardtanh":
        derivative = ((pre >= -1.0) & (pre <= 1.0)).astype(post.dtype)
    else:
        return None
    return float(np.mean(derivative < DERIVATIVE_BELOW))


def dead_share(kind: str, pre: np.ndarray) -> float | None:
    """The fraction of units never active (z > 0) on any input, for the ReLU family; None for the others."""
    if kind not in RECTIFYING:
        return None
    return float(np.mean(~(pre > 0).any(axis=0)))


def advise_initial(layers: dict[str, Any]) -> list[Advice]:
    """Advice on the initial weights, from the hidden layers' statistics before training (epoch 0)."""
    return [Advice(0, "tiny_activations", name,
                   f"the activations of {name} hardly vary at initialisation (std {layer['act_std']:.2g}): the initial "
                   "weights are too small (model.init; Xavier's Var = 2/(n_in + n_out) keeps them in range)")
            for name, layer in layers.items() if layer["act_std"] < TINY_ACTIVATIONS]


def advise(epoch: int, diagnostics: dict[str, Any], scores: list[tuple[float, float]], best_dev: float,
           score_name: str, config: Any) -> list[Advice]:
    """Every advice the epoch's ``diagnostics`` and the (train, dev) ``scores`` of the epochs so far
    trigger (the caller keeps those already given)."""
    found: list[Advice] = []
    for name, layer in diagnostics.get("layers", {}).items():
        activation = layer.get("activation", "")
        if layer.get("dead") is not None and layer["dead"] >= DEAD_SHARE:
            found.append(Advice(epoch, "dead_units", name,
                                f"{100 * layer['dead']:.0f} % of the units of {name} are dead after epoch {epoch} "
                                f"({activation}: never active on {SAMPLE_WINDOWS} training windows, so they get no "
                                "gradient): lower optimizer.lr, or try leaky_relu"))
        if layer.get("saturated") is not None and layer["saturated"] > SATURATED_SHARE:
            found.append(Advice(epoch, "saturated", name,
                                f"{activation} units of {name} saturated on {100 * layer['saturated']:.0f} % of inputs "
                                f"(derivative below {DERIVATIVE_BELOW}: the gradient vanishes): initial weights too "
                                "large (model.init) or learning rate too high (optimizer.lr)"))
        if epoch >= 1 and layer.get("act_std") is not None and layer["act_std"] < TINY_ACTIVATIONS:
            found.append(Advice(epoch, "tiny_activations", name,
                                f"the activations of {name} hardly vary (std {layer['act_std']:.2g}): initial "
                                "weights too small (model.init), or the layer has stopped learning"))
    lr = config.optimizer.lr
    for name, param in diagnostics.get("params", {}).items():
        ratio, largest = param.get("update_ratio"), param.get("update_ratio_max")
        if ratio is None or largest is None or not param.get("matrix") or param.get("from_zero"):
            continue  # embedding rows move by their own rules; a parameter growing from zero is not judged yet
        if largest > UPDATE_RATIO_HIGH:
            found.append(Advice(epoch, "update_high", name,
                                f"update/weight ratio {largest:.2g} for {name}: optimizer.lr ({lr:g}) is too high "
                                "(a healthy ratio is about 1e-4 to 1e-2 per step)"))
        elif 0 < ratio < UPDATE_RATIO_LOW or (ratio == 0 and param.get("grad_norm")):
            found.append(Advice(epoch, "update_low", name,
                                f"update/weight ratio {ratio:.2g} for {name}: optimizer.lr ({lr:g}) is too low "
                                "(a healthy ratio is about 1e-4 to 1e-2 per step)"))
    if len(scores) >= 3:
        gaps = [train - dev for train, dev in scores[-3:]]
        train, dev = scores[-1]
        if gaps[-1] > OVERFIT_GAP and gaps[-1] > gaps[-2] > gaps[-3] and dev < best_dev:
            found.append(Advice(epoch, "overfitting", "",
                                f"train {score_name} {100 * train:.1f} vs dev {100 * dev:.1f} and the gap is widening "
                                "(the model fits the training set and not the rest): raise loss.l2 or model.dropout, "
                                "or stop earlier (train.patience)"))
    return found
