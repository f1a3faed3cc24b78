"""Measure where the time of real training steps goes, node by node.

The model's layers (and its window's character feature, and its loss) are wrapped, for the duration of
the measurement, in :class:`Timed` proxies that time their ``forward`` and ``backward``; so are the
optimizer's ``step`` and the batch gather.  A few hundred real training steps are run (the same
:meth:`~wintrain.training.trainer.Trainer.step` training uses), and the measured seconds are reported
with their share of the total.  The embedding lookups run inside the window concatenation, so their
time is counted there; the character feature's time is taken out of its concatenation's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from wintrain.nn.chars import CharFeature
from wintrain.nn.graph import Node, describe
from wintrain.nn.model import WindowClassifier
from wintrain.training.trainer import Prepared, Trainer


@dataclass(frozen=True)
class NodeTime:
    name: str
    forward_seconds: float
    backward_seconds: float


@dataclass(frozen=True)
class Profile:
    """The graph's nodes, the time measured in each (then the optimizer and the batch gather), and
    the wall time of all the steps: what the nodes leave out of it is Python between the nodes."""

    nodes: list[Node]
    times: list[NodeTime]
    steps: int
    wall_seconds: float

    @property
    def measured_seconds(self) -> float:
        return sum(t.forward_seconds + t.backward_seconds for t in self.times)


class Timed:
    """A stand-in for ``inner`` that adds the seconds spent in each of its methods ``timed`` (by name) to
    :attr:`seconds`; every other attribute is the inner object's."""

    def __init__(self, inner: Any, *timed: str) -> None:
        self.inner = inner
        self.seconds = dict.fromkeys(timed, 0.0)

    def __len__(self) -> int:
        return len(self.inner)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if name not in self.seconds:
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


@contextmanager
def timed_network(network: WindowClassifier) -> Iterator[dict[int, Timed]]:
    """Inside the block, each layer, character feature and the loss of ``network`` is a :class:`Timed`
    stand-in; yields them keyed by the id of the object they stand for."""
    layers, features, loss = list(network.layers), list(network.features), network.loss
    stand_ins: dict[int, Timed] = {}

    def stand_in(obj: Any) -> Any:
        stand_ins[id(obj)] = Timed(obj, "forward", "backward")
        return stand_ins[id(obj)]

    try:
        network.concat.features[:] = [stand_in(f) if isinstance(f, CharFeature) else f for f in features]
        network.layers[:] = [stand_in(layer) for layer in layers]
        network.loss = stand_in(loss)
        yield stand_ins
    finally:
        network.layers[:] = layers
        network.concat.features[:] = features
        network.loss = loss


def profile_steps(prepared: Prepared, steps: int = 300) -> Profile:
    """Run ``steps`` real training steps (:meth:`Trainer.step`: parameters change) and time each node.

    Call it on a freshly prepared set-up, not a trained one.
    """
    nodes = describe(prepared.model, prepared.config.train.batch_size)
    timed_optimizer: Any = Timed(prepared.optimizer, "step")
    timed_data: Any = Timed(prepared.datasets["train"], "batch")
    stand_ins: dict[int, Timed] = {}
    contexts = [timed_network(network) for network in prepared.model.networks]
    try:
        for context in contexts:
            stand_ins.update(context.__enter__())
        datasets = {**prepared.datasets, "train": timed_data}
        trainer = Trainer(replace(prepared, optimizer=timed_optimizer, datasets=datasets))
        batches = trainer.endless_batches()
        lr = prepared.config.optimizer.lr
        started = time.perf_counter()
        for _ in range(steps):
            trainer.step(next(batches), lr)
        wall = time.perf_counter() - started
    finally:
        for context in reversed(contexts):
            context.__exit__(None, None, None)
    times: list[NodeTime] = []
    characters: list[NodeTime] = []  # the character features timed since the last concat node
    for node in nodes:
        stand_in = stand_ins.get(id(node.layer))
        if stand_in is None:
            continue  # lookups run inside their concat node
        timing = NodeTime(node.name, stand_in.seconds["forward"], stand_in.seconds["backward"])
        if node.kind == "CharFeature":
            characters.append(timing)
        elif node.kind == "WindowConcat":  # its time without the character features run inside it
            timing = NodeTime(node.name, timing.forward_seconds - sum(c.forward_seconds for c in characters),
                              timing.backward_seconds - sum(c.backward_seconds for c in characters))
            characters = []
        times.append(timing)
    times.append(NodeTime("optimizer step", 0.0, timed_optimizer.seconds["step"]))
    times.append(NodeTime("batch gather", timed_data.seconds["batch"], 0.0))
    return Profile(nodes, times, steps, wall)
