"""Vocabularies: string ↔ integer id, with reserved ``<pad>`` (id 0) and ``<unk>`` (id 1)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from wintrain.data.tags import tag_order

PAD = "<pad>"
UNK = "<unk>"


@dataclass
class Vocab:
    """Words in id order.  ``words[0] == "<pad>"`` (window positions outside the sentence),
    ``words[1] == "<unk>"`` (words never seen in training)."""

    words: list[str]
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.words[:2] != [PAD, UNK]:
            raise ValueError("a vocabulary starts with <pad>, <unk>")
        self.index = {word: i for i, word in enumerate(self.words)}

    pad_id = 0
    unk_id = 1

    @classmethod
    def build(cls, tokens: Iterable[str], min_count: int = 1) -> Vocab:
        """Words of ``tokens`` seen at least ``min_count`` times, most frequent first (ties: first seen)."""
        counts = Counter(tokens)
        kept = [word for word, count in counts.most_common() if count >= min_count and word not in (PAD, UNK)]
        return cls([PAD, UNK] + kept)

    def extended(self, words: Iterable[str]) -> Vocab:
        """This vocabulary plus the new ``words`` (appended in order, duplicates dropped)."""
        seen = set(self.words)
        extra = [w for w in dict.fromkeys(words) if w not in seen]
        return Vocab(self.words + extra)

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Token strings → (N,) int32 ids, unknown words → ``<unk>``."""
        get = self.index.get
        return np.fromiter((get(token, 1) for token in tokens), dtype=np.int32)


@dataclass
class TagSet:
    """The output classes, in a fixed order (id = position)."""

    tags: list[str]
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {tag: i for i, tag in enumerate(self.tags)}

    @classmethod
    def from_tags(cls, tags: Iterable[str]) -> TagSet:
        """Tags in a stable, readable order: ``O`` first, then sorted by entity type and prefix."""
        return cls(sorted(set(tags), key=tag_order))

    def __len__(self) -> int:
        return len(self.tags)
