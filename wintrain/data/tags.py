"""Tag sets and chunk tagging schemes: the one place that reads ``B-PER``-style tags.

A *chunk tag* is ``P-TYPE`` with a prefix P in ``B`` (begin), ``I`` (inside), ``E`` (end) or
``S`` (single) and a non-empty TYPE; every other tag (``O``, POS tags such as ``NOUN``,
``-LRB-``, a bare ``B-``) is outside any chunk.  Three schemes give the prefixes meaning:

* ``iob2``: every chunk starts with ``B-X``, continues with ``I-X``;
* ``iob1``: a chunk starts with ``I-X``; ``B-X`` only separates two touching X chunks;
* ``iobes``: ``S-X`` is a one-token chunk, ``B-X (I-X)* E-X`` a longer one.

This module parses tags (:func:`chunk_part`), recognises chunk tag sets
(:func:`is_chunk_tagset`), guesses the scheme of training data (:func:`infer_scheme`),
says which tag may follow which (:func:`allowed_transitions`, :func:`allowed_ends`) and
reads chunks out of a tag sequence (:func:`chunk_spans`) and writes them in another scheme
(:func:`recode`, :func:`recode_tagset`, :func:`iobes_recode_table`); :class:`TagScheme` is the one
resolved reading of a model's tags (:func:`resolve_scheme`).  The conlleval scorer in
:mod:`wintrain.evaluation.metrics` keeps its own splitting rules on purpose: it reproduces
the Perl script literally, quirks included (a type ``0`` counts as no type, ``[``/``]``
bracket tags, no rule for ``S``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from wintrain.errors import WintrainError

Scheme = Literal["iob1", "iob2", "iobes"]
SCHEMES: tuple[Scheme, ...] = ("iob1", "iob2", "iobes")
CHUNK_PREFIXES = frozenset("BIES")
OUTSIDE = ("O", "")


def chunk_part(tag: str) -> tuple[str, str]:
    """``(prefix, type)`` of a chunk tag (``"B-PER"`` → ``("B", "PER")``); ``("O", "")`` for any other tag."""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in CHUNK_PREFIXES:
        return tag[0], tag[2:]
    return OUTSIDE


def is_chunk_tagset(tags: Iterable[str]) -> bool:
    """True when any tag is a chunk tag: entity scoring (NER, chunking) rather than per-class scoring (POS)."""
    return any(chunk_part(tag)[0] != "O" for tag in tags)


def tag_order(tag: str) -> tuple[int, str, str]:
    """Sort key of a readable tag order: ``O`` first, then by type and prefix (B-LOC, I-LOC, B-PER, ...)."""
    prefix, _, kind = tag.partition("-")
    return (0 if tag == "O" else 1, kind or prefix, prefix)


def count_entity_starts(tag_sentences: Iterable[Sequence[str]]) -> tuple[int, int]:
    """``(i_starts, b_starts)``: chunks started by an ``I-`` tag and by a ``B-`` tag.

    ``I-X`` or ``B-X`` starts a chunk when the previous tag of the sentence is not ``B-X`` or
    ``I-X`` (it is ``O``, another type, or the sentence start).  IOB2 data has no I-starts;
    IOB1 data starts chunks with ``I-`` and uses ``B-X`` only right after an X chunk.
    """
    i_starts = b_starts = 0
    for tags in tag_sentences:
        previous = "O"
        for tag in tags:
            if tag[:2] in ("B-", "I-") and previous not in ("B" + tag[1:], "I" + tag[1:]):
                if tag[0] == "I":
                    i_starts += 1
                else:
                    b_starts += 1
            previous = tag
    return i_starts, b_starts


def infer_scheme(tags: Sequence[str], training_tag_sentences: Iterable[Sequence[str]] | None = None) -> Scheme:
    """Guess the scheme of a tag set: ``iob1``, ``iob2`` or ``iobes``.

    * any ``E-``/``S-`` tag → ``iobes``;
    * ``I-`` tags but no ``B-`` tags → ``iob1``;
    * with the training sentences' tags: ``iob1`` when more chunks start with ``I-X`` than with
      ``B-X`` (:func:`count_entity_starts`) — a few stray I-starts in IOB2 data (the CoNLL-2003
      copy used here has 267 against 23,162) keep ``iob2``, whose constraints fit the B-starts;
    * else ``iob2`` (also for tag sets without chunk tags, which no scheme constrains).
    """
    prefixes = {chunk_part(tag)[0] for tag in tags}
    if prefixes & {"E", "S"}:
        return "iobes"
    if "I" in prefixes and "B" not in prefixes:
        return "iob1"
    if training_tag_sentences is not None:
        i_starts, b_starts = count_entity_starts(training_tag_sentences)
        if i_starts > b_starts:
            return "iob1"
    return "iob2"


def describe_scheme(tags: Sequence[str], training_tag_sentences: Iterable[Sequence[str]] | None = None) -> str:
    """:func:`infer_scheme`, or ``flat`` for a tag set without chunk tags (e.g. POS)."""
    return infer_scheme(tags, training_tag_sentences) if is_chunk_tagset(tags) else "flat"


def _parts(tags: Sequence[str], scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """(C,) prefixes and (C,) types of ``tags``; an unknown scheme or E-/S- tags outside iobes are errors."""
    if scheme not in SCHEMES:
        raise WintrainError(f"unknown tagging scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    parts = [chunk_part(tag) for tag in tags]
    if scheme != "iobes":
        foreign = [tag for tag, (prefix, _) in zip(tags, parts) if prefix in ("E", "S")]
        if foreign:
            raise WintrainError(f"tag {foreign[0]!r} does not belong to the {scheme} scheme; use the iobes scheme")
    prefixes = np.array([prefix for prefix, _ in parts], dtype=object)
    types = np.array([kind for _, kind in parts], dtype=object)
    return prefixes, types


def allowed_transitions(tags: Sequence[str], scheme: str) -> np.ndarray:
    """(C+1, C) bool: ``allowed[i, j]`` when tag j may follow tag i; row C is the sentence start.

    The start row is the ``O`` row in every scheme.  Forbidden moves:

    * ``iob2``: ``I-X`` unless after ``B-X`` or ``I-X`` (O→I-X, start→I-X, B-Y→I-X, I-Y→I-X);
    * ``iob1``: ``B-X`` unless after ``B-X`` or ``I-X`` (B- only separates touching chunks of
      one type); ``I-X`` may follow anything and then starts a chunk;
    * ``iobes``: after ``B-X`` or ``I-X`` only ``I-X`` or ``E-X``; after ``E-*``, ``S-*``, ``O``
      or the start only ``B-*``, ``S-*`` or ``O``.
    """
    prefixes, types = _parts(tags, scheme)
    prev_prefix = np.append(prefixes, "O")[:, None]  # (C+1, 1)
    prev_type = np.append(types, "")[:, None]
    next_prefix, next_type = prefixes[None, :], types[None, :]  # (1, C)
    inside_same_type = np.isin(prev_prefix, ["B", "I"]) & (prev_type == next_type)
    if scheme == "iob2":
        return np.asarray(~(next_prefix == "I") | inside_same_type)
    if scheme == "iob1":
        return np.asarray(~(next_prefix == "B") | inside_same_type)
    continues = np.isin(next_prefix, ["I", "E"])
    return np.asarray(np.where(np.isin(prev_prefix, ["B", "I"]), continues & inside_same_type, ~continues))


def allowed_ends(tags: Sequence[str], scheme: str) -> np.ndarray:
    """(C,) bool: tags a sentence may end with; under ``iobes`` not ``B-*`` or ``I-*``."""
    prefixes, _ = _parts(tags, scheme)
    if scheme == "iobes":
        return np.asarray(~np.isin(prefixes, ["B", "I"]))
    return np.ones(len(tags), dtype=bool)


def chunk_spans(tags: Sequence[str], scheme: str = "iob2") -> list[tuple[int, int, str]]:
    """The chunks of one sentence's tags as ``(start, end, type)``, ``end`` exclusive.

    Any tag sequence is read leniently:

    * ``iob1``/``iob2``: ``B-X`` starts a chunk; ``I-X`` continues an open X chunk and starts
      one otherwise (after ``O``, another type or at the sentence start), as conlleval reads it;
    * ``iobes``: a chunk of type X continues only with ``I-X`` or ``E-X``; ``B-X`` and ``S-X``
      always start one; ``E-X`` and ``S-X`` end theirs at that token; ``I-X``/``E-X`` with no
      open X chunk start one (so ``B-X O`` is the one-token chunk X).
    """
    spans: list[tuple[int, int, str]] = []
    open_start, open_type = -1, ""  # open_start < 0: no chunk is open
    closing = ("E", "S") if scheme == "iobes" else ()
    continuing = ("I", "E") if scheme == "iobes" else ("I",)
    for position, tag in enumerate(tags):
        prefix, kind = chunk_part(tag)
        continues = open_start >= 0 and prefix in continuing and kind == open_type
        if open_start >= 0 and not continues:
            spans.append((open_start, position, open_type))
            open_start = -1
        if prefix != "O" and not continues:
            open_start, open_type = position, kind
        if prefix in closing:
            spans.append((open_start, position + 1, open_type))
            open_start = -1
    if open_start >= 0:
        spans.append((open_start, len(tags), open_type))
    return spans


def recode(tags: Sequence[str], source: str, target: str) -> list[str]:
    """One sentence's tags read under ``source`` (:func:`chunk_spans`) and written under ``target``;
    tags outside every chunk stay as they are.  IOB1 → IOBES → IOB1 gives the input back for any
    tags conlleval reads the same way::

        recode(["I-PER", "I-PER", "B-PER", "O"], "iob1", "iobes") == ["B-PER", "E-PER", "S-PER", "O"]
    """
    out = list(tags)
    previous_end, previous_type = -1, ""
    for start, end, kind in chunk_spans(tags, source):
        if target == "iobes":
            out[start:end] = [f"B-{kind}", *[f"I-{kind}"] * (end - start - 2), f"E-{kind}"] if end - start > 1 \
                else [f"S-{kind}"]
        else:
            out[start:end] = [f"I-{kind}"] * (end - start)
            if target == "iob2" or (start == previous_end and kind == previous_type):
                out[start] = f"B-{kind}"  # iob1: B- only where a chunk touches one of its type
        previous_end, previous_type = end, kind
    return out


def recode_tagset(tags: Sequence[str], target: str) -> list[str]:
    """A tag set with every chunk type given all of ``target``'s prefixes (B, I, and for iobes E and
    S), in :func:`tag_order`; other tags are kept."""
    prefixes = "BIES" if target == "iobes" else "BI"
    kinds = {chunk_part(tag)[1] for tag in tags} - {""}
    outside = [tag for tag in tags if chunk_part(tag)[0] == "O"]
    return sorted({*outside, *(f"{p}-{kind}" for kind in kinds for p in prefixes)}, key=tag_order)


@functools.lru_cache(maxsize=16)
def _iobes_recode_table(tags: tuple[str, ...], target: str) -> tuple[list[str], np.ndarray]:
    targets = recode_tagset(tags, target)
    index = {tag: i for i, tag in enumerate(targets)}
    table = np.empty((len(tags) + 1, len(tags)), dtype=np.int64)
    for current, tag in enumerate(tags):
        table[len(tags), current] = index[recode([tag], "iobes", target)[0]]
        for previous, before in enumerate(tags):
            table[previous, current] = index[recode([before, tag], "iobes", target)[1]]
    table.setflags(write=False)
    return targets, table


def iobes_recode_table(tags: Sequence[str], target: str) -> tuple[list[str], np.ndarray]:
    """:func:`recode` from ``iobes`` to ``target`` as a table over tag ids, for whole corpora at once.

    Read under iobes, whether a tag starts or continues a chunk depends only on the tag before
    it (a chunk is open after ``B-X``/``I-X`` and closed after anything else), and so does its
    IOB1/IOB2 form.  Returns the ``target`` tag set (:func:`recode_tagset`) and a (C+1, C) int
    table: ``table[prev, tag]`` is the id in it of ``tag`` after tag id ``prev`` (row C: the
    sentence start), exactly what :func:`recode` writes (built once per tag set)."""
    targets, table = _iobes_recode_table(tuple(tags), target)
    return list(targets), table


@dataclass(frozen=True)
class TagScheme:
    """How a model's tags are read, resolved once (:func:`resolve_scheme`) and saved in its checkpoint.

    ``data`` is the scheme of the data's tags — ``iob1``, ``iob2``, ``iobes``, or ``flat`` for a tag set
    without chunk tags (POS) — and ``model`` the scheme the model learns, predicts and decodes in: the
    data's, or ``iobes`` for IOB1/IOB2 data when ``data.model_scheme: iobes`` asks for it.  Training,
    scoring, decoding and the ``Tagger`` all read this one object: the model's tags go back to the data's
    scheme (:meth:`to_data_ids`) before anything is scored or returned.
    """

    data: str
    model: str

    @property
    def chunks(self) -> bool:
        """Whether the tags are chunk tags (entity scoring, constrained decoding, entities in output)."""
        return self.data not in ("flat", "segmentation")

    @property
    def recoded(self) -> bool:
        """Whether the model learns its chunk tags in another scheme than the data's."""
        return self.model != self.data

    @property
    def scoring(self) -> str:
        """How chunks are read when scoring: conlleval's rules for IOB1/IOB2 data, span rules for IOBES;
        ``segmentation`` for a tokenizer's labels."""
        return {"iobes": "iobes", "segmentation": "segmentation"}.get(self.data, "conlleval")

    def model_tags(self, sentence: Sequence[str]) -> list[str]:
        """One sentence's data tags as the model learns them."""
        return recode(sentence, self.data, self.model) if self.recoded else list(sentence)

    def model_tagset(self, data_tags: Sequence[str]) -> list[str]:
        """A tag set of the data (``data.tags``) as the model's tag set."""
        return recode_tagset(data_tags, self.model) if self.recoded else list(data_tags)

    def data_tagset(self, model_tags: Sequence[str]) -> list[str]:
        """The model's tag set as the data writes it (what :meth:`to_data_ids` can give)."""
        return recode_tagset(model_tags, self.data) if self.recoded else list(model_tags)

    def to_data_ids(self, ids: np.ndarray, starts: np.ndarray,
                    model_tags: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        """Predicted ids (N,) into ``model_tags`` back in the data's scheme, sentence offsets ``starts`` (S+1,)
        → (N,) ids into the returned tag set, :meth:`data_tagset`.  Each tag's IOB form depends only on the
        tag before it, so this is one table lookup over the corpus (:func:`iobes_recode_table`)."""
        if not self.recoded:
            return ids, list(model_tags)
        targets, table = iobes_recode_table(model_tags, self.data)
        previous = np.empty_like(ids)
        previous[1:] = ids[:-1]
        previous[starts[:-1][starts[:-1] < len(ids)]] = len(model_tags)  # a sentence start: the start row
        return table[previous, ids], targets

    def to_json(self) -> str:
        return json.dumps({"data": self.data, "model": self.model})

    @classmethod
    def from_json(cls, text: str) -> TagScheme:
        fields = json.loads(text)
        return cls(str(fields["data"]), str(fields["model"]))


FLAT = TagScheme("flat", "flat")
SEGMENTATION = TagScheme("segmentation", "segmentation")
"""A tokenizer's character labels (:mod:`wintrain.data.segmentation`): scored as tokens and sentences."""


def resolve_scheme(scheme: str, model_scheme: str, tags: Sequence[str],
                   training_tag_sentences: Iterable[Sequence[str]] | None = None) -> TagScheme:
    """The :class:`TagScheme` of a tag set: :data:`FLAT` without chunk tags; else ``scheme`` (``data.scheme``),
    with ``auto`` guessed from the tags and the training sentences (:func:`infer_scheme`), learned in IOBES when
    ``model_scheme`` (``data.model_scheme``) is ``iobes`` and the data is IOB1/IOB2."""
    if not is_chunk_tagset(tags):
        return FLAT
    data = infer_scheme(tags, training_tag_sentences) if scheme == "auto" else scheme
    model = "iobes" if model_scheme == "iobes" and data in ("iob1", "iob2") else data
    return TagScheme(data, model)
