"""The computation graph made visible: each node's output shape, parameters and FLOPs.

FLOPs count matrix-product work, 2 FLOPs per multiply-add, per token (one window = one
token).  For an affine node x (n_in) → y (n_out):
forward 2·n_in·n_out;  backward 2·n_in·n_out for ∂W plus 2·n_in·n_out for ∂x when
something upstream needs ∂x (the first layer needs it only for trainable embeddings).
Element-wise work (nonlinearities, softmax, dropout, the embedding scatter) is not counted
in FLOPs; ``wintrain graph --profile`` measures its real share of the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wintrain.nn.layers import Affine, Layer
from wintrain.nn.model import WindowClassifier


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    output_shape: tuple[int | str, ...]
    parameters: int
    forward_flops: int
    backward_flops: int
    layer: Any = None  # the graph object behind the node (for profiling)


def describe(model: WindowClassifier, batch: int | str = "B") -> list[Node]:
    """The nodes of ``model`` in forward order, for a batch of ``batch`` windows."""
    w = model.spec.window_size
    nodes: list[Node] = []
    for embedding in model.embeddings:
        params = embedding.table.size if embedding.trainable else 0
        frozen = "" if embedding.trainable else " (frozen)"
        nodes.append(Node(f"lookup {embedding.table.name}{frozen}", "Embedding", (batch, w, embedding.dim), params,
                          0, 0,
                          embedding))
    nodes.append(Node("concat window", "WindowConcat", (batch, model.concat.output_dim), 0, 0, 0, model.concat))
    if model.spec.dropout:
        nodes.append(Node("dropout (input)", "Dropout", (batch, model.concat.output_dim), 0, 0, 0, model.input_dropout))
    layers: list[tuple[str, Layer]] = []
    for depth, (affine, activation, dropout) in enumerate(model.hidden, start=1):
        kind = type(activation).__name__.lower()
        layers += [(f"affine hidden{depth}", affine), (f"{kind} hidden{depth}", activation)]
        if model.spec.dropout:
            layers.append((f"dropout hidden{depth}", dropout))
    layers.append(("affine output", model.output))
    for name, layer in layers:
        if isinstance(layer, Affine):
            n_in, n_out = layer.weight.value.shape
            product = 2 * n_in * n_out
            backward = product * (2 if layer.needs_input_grad else 1)
            nodes.append(Node(name, "Affine", (batch, n_out), layer.weight.size + layer.bias.size, product, backward,
                              layer))
        else:
            units = nodes[-1].output_shape[-1]
            params = sum(p.size for p in layer.parameters())
            nodes.append(Node(name, type(layer).__name__, (batch, units), params, 0, 0, layer))
    nodes.append(Node("softmax cross-entropy", "SoftmaxCrossEntropy", (), 0, 0, 0, model.loss))
    if model.l2.l2:
        nodes.append(Node(f"L2 λ={model.l2.l2:g}", "L2Penalty", (), 0, 0, 0, model.l2))
    return nodes
