"""From tokens to model input: per-token feature ids gathered through windows.

An :class:`Encoder` holds everything needed to turn tokens into arrays — the vocabulary,
the tag set, the window size and the feature switches — and is saved in every checkpoint,
so that evaluation and prediction encode text exactly as training did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from wintrain.data.casing import CASING_CLASSES, casing_ids
from wintrain.data.reader import Corpus
from wintrain.data.vocab import TagSet, Vocab
from wintrain.data.windows import gather_windows, window_positions
from wintrain.errors import WintrainError


@dataclass
class Encoded:
    """A data set ready for the model.

    features: one (N, w) int32 id array per feature (word, then casing when on);
    targets: (N,) int32 tag ids, or None for untagged text.
    """

    features: list[np.ndarray]
    targets: np.ndarray | None

    def __len__(self) -> int:
        return int(self.features[0].shape[0])

    def batch(self, index: np.ndarray | slice) -> tuple[list[np.ndarray], np.ndarray | None]:
        """The rows ``index`` of every feature (and the targets)."""
        targets = None if self.targets is None else self.targets[index]
        return [f[index] for f in self.features], targets


@dataclass
class Encoder:
    vocab: Vocab
    tagset: TagSet
    window_size: int
    lowercase: bool = True
    casing: bool = True

    @property
    def feature_names(self) -> list[str]:
        return ["word"] + (["casing"] if self.casing else [])

    @property
    def feature_sizes(self) -> list[int]:
        return [len(self.vocab)] + ([len(CASING_CLASSES)] if self.casing else [])

    def normalise(self, token: str) -> str:
        """The form a word is looked up under (lowercased when configured)."""
        return token.lower() if self.lowercase else token

    def token_features(self, tokens: Sequence[str]) -> list[np.ndarray]:
        """One (N,) id array per feature."""
        words = [t.lower() for t in tokens] if self.lowercase else tokens
        features = [self.vocab.encode(words)]
        if self.casing:
            features.append(casing_ids(tokens))
        return features

    def encode_tokens(self, tokens: Sequence[str], sentence_starts: np.ndarray) -> list[np.ndarray]:
        """tokens (N,) flat, sentence_starts (S+1,) → one (N, w) window id array per feature."""
        positions = window_positions(sentence_starts, self.window_size)
        return [gather_windows(ids, positions) for ids in self.token_features(tokens)]

    def encode_tags(self, corpus: Corpus) -> np.ndarray:
        """(N,) int32 tag ids; a tag outside the tag set is an error naming file and line."""
        index = self.tagset.index
        try:
            return np.fromiter((index[tag] for tag in corpus.tags), dtype=np.int32, count=len(corpus.tags))
        except KeyError as error:
            tag = error.args[0]
            line = int(corpus.lines[corpus.tags.index(tag)])
            raise WintrainError(
                f"{corpus.path}:{line}: tag {tag!r} is not in the tag set ({', '.join(self.tagset.tags)}); "
                "add it to data.tags or fix the file"
            ) from None

    def encode(self, corpus: Corpus) -> Encoded:
        return Encoded(self.encode_tokens(corpus.tokens, corpus.sentence_starts), self.encode_tags(corpus))

    def encode_sentences(self, sentences: Sequence[Sequence[str]]) -> Encoded:
        """Untagged sentences (lists of tokens) → windows, for prediction."""
        lengths = [len(s) for s in sentences]
        starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        tokens = [token for sentence in sentences for token in sentence]
        return Encoded(self.encode_tokens(tokens, starts), None)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The encoder as plain arrays for a checkpoint (no pickle).  The vocabulary is stored as
        its words joined by newlines in UTF-8 bytes: a fixed-width unicode array of 400k GloVe
        words would take ~100 MB."""
        return {
            "encoder/vocab": np.frombuffer("\n".join(self.vocab.words).encode("utf-8"), dtype=np.uint8),
            "encoder/tags": np.array(self.tagset.tags, dtype=str),
            "encoder/settings": np.array([self.window_size, int(self.lowercase), int(self.casing)], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "Encoder":
        window_size, lowercase, casing = (int(v) for v in arrays["encoder/settings"])
        return cls(
            Vocab(arrays["encoder/vocab"].tobytes().decode("utf-8").split("\n")),
            TagSet([str(t) for t in arrays["encoder/tags"]]),
            window_size,
            bool(lowercase),
            bool(casing),
        )
