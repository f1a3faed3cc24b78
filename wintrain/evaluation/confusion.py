"""Confusion matrices of tag predictions and the per-class scores they imply.

For C labels, ``M[g, p]`` counts the tokens with gold label ``g`` and predicted label ``p``
(rows gold, columns predicted).  Counting is one ``np.bincount`` over the flat index
``g * C + p``, so no Python loop runs per token once the labels are ids.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from wintrain.errors import WintrainError
from wintrain.evaluation.metrics import PRF

__all__ = ["confusion_matrix", "confusion_matrix_ids", "per_class_from_confusion", "most_confused"]


def confusion_matrix_ids(gold_ids: np.ndarray, pred_ids: np.ndarray, n_labels: int) -> np.ndarray:
    """(C, C) int64 counts ``M[g, p] = #{i : gold_ids[i] = g and pred_ids[i] = p}``.

    Args:
        gold_ids: (N,) ints in ``[0, C)``.
        pred_ids: (N,) ints in ``[0, C)``.
        n_labels: C.
    """
    gold_ids = np.asarray(gold_ids, dtype=np.int64)
    pred_ids = np.asarray(pred_ids, dtype=np.int64)
    if gold_ids.shape != pred_ids.shape:
        raise ValueError(f"gold has {gold_ids.size} labels but pred has {pred_ids.size}")
    flat = gold_ids * n_labels + pred_ids
    return np.bincount(flat.ravel(), minlength=n_labels * n_labels).reshape(n_labels, n_labels).astype(np.int64)


def confusion_matrix(gold_flat: Sequence[str], pred_flat: Sequence[str], labels: list[str]) -> np.ndarray:
    """(C, C) int64 counts of (gold, predicted) label pairs, rows and columns in ``labels`` order.

    ``gold_flat`` and ``pred_flat`` are the N tags of a corpus, token by token (ValueError
    when their lengths differ).  A tag outside ``labels`` is a WintrainError naming it.
    """
    if len(gold_flat) != len(pred_flat):
        raise ValueError(f"gold has {len(gold_flat)} labels but pred has {len(pred_flat)}")
    index = {label: i for i, label in enumerate(labels)}
    gold_ids = _label_ids(gold_flat, index, "gold")
    pred_ids = _label_ids(pred_flat, index, "predicted")
    return confusion_matrix_ids(gold_ids, pred_ids, len(labels))


def _label_ids(tags: Sequence[str], index: dict[str, int], side: str) -> np.ndarray:
    """(N,) int64 ids of ``tags``; an unknown tag is a WintrainError."""
    get = index.get
    ids = np.fromiter((get(tag, -1) for tag in tags), dtype=np.int64, count=len(tags))
    unknown = np.flatnonzero(ids < 0)
    if unknown.size:
        tag = tags[int(unknown[0])]
        raise WintrainError(f"{side} tag {tag!r} is not among the labels ({', '.join(index)}); add it to the labels")
    return ids


def per_class_from_confusion(matrix: np.ndarray, labels: list[str]) -> dict[str, PRF]:
    """Token-level P/R/F1 per label from a (C, C) confusion matrix.

    For label c: correct = M[c, c], found = Σ_g M[g, c] (column sum), support = Σ_p M[c, p]
    (row sum); P = correct/found, R = correct/support, F1 = 2PR/(P+R), 0 on a zero
    denominator.  Every label is listed, in ``labels`` order, even with no tokens.
    """
    correct = np.diag(matrix)
    found = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    return {
        label: PRF.from_counts(int(c), int(f), int(s))
        for label, c, f, s in zip(labels, correct, found, support)
    }


def most_confused(matrix: np.ndarray, labels: list[str], k: int = 10) -> list[tuple[str, str, int]]:
    """The ``k`` largest off-diagonal cells as ``(gold, predicted, count)``, largest first.

    Cells with count 0 are left out; ties keep row-major order.
    """
    errors = matrix.astype(np.int64, copy=True)
    np.fill_diagonal(errors, 0)
    flat = errors.ravel()
    order = np.argsort(-flat, kind="stable")[:k]
    n = len(labels)
    return [(labels[i // n], labels[i % n], int(flat[i])) for i in order.tolist() if flat[i] > 0]
