"""Fast twin of the inference pass :func:`wintrain.nn.model.predict_scores`: the same logits, bit for bit,
computed with less work.

* The character convolution runs once over the distinct word forms of the whole text (the rows of its
  :class:`~wintrain.data.chars.CharWindows`), not once per batch over the forms of that batch; each batch
  then gathers its positions' vectors.  A form's vector does not depend on the other forms it is computed
  with, so the numbers are the same.
* Each batch's window input is gathered into one buffer owned by this call, a few hundred windows at a
  time (the features' slices of those rows stay in cache until every feature has written its part), then
  the network's own layers after the window run on it in inference mode, the thin output product in
  pieces of a few hundred rows (:func:`output_chunks`: a product that thin gains nothing from a second
  BLAS thread and loses a lot when the other core is busy).
* A network over an *alphabet* -- every window feature a lookup of at most :data:`FOLD_MAX_ROWS` rows, as
  in a tokenizer over characters -- skips the window and the first hidden layer's product: that layer's
  pre-activation is ``z = b + W x = b + Σ_i W_i x_i``, where ``x_i`` is the input vector at window position
  ``i`` and ``W_i`` its block of W.  ``x_i`` depends only on the *symbol* there (the tuple of a character's
  feature ids), and a text holds few distinct symbols, so ``W_i x`` is computed once per symbol and
  position and each window adds up ``w`` rows (:func:`folded_scores`; Collobert et al. 2011 do the
  same for words).  The sum is reordered, so these scores equal the textbook ones to float rounding
  (1e-5), not bit for bit; every other network's scores are the same bits.
"""

from __future__ import annotations

import numpy as np

from wintrain.data.chars import CharWindows, take_words
from wintrain.data.dataset import Feature
from wintrain.kernels import twin_of
from wintrain.nn.chars import CharFeature
from wintrain.nn.layers import Affine, Dropout, Embedding
from wintrain.nn.model import WindowClassifier, predict_scores

GATHER_ROWS = 256  # windows gathered at a time into the input buffer
OUTPUT_ROWS = 256  # rows of the output layer's product at a time
FOLD_MAX_ROWS = 1024  # a network whose lookup tables are all this small reads an alphabet: folded
FOLD_ROWS = 2048  # windows whose folded pre-activations are summed at a time
FOLD_DENSE_SPACE = 1 << 24  # symbols numbered through a dense table up to this many possible ones


@twin_of(predict_scores)
def gathered_scores(network: WindowClassifier, features: list[Feature], batch_size: int = 8192,
                    fold_max_rows: int = FOLD_MAX_ROWS) -> np.ndarray:
    """Logits (N, C) of the N windows of ``features`` (see the module docstring); folded when every lookup
    table has at most ``fold_max_rows`` rows.  A network whose window holds other feature nodes than
    lookups and characters goes through the textbook pass."""
    concat = network.concat
    n = len(features[0]) if features else 0
    first = foldable(network, fold_max_rows)
    if first is not None and n > 0:
        return folded_scores(network, features, first)
    lookups: list[tuple[np.ndarray, np.ndarray]] = []  # per feature: table (V, d) and window ids (N, w)
    for feature_node, feature in zip(concat.features, features):
        if isinstance(feature_node, CharFeature) and isinstance(feature, CharWindows):
            lookups.append((char_vectors(feature_node, feature), feature.forms))
        elif isinstance(feature_node, Embedding) and isinstance(feature, np.ndarray):
            lookups.append((feature_node.table.value, feature))
    if len(lookups) != len(concat.features) or len(features) != len(lookups) or n == 0:
        return predict_scores(network, features, batch_size)
    scores = np.empty((n, network.spec.n_classes), dtype=network.dtype)
    batch_size = max(1, min(batch_size, n))
    buffer = np.empty((batch_size, concat.window_size, concat.width), network.dtype)
    single = len(lookups) == 1
    *middle, output = network.layers[1:]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        window = buffer[:stop - start]
        # mode="clip" skips the bounds check and the buffered copy of a strided ``out`` that "raise"
        # makes (the ids come from the encoder, so they are in range)
        for first in range(start, stop, GATHER_ROWS):
            last = min(first + GATHER_ROWS, stop)
            rows = window[first - start:last - start]
            for (table, ids), part in zip(lookups, concat.slices):
                np.take(table, ids[first:last], axis=0, out=rows if single else rows[:, :, part], mode="clip")
        h = window.reshape(stop - start, concat.output_dim)
        for layer in middle:  # hidden affine, nonlinearity (dropout is the identity in inference)
            h = layer.forward(h, False)
        for first, last in output_chunks(stop - start):
            scores[start + first:start + last] = output.forward(h[first:last], False)
    return scores


def foldable(network: WindowClassifier, max_rows: int) -> int | None:
    """The index in ``network.layers`` of the first hidden layer's :class:`Affine` when the network reads an
    alphabet (every window feature a lookup of at most ``max_rows`` rows, only dropout between the window
    and that layer); None otherwise."""
    features = network.concat.features
    if not features or not all(isinstance(node, Embedding) and len(node.table.value) <= max_rows
                               for node in features):
        return None
    if np.prod(np.array([len(node.table.value) for node in features], dtype=object)) >= 1 << 62:
        return None  # too many features for a symbol to be one number
    for index, layer in enumerate(network.layers[1:], start=1):
        if isinstance(layer, Affine):
            return index if index < len(network.layers) - 1 else None  # the output layer is no hidden layer
        if not isinstance(layer, Dropout):
            return None
    return None


def folded_scores(network: WindowClassifier, features: list[Feature], first: int) -> np.ndarray:
    """Logits (N, C), FOLD_ROWS windows at a time (memory bounded by the block, not by N): the first hidden
    layer's pre-activations folded (:func:`projected_symbols`, :func:`folded_preactivations`), then the
    network's layers after it in inference mode, the output product in pieces (:func:`output_chunks`)."""
    affine = network.layers[first]
    assert isinstance(affine, Affine)
    *middle, output = network.layers[first + 1:]
    ids = [feature for feature in features if isinstance(feature, np.ndarray)]
    projected, rows = projected_symbols(network, ids, affine)
    n, units = len(rows), projected.shape[1]
    scores = np.empty((n, network.spec.n_classes), dtype=network.dtype)
    total, part = np.empty((2, min(FOLD_ROWS, n), units), network.dtype)
    for start in range(0, n, FOLD_ROWS):
        stop = min(start + FOLD_ROWS, n)
        h = folded_preactivations(projected, rows[start:stop], affine.bias.value, total[:stop - start],
                                  part[:stop - start])
        for layer in middle:
            h = layer.forward(h, False)
        for first_row, last_row in output_chunks(len(h)):
            scores[start + first_row:start + last_row] = output.forward(h[first_row:last_row], False)
    return scores


def projected_symbols(network: WindowClassifier, ids: list[np.ndarray], affine: Affine) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
    """The rows ``P`` (w·S, H) and, for each of the N windows whose feature ids are ``ids`` (one (N, w) array
    per feature), the w rows of ``P`` it adds up (N, w).  Each window position holds a *symbol*, the tuple of
    its feature ids; the S distinct symbols of the windows are numbered, their input vectors ``X`` (S, D)
    looked up once, and ``P_i = X W_i`` (S, H) computed for each position i (rows i·S … i·S + S − 1)."""
    concat = network.concat
    tables = [node.table.value for node in concat.features if isinstance(node, Embedding)]
    sizes = [len(table) for table in tables]
    space = int(np.prod(np.array(sizes, dtype=object)))
    code = np.zeros(ids[0].shape, np.int32 if space < 1 << 31 else np.int64)  # a symbol as one number
    for feature_ids, size in zip(ids, sizes):
        code *= size
        code += feature_ids
    if space <= FOLD_DENSE_SPACE:
        present = np.zeros(space, bool)
        present[code.ravel()] = True
        symbols = np.flatnonzero(present)
        numbering = np.zeros(space, np.int32)
        numbering[symbols] = np.arange(len(symbols), dtype=np.int32)
        symbol_of = numbering[code]  # (N, w)
    else:
        symbols, inverse = np.unique(code, return_inverse=True)
        symbol_of = inverse.reshape(code.shape).astype(np.int32)
    digits = []  # each symbol's feature ids, back from its number
    rest = symbols.astype(np.int64)
    for size in reversed(sizes):
        digits.append(rest % size)
        rest //= size
    x = np.concatenate([table[part] for table, part in zip(tables, reversed(digits))], axis=1)  # (S, D)
    width, count = symbol_of.shape[1], len(symbols)
    weight = affine.weight.value.reshape(width, concat.width, -1)  # W_i: (D, H) for each position i
    projected = np.empty((width * count, weight.shape[2]), network.dtype)
    for position in range(width):
        np.matmul(x, weight[position], out=projected[position * count:(position + 1) * count])
    symbol_of += (np.arange(width, dtype=np.int32) * count)[None, :]
    return projected, symbol_of


def folded_preactivations(projected: np.ndarray, rows: np.ndarray, bias: np.ndarray, total: np.ndarray,
                          part: np.ndarray) -> np.ndarray:
    """``total`` (B, H) ← ``z = b + Σ_i P[rows[:, i]]`` for B windows: the first hidden layer's
    pre-activations from the rows of :func:`projected_symbols`; ``part`` (B, H) is scratch."""
    np.take(projected, rows[:, 0], axis=0, out=total, mode="clip")
    for position in range(1, rows.shape[1]):
        np.take(projected, rows[:, position], axis=0, out=part, mode="clip")
        total += part
    total += bias
    return total


def output_chunks(rows: int) -> list[tuple[int, int]]:
    """The output layer's product (rows, H)·(H, C), C small, in pieces of about OUTPUT_ROWS rows.  No piece
    has a single row unless ``rows`` is 1 (NumPy and BLAS compute a one-row product another way), so the
    scores are the ones an unsplit product gives."""
    if rows <= OUTPUT_ROWS:
        return [(0, rows)]
    bounds = list(range(0, rows, OUTPUT_ROWS)) + [rows]
    if bounds[-1] - bounds[-2] == 1:  # no one-row piece: the last row joins the piece before it
        del bounds[-2]
    return list(zip(bounds[:-1], bounds[1:]))


def char_vectors(feature: CharFeature, windows: CharWindows, chunk: int = 2048) -> np.ndarray:
    """(F + 1, filters): row 0 zeros (a window position outside the sentence), then the vector of each of
    the F distinct forms of ``windows`` — the table :meth:`CharFeature.forward` builds for one batch, built
    once for all the forms of a text, ``chunk`` forms at a time (bounded memory; the forms are numbered
    shortest first, so each chunk arrives sorted by length)."""
    count = len(windows.ids)
    table = np.empty((count + 1, feature.dim), feature.table.value.dtype)
    table[0] = 0.0
    for start in range(0, count, chunk):
        rows = np.arange(start, min(start + chunk, count))
        ids, lengths = take_words(windows.ids, windows.lengths, rows, windows.width)
        table[1 + start:1 + start + len(rows)] = feature.cnn.forward(ids, lengths)
    return table
