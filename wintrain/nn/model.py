"""The window classifier: the CS224n lecture 3–4 model as a small computation graph.

    ids of each feature (B, w) ──lookup──▶ (B, w, d_f) ──concat──▶ x (B, w·D)
        ──▶ [affine ─▶ nonlinearity ─▶ dropout] × len(hidden) ──▶ affine ──▶ logits (B, C)
        ──▶ softmax cross-entropy, or the sentence-level log-likelihood with learned
            tag transitions (loss sll)   (+ L2: λ·Σθ² over the weight matrices)

A *feature* is one id per word looked up in its own table: the word itself (pretrained
vectors), optionally its casing class and affixes; and optionally the word's characters, a
convolution over them max-pooled into one vector per word (CharWNN).  All arrays are
``dtype`` (float32 for training, float64 for gradient checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wintrain.data.dataset import Feature, FeatureBatch
from wintrain.nn.activations import ACTIVATIONS
from wintrain.nn.chars import CharCNN, CharFeature
from wintrain.nn.init import INITIALIZERS
from wintrain.nn.layers import (
    Affine,
    Dropout,
    Embedding,
    FlatParameters,
    L2Penalty,
    Layer,
    Parameter,
    SoftmaxCrossEntropy,
    WindowConcat,
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
    """The graph above; ``parameters()`` lists every trainable array with its gradient."""

    def __init__(
        self,
        spec: ModelSpec,
        features: list[FeatureTable],
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float32,
        chars: CharCNN | None = None,
    ) -> None:
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.embeddings: list[Embedding | CharFeature] = [
            Embedding(f"embed.{f.name}", f.table.astype(self.dtype, copy=False), f.trainable, f.dense_updates)
            for f in features
        ]
        if chars is not None:
            self.embeddings.append(CharFeature(chars))
        self.concat = WindowConcat(self.embeddings, spec.window_size, self.dtype)
        weight_init = INITIALIZERS.build(spec.init, spec.init_params, "model.init")
        bias_init = INITIALIZERS.build(spec.bias_init, spec.bias_init_params, "model.bias_init")

        self.hidden: list[tuple[Affine, Layer, Dropout]] = []
        self.input_dropout = Dropout(spec.dropout, rng)
        n_in = self.concat.output_dim
        for depth, n_out in enumerate(spec.hidden, start=1):
            affine = Affine(
                f"hidden{depth}",
                weight_init((n_in, n_out), rng, self.dtype),
                bias_init((n_out,), rng, self.dtype),
            )
            activation = ACTIVATIONS.build(
                spec.activation, spec.activation_params, "model.activation",
                units=n_out, dtype=self.dtype, name=f"hidden{depth}.{spec.activation}",
            )
            self.hidden.append((affine, activation, Dropout(spec.dropout, rng)))
            n_in = n_out
        self.output = Affine("output", weight_init((n_in, spec.n_classes), rng, self.dtype),
                             bias_init((spec.n_classes,), rng, self.dtype))
        self.loss: SoftmaxCrossEntropy | SentenceLoss = (
            SentenceLoss(spec.n_classes, self.dtype) if spec.loss == "sll" else SoftmaxCrossEntropy()
        )
        first = self.hidden[0][0] if self.hidden else self.output
        first.needs_input_grad = self.concat.needs_input_grad
        decayed = [p for p in self.parameters() if p.decay]
        if spec.l2_embeddings:
            decayed += [e.table for e in self.embeddings if e.trainable]
        self.l2 = L2Penalty(spec.l2, decayed)
        dense = [p for p in self.parameters() if not p.sparse]
        self.flat = FlatParameters(dense) if dense else None  # one buffer: one optimizer pass for all of them

    def parameters(self) -> list[Parameter]:
        """All trainable parameters, embeddings first."""
        params: list[Parameter] = []
        for embedding in self.embeddings:
            params += embedding.parameters()
        for affine, activation, _ in self.hidden:
            params += affine.parameters() + activation.parameters()
        return params + self.output.parameters() + self.loss.parameters()

    @property
    def sentence_level(self) -> bool:
        """Whether the loss scores whole sentences (batches must then be whole sentences)."""
        return isinstance(self.loss, SentenceLoss)

    def forward(self, feature_ids: list[FeatureBatch], train: bool = False) -> np.ndarray:
        """feature_ids: one (B, w) int array per feature (a CharBatch for chars) → logits (B, C)."""
        h = self.input_dropout.forward(self.concat.forward(feature_ids, train), train)
        for affine, activation, dropout in self.hidden:
            h = dropout.forward(activation.forward(affine.forward(h, train), train), train)
        return self.output.forward(h, train)

    def backward(self, dlogits: np.ndarray) -> None:
        """dlogits: (B, C).  Fills every parameter's gradient (data term only)."""
        grad: np.ndarray | None = self.output.backward(dlogits)
        for affine, activation, dropout in reversed(self.hidden):
            assert grad is not None  # only the first layer may skip its input gradient
            grad = affine.backward(activation.backward(dropout.backward(grad)))
        if grad is not None:
            self.concat.backward(self.input_dropout.backward(grad))

    def data_loss(
        self, feature_ids: list[FeatureBatch], targets: np.ndarray, lengths: np.ndarray | None = None,
        train: bool = False,
    ) -> float:
        """The loss of a batch without the L2 term: mean cross-entropy, or for an sll model the
        per-token NLL of the sentences whose lengths (S,) are given (they cover the B windows)."""
        logits = self.forward(feature_ids, train)
        if isinstance(self.loss, SentenceLoss):
            if lengths is None:
                raise ValueError("an sll model needs the sentence lengths of its batch")
            return self.loss.forward(logits, targets, lengths)
        return self.loss.forward(logits, targets)

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

    def predict_scores(self, features: list[Feature], batch_size: int = 8192) -> np.ndarray:
        """Logits for the N windows of a data set's features, in batches of ``batch_size``.  → (N, C)."""
        n = features[0].shape[0]
        scores = np.empty((n, self.spec.n_classes), dtype=self.dtype)
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            scores[start:stop] = self.forward([feature[start:stop] for feature in features], train=False)
        return scores

    def predict(self, features: list[Feature], batch_size: int = 8192) -> np.ndarray:
        """Most likely tag id per window (each on its own) → (N,) int."""
        return self.predict_scores(features, batch_size).argmax(axis=1)

    def state(self) -> dict[str, np.ndarray]:
        """Every array that defines the model (embedding tables even when frozen), by name."""
        arrays = {e.table.name: e.table.value for e in self.embeddings}
        arrays.update({p.name: p.value for p in self.parameters()})
        return arrays

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays saved by :meth:`state` into this model (shapes must match)."""
        targets = {e.table.name: e.table for e in self.embeddings}
        targets.update({p.name: p for p in self.parameters()})
        for name, param in targets.items():
            value = arrays[name]
            if value.shape != param.value.shape:
                raise ValueError(f"{name}: saved shape {value.shape} != model shape {param.value.shape}")
            param.value[...] = value

    def count_parameters(self) -> int:
        return sum(p.size for p in self.parameters())
