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
``optimizer.clip_norm`` bounds each member's own gradient (the trainer clips network by network).

A :class:`WindowClassifier` and an :class:`Ensemble` offer the same small protocol (:data:`Model`):
``networks``, ``parameters()``, ``data_loss``, ``loss_and_grads``, ``state``/``load_state``,
``sentence_level``, ``l2``; whatever needs the networks themselves iterates ``model.networks``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wintrain.data.dataset import FeatureBatch
from wintrain.nn.layers import Parameter
from wintrain.nn.model import ModelSpec, WindowClassifier
from wintrain.nn.sll import SentenceLoss


def member_prefix(index: int) -> str:
    """The name prefix of member ``index`` (0-based): ``member1.``, ``member2.``, …"""
    return f"member{index + 1}."


class MeanPenalty:
    """The members' L2 terms averaged: (1/K)·Σ_k λ·Σθ_k²  (the forward of :class:`~wintrain.nn.layers.L2Penalty`;
    each member's own term does its backward inside its ``loss_and_grads``)."""

    def __init__(self, members: list[WindowClassifier]) -> None:
        self.members = members
        self.l2 = members[0].l2.l2

    def forward(self) -> float:
        return sum(member.l2.forward() for member in self.members) / len(self.members)


class Ensemble:
    """K :class:`WindowClassifier` networks with one interface: the parameters of all of them, the mean
    loss, the mean scores.  Build the members with their :func:`member_prefix` (``member2.hidden1.W``)."""

    def __init__(self, members: list[WindowClassifier]) -> None:
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        names = [param.name for member in members for param in member.named_arrays()]
        if len(set(names)) != len(names):
            raise ValueError("the members' parameters share names: build member k with prefix=member_prefix(k)")
        self.members = members
        self.spec: ModelSpec = members[0].spec
        self.dtype = members[0].dtype
        self.l2 = MeanPenalty(members)
        self._scale = self.dtype.type(1.0 / len(members))
        self._blocks = [member.gradient_blocks() for member in members]  # what 1/K scales, member by member

    @property
    def networks(self) -> list[WindowClassifier]:
        return self.members

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
        for member, blocks in zip(self.members, self._blocks):
            loss, data_loss = member.loss_and_grads(feature_ids, targets, train, lengths)
            total, data = total + loss, data + data_loss
            for block in blocks:
                block.grad *= self._scale
        return total / len(self.members), data / len(self.members)

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


def mean_scores(model: Model, scores_of: Callable[[WindowClassifier], np.ndarray]) -> np.ndarray:
    """(1/K)·Σ_k scores_of(network k), summed in place in the networks' dtype; one network's own scores.  → (N, C)."""
    networks = model.networks
    scores = scores_of(networks[0])
    if len(networks) == 1:
        return scores
    for network in networks[1:]:
        scores += scores_of(network)
    return scores * model.dtype.type(1.0 / len(networks))


def mean_transitions(model: Model) -> tuple[np.ndarray, np.ndarray] | None:
    """The mean transitions (C, C) and initial scores (C,) of sll networks (None when they are not sll)."""
    losses = [network.loss for network in model.networks]
    if not all(isinstance(loss, SentenceLoss) for loss in losses):
        return None
    sll = [loss for loss in losses if isinstance(loss, SentenceLoss)]
    if len(sll) == 1:
        return sll[0].transitions.value, sll[0].initial.value
    return (np.mean([s.transitions.value for s in sll], axis=0).astype(model.dtype),
            np.mean([s.initial.value for s in sll], axis=0).astype(model.dtype))
