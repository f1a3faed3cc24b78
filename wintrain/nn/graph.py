"""The computation graph made visible: each node's output shape, parameters and FLOPs.

FLOPs count matrix-product work, 2 FLOPs per multiply-add, per token (one window = one
token).  For an affine node x (n_in) → y (n_out):
forward 2·n_in·n_out;  backward 2·n_in·n_out for ∂W plus 2·n_in·n_out for ∂x when
something upstream needs ∂x (the first layer needs it only for trainable embeddings).
Element-wise work (nonlinearities, softmax, dropout, the embedding scatter, the sentence
log-likelihood's recursions) is not counted in FLOPs; ``wintrain graph --profile`` measures its
real share of the time.  The character convolution runs once per distinct word of a batch; its
FLOPs are given per token for words of :data:`CHARS_PER_WORD` characters, as if every token's
word were convolved (an upper bound).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from wintrain.nn.chars import CharFeature
from wintrain.nn.ensemble import Ensemble, Model, member_prefix
from wintrain.nn.layers import Affine, Layer
from wintrain.nn.model import WindowClassifier
from wintrain.nn.sll import SentenceLoss

CHARS_PER_WORD = 6  # the character node's FLOPs are given for words of this many characters


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    output_shape: tuple[int | str, ...]
    parameters: int
    forward_flops: int
    backward_flops: int
    layer: Any = None  # the graph object behind the node (for profiling)


def describe(model: Model, batch: int | str = "B") -> list[Node]:
    """The nodes of ``model`` in forward order, for a batch of ``batch`` windows; an ensemble's
    members one after the other, each node's name starting with its member (``member2.``)."""
    if isinstance(model, Ensemble):
        return [replace(node, name=_with_prefix(member_prefix(index), node.name))
                for index, member in enumerate(model.members) for node in describe(member, batch)]
    return _describe_network(model, batch)


def _with_prefix(prefix: str, name: str) -> str:
    """``name`` of a member's node, its member named once, in front (a lookup's table name has it too)."""
    return prefix + name.replace(prefix, "")


def _describe_network(model: WindowClassifier, batch: int | str) -> list[Node]:
    w = model.spec.window_size
    nodes: list[Node] = []
    for embedding in model.embeddings:
        if isinstance(embedding, CharFeature):
            cnn = embedding.cnn
            per_word = 2 * CHARS_PER_WORD * cnn.width * cnn.dim * cnn.output_dim
            params = sum(p.size for p in cnn.parameters())
            nodes.append(Node(f"characters: conv {cnn.width}×{cnn.dim} → {cnn.output_dim}, max", "CharFeature",
                              (batch, w, embedding.dim), params, per_word, 2 * per_word, embedding))
            continue
        params = embedding.table.size if embedding.trainable else 0
        frozen = "" if embedding.trainable else " (frozen)"
        nodes.append(Node(f"lookup {embedding.table.name}{frozen}", "Embedding", (batch, w, embedding.dim), params,
                          0, 0, embedding))
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
    if isinstance(model.loss, SentenceLoss):
        n_tags = model.spec.n_classes
        nodes.append(Node(f"sentence log-likelihood ({n_tags}×{n_tags} transitions)", "SentenceLoss", (),
                          n_tags * n_tags + n_tags, 0, 0, model.loss))
    else:
        nodes.append(Node("softmax cross-entropy", "SoftmaxCrossEntropy", (), 0, 0, 0, model.loss))
    if model.l2.l2:
        nodes.append(Node(f"L2 λ={model.l2.l2:g}", "L2Penalty", (), 0, 0, 0, model.l2))
    return nodes
