"""The casing and category features: what a lowercased word vector cannot see.

GloVe's vocabulary is lowercased, so "Apple" and "apple" share a vector; the casing class of
each word is looked up in a small trainable embedding and concatenated to the word vector
(as in the CS224n reference NER model).  The category feature is the Unicode general category
of a token's first character (``Lu`` upper-case letter, ``Nd`` digit, ``Po`` punctuation, ``Zs``
space, …): for a tokenizer, whose tokens are single characters, it says what kind of character
each one is, also for characters never seen in training (another script, a new symbol).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

CASING_CLASSES = ["<pad>", "lower", "UPPER", "Title", "mixed", "numeric", "has_digit", "other"]


def casing_class(token: str) -> str:
    """One of :data:`CASING_CLASSES` (never ``<pad>``).

    lower: "cat"; UPPER: "NATO"; Title: "Paris"; mixed: "iPhone", "McDonald";
    numeric: "1996", "3.5", "1,000"; has_digit: "1996-08-22", "F16"; other: ".", "--".
    """
    if token.isalpha():  # the common case first
        if token.islower():
            return "lower"
        if token.isupper():
            return "UPPER"
        return "Title" if token[0].isupper() and token[1:].islower() else "mixed"
    if token.isdigit() or token.replace(",", "").replace(".", "", 1).isdigit():
        return "numeric"
    if any(ch.isdigit() for ch in token):
        return "has_digit"
    if not any(ch.isalpha() for ch in token):
        return "other"
    if token.islower():
        return "lower"
    if token.isupper():
        return "UPPER"
    if token[0].isupper() and (len(token) == 1 or token[1:].islower()):
        return "Title"
    return "mixed"


def casing_ids(tokens: Sequence[str]) -> np.ndarray:
    """(N,) int32 casing-class ids; each distinct token string is classified once."""
    ids = {name: i for i, name in enumerate(CASING_CLASSES)}
    by_type = {token: ids[casing_class(token)] for token in set(tokens)}
    return np.fromiter((by_type[token] for token in tokens), dtype=np.int32, count=len(tokens))


CATEGORIES = ["<pad>", "empty", "Cc", "Cf", "Cn", "Co", "Cs", "Ll", "Lm", "Lo", "Lt", "Lu", "Mc", "Me", "Mn", "Nd",
              "Nl", "No", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "Sc", "Sk", "Sm", "So", "Zl", "Zp", "Zs"]
"""The values of the category feature: the Unicode general categories (``empty`` for an empty token)."""


def category_ids(tokens: Sequence[str]) -> np.ndarray:
    """(N,) int32 ids into :data:`CATEGORIES` of each token's first character; each distinct token once."""
    ids = {name: i for i, name in enumerate(CATEGORIES)}
    by_type = {token: ids[unicodedata.category(token[0])] if token else 1 for token in set(tokens)}
    return np.fromiter((by_type[token] for token in tokens), dtype=np.int32, count=len(tokens))
