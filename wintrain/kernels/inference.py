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
"""

from __future__ import annotations

import numpy as np

from wintrain.data.chars import CharWindows, take_words
from wintrain.data.dataset import Feature
from wintrain.kernels import twin_of
from wintrain.nn.chars import CharFeature
from wintrain.nn.layers import Embedding
from wintrain.nn.model import WindowClassifier, predict_scores

GATHER_ROWS = 256  # windows gathered at a time into the input buffer
OUTPUT_ROWS = 256  # rows of the output layer's product at a time


@twin_of(predict_scores)
def gathered_scores(network: WindowClassifier, features: list[Feature], batch_size: int = 8192) -> np.ndarray:
    """Logits (N, C) of the N windows of ``features`` (see the module docstring).  A network whose window
    holds other feature nodes than lookups and characters goes through the textbook pass."""
    concat = network.concat
    n = len(features[0]) if features else 0
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
