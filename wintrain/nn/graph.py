"""The computation graph made visible: each node's output shape, parameters, FLOPs and kernel.

The nodes are read off the model's own layer list (:attr:`WindowClassifier.layers`), network by network.
FLOPs count matrix-product work, 2 FLOPs per multiply-add, per token (one window = one token).  For an
affine node x (n_in) → y (n_out): forward 2·n_in·n_out;  backward 2·n_in·n_out for ∂W plus 2·n_in·n_out
for ∂x when something upstream needs ∂x (the first layer needs it only for trainable embeddings).
Element-wise work (nonlinearities, softmax, dropout, the embedding scatter, the sentence log-likelihood's
recursions) is not counted in FLOPs; ``wintrain graph --profile`` measures its real share of the time.
The character convolution runs once per distinct word of a batch; its FLOPs are given per token for words
of :data:`CHARS_PER_WORD` characters, as if every token's word were convolved (an upper bound).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wintrain.kernels import kernel_name
from wintrain.nn.activations import Activation
from wintrain.nn.chars import CharFeature
from wintrain.nn.ensemble import Model, member_prefix
from wintrain.nn.layers import Affine, Dropout, Layer, WindowConcat
from wintrain.nn.model import WindowClassifier
from wintrain.nn.sll import SentenceLoss

CHARS_PER_WORD = 6  # the character node's FLOPs are given for words of this many characters


@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # the concept: Embedding, CharFeature, WindowConcat, Affine, Tanh, …
    output_shape: tuple[int | str, ...]
    parameters: int
    forward_flops: int
    backward_flops: int
    layer: Any = None  # the graph object behind the node (for profiling)
    kernel: str = ""  # the class that runs it: the textbook one or its fast twin


def describe(model: Model, batch: int | str = "B") -> list[Node]:
    """The nodes of ``model`` in forward order, for a batch of ``batch`` windows; an ensemble's networks
    one after the other, each node's name starting with its member (``member2.``)."""
    networks = model.networks
    nodes: list[Node] = []
    for index, network in enumerate(networks):
        prefix = member_prefix(index) if len(networks) > 1 else ""
        nodes += [_renamed(node, prefix + node.name) for node in describe_network(network, batch)]
    return nodes


def describe_network(network: WindowClassifier, batch: int | str = "B") -> list[Node]:
    """One network's nodes: its window's features, then each of its layers, then its loss and L2 term."""
    w = network.spec.window_size
    nodes = [_feature_node(feature, w, batch) for feature in network.features]
    units = 0
    for layer in network.layers:
        node = _layer_node(layer, batch, units)
        units = int(node.output_shape[-1])
        nodes.append(node)
    loss = network.loss
    if isinstance(loss, SentenceLoss):
        n_tags = network.spec.n_classes
        nodes.append(Node(f"sentence log-likelihood ({n_tags}×{n_tags} transitions)", "SentenceLoss", (),
                          n_tags * n_tags + n_tags, 0, 0, loss, kernel_name(loss)))
    else:
        nodes.append(Node("softmax cross-entropy", "SoftmaxCrossEntropy", (), 0, 0, 0, loss, kernel_name(loss)))
    if network.l2.l2:
        nodes.append(Node(f"L2 λ={network.l2.l2:g}", "L2Penalty", (), 0, 0, 0, network.l2, "L2Penalty"))
    return nodes


def _feature_node(feature: Any, window: int, batch: int | str) -> Node:
    if isinstance(feature, CharFeature):
        cnn = feature.cnn
        per_word = 2 * CHARS_PER_WORD * cnn.width * cnn.dim * cnn.output_dim
        params = sum(p.size for p in cnn.parameters())
        return Node(f"characters: conv {cnn.width}×{cnn.dim} → {cnn.output_dim}, max", "CharFeature",
                    (batch, window, feature.dim), params, per_word, 2 * per_word, feature,
                    f"{kernel_name(feature)} + {kernel_name(cnn)}")
    params = feature.table.size if feature.trainable else 0
    frozen = "" if feature.trainable else " (frozen)"
    return Node(f"lookup {feature.name}{frozen}", "Embedding", (batch, window, feature.dim), params, 0, 0, feature,
                kernel_name(feature))


def _layer_node(layer: Layer, batch: int | str, units: int) -> Node:
    """The node of one layer of the list; ``units`` is the width of its input."""
    kernel = kernel_name(layer)
    if isinstance(layer, WindowConcat):
        return Node("concat window", "WindowConcat", (batch, layer.output_dim), 0, 0, 0, layer, kernel)
    if isinstance(layer, Affine):
        n_in, n_out = layer.weight.value.shape
        product = 2 * n_in * n_out
        backward = product * (2 if layer.needs_input_grad else 1)
        return Node(f"affine {layer.name}", "Affine", (batch, n_out), layer.weight.size + layer.bias.size, product,
                    backward, layer, kernel)
    if isinstance(layer, Dropout):
        name = "dropout (input)" if layer.group == "input" else f"dropout {layer.group}"
        return Node(name, "Dropout", (batch, units), 0, 0, 0, layer, kernel)
    params = sum(p.size for p in layer.parameters())
    kind = type(layer).__name__
    hidden = layer.group if isinstance(layer, Activation) else layer.name
    return Node(f"{kind.lower()} {hidden}", kind, (batch, units), params, 0, 0, layer, kernel)


def _renamed(node: Node, name: str) -> Node:
    return Node(name, node.kind, node.output_shape, node.parameters, node.forward_flops, node.backward_flops,
                node.layer, node.kernel)
