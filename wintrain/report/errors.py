"""What the model got wrong on dev, sentence by sentence, sorted into kinds of error.

Chunk tag sets (NER, chunking) compare the chunks :func:`~wintrain.data.tags.chunk_spans`
reads from the gold and the predicted tags of a sentence; two chunks *overlap* when they share
a token.  Chunks spanning the same tokens with the same type are right; every other chunk is
part of one error or more:

* **missed**: a gold chunk that no predicted chunk overlaps;
* **spurious**: a predicted chunk that overlaps no gold chunk;
* **wrong type**: a gold and a predicted chunk over the same tokens with different types;
* **wrong span**: a gold and a predicted chunk that overlap with different boundaries (one
  error per such pair, whatever the two types are; both are kept).

Flat tag sets (POS) have one kind: **wrong tag**, a token whose predicted tag is not its gold tag.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from wintrain.data.tags import chunk_spans

Span = tuple[int, int, str]
"""A chunk: ``(start, end, type)``, ``end`` exclusive."""

KINDS = {
    "missed": "missed",
    "spurious": "spurious",
    "wrong_type": "wrong type",
    "wrong_span": "wrong span",
    "wrong_tag": "wrong tag",
}
"""Every error kind and how the report names it."""
CHUNK_KINDS = ("missed", "spurious", "wrong_type", "wrong_span")
FLAT_KINDS = ("wrong_tag",)


@dataclass(frozen=True)
class TagError:
    """One error: its kind, the tokens ``[start, end)`` it covers and what gold and prediction say.

    ``gold`` / ``predicted`` hold the chunk types (or, for ``wrong_tag``, the tags); ``gold`` is
    None for ``spurious`` and ``predicted`` None for ``missed``.  ``gold_span`` and
    ``predicted_span`` are the chunks' own token ranges.
    """

    kind: str
    start: int
    end: int
    gold: str | None = None
    predicted: str | None = None
    gold_span: tuple[int, int] | None = None
    predicted_span: tuple[int, int] | None = None

    @property
    def types(self) -> tuple[str, ...]:
        """The types (or tags) involved: gold first, each once."""
        return tuple(dict.fromkeys(kind for kind in (self.gold, self.predicted) if kind is not None))

    def describe(self) -> str:
        """A short phrase: ``missed PER``, ``spurious LOC``, ``wrong type: PER → ORG``, ``wrong span ORG``
        (same type), ``wrong span: ORG → LOC``, ``wrong tag: NOUN → PROPN``."""
        if self.kind == "missed":
            return f"missed {self.gold}"
        if self.kind == "spurious":
            return f"spurious {self.predicted}"
        if self.kind == "wrong_span" and self.gold == self.predicted:
            return f"wrong span {self.gold}"
        return f"{KINDS[self.kind]}: {self.gold} → {self.predicted}"


@dataclass(frozen=True)
class SentenceErrors:
    """A dev sentence with at least one error: its tokens, tags, chunks and errors (by position)."""

    index: int
    tokens: list[str]
    gold: list[str]
    predicted: list[str]
    errors: list[TagError]
    gold_spans: list[Span] = field(default_factory=list)
    predicted_spans: list[Span] = field(default_factory=list)


def _overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def classify_chunks(gold: Sequence[Span], predicted: Sequence[Span]) -> list[TagError]:
    """The errors between one sentence's gold and predicted chunks (see the module docstring)."""
    errors: list[TagError] = []
    for g in gold:
        overlapping = [p for p in predicted if _overlap(g, p)]
        if not overlapping:
            errors.append(TagError("missed", g[0], g[1], gold=g[2], gold_span=(g[0], g[1])))
        for p in overlapping:
            if (p[0], p[1]) == (g[0], g[1]):
                if p[2] != g[2]:
                    errors.append(TagError("wrong_type", g[0], g[1], g[2], p[2], (g[0], g[1]), (p[0], p[1])))
            else:
                errors.append(TagError("wrong_span", min(g[0], p[0]), max(g[1], p[1]), g[2], p[2],
                                       (g[0], g[1]), (p[0], p[1])))
    for p in predicted:
        if not any(_overlap(g, p) for g in gold):
            errors.append(TagError("spurious", p[0], p[1], predicted=p[2], predicted_span=(p[0], p[1])))
    return sorted(errors, key=lambda error: (error.start, error.end))


def classify_tokens(gold: Sequence[str], predicted: Sequence[str]) -> list[TagError]:
    """One ``wrong_tag`` error per token whose predicted tag is not its gold tag."""
    return [TagError("wrong_tag", i, i + 1, g, p, (i, i + 1), (i, i + 1))
            for i, (g, p) in enumerate(zip(gold, predicted)) if g != p]


def classify(
    tokens: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    scheme: str,
) -> list[SentenceErrors]:
    """The sentences with errors, in corpus order.  ``scheme`` is ``iob1``, ``iob2`` or ``iobes``
    for chunk tag sets (chunks compared) and ``flat`` for other tag sets (tokens compared).

    Raises:
        ValueError: a sentence's gold and predicted tags differ in length.
    """
    found: list[SentenceErrors] = []
    for index, (words, gold_tags, predicted_tags) in enumerate(zip(tokens, gold, predicted)):
        if not (len(words) == len(gold_tags) == len(predicted_tags)):
            raise ValueError(f"sentence {index + 1}: {len(words)} tokens, {len(gold_tags)} gold tags "
                             f"and {len(predicted_tags)} predicted tags")
        if list(gold_tags) == list(predicted_tags):
            continue
        if scheme == "flat":
            errors, gold_spans, predicted_spans = classify_tokens(gold_tags, predicted_tags), [], []
        else:
            gold_spans, predicted_spans = chunk_spans(gold_tags, scheme), chunk_spans(predicted_tags, scheme)
            errors = classify_chunks(gold_spans, predicted_spans)
        if errors:
            found.append(SentenceErrors(index, list(words), list(gold_tags), list(predicted_tags), errors,
                                        gold_spans, predicted_spans))
    return found


def count_errors(sentences: Sequence[SentenceErrors]) -> tuple[Counter[str], Counter[str]]:
    """``(per kind, per type)`` error counts; an error counts once for each type it involves."""
    kinds: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for sentence in sentences:
        for error in sentence.errors:
            kinds[error.kind] += 1
            types.update(error.types)
    return kinds, types
