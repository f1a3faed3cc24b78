"""The window classifier: the CS224n lecture 3–4 model as a list of graph nodes.

    ids of each feature (B, w) ──lookup──▶ (B, w, d_f) ──concat──▶ x (B, w·D)
        ──▶ [affine ─▶ nonlinearity (─▶ dropout)] × len(hidden) ──▶ affine ──▶ logits (B, C)
        ──▶ softmax cross-entropy, or the sentence-level log-likelihood with learned
            tag transitions (loss sll)   (+ L2: λ·Σθ² over the weight matrices)

The network *is* its list of layers, :attr:`WindowClassifier.layers`: forward runs them in order,
backward in reverse, and everything that looks at the model — ``graph``, the profiler, the fast
inference, ``gradcheck``, the ensemble — iterates that list.

A *feature* is one id per word looked up in its own table: the word itself (pretrained vectors),
optionally its casing class and affixes; and optionally the word's characters, a convolution over
them max-pooled into one vector per word (CharWNN).  All arrays are ``dtype`` (float32 for training,
float64 for gradient checks).  ``kernels`` chooses the textbook nodes or their fast twins
(:mod:`wintrain.kernels`); the numbers are the same up to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import wintrain.kernels.chars
import wintrain.kernels.layers
import wintrain.kernels.sll  # noqa: F401  (these three register the fast twins of this module's nodes)
from wintrain.data.dataset import Feature, FeatureBatch
from wintrain.kernels import pick
from wintrain.kernels.layers import FlatParameters
from wintrain.nn.activations import ACTIVATIONS
from wintrain.nn.chars import CharCNN, CharFeature
from wintrain.nn.init import INITIALIZERS
from wintrain.nn.layers import (
    Affine,
    Dropout,
    Embedding,
    L2Penalty,
    Layer,
    Parameter,
    SoftmaxCrossEntropy,
    WindowConcat,
    WindowFeature,
)
from wintrain.nn.sll import SentenceLoss


@dataclass
class FeatureTable:
    """An embedding table for one per-word feature.  table: (V, d)."""

    name: str
    table: np.ndarray
    trainable: bool = True
    dense_updates: bool = False


@dataclass
class ModelSpec:
    """Everything that shapes the graph (what a checkpoint needs to rebuild it)."""

    window_size: int
    n_classes: int
    hidden: list[int]
    activation: str = "tanh"
    activation_params: dict[str, Any] = field(default_factory=dict)
    init: str = "xavier_uniform"
    init_params: dict[str, Any] = field(default_factory=dict)
    bias_init: str = "zeros"
    bias_init_params: dict[str, Any] = field(default_factory=dict)
    dropout: float = 0.0
    l2: float = 0.0
    l2_embeddings: bool = False
    loss: str = "cross_entropy"  # or "sll"


class WindowClassifier:
    """The graph above: ``layers`` from the window to the logits, then ``loss`` and the ``l2`` term.

    ``parameters()`` lists every trainable array with its gradient, embeddings first.  With
    ``kernels="fast"`` the nodes are the fast twins and the dense parameters share one flat buffer
    (:attr:`flat`, for the fast optimizers); ``prefix`` starts every parameter name (an ensemble's
    ``member2.``).
    """

    def __init__(
        self,
        spec: ModelSpec,
        features: list[FeatureTable],
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float32,
        chars: CharCNN | None = None,
        kernels: str = "fast",
        prefix: str = "",
    ) -> None:
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.kernels = kernels
        lookups: list[WindowFeature] = [
            pick(Embedding, kernels)(f"embed.{f.name}", f.table.astype(self.dtype, copy=False), f.trainable,
                                     f.dense_updates)
            for f in features
        ]
        if chars is not None:
            lookups.append(pick(CharFeature, kernels)(chars))
        concat = pick(WindowConcat, kernels)(lookups, spec.window_size, self.dtype)
        weight_init = INITIALIZERS.build(spec.init, spec.init_params, "model.init")
        bias_init = INITIALIZERS.build(spec.bias_init, spec.bias_init_params, "model.bias_init")

        self.layers: list[Layer] = [concat]
        if spec.dropout:
            self.layers.append(Dropout(spec.dropout, rng, "dropout.input", group="input"))
        n_in = concat.output_dim
        for depth, n_out in enumerate(spec.hidden, start=1):
            self.layers.append(Affine(f"hidden{depth}", weight_init((n_in, n_out), rng, self.dtype),
                                      bias_init((n_out,), rng, self.dtype)))
            activation = ACTIVATIONS.build(
                spec.activation, spec.activation_params, "model.activation",
                size=n_out, dtype=self.dtype, name=f"hidden{depth}.{spec.activation}",
            )
            activation.group, activation.kind = f"hidden{depth}", spec.activation
            self.layers.append(activation)
            if spec.dropout:
                self.layers.append(Dropout(spec.dropout, rng, f"dropout.hidden{depth}", group=f"hidden{depth}"))
            n_in = n_out
        self.layers.append(Affine("output", weight_init((n_in, spec.n_classes), rng, self.dtype),
                                  bias_init((spec.n_classes,), rng, self.dtype)))
        self.loss: SoftmaxCrossEntropy | SentenceLoss = (
            pick(SentenceLoss, kernels)(spec.n_classes, self.dtype) if spec.loss == "sll"
            else pick(SoftmaxCrossEntropy, kernels)()
        )
        first_affine = next(layer for layer in self.layers if isinstance(layer, Affine))
        first_affine.needs_input_grad = concat.needs_input_grad  # frozen features: no ∂J/∂x to compute
        for param in self.named_arrays():
            param.name = prefix + param.name
        decayed = [p for p in self.parameters() if p.decay]
        if spec.l2_embeddings:
            decayed += [f.table for f in self.features if f.trainable]
        self.l2 = L2Penalty(spec.l2, decayed)
        dense = [p for p in self.parameters() if not p.sparse]
        self.flat = FlatParameters(dense, prefix + "dense") if dense and kernels == "fast" else None

    @property
    def concat(self) -> WindowConcat:
        """The first node: the window of every feature's vectors."""
        return self.layers[0]  # type: ignore[return-value]

    @property
    def features(self) -> list[WindowFeature]:
        """The per-word feature nodes of the window (lookups, characters)."""
        return self.concat.features

    @property
    def networks(self) -> list[WindowClassifier]:
        """The networks this model is made of: itself (an :class:`~wintrain.nn.ensemble.Ensemble` has K)."""
        return [self]

    def parameters(self) -> list[Parameter]:
        """All trainable parameters, embeddings first, in the order of the layers, then the loss's."""
        return [param for layer in self.layers for param in layer.parameters()] + self.loss.parameters()

    def named_arrays(self) -> list[Parameter]:
        """Every array that defines the model: the trainable parameters and the frozen tables."""
        frozen = [f.table for f in self.features if not f.trainable]
        return frozen + self.parameters()

    @property
    def sentence_level(self) -> bool:
        """Whether the loss scores whole sentences (batches must then be whole sentences)."""
        return self.spec.loss == "sll"

    def forward(self, feature_ids: list[FeatureBatch], train: bool = False) -> np.ndarray:
        """feature_ids: one (B, w) int array per feature (a CharBatch for chars) → logits (B, C)."""
        x: Any = feature_ids
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def backward(self, dlogits: np.ndarray) -> None:
        """dlogits: (B, C).  Fills every parameter's gradient (data term only)."""
        grad: Any = dlogits
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
            if grad is None:  # the first affine skips ∂J/∂x when no feature learns
                break

    def data_loss(
        self, feature_ids: list[FeatureBatch], targets: np.ndarray, lengths: np.ndarray | None = None,
        train: bool = False,
    ) -> float:
        """The loss of a batch without the L2 term: mean cross-entropy, or for an sll model the
        per-token NLL of the sentences whose lengths (S,) are given (they cover the B windows)."""
        if self.sentence_level and lengths is None:
            raise ValueError("an sll model needs the sentence lengths of its batch")
        return self.loss.forward(self.forward(feature_ids, train), targets, lengths)

    def loss_and_grads(
        self, feature_ids: list[FeatureBatch], targets: np.ndarray, train: bool = True,
        lengths: np.ndarray | None = None,
    ) -> tuple[float, float]:
        """One training step's forward and backward pass.

        feature_ids: one (B, w) id array per feature; targets: (B,) tag ids; lengths: (S,) the
        lengths of the whole sentences the batch holds, back to back (sll models only).
        Returns (J, data loss) with J = data loss + λ·Σθ², and leaves ∂J/∂θ in each
        parameter's ``grad``.
        """
        data_loss = self.data_loss(feature_ids, targets, lengths, train)
        self.backward(self.loss.backward())
        penalty = self.l2.forward()
        self.l2.backward()
        return data_loss + penalty, data_loss

    def gradient_blocks(self) -> list[Parameter]:
        """The arrays that hold this network's gradients: its flat buffer (fast kernels) and every
        parameter outside it — what a scale or a norm of the whole gradient runs over."""
        if self.flat is None:
            return self.parameters()
        return [self.flat.parameter] + [p for p in self.parameters() if p.flat is None]

    def state(self) -> dict[str, np.ndarray]:
        """Every array that defines the model (embedding tables even when frozen), by name."""
        return {param.name: param.value for param in self.named_arrays()}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays saved by :meth:`state` into this model (shapes must match)."""
        for param in self.named_arrays():
            value = arrays[param.name]
            if value.shape != param.value.shape:
                raise ValueError(f"{param.name}: saved shape {value.shape} != model shape {param.value.shape}")
            param.value[...] = value

    def count_parameters(self) -> int:
        return sum(p.size for p in self.parameters())


def predict_scores(network: WindowClassifier, features: list[Feature], batch_size: int = 8192) -> np.ndarray:
    """Logits (N, C) of the N windows of a data set's features: the network's forward pass in
    inference mode, ``batch_size`` windows at a time (the fast twin is
    :func:`wintrain.kernels.inference.gathered_scores`)."""
    n = features[0].shape[0] if features else 0
    scores = np.empty((n, network.spec.n_classes), dtype=network.dtype)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        scores[start:stop] = network.forward([feature[start:stop] for feature in features], train=False)
    return scores
