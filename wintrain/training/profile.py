"""Measure where the time of real training steps goes, node by node.

Every graph node's ``forward`` and ``backward`` (and the optimizer's ``step``, the batch
gather) is wrapped with a timer on the instance, a few hundred real steps are run, and the
measured seconds are reported with their share of the total.  The embedding lookups run
inside the window concatenation, so their time is counted there.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from wintrain.nn.graph import Node, describe
from wintrain.training.loop import Prepared


@dataclass(frozen=True)
class NodeTime:
    name: str
    forward_seconds: float
    backward_seconds: float


def _timed(function: Callable[..., Any], bucket: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            bucket[0] += time.perf_counter() - started

    return wrapper


def profile_steps(prepared: Prepared, steps: int = 300) -> tuple[list[Node], list[NodeTime]]:
    """Run ``steps`` training steps (on a copy-free but *real* model: parameters change) and time each node.

    Returns the graph's nodes and, in the same order, the measured times, followed by the
    optimizer and the batch gather.  Call it on a freshly prepared set-up, not a trained one.
    """
    model, optimizer = prepared.model, prepared.optimizer
    nodes = describe(model, prepared.config.train.batch_size)
    timed = [n for n in nodes if n.kind != "Embedding"]  # lookups run inside the concat node
    buckets: dict[str, list[list[float]]] = defaultdict(lambda: [[0.0], [0.0]])
    for node in timed:
        layer = node.layer
        forward_bucket, backward_bucket = buckets[node.name]
        if hasattr(layer, "forward"):
            layer.forward = _timed(layer.forward, forward_bucket)
        if hasattr(layer, "backward"):
            layer.backward = _timed(layer.backward, backward_bucket)
    optimizer_bucket, gather_bucket = [0.0], [0.0]
    data = prepared.datasets["train"]
    batch_size = prepared.config.train.batch_size
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data))
    lr = prepared.config.optimizer.lr
    for step in range(steps):
        start = (step * batch_size) % max(1, len(data) - batch_size)
        started = time.perf_counter()
        features, targets = data.batch(order[start:start + batch_size])
        gather_bucket[0] += time.perf_counter() - started
        model.loss_and_grads(features, targets, train=True)
        started = time.perf_counter()
        optimizer.step(lr)
        optimizer_bucket[0] += time.perf_counter() - started
    times = [NodeTime(n.name, buckets[n.name][0][0], buckets[n.name][1][0]) for n in timed]
    times.append(NodeTime("optimizer step", 0.0, optimizer_bucket[0]))
    times.append(NodeTime("batch gather", gather_bucket[0], 0.0))
    return nodes, times
