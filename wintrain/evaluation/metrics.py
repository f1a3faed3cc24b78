"""Tagging metrics: CoNLL entity (chunk) scores and token-level per-class scores.

Entity scoring reproduces the CoNLL-2000/2003 ``conlleval`` Perl script (version
2004-01-26) literally, so numbers reported here match the script to the printed two
decimals, overall and per type.  The script is a small state machine over a stream of
``(gold tag, guessed tag)`` pairs:

* every tag is split at its FIRST ``-`` into ``(prefix, type)``; a tag without ``-`` is
  ``(tag, "")``.  ``B-GPE-LOC`` is prefix ``B``, type ``GPE-LOC``.
* between two consecutive tags of one side, :func:`_chunk_ends` / :func:`_chunk_starts`
  decide whether a chunk ended / started.  They know the IOB1/IOB2/IOE rules
  (``B``, ``I``, ``E``, ``O``) and the bracket tags ``[``/``]``, but have NO rule for
  ``S``: an ``S-X`` followed by ``S-X`` (or ``B-X`` after ``E-X``) continues one chunk,
  exactly as the script counts it.
* a chunk counts as correct when gold and guess start it at the same token with the same
  type and also both end it at the same token ("inCorrect" bookkeeping below).
* a sentence boundary is fed to the machine as one extra ``O``/``O`` token that is not
  counted in the token total.  (Sentences are written to the script with an empty line
  after each one, the usual layout.)

Scores are returned as fractions in ``[0, 1]``, not percentages::

    precision = correct / found_guessed        (0 when found_guessed == 0)
    recall    = correct / found_gold           (0 when found_gold == 0)
    F1        = 2 * P * R / (P + R)            (0 when P + R == 0)

``score_chunks(..., scheme="iobes")`` scores BIOES/IOBES tag sets by their spans instead
(:func:`wintrain.data.tags.chunk_spans`): conlleval has no rule for ``S`` and none for ``E`` followed by ``B``,
so it merges ``S-X S-X`` and ``B-X E-X B-X E-X`` into one chunk each.

For tag sets without chunk prefixes (POS tags) :func:`score_classes` gives token-level
per-class precision/recall/F1 plus macro and micro averages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from wintrain.data.tags import chunk_spans, is_chunk_tagset
from wintrain.errors import WintrainError

__all__ = [
    "PRF",
    "ChunkScore",
    "ClassScore",
    "score_chunks",
    "SCORING_SCHEMES",
    "score_classes",
    "evaluate_tags",
]

_SENTENCE_BOUNDARY = "O"  # the script replaces a boundary line by the tags ("O", "O")


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 of one class / entity type (or an average of several).

    ``support`` is the number of gold items, ``found`` the number of predicted items and
    ``correct`` the number of predicted items that match a gold item.
    """

    precision: float
    recall: float
    f1: float
    support: int
    found: int = 0
    correct: int = 0

    @classmethod
    def from_counts(cls, correct: int, found: int, gold: int) -> PRF:
        """P = correct/found, R = correct/gold, F1 = 2PR/(P+R); each 0 on a zero denominator."""
        precision = correct / found if found else 0.0
        recall = correct / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        return cls(precision, recall, f1, support=gold, found=found, correct=correct)


@dataclass(frozen=True)
class ChunkScore:
    """conlleval's counts and scores.

    ``tokens`` excludes sentence boundaries; ``per_type`` is keyed by entity type, sorted
    by name, and holds every type seen in gold OR in the guesses (a type only ever guessed
    has support 0 and P = R = F1 = 0).  ``accuracy = correct_tokens / tokens``.
    """

    tokens: int
    gold_chunks: int
    found_chunks: int
    correct_chunks: int
    overall: PRF
    per_type: dict[str, PRF]
    correct_tokens: int = 0
    accuracy: float = 0.0


@dataclass(frozen=True)
class ClassScore:
    """Token-level scores for single-label tagging with a flat tag set (e.g. POS).

    ``macro`` averages per-class P, R and F1 (unweighted) over every class present in gold
    or predictions; ``micro`` pools all tokens, which for single-label classification makes
    micro P = R = F1 = accuracy.
    """

    accuracy: float
    tokens: int
    per_class: dict[str, PRF]
    macro: PRF
    micro: PRF


# --------------------------------------------------------------------------- conlleval


@lru_cache(maxsize=4096)
def _split_tag(tag: str) -> tuple[str, str]:
    """Split ``tag`` at its first ``-`` into ``(prefix, type)`` like conlleval.

    Not :func:`wintrain.data.tags.chunk_part`: conlleval gives every tag with a ``-`` a prefix
    (``[``, ``]``, ``.`` and any letter count), and reproducing its numbers means its rules.

    The script also maps a type that Perl considers false to ``""``; besides the empty
    string that is the string ``"0"`` (so ``B-0`` has no type), reproduced here.
    """
    prefix, dash, chunk_type = tag.partition("-")
    if not dash:
        return tag, ""
    return prefix, "" if chunk_type == "0" else chunk_type


def _chunk_ends(prev_prefix: str, prefix: str, prev_type: str, chunk_type: str) -> bool:
    """conlleval's ``endOfChunk``: did a chunk end between the previous and this token?"""
    if (prev_prefix, prefix) in _END_TRANSITIONS:
        return True
    if prev_prefix not in ("O", ".") and prev_type != chunk_type:
        return True
    return prev_prefix in ("[", "]")


def _chunk_starts(prev_prefix: str, prefix: str, prev_type: str, chunk_type: str) -> bool:
    """conlleval's ``startOfChunk``: did a chunk start at this token?"""
    if (prev_prefix, prefix) in _START_TRANSITIONS:
        return True
    if prefix not in ("O", ".") and prev_type != chunk_type:
        return True
    return prefix in ("[", "]")


_END_TRANSITIONS = frozenset(
    {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")}
)
_START_TRANSITIONS = frozenset(
    {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")}
)


@lru_cache(maxsize=16384)
def _transition(prev_tag: str, tag: str) -> tuple[bool, bool]:
    """``(chunk ended, chunk started)`` between two consecutive raw tags of one side.

    Both rules depend only on the two tags, so caching them per tag pair makes the scoring
    loop a couple of dictionary look-ups per token.
    """
    prev_prefix, prev_type = _split_tag(prev_tag)
    prefix, chunk_type = _split_tag(tag)
    return (
        _chunk_ends(prev_prefix, prefix, prev_type, chunk_type),
        _chunk_starts(prev_prefix, prefix, prev_type, chunk_type),
    )


def _check_aligned(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    """Raise ValueError unless gold and pred have the same sentence and token counts."""
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} sentences but pred has {len(pred)}")
    for index, (gold_sentence, pred_sentence) in enumerate(zip(gold, pred)):
        if len(gold_sentence) != len(pred_sentence):
            raise ValueError(
                f"sentence {index}: gold has {len(gold_sentence)} tags "
                f"but pred has {len(pred_sentence)}"
            )


def _conll_stream(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> Iterator[tuple[str, str, bool]]:
    """Yield ``(gold tag, guessed tag, is_token)``, with an uncounted O/O after each sentence."""
    for gold_sentence, pred_sentence in zip(gold, pred):
        for gold_tag, pred_tag in zip(gold_sentence, pred_sentence):
            yield gold_tag, pred_tag, True
        yield _SENTENCE_BOUNDARY, _SENTENCE_BOUNDARY, False


SCORING_SCHEMES = ("conlleval", "iob1", "iob2", "iobes")


def score_chunks(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str = "conlleval"
) -> ChunkScore:
    """Entity (chunk) scores of predicted tags against gold tags.

    ``gold`` and ``pred`` are lists of sentences, each a list of tag strings; matching
    sentences must have equal lengths (ValueError otherwise).

    ``scheme`` picks how chunks are read from the tags:

    * ``"conlleval"`` (default; ``"iob1"`` and ``"iob2"`` are the same): exactly as the
      ``conlleval`` script.  A guessed chunk is correct when, token for token, gold and
      guess start a chunk at the same place with the same type, the types agree on every
      token inside, and both end the chunk at the same place ("inCorrect" in the script).
    * ``"iobes"``: chunks are the spans of :func:`~wintrain.data.tags.chunk_spans` on each side, sentence by
      sentence; a guessed span is correct when gold holds the same ``(start, end, type)``.

    Either way chunks are counted per type on each side independently (``found_gold`` /
    ``found_guessed``), and a token is correct when its gold and guessed tags agree.
    """
    _check_aligned(gold, pred)
    if scheme == "iobes":
        counts = _count_iobes(gold, pred)
    elif scheme in SCORING_SCHEMES:
        counts = _count_conlleval(gold, pred)
    else:
        raise WintrainError(f"unknown scoring scheme {scheme!r}; choose one of {', '.join(SCORING_SCHEMES)}")
    return _chunk_score(counts)


@dataclass(frozen=True)
class _ChunkCounts:
    """Chunks per type in gold, found in the guesses and correct; tokens and correct tokens."""

    gold: Counter[str]
    found: Counter[str]
    correct: Counter[str]
    tokens: int
    correct_tokens: int


def _count_conlleval(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> _ChunkCounts:
    """Per-type chunk counts and token counts from conlleval's state machine."""
    gold_per_type: Counter[str] = Counter()
    found_per_type: Counter[str] = Counter()
    correct_per_type: Counter[str] = Counter()
    tokens = correct_tokens = 0

    in_correct = False  # a chunk started in both at the same token and agrees so far
    last_gold = last_pred = _SENTENCE_BOUNDARY
    last_gold_type = last_pred_type = ""

    for gold_tag, pred_tag, is_token in _conll_stream(gold, pred):
        gold_prefix, gold_type = _split_tag(gold_tag)
        pred_prefix, pred_type = _split_tag(pred_tag)
        gold_ends, gold_starts = _transition(last_gold, gold_tag)
        pred_ends, pred_starts = _transition(last_pred, pred_tag)

        if in_correct:
            if gold_ends and pred_ends and last_pred_type == last_gold_type:
                in_correct = False
                correct_per_type[last_gold_type] += 1
            elif gold_ends != pred_ends or pred_type != gold_type:
                in_correct = False

        if gold_starts and pred_starts and pred_type == gold_type:
            in_correct = True
        if gold_starts:
            gold_per_type[gold_type] += 1
        if pred_starts:
            found_per_type[pred_type] += 1

        if is_token:
            tokens += 1
            if gold_prefix == pred_prefix and gold_type == pred_type:
                correct_tokens += 1

        last_gold, last_pred = gold_tag, pred_tag
        last_gold_type, last_pred_type = gold_type, pred_type

    if in_correct:  # end of input closes the chunk in progress
        correct_per_type[last_gold_type] += 1
    return _ChunkCounts(gold_per_type, found_per_type, correct_per_type, tokens, correct_tokens)


def _chunk_score(counts: _ChunkCounts) -> ChunkScore:
    """Totals, overall and per-type P/R/F1 from per-type chunk counts."""
    gold_per_type, found_per_type, correct_per_type = counts.gold, counts.found, counts.correct
    gold_chunks = sum(gold_per_type.values())
    found_chunks = sum(found_per_type.values())
    correct_chunks = sum(correct_per_type.values())
    per_type = {
        chunk_type: PRF.from_counts(
            correct_per_type[chunk_type], found_per_type[chunk_type], gold_per_type[chunk_type]
        )
        for chunk_type in sorted(gold_per_type.keys() | found_per_type.keys())
    }
    return ChunkScore(
        tokens=counts.tokens,
        gold_chunks=gold_chunks,
        found_chunks=found_chunks,
        correct_chunks=correct_chunks,
        overall=PRF.from_counts(correct_chunks, found_chunks, gold_chunks),
        per_type=per_type,
        correct_tokens=counts.correct_tokens,
        accuracy=counts.correct_tokens / counts.tokens if counts.tokens else 0.0,
    )


# --------------------------------------------------------------------------- IOBES


def _count_iobes(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> _ChunkCounts:
    """Per-type chunk counts from the spans of every sentence, and token counts."""
    gold_per_type: Counter[str] = Counter()
    found_per_type: Counter[str] = Counter()
    correct_per_type: Counter[str] = Counter()
    tokens = correct_tokens = 0
    for gold_sentence, pred_sentence in zip(gold, pred):
        gold_spans = chunk_spans(gold_sentence, "iobes")
        pred_spans = chunk_spans(pred_sentence, "iobes")
        gold_per_type.update(span[2] for span in gold_spans)
        found_per_type.update(span[2] for span in pred_spans)
        correct_per_type.update(span[2] for span in set(gold_spans).intersection(pred_spans))
        tokens += len(gold_sentence)
        correct_tokens += sum(map(_same_tag, gold_sentence, pred_sentence))
    return _ChunkCounts(gold_per_type, found_per_type, correct_per_type, tokens, correct_tokens)


def _same_tag(gold_tag: str, pred_tag: str) -> bool:
    """Token correctness as conlleval counts it: equal prefix and equal type."""
    return _split_tag(gold_tag) == _split_tag(pred_tag)


# --------------------------------------------------------------------------- flat tag sets


def score_classes(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> ClassScore:
    """Token-level per-class P/R/F1 with macro and micro averages.

    For class ``c``: correct = #tokens with gold == pred == c, found = #pred == c,
    support = #gold == c.  Macro P, R, F1 are plain means of the per-class values over
    classes present in gold or pred (so a class only ever predicted pulls the mean down).
    Micro pools all tokens: P = R = F1 = accuracy = #(gold == pred) / #tokens.
    """
    _check_aligned(gold, pred)
    gold_counts: Counter[str] = Counter()
    pred_counts: Counter[str] = Counter()
    correct_counts: Counter[str] = Counter()
    for gold_sentence, pred_sentence in zip(gold, pred):
        gold_counts.update(gold_sentence)
        pred_counts.update(pred_sentence)
        correct_counts.update(g for g, p in zip(gold_sentence, pred_sentence) if g == p)

    tokens = sum(gold_counts.values())
    correct = sum(correct_counts.values())
    accuracy = correct / tokens if tokens else 0.0
    per_class = {
        label: PRF.from_counts(correct_counts[label], pred_counts[label], gold_counts[label])
        for label in sorted(gold_counts.keys() | pred_counts.keys())
    }
    n_classes = len(per_class)
    if n_classes:
        macro = PRF(
            precision=sum(s.precision for s in per_class.values()) / n_classes,
            recall=sum(s.recall for s in per_class.values()) / n_classes,
            f1=sum(s.f1 for s in per_class.values()) / n_classes,
            support=tokens,
            found=tokens,
            correct=correct,
        )
    else:
        macro = PRF(0.0, 0.0, 0.0, support=0, found=0, correct=0)
    micro = PRF(accuracy, accuracy, accuracy, support=tokens, found=tokens, correct=correct)
    return ClassScore(
        accuracy=accuracy, tokens=tokens, per_class=per_class, macro=macro, micro=micro
    )


def prf_json(score: PRF) -> dict[str, float | int]:
    """The JSON fields shared by entity totals, entity types and classes."""
    return {
        "precision": score.precision,
        "recall": score.recall,
        "f1": score.f1,
        "found": score.found,
        "correct": score.correct,
        "gold": score.support,
    }


def evaluate_tags(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str = "conlleval"
) -> dict:
    """JSON-ready summary, choosing entity or per-class scoring from the gold tag set.

    Chunk tag sets (see :func:`is_chunk_tagset`) give ``accuracy``, ``tokens`` and an
    ``entity`` block (:func:`score_chunks` numbers under ``scheme``, with ``per_type``);
    other tag sets give ``accuracy``, ``tokens``, ``per_class`` and ``macro_f1``.
    """
    if is_chunk_tagset(tag for sentence in gold for tag in sentence):
        chunks = score_chunks(gold, pred, scheme)
        entity: dict = prf_json(chunks.overall)
        entity["per_type"] = {name: prf_json(s) for name, s in chunks.per_type.items()}
        return {"accuracy": chunks.accuracy, "tokens": chunks.tokens, "entity": entity}
    classes = score_classes(gold, pred)
    return {
        "accuracy": classes.accuracy,
        "tokens": classes.tokens,
        "per_class": {name: prf_json(s) for name, s in classes.per_class.items()},
        "macro_f1": classes.macro.f1,
    }
