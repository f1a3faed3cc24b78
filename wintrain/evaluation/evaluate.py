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
from wintrain.data.dataset import Encoded, Encoder
from wintrain.data.reader import Corpus, read_conll
from wintrain.errors import WintrainError
from wintrain.evaluation.metrics import evaluate_tags, is_chunk_tagset
from wintrain.nn.model import WindowClassifier


def main_score(metrics: dict[str, Any]) -> tuple[str, float]:
    """The number that picks the best epoch: entity F1 for chunk tag sets, else token accuracy."""
    if "entity" in metrics:
        return "entity_f1", float(metrics["entity"]["f1"])
    return "accuracy", float(metrics["accuracy"])


def split_sentences(flat: list[str], sentence_starts: np.ndarray) -> list[list[str]]:
    return [flat[a:b] for a, b in zip(sentence_starts[:-1], sentence_starts[1:])]


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    predicted: list[str]  # flat predicted tags, one per token


def evaluate_encoded(
    model: WindowClassifier, encoder: Encoder, corpus: Corpus, encoded: Encoded, batch_size: int = 8192
) -> Evaluation:
    """Predict every token of an encoded corpus and score it against the gold tags."""
    ids = model.predict(encoded.features, batch_size)
    tags = encoder.tagset.tags
    predicted = [tags[i] for i in ids.tolist()]
    gold = split_sentences(corpus.tags, corpus.sentence_starts)
    guessed = split_sentences(predicted, corpus.sentence_starts)
    metrics = evaluate_tags(gold, guessed)
    if not is_chunk_tagset(corpus.tags) and is_chunk_tagset(tags):
        metrics.pop("entity", None)
    return Evaluation(metrics, predicted)


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
    checkpoint: str | os.PathLike[str], data: str | os.PathLike[str], output: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Load a checkpoint, tag ``data`` (CoNLL format) and return its metrics (as ``wintrain eval``)."""
    saved = load_checkpoint(checkpoint)
    model = saved.build()
    columns = saved.config.data
    corpus = read_conll(Path(data), columns.token_column, columns.tag_column)
    encoded = saved.encoder.encode(corpus)
    result = evaluate_encoded(model, saved.encoder, corpus, encoded, saved.config.train.eval_batch_size)
    if output is not None:
        write_predictions(Path(output), corpus, result.predicted)
    return {"checkpoint": str(checkpoint), "data": str(data), **result.metrics}
