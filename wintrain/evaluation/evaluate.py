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
from wintrain.data.load import read_corpus
from wintrain.data.reader import Corpus, split_at
from wintrain.data.tags import is_chunk_tagset
from wintrain.errors import WintrainError
from wintrain.evaluation.confusion import confusion_matrix
from wintrain.evaluation.decode import constrained_decode, decode_corpus
from wintrain.evaluation.metrics import evaluate_tags
from wintrain.nn.model import WindowClassifier
from wintrain.nn.sll import SentenceLoss


def main_score(metrics: dict[str, Any]) -> tuple[str, float]:
    """The number that picks the best epoch: entity F1 for chunk tag sets, else token accuracy."""
    if "entity" in metrics:
        return "entity_f1", float(metrics["entity"]["f1"])
    return "accuracy", float(metrics["accuracy"])


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    predicted: list[str]  # flat predicted tags, one per token


def predict_ids(
    model: WindowClassifier,
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
    (viterbi for sll models, else greedy)."""
    scores = model.predict_scores(encoded.features, batch_size)
    sll = model.loss if isinstance(model.loss, SentenceLoss) else None
    if decode == "auto":
        decode = "viterbi" if sll is not None else "greedy"
    transitions = sll.sll.transitions.value if sll is not None else None
    initial = sll.sll.initial.value if sll is not None else None
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
    model: WindowClassifier,
    encoder: Encoder,
    corpus: Corpus,
    encoded: Encoded,
    batch_size: int = 8192,
    decode: str = "greedy",
    scheme: str = "iob2",
) -> Evaluation:
    """Predict every token of an encoded corpus and score it against the gold tags."""
    ids = predict_ids(model, encoder, encoded, corpus.sentence_starts, batch_size, decode, scheme)
    tags = encoder.tagset.tags
    predicted = [tags[i] for i in ids.tolist()]
    gold = corpus.tag_sentences()
    guessed = split_at(predicted, corpus.sentence_starts)
    return Evaluation(evaluate_tags(gold, guessed, scheme=scoring_scheme(scheme)), predicted)


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
    encoded = saved.encoder.encode(corpus)
    decode = decode or config.evaluation.decode
    if decode == "auto":
        decode = "viterbi" if config.loss.name == "sll" else "greedy"
    if decode == "constrained" and not is_chunk_tagset(saved.encoder.tagset.tags):
        decode = "viterbi" if config.loss.name == "sll" else "greedy"  # no chunks to constrain
    result = evaluate_encoded(model, saved.encoder, corpus, encoded, config.train.eval_batch_size, decode,
                              config.data.scheme)
    if output is not None:
        write_predictions(Path(output), corpus, result.predicted)
    labels = saved.encoder.tagset.tags
    matrix = confusion_matrix(corpus.tags, result.predicted, labels)
    return {"checkpoint": str(checkpoint), "data": str(data), "decode": decode, **result.metrics,
            "labels": labels, "confusion": matrix.tolist()}
