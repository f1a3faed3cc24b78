"""Evaluate a model on a tagged corpus: predictions plus the metrics of :mod:`.metrics`.

The same functions score dev and test during training and back ``wintrain eval``, so a
checkpoint evaluated later reproduces the numbers training reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wintrain.checkpoint import load_checkpoint
from wintrain.config import DataConfig
from wintrain.data.chars import CharWindows, take_words
from wintrain.data.dataset import Encoded, Encoder, Feature
from wintrain.data.load import data_tagset, model_scheme, read_corpus, to_data_ids, to_model_tags
from wintrain.data.reader import Corpus, split_at
from wintrain.data.tags import is_chunk_tagset
from wintrain.errors import WintrainError
from wintrain.evaluation.confusion import confusion_matrix
from wintrain.evaluation.decode import constrained_decode, decode_corpus
from wintrain.evaluation.metrics import evaluate_tags
from wintrain.nn.chars import CharFeature
from wintrain.nn.ensemble import Ensemble, Model, mean_scores, mean_transitions, members_of
from wintrain.nn.layers import Embedding


def main_score(metrics: dict[str, Any]) -> tuple[str, float]:
    """The number that picks the best epoch: entity F1 for chunk tag sets, else token accuracy."""
    if "entity" in metrics:
        return "entity_f1", float(metrics["entity"]["f1"])
    return "accuracy", float(metrics["accuracy"])


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    predicted: list[str]  # flat predicted tags, one per token


_GATHER_ROWS = 256  # windows gathered at a time into the input buffer
_OUTPUT_ROWS = 256  # rows of the output layer's product at a time


def predict_scores(model: Model, features: list[Feature], batch_size: int = 8192) -> np.ndarray:
    """Logits (N, C) of the N windows of ``features``: the numbers of :meth:`WindowClassifier.predict_scores`,
    bit for bit, computed with less work.

    * The character convolution runs once over the distinct word forms of the whole text (the
      rows of its :class:`CharWindows`), not once per batch over the forms of that batch; each
      batch then gathers its positions' vectors.  A form's vector does not depend on the other
      forms it is computed with, so the numbers are the same.
    * Each batch's window input is gathered into one buffer owned by this call, a few hundred
      windows at a time, then the model's own layers (affine, activation, …, output) run on it in
      inference mode, the thin output product in pieces that stay on one BLAS thread
      (:func:`_output_chunks`).

    Models built from other feature layers than :class:`Embedding` and :class:`CharFeature` go
    through :meth:`WindowClassifier.predict_scores`; an :class:`Ensemble` averages its members' scores.
    """
    if isinstance(model, Ensemble):
        return mean_scores(model, lambda member: predict_scores(member, features, batch_size))
    concat = model.concat
    n = len(features[0]) if features else 0
    lookups: list[tuple[np.ndarray, np.ndarray]] = []  # per feature: table (V, d) and window ids (N, w)
    for embedding, feature in zip(concat.embeddings, features):
        if isinstance(embedding, CharFeature) and isinstance(feature, CharWindows):
            lookups.append((_char_vectors(embedding, feature), feature.forms))
        elif isinstance(embedding, Embedding) and isinstance(feature, np.ndarray):
            lookups.append((embedding.table.value, feature))
    if len(lookups) != len(concat.embeddings) or len(features) != len(lookups) or n == 0:
        return model.predict_scores(features, batch_size)  # other feature layers, or nothing to score
    scores = np.empty((n, model.spec.n_classes), dtype=model.dtype)
    batch_size = max(1, min(batch_size, n))
    buffer = np.empty((batch_size, concat.window_size, concat.width), model.dtype)
    single = len(lookups) == 1
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        window = buffer[:stop - start]
        # The input, _GATHER_ROWS windows at a time: the features' slices of those rows stay in cache
        # until every feature has written its part.  mode="clip" skips the bounds check and the
        # buffered copy of a strided ``out`` that "raise" makes (4x faster; the ids come from the encoder).
        for first in range(start, stop, _GATHER_ROWS):
            last = min(first + _GATHER_ROWS, stop)
            rows = window[first - start:last - start]
            for (table, ids), part in zip(lookups, concat.slices):
                np.take(table, ids[first:last], axis=0, out=rows if single else rows[:, :, part], mode="clip")
        h = window.reshape(stop - start, concat.output_dim)
        for affine, activation, _ in model.hidden:  # dropout is the identity in inference
            h = activation.forward(affine.forward(h, False), False)
        for first, last in _output_chunks(stop - start):
            scores[start + first:start + last] = model.output.forward(h[first:last], False)
    return scores


def _output_chunks(rows: int) -> list[tuple[int, int]]:
    """The output layer's product (rows, H)·(H, C), C small, in pieces of about _OUTPUT_ROWS rows.

    A product that thin gains nothing from a second BLAS thread and loses a lot when the other
    core is busy.  Measured for 8192 rows of H = 200, C = 9 right after the hidden layer's
    product, with two OpenBLAS threads: 0.8 ms in one product on a quiet 2-core machine but
    7 ms when the other core is busy (60 ms in pieces of 1024 rows, which OpenBLAS also
    splits), against 0.9–1.1 ms in pieces of 256 rows, which it leaves on the calling thread
    (one thread: 0.9 and 0.8–0.9 ms).  No piece has a single row unless ``rows`` is 1 (NumPy
    and BLAS compute a one-row product another way), so the scores are the ones an unsplit
    product gives.
    """
    if rows <= _OUTPUT_ROWS:
        return [(0, rows)]
    bounds = list(range(0, rows, _OUTPUT_ROWS)) + [rows]
    if bounds[-1] - bounds[-2] == 1:  # no one-row piece: the last row joins the piece before it
        del bounds[-2]
    return list(zip(bounds[:-1], bounds[1:]))


def _char_vectors(feature: CharFeature, windows: CharWindows, chunk: int = 2048) -> np.ndarray:
    """(F + 1, filters): row 0 zeros (a window position outside the sentence), then the vector of
    each of the F distinct forms of ``windows`` — the table :meth:`CharFeature.forward` builds for
    one batch, built once for all the forms of a text, ``chunk`` forms at a time (bounded memory;
    the forms are numbered shortest first, so each chunk arrives sorted by length)."""
    count = len(windows.ids)
    table = np.empty((count + 1, feature.dim), feature.table.value.dtype)
    table[0] = 0.0
    for start in range(0, count, chunk):
        rows = np.arange(start, min(start + chunk, count))
        ids, lengths = take_words(windows.ids, windows.lengths, rows, windows.width)
        table[1 + start:1 + start + len(rows)] = feature.cnn.forward(ids, lengths)
    return table


def predict_ids(
    model: Model,
    encoder: Encoder,
    encoded: Encoded,
    sentence_starts: np.ndarray,
    batch_size: int = 8192,
    decode: str = "auto",
    scheme: str = "iob2",
) -> np.ndarray:
    """(N,) predicted tag ids, decoded as ``decode`` says (see :mod:`.decode`): ``greedy``, ``viterbi``
    (learned transitions of an sll model), ``constrained`` (no invalid chunk transitions, on top of
    learned transitions when the model has them; greedy for tag sets without chunks) or ``auto``
    (viterbi for sll models, else greedy).  An sll ensemble decodes with its members' mean transitions."""
    scores = predict_scores(model, encoded.features, batch_size)
    learned = mean_transitions(members_of(model))
    if decode == "auto":
        decode = "viterbi" if learned is not None else "greedy"
    transitions, initial = learned if learned is not None else (None, None)
    if decode == "constrained" and is_chunk_tagset(encoder.tagset.tags):
        return constrained_decode(scores, sentence_starts, encoder.tagset.tags, scheme, transitions, initial)
    if decode in ("viterbi", "constrained") and transitions is not None and initial is not None:
        return decode_corpus(scores, sentence_starts, transitions, initial)
    if decode == "viterbi":
        raise WintrainError("decode viterbi needs a model trained with loss sll; decode greedy or constrained")
    return scores.argmax(axis=1)


def scoring_scheme(scheme: str) -> str:
    """Chunk scoring: conlleval's rules for IOB1/IOB2 data, span rules for IOBES."""
    return "iobes" if scheme == "iobes" else "conlleval"


def evaluate_encoded(
    model: Model,
    encoder: Encoder,
    corpus: Corpus,
    encoded: Encoded,
    batch_size: int,
    decode: str,
    data: DataConfig,
) -> Evaluation:
    """Predict every token of an encoded corpus and score it against the gold tags of ``corpus``.

    The model decodes in its own scheme (:func:`~wintrain.data.load.model_scheme`); its tags go
    back to the data's scheme (``data.scheme``) before they are scored, so a model
    that learned IOBES is scored by conlleval's rules on IOB data like any other."""
    ids = predict_ids(model, encoder, encoded, corpus.sentence_starts, batch_size, decode, model_scheme(data))
    ids, tags = to_data_ids(ids, corpus.sentence_starts, encoder.tagset.tags, data)
    predicted = [tags[i] for i in ids.tolist()]
    guessed = split_at(predicted, corpus.sentence_starts)
    gold = corpus.tag_sentences()
    return Evaluation(evaluate_tags(gold, guessed, scheme=scoring_scheme(data.scheme)), predicted)


def write_predictions(path: Path, corpus: Corpus, predicted: list[str]) -> None:
    """``token gold predicted`` lines, a blank line after each sentence (readable by conlleval)."""
    lines: list[str] = []
    for a, b in zip(corpus.sentence_starts[:-1], corpus.sentence_starts[1:]):
        lines.extend(f"{corpus.tokens[i]} {corpus.tags[i]} {predicted[i]}" for i in range(a, b))
        lines.append("")
    try:
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as error:
        raise WintrainError(f"{path}: cannot write predictions ({error.strerror})") from None


def evaluate_checkpoint(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    decode: str | None = None,
) -> dict[str, Any]:
    """Load a checkpoint, tag ``data`` (CoNLL format) and return its metrics (as ``wintrain eval``).

    ``decode`` overrides the checkpoint's ``evaluation.decode``.  The result also holds the
    confusion matrix (``labels``, ``confusion``: rows gold, columns predicted).
    """
    saved = load_checkpoint(checkpoint)
    model = saved.build()
    config = saved.config
    corpus = read_corpus(Path(data), config.data)
    encoded = saved.encoder.encode(to_model_tags(corpus, config.data))
    decode = decode or config.evaluation.decode
    if decode == "auto":
        decode = "viterbi" if config.loss.name == "sll" else "greedy"
    if decode == "constrained" and not is_chunk_tagset(saved.encoder.tagset.tags):
        decode = "viterbi" if config.loss.name == "sll" else "greedy"  # no chunks to constrain
    result = evaluate_encoded(model, saved.encoder, corpus, encoded, config.train.eval_batch_size, decode,
                              config.data)
    if output is not None:
        write_predictions(Path(output), corpus, result.predicted)
    labels = data_tagset(saved.encoder.tagset.tags, config.data)
    matrix = confusion_matrix(corpus.tags, result.predicted, labels)
    return {"checkpoint": str(checkpoint), "data": str(data), "decode": decode, **result.metrics,
            "labels": labels, "confusion": matrix.tolist()}
