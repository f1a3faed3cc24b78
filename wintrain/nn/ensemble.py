"""An ensemble of window networks trained side by side, their scores averaged.

Collobert et al. (2011, "Ensembles" in §6) trained several networks that differ only in their
random initialisation and combined their outputs; with the window network that gains more
than most changes of the network itself, and most where words are unseen (no pretrained
vectors).  Here the K members (``model.ensemble: K``) see the same batches (and the same word
dropout) but have their own initial weights, dropout masks and parameters, each its own copy
of every table (K times the memory); the ensemble scores a window with the mean of the
members' scores (and an sll ensemble decodes with the mean of their transitions):

    J = (1/K) · Σ_k J_k,      scores(x) = (1/K) · Σ_k scores_k(x)

Each member's gradient is therefore 1/K of the gradient of its own J_k.  Adam and RMSprop are
invariant to that scale (up to their ε), and Adagrad too when its accumulator starts at 0;
plain SGD takes steps K times smaller than one model would at the same ``optimizer.lr``.
``optimizer.clip_norm`` bounds each member's own gradient (the trainer clips member by member).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wintrain.data.dataset import Feature, FeatureBatch
from wintrain.nn.layers import Parameter
from wintrain.nn.model import ModelSpec, WindowClassifier
from wintrain.nn.sll import SentenceLoss


def member_prefix(index: int) -> str:
    """The name prefix of member ``index`` (0-based): ``member1.``, ``member2.``, …"""
    return f"member{index + 1}."


class MeanPenalty:
    """The members' L2 terms averaged: (1/K)·Σ_k λ·Σθ_k²  (same interface as :class:`~wintrain.nn.layers.L2Penalty`)."""

    def __init__(self, members: list[WindowClassifier]) -> None:
        self.members = members
        self.l2 = members[0].l2.l2

    def forward(self) -> float:
        return sum(member.l2.forward() for member in self.members) / len(self.members)


class Ensemble:
    """K :class:`WindowClassifier` members with one interface: the parameters of all of them,
    the mean loss, the mean scores.  Parameter names carry the member's prefix (``member2.hidden1.W``)."""

    def __init__(self, members: list[WindowClassifier]) -> None:
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        self.members = members
        self.spec: ModelSpec = members[0].spec
        self.dtype = members[0].dtype
        for index, member in enumerate(members):
            prefix = member_prefix(index)
            for param in _all_parameters(member):
                param.name = prefix + param.name
        self.l2 = MeanPenalty(members)
        self._scale = self.dtype.type(1.0 / len(members))
        # what 1/K scales after each member's backward pass: its flat buffer and its other (sparse) gradients
        self._scaled = [([member.flat.parameter] if member.flat is not None else [])
                        + [p for p in member.parameters() if p.flat is None] for member in members]

    @property
    def sentence_level(self) -> bool:
        return self.members[0].sentence_level

    def parameters(self) -> list[Parameter]:
        """Every member's trainable parameters, member by member."""
        return [param for member in self.members for param in member.parameters()]

    def data_loss(
        self, feature_ids: list[FeatureBatch], targets: np.ndarray, lengths: np.ndarray | None = None,
        train: bool = False,
    ) -> float:
        """The members' data losses averaged (see :meth:`WindowClassifier.data_loss`)."""
        losses = [member.data_loss(feature_ids, targets, lengths, train) for member in self.members]
        return sum(losses) / len(losses)

    def loss_and_grads(
        self, feature_ids: list[FeatureBatch], targets: np.ndarray, train: bool = True,
        lengths: np.ndarray | None = None,
    ) -> tuple[float, float]:
        """(J, data loss) averaged over the members, and ∂J/∂θ in every parameter's ``grad``:
        each member's own gradient times 1/K.  Shapes as in :meth:`WindowClassifier.loss_and_grads`."""
        total, data = 0.0, 0.0
        for member, scaled in zip(self.members, self._scaled):
            loss, data_loss = member.loss_and_grads(feature_ids, targets, train, lengths)
            total, data = total + loss, data + data_loss
            for param in scaled:
                param.grad *= self._scale
        return total / len(self.members), data / len(self.members)

    def predict_scores(self, features: list[Feature], batch_size: int = 8192) -> np.ndarray:
        """The members' logits averaged.  → (N, C)."""
        return mean_scores(self, lambda member: member.predict_scores(features, batch_size))

    def state(self) -> dict[str, np.ndarray]:
        """Every member's arrays, by their prefixed names."""
        arrays: dict[str, np.ndarray] = {}
        for member in self.members:
            arrays.update(member.state())
        return arrays

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        for member in self.members:
            member.load_state(arrays)

    def count_parameters(self) -> int:
        return sum(member.count_parameters() for member in self.members)


Model = WindowClassifier | Ensemble
"""A model the trainer, the checkpoints and the evaluation handle alike."""


def mean_scores(ensemble: Ensemble, scores_of: Callable[[WindowClassifier], np.ndarray]) -> np.ndarray:
    """(1/K)·Σ_k scores_of(member k), summed in place in the members' dtype.  → (N, C)."""
    scores = scores_of(ensemble.members[0])
    for member in ensemble.members[1:]:
        scores += scores_of(member)
    return scores * ensemble.dtype.type(1.0 / len(ensemble.members))


def mean_transitions(members: list[WindowClassifier]) -> tuple[np.ndarray, np.ndarray] | None:
    """The mean transitions (C, C) and initial scores (C,) of sll models (None when they are not sll)."""
    losses = [member.loss for member in members]
    if not all(isinstance(loss, SentenceLoss) for loss in losses):
        return None
    sll = [loss.sll for loss in losses if isinstance(loss, SentenceLoss)]
    if len(sll) == 1:
        return sll[0].transitions.value, sll[0].initial.value
    return (np.mean([s.transitions.value for s in sll], axis=0).astype(members[0].dtype),
            np.mean([s.initial.value for s in sll], axis=0).astype(members[0].dtype))


def members_of(model: Model) -> list[WindowClassifier]:
    """The networks of ``model``: its members, or the model itself."""
    return model.members if isinstance(model, Ensemble) else [model]


def _all_parameters(model: WindowClassifier) -> list[Parameter]:
    """Trainable parameters, frozen embedding tables and the flat buffer: every named array."""
    params = model.parameters() + [e.table for e in model.embeddings]
    if model.flat is not None:
        params.append(model.flat.parameter)
    return list({id(p): p for p in params}.values())
