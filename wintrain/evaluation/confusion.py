"""Confusion matrices of tag predictions: the table ``wintrain eval`` prints and returns.

For C labels, ``M[g, p]`` counts the tokens with gold label ``g`` and predicted label ``p``
(rows gold, columns predicted).  Counting is one ``np.bincount`` over the flat index
``g * C + p``, so no Python loop runs per token once the labels are ids.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wintrain.errors import WintrainError, listed

__all__ = ["confusion_matrix", "confusion_matrix_ids"]


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
        raise WintrainError(
            f"{side} tag {tag!r} is not among the {len(index)} labels ({listed(list(index))}); add it to the labels"
        )
    return ids
