"""Tag raw text with a trained checkpoint."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wintrain.checkpoint import Checkpoint
from wintrain.data.reader import sentence_starts, split_at
from wintrain.evaluation.evaluate import predict_ids
from wintrain.nn.model import WindowClassifier


@dataclass
class Tagger:
    """A checkpoint ready to tag: the rebuilt model plus its encoder."""

    saved: Checkpoint
    model: WindowClassifier

    @classmethod
    def from_checkpoint(cls, saved: Checkpoint) -> Tagger:
        return cls(saved, saved.build())

    def tag_ids(self, sentences: Sequence[Sequence[str]], decode: str | None = None) -> np.ndarray:
        """(N,) tag ids for all tokens of ``sentences`` (flat, in order), decoded as the
        checkpoint's ``evaluation.decode`` says unless ``decode`` overrides it."""
        encoder, config = self.saved.encoder, self.saved.config
        encoded = encoder.encode_sentences(sentences)
        if len(encoded) == 0:
            return np.zeros(0, dtype=np.int64)
        return predict_ids(self.model, encoder, encoded, sentence_starts(sentences), config.train.eval_batch_size,
                           decode or config.evaluation.decode, config.data.scheme)

    def tag(self, sentences: Sequence[Sequence[str]], decode: str | None = None) -> list[list[str]]:
        """Tags for each token of each sentence."""
        tags = self.saved.encoder.tagset.tags
        flat = [tags[i] for i in self.tag_ids(sentences, decode).tolist()]
        return split_at(flat, sentence_starts(sentences))


def format_conll(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> str:
    """``token TAG`` lines, a blank line after each sentence."""
    blocks = ["\n".join(f"{t} {g}" for t, g in zip(tokens, labels)) + "\n" for tokens, labels in zip(sentences, tags)]
    return "\n".join(blocks)


def format_json(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> str:
    """One JSON object per sentence per line: {"tokens": [...], "tags": [...]}."""
    return "".join(json.dumps({"tokens": list(s), "tags": list(t)}) + "\n" for s, t in zip(sentences, tags))
