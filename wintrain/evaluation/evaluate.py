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

import wintrain.kernels.decode
import wintrain.kernels.inference  # noqa: F401  (these two register the fast twins used here)
from wintrain.checkpoint import load_checkpoint
from wintrain.config import DataConfig
from wintrain.data.dataset import Encoded, Encoder, Feature
from wintrain.data.load import corpus_format, read_corpus, to_model_tags
from wintrain.data.reader import Corpus, split_at
from wintrain.data.tags import TagScheme
from wintrain.errors import WintrainError
from wintrain.evaluation.confusion import confusion_matrix
from wintrain.evaluation.decode import constrained_decode, decode_corpus, resolve_decode
from wintrain.evaluation.metrics import evaluate_tags
from wintrain.evaluation.segmentation import score_segmentation
from wintrain.kernels import pick
from wintrain.nn.ensemble import Model, mean_scores, mean_transitions
from wintrain.nn.model import predict_scores


def main_score(metrics: dict[str, Any]) -> tuple[str, float]:
    """The number that picks the best epoch: entity F1 for chunk tag sets, the mean of token and sentence
    F1 for a tokenizer, else token accuracy."""
    if "entity" in metrics:
        return "entity_f1", float(metrics["entity"]["f1"])
    if "segmentation" in metrics:
        return "segmentation_f1", float(metrics["segmentation"]["f1"])
    return "accuracy", float(metrics["accuracy"])


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    predicted: list[str]  # flat predicted tags, one per token


def model_scores(model: Model, features: list[Feature], batch_size: int = 8192, kernels: str = "fast") -> np.ndarray:
    """Logits (N, C) of the N windows of ``features``: each network's inference pass
    (:func:`~wintrain.nn.model.predict_scores`, or its fast twin), averaged over an ensemble's networks."""
    scores_of = pick(predict_scores, kernels)
    return mean_scores(model, lambda network: scores_of(network, features, batch_size))


def decode_scores(
    model: Model, scores: np.ndarray, sentence_starts: np.ndarray, decode: str, tags: list[str], scheme: TagScheme,
    kernels: str = "fast",
) -> np.ndarray:
    """(N,) tag ids from the scores (N, C) by the resolved ``decode`` (:func:`~.decode.resolve_decode`):
    ``greedy`` (argmax per token), ``viterbi`` (the learned transitions of an sll model, an ensemble's
    mean) or ``constrained`` (no invalid chunk transition under the model's scheme, on top of learned
    transitions when the model has them)."""
    if decode == "greedy":
        return scores.argmax(axis=1)
    decoder = pick(decode_corpus, kernels)
    learned = mean_transitions(model)
    transitions, initial = learned if learned is not None else (None, None)
    if decode == "constrained":
        return constrained_decode(scores, sentence_starts, tags, scheme.model, transitions, initial, decoder)
    if transitions is None or initial is None:
        raise WintrainError("decode viterbi needs a model trained with loss sll; decode greedy or constrained")
    return decoder(scores, sentence_starts, transitions, initial)


def predict_ids(
    model: Model,
    encoder: Encoder,
    encoded: Encoded,
    scheme: TagScheme,
    decode: str,
    batch_size: int = 8192,
    kernels: str = "fast",
) -> np.ndarray:
    """(N,) predicted tag ids of an encoded text, in the data's tags (:meth:`TagScheme.data_tagset`):
    scores, decoded in the model's scheme, then back to the data's scheme."""
    scores = model_scores(model, encoded.features, batch_size, kernels)
    ids = decode_scores(model, scores, encoded.sentence_starts, decode, encoder.tagset.tags, scheme, kernels)
    return scheme.to_data_ids(ids, encoded.sentence_starts, encoder.tagset.tags)[0]


def evaluate_encoded(
    model: Model,
    encoder: Encoder,
    scheme: TagScheme,
    corpus: Corpus,
    encoded: Encoded,
    decode: str,
    batch_size: int = 8192,
    kernels: str = "fast",
) -> Evaluation:
    """Predict every token of an encoded corpus and score it against the gold tags of ``corpus``
    (the data's tags: a model that learned IOBES is scored by conlleval's rules on IOB data like any
    other).  ``decode`` is resolved (:func:`~.decode.resolve_decode`)."""
    ids = predict_ids(model, encoder, encoded, scheme, decode, batch_size, kernels)
    tags = scheme.data_tagset(encoder.tagset.tags)
    predicted = [tags[i] for i in ids.tolist()]
    if scheme.scoring == "segmentation":
        return Evaluation(score_segmentation(corpus, predicted), predicted)
    guessed = split_at(predicted, corpus.sentence_starts)
    gold = corpus.tag_sentences()
    return Evaluation(evaluate_tags(gold, guessed, scheme=scheme.scoring), predicted)


def reading_config(data: DataConfig, path: Path, field: str | None) -> DataConfig:
    """How to read a file a model is scored on: its own ``data`` settings, with the tag from ``field`` when
    given; a CoNLL-U file scored by a model trained on plain columns reads ``field`` or UPOS."""
    conllu = corpus_format(path, data) == "conllu"
    if field is not None:
        if not conllu:
            raise WintrainError(f"--field names a CoNLL-U field, but {path} is read as CoNLL columns; leave it out "
                                "or give a .conllu file")
        return data.model_copy(update={"tag_column": field})
    if conllu and isinstance(data.tag_column, int):
        return data.model_copy(update={"tag_column": "upos"})
    return data


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


@dataclass
class CorpusPredictions:
    """A checkpoint's predictions on a tagged file: the corpus, the predicted tags (the data's), their scores."""

    corpus: Corpus
    predicted: list[str]
    metrics: dict[str, Any]
    scheme: TagScheme
    labels: list[str]  # the tags the model can predict, in the data's scheme
    decode: str  # the decoder used (resolved)


def tag_corpus(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    decode: str | None = None,
    kernels: str = "fast",
    field: str | None = None,
) -> CorpusPredictions:
    """Load a tagger's checkpoint and tag the words of ``data`` (see :func:`evaluate_checkpoint`)."""
    saved = load_checkpoint(checkpoint)
    if saved.config.task != "tag":
        raise WintrainError(f"{checkpoint}: a tokenizer; score it on a gold CoNLL-U file with wintrain eval "
                            f"{checkpoint} --data GOLD.conllu")
    model = saved.build(kernels)
    config, scheme = saved.config, saved.scheme
    corpus = read_corpus(Path(data), reading_config(config.data, Path(data), field))
    encoded = saved.encoder.encode(to_model_tags(corpus, scheme))
    decode = resolve_decode(decode or config.evaluation.decode, model.sentence_level, scheme.chunks)
    result = evaluate_encoded(model, saved.encoder, scheme, corpus, encoded, decode, config.train.eval_batch_size,
                              kernels)
    return CorpusPredictions(corpus, result.predicted, result.metrics, scheme,
                             scheme.data_tagset(saved.encoder.tagset.tags), decode)


def evaluate_checkpoint(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    decode: str | None = None,
    kernels: str = "fast",
    field: str | None = None,
) -> dict[str, Any]:
    """Load a checkpoint, tag ``data`` and return its metrics (as ``wintrain eval``).

    ``decode`` overrides the checkpoint's ``evaluation.decode``.  A CoNLL-U file is scored on ``field``
    (default: the model's own field; ``upos`` for a model trained on plain columns).  The result also
    holds the confusion matrix (``labels``, ``confusion``: rows gold, columns predicted).
    """
    tagged = tag_corpus(checkpoint, data, decode, kernels, field)
    if output is not None:
        write_predictions(Path(output), tagged.corpus, tagged.predicted)
    matrix = confusion_matrix(tagged.corpus.tags, tagged.predicted, tagged.labels)
    return {"checkpoint": str(checkpoint), "data": str(data), "decode": tagged.decode, **tagged.metrics,
            "labels": tagged.labels, "confusion": matrix.tolist()}
