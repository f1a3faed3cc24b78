"""Measure where the time of real training steps goes, node by node.

Every graph node's ``forward`` and ``backward`` (and the optimizer's ``step``, the batch
gather) is wrapped with a timer on the instance, a few hundred real training steps are run
(the same :meth:`~wintrain.training.trainer.Trainer.step` training uses), and the measured
seconds are reported with their share of the total.  The embedding lookups run
inside the window concatenation, so their time is counted there.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wintrain.nn.graph import Node, describe
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


def _timed(function: Callable[..., Any], bucket: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            bucket[0] += time.perf_counter() - started

    return wrapper


def profile_steps(prepared: Prepared, steps: int = 300) -> Profile:
    """Run ``steps`` real training steps (:meth:`Trainer.step`: parameters change) and time each node.

    Call it on a freshly prepared set-up, not a trained one.
    """
    model, optimizer = prepared.model, prepared.optimizer
    nodes = describe(model, prepared.config.train.batch_size)
    timed = [n for n in nodes if n.kind != "Embedding"]  # lookups run inside the concat node (and are counted there)
    buckets: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([0.0], [0.0]))
    for node in timed:
        layer: Any = node.layer
        forward_bucket, backward_bucket = buckets[node.name]
        if hasattr(layer, "forward"):
            layer.forward = _timed(layer.forward, forward_bucket)
        if hasattr(layer, "backward"):
            layer.backward = _timed(layer.backward, backward_bucket)
    optimizer_bucket, gather_bucket = [0.0], [0.0]
    data: Any = prepared.datasets["train"]
    optimizer.step = _timed(optimizer.step, optimizer_bucket)  # type: ignore[method-assign]
    data.batch = _timed(data.batch, gather_bucket)
    trainer = Trainer(prepared)
    batches = trainer.endless_batches()
    lr = prepared.config.optimizer.lr
    started = time.perf_counter()
    for _ in range(steps):
        trainer.step(next(batches), lr)
    wall = time.perf_counter() - started
    for position, node in enumerate(timed):  # characters are timed on their own, inside their concat node
        if node.kind == "CharFeature":
            concat = buckets[next(n.name for n in timed[position:] if n.kind == "WindowConcat")]
            concat[0][0] -= buckets[node.name][0][0]
            concat[1][0] -= buckets[node.name][1][0]
    times = [NodeTime(n.name, buckets[n.name][0][0], buckets[n.name][1][0]) for n in timed]
    times.append(NodeTime("optimizer step", 0.0, optimizer_bucket[0]))
    times.append(NodeTime("batch gather", gather_bucket[0], 0.0))
    return Profile(nodes, times, steps, wall)
