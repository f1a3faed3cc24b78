"""Scores of a tokenizer's character labels: the tokens, sentences and multiword tokens they mark.

Gold and predicted labels are over the same text, so a token (or sentence, or multiword token) is correct
when the predicted one has exactly the gold one's character span (the CoNLL 2018 shared task's Tokens and
Sentences metrics on one text; ``wintrain eval`` of a tokenizer scores a whole treebank with the official
alignment, :mod:`wintrain.evaluation.ud_scores`).  The main score, which picks ``best.npz`` during
training, is the mean of the token and sentence F1: a tokenizer must get both right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from wintrain.data.reader import Corpus
from wintrain.data.segmentation import LABEL_TAGS
from wintrain.data.ud import segment_arrays
from wintrain.evaluation.metrics import PRF, prf_json


def _spans(text: str, labels: np.ndarray) -> tuple[set[tuple[int, int]], set[tuple[int, int]], set[tuple[int, int]]]:
    """Token, sentence and multiword-token character spans that ``labels`` mark in ``text``."""
    starts, ends, multiword, sentence_starts = segment_arrays(text, labels)
    tokens = set(zip(starts.tolist(), ends.tolist()))
    sentences = {(int(starts[a]), int(ends[b - 1])) for a, b in zip(sentence_starts[:-1], sentence_starts[1:])}
    words = set(zip(starts[multiword].tolist(), ends[multiword].tolist()))
    return tokens, sentences, words


def score_segmentation(corpus: Corpus, predicted: Sequence[str]) -> dict[str, Any]:
    """``accuracy`` of the ``characters``' labels and ``tokens``, ``sentences``, ``multiword`` precision/recall/F1 of a
    tokenizer corpus (:func:`wintrain.data.segmentation.tokenizer_corpus`) and its predicted tags;
    ``segmentation.f1`` is the mean of the token and sentence F1."""
    value = {tag: index for index, tag in enumerate(LABEL_TAGS)}
    gold_labels = np.fromiter((value[tag] for tag in corpus.tags), dtype=np.uint8, count=len(corpus.tags))
    found_labels = np.fromiter((value[tag] for tag in predicted), dtype=np.uint8, count=len(predicted))
    counts = np.zeros((3, 3), dtype=np.int64)  # rows: tokens, sentences, multiword; columns: correct, gold, found
    bounds = corpus.sentence_starts.tolist()
    for begin, end in zip(bounds[:-1], bounds[1:]):
        text = "".join(corpus.tokens[begin:end])
        gold = _spans(text, gold_labels[begin:end])
        found = _spans(text, found_labels[begin:end])
        for row, (gold_spans, found_spans) in enumerate(zip(gold, found)):
            counts[row] += (len(gold_spans & found_spans), len(gold_spans), len(found_spans))
    tokens, sentences, multiword = (prf_json(PRF.from_counts(correct, found, gold))
                                    for correct, gold, found in counts.tolist())
    return {
        "accuracy": float(np.mean(gold_labels == found_labels)) if len(gold_labels) else 0.0,
        "characters": len(gold_labels), "tokens": tokens, "sentences": sentences, "multiword": multiword,
        "segmentation": {"f1": (tokens["f1"] + sentences["f1"]) / 2},
    }
