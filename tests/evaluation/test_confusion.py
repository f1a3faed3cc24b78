"""Tests for wintrain.evaluation.confusion, against matrices counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from wintrain.errors import WintrainError
from wintrain.evaluation.confusion import confusion_matrix, confusion_matrix_ids

LABELS = ["O", "B-PER", "B-LOC"]
GOLD = ["O", "O", "B-PER", "B-PER", "B-LOC", "O", "B-LOC"]
PRED = ["O", "B-PER", "B-PER", "B-LOC", "B-LOC", "O", "O"]


def test_hand_computed_matrix():
    # rows gold, columns predicted:
    #            O  B-PER  B-LOC
    # O          2    1      0      (tokens 0, 5 right; token 1 -> B-PER)
    # B-PER      0    1      1      (token 2 right; token 3 -> B-LOC)
    # B-LOC      1    0      1      (token 4 right; token 6 -> O)
    expected = np.array([[2, 1, 0], [0, 1, 1], [1, 0, 1]])
    matrix = confusion_matrix(GOLD, PRED, LABELS)
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.sum() == len(GOLD)


def test_label_order_permutes_rows_and_columns():
    matrix = confusion_matrix(GOLD, PRED, ["B-LOC", "O", "B-PER"])
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 2, 1], [1, 0, 1]])


def test_ids_version_and_labels_never_seen():
    matrix = confusion_matrix_ids(np.array([0, 0, 1]), np.array([0, 1, 1]), 4)
    np.testing.assert_array_equal(matrix, [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(confusion_matrix([], [], ["O", "X"]), np.zeros((2, 2)))


def test_unknown_tag_and_length_mismatch():
    with pytest.raises(WintrainError, match="predicted tag 'I-ORG'"):
        confusion_matrix(["O"], ["I-ORG"], LABELS)
    with pytest.raises(ValueError):
        confusion_matrix(["O", "O"], ["O"], LABELS)
