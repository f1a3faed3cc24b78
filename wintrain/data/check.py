"""Check the data a config names before training on it (like spaCy's ``debug data``).

:func:`check_data` reads every split and the pretrained vectors, builds no model, and
returns a :class:`DataReport`: counts per split, tag counts, sentence lengths, OOV rates
against the vectors and against the training words, sentences of dev/test that also occur
in train, plus ``problems`` (training would stop on them) and ``warnings`` (it would run,
perhaps badly).  :func:`report_rows` turns the report into ``(name, value)`` rows for a
two-column table.

Word forms are the words as the model looks them up: lowercased when ``data.lowercase``,
digits as 0 when ``data.digits`` (and the vector file's words are read the same way).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from wintrain.config import Config
from wintrain.data.dataset import lookup_forms
from wintrain.data.load import load_corpora, pretrained_vectors
from wintrain.data.reader import Corpus
from wintrain.data.segmentation import tokenizer_tagset
from wintrain.data.tags import count_entity_starts, describe_scheme, tag_order
from wintrain.errors import listed

__all__ = [
    "LengthStats",
    "SplitStats",
    "DataReport",
    "check_data",
    "report_rows",
    "RARE_TAG_COUNT",
    "LONG_SENTENCE",
    "HIGH_OOV",
    "HIGH_OVERLAP",
]

RARE_TAG_COUNT = 5  # a tag with fewer training tokens is hard to learn
LONG_SENTENCE = 250  # longer "sentences" usually mean missing blank lines
HIGH_OOV = 0.10  # share of tokens without a pretrained vector worth a warning
HIGH_OVERLAP = 0.10  # share of dev/test sentences also in train worth a warning


@dataclass(frozen=True)
class LengthStats:
    """Sentence lengths in tokens: min, median, mean, 95th percentile and max."""

    min: int
    median: float
    mean: float
    p95: float
    max: int

    @classmethod
    def of(cls, lengths: np.ndarray) -> LengthStats:
        """Statistics of the (S,) sentence lengths (all 0 when S = 0)."""
        if lengths.size == 0:
            return cls(0, 0.0, 0.0, 0.0, 0)
        return cls(
            int(lengths.min()),
            float(np.median(lengths)),
            float(lengths.mean()),
            float(np.percentile(lengths, 95)),
            int(lengths.max()),
        )


@dataclass(frozen=True)
class SplitStats:
    """What one split (train, dev or test) holds.

    Attributes:
        name, path: the split and its file.
        sentences, tokens: S and N.
        forms: distinct word forms (lowercased when ``data.lowercase``).
        lengths: sentence-length statistics.
        tag_counts: tokens per tag, most frequent first.
        unknown_tags: tags outside the tag set training uses (encoding them fails).
        long_sentences: sentences longer than :data:`LONG_SENTENCE` tokens.
        i_starts, b_starts: entities started by an ``I-`` / a ``B-`` tag (see
            :func:`count_entity_starts`); IOB2 data has no ``i_starts``, IOB1 data no ``b_starts``.
        oov_vectors_tokens, oov_vectors_forms: share of tokens / forms without a pretrained
            vector; None without ``embeddings.path``.
        oov_train_tokens, oov_train_forms: share of tokens / forms never seen in train;
            None for train itself.
        overlap_with_train: sentences identical, token for token, to a training sentence;
            None for train itself.
    """

    name: str
    path: str
    sentences: int
    tokens: int
    forms: int
    lengths: LengthStats
    tag_counts: dict[str, int]
    unknown_tags: list[str]
    long_sentences: int
    i_starts: int
    b_starts: int
    oov_vectors_tokens: float | None
    oov_vectors_forms: float | None
    oov_train_tokens: float | None
    oov_train_forms: float | None
    overlap_with_train: int | None


@dataclass(frozen=True)
class DataReport:
    """The result of :func:`check_data`.

    Attributes:
        splits: ``train`` and, when configured, ``dev`` and ``test``, in that order.
        tags: the tag set training will use; ``tags_from`` says where it comes from
            (``"data.tags"`` or ``"train"``).
        scheme: the tagging scheme the tags look like: ``iobes`` (E-/S- tags), ``iob1``
            (in train more entities start with I- than with B-), ``iob2`` (other chunk
            tags) or ``flat`` (no chunk tags, e.g. POS).
        lowercase: whether word forms are lowercased.
        task: ``tag`` or ``tokenize``; a tokenizer's corpus is paragraphs of characters, and
            :func:`report_rows` names its counts so.
        vectors_path: the vectors file, or None (random vectors).
        vectors_found: word forms of all splits that have a pretrained vector (None
            without vectors).
        seconds: time the check took.
        problems: blocking issues: training would stop with an error.
        warnings: issues that let training run but deserve a look.
    """

    splits: dict[str, SplitStats]
    tags: list[str]
    tags_from: str
    scheme: str
    lowercase: bool
    task: str
    vectors_path: str | None
    vectors_found: int | None
    seconds: float
    problems: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        """True when nothing blocks training."""
        return not self.problems


# --------------------------------------------------------------------------- statistics


def _missing_share(forms: list[str], known: set[str] | frozenset[str]) -> tuple[float, float]:
    """Share of tokens and share of distinct forms not in ``known``: (tokens, forms)."""
    if not forms:
        return 0.0, 0.0
    missing_tokens = sum(1 for form in forms if form not in known)
    distinct = set(forms)
    return missing_tokens / len(forms), len(distinct - known) / len(distinct)


def _split_stats(
    name: str,
    corpus: Corpus,
    forms: list[str],
    tagset: set[str],
    vector_words: frozenset[str] | None,
    train_forms: set[str] | None,
    train_sentences: set[tuple[str, ...]] | None,
) -> SplitStats:
    """The statistics of one split; the ``train_*`` arguments are None for train itself."""
    tag_counts = dict(Counter(corpus.tags).most_common())
    lengths = np.diff(corpus.sentence_starts)
    oov_vectors = (None, None) if vector_words is None else _missing_share(forms, vector_words)
    oov_train = (None, None) if train_forms is None else _missing_share(forms, train_forms)
    i_starts, b_starts = count_entity_starts(corpus.tag_sentences())
    overlap = None
    if train_sentences is not None:
        overlap = sum(1 for sentence in corpus.sentences() if tuple(sentence) in train_sentences)
    return SplitStats(
        name=name,
        path=str(corpus.path),
        sentences=corpus.n_sentences,
        tokens=corpus.n_tokens,
        forms=len(set(forms)),
        lengths=LengthStats.of(lengths),
        tag_counts=tag_counts,
        unknown_tags=sorted(set(tag_counts) - tagset),
        long_sentences=int((lengths > LONG_SENTENCE).sum()),
        i_starts=i_starts,
        b_starts=b_starts,
        oov_vectors_tokens=oov_vectors[0],
        oov_vectors_forms=oov_vectors[1],
        oov_train_tokens=oov_train[0],
        oov_train_forms=oov_train[1],
        overlap_with_train=overlap,
    )


def check_data(config: Config) -> DataReport:
    """Load the corpora and vectors ``config`` names and report on them; no model is built.

    Vectors are read only for the word forms of the splits (``keep``), so even a large file
    parses quickly.  A missing or malformed file raises WintrainError as training would;
    everything training would trip over later (tags it cannot encode) is in ``problems``.
    """
    started = time.perf_counter()
    data = config.data
    corpora = load_corpora(config)
    forms = {name: lookup_forms(corpus.tokens, data.lowercase, data.digits) for name, corpus in corpora.items()}
    train = corpora["train"]
    if config.task == "tokenize":  # a tokenizer's labels are fixed: no file can hold one it does not know
        tags_from, tags = "task: tokenize", list(tokenizer_tagset().tags)
    else:
        tags_from = "data.tags" if data.tags else "train"
        tags = list(data.tags) if data.tags else sorted(set(train.tags), key=tag_order)

    vector_words = None
    vectors_path = config.embeddings.path
    if vectors_path is not None:
        vector_words = frozenset(pretrained_vectors(config, set().union(*forms.values())).words)

    train_forms = set(forms["train"])
    train_sentences = set(map(tuple, train.sentences()))
    splits = {
        name: _split_stats(
            name,
            corpus,
            forms[name],
            set(tags),
            vector_words,
            None if name == "train" else train_forms,
            None if name == "train" else train_sentences,
        )
        for name, corpus in corpora.items()
    }
    scheme = describe_scheme(tags, train.tag_sentences())
    problems = _problems(splits, tags_from)
    warnings = _warnings(config, splits, tags, tags_from, vector_words)
    return DataReport(
        splits=splits,
        tags=tags,
        tags_from=tags_from,
        scheme=scheme,
        lowercase=data.lowercase,
        task=config.task,
        vectors_path=None if vectors_path is None else str(vectors_path),
        vectors_found=None if vector_words is None else len(vector_words),
        seconds=time.perf_counter() - started,
        problems=problems,
        warnings=warnings,
    )


# --------------------------------------------------------------------------- findings


def _problems(splits: dict[str, SplitStats], tags_from: str) -> list[str]:
    """Tags that encoding would reject: training stops on the first of them."""
    problems = []
    for split in splits.values():
        if not split.unknown_tags:
            continue
        if tags_from == "train":
            problems.append(
                f"{split.path}: tags never seen in train: {listed(split.unknown_tags)}; training would stop "
                "at them: list every tag in data.tags or fix the file"
            )
        else:
            problems.append(
                f"{split.path}: tags missing from data.tags: {listed(split.unknown_tags)}; add them to data.tags "
                "or fix the file"
            )
    return problems


def _warnings(
    config: Config,
    splits: dict[str, SplitStats],
    tags: list[str],
    tags_from: str,
    vector_words: frozenset[str] | None,
) -> list[str]:
    """Everything suspicious that does not stop training."""
    train = splits["train"]
    warnings = []
    if "dev" not in splits:
        warnings.append("no data.dev: every epoch counts as the best one; add a dev set to pick the best epoch")
    if "test" not in splits:
        warnings.append("no data.test: training ends without a held-out score")
    if tags_from == "data.tags":
        unused = [tag for tag in tags if tag not in train.tag_counts]
        if unused:
            warnings.append(
                f"data.tags lists tags that never occur in train: {listed(unused)}; they cannot be learned"
            )
    rare = [f"{tag} ({count})" for tag, count in train.tag_counts.items() if count < RARE_TAG_COUNT]
    if rare:
        warnings.append(f"{train.path}: tags with fewer than {RARE_TAG_COUNT} training tokens: {listed(rare)}")
    for split in splits.values():
        warnings.extend(_split_warnings(config, split))
    if vector_words is not None and not vector_words:
        hint = "" if config.data.lowercase else " (GloVe is lowercased: set data.lowercase: true)"
        warnings.append(
            f"{config.embeddings.path}: no word of the data has a vector; is it the right file?{hint}"
        )
    return warnings


FOREIGN_FORMS = 0.8  # a dev or test split whose forms are mostly unseen in train: another language, another file


def _split_warnings(config: Config, split: SplitStats) -> list[str]:
    """Warnings about one split: long sentences, IOB1 tags, OOV rate, overlap with train."""
    warnings = []
    if split.long_sentences and config.task == "tag":  # a tokenizer's "sentences" are paragraphs of characters
        warnings.append(
            f"{split.path}: {split.long_sentences} sentences longer than {LONG_SENTENCE} tokens "
            f"(longest {split.lengths.max:,}); are blank lines between sentences missing?"
        )
    if split.i_starts and split.b_starts:
        warnings.append(
            f"{split.path}: mixed IOB1/IOB2 tagging: {split.i_starts:,} entities start with I- and "
            f"{split.b_starts:,} with B-; entity scores treat both alike, constrained decoding follows "
            "the majority"
        )
    if split.oov_vectors_tokens is not None and split.oov_vectors_tokens > HIGH_OOV:
        hint = "" if config.data.lowercase else " (set data.lowercase: true for lowercased vectors like GloVe)"
        warnings.append(
            f"{split.path}: {100 * split.oov_vectors_tokens:.1f}% of tokens have no pretrained vector{hint}"
        )
    if split.oov_train_forms is not None and split.oov_train_forms > FOREIGN_FORMS:
        warnings.append(
            f"{split.path}: {100 * split.oov_train_forms:.0f}% of its "
            f"{'distinct characters' if config.task == 'tokenize' else 'word forms'} never occur in train; is it the "
            "same language and kind of text as the training data? (scores on it say little about the model)"
        )
    if split.overlap_with_train and split.overlap_with_train > HIGH_OVERLAP * split.sentences:
        warnings.append(
            f"{split.path}: {split.overlap_with_train:,} of {split.sentences:,} sentences also occur in train; "
            "scores on it overstate accuracy on new text"
        )
    return warnings


# --------------------------------------------------------------------------- table


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def report_rows(report: DataReport) -> list[tuple[str, str]]:
    """``(name, value)`` rows summarising ``report`` for a two-column table.

    Problems and warnings are not included: show ``report.problems`` and
    ``report.warnings`` separately.
    """
    forms = "lowercased word forms" if report.lowercase else "word forms"
    sentences, tokens, sentence, kinds = "sentences", "tokens", "sentence", "forms"
    if report.task == "tokenize":  # each unit is a character; a "sentence" is a paragraph of the raw text
        forms = "distinct lowercased characters" if report.lowercase else "distinct characters"
        sentences, tokens, sentence, kinds = "paragraphs", "characters", "paragraph", "distinct characters"
    rows = [
        ("tags", f"{len(report.tags)} from {report.tags_from}: {listed(report.tags, limit=40)}"),
        ("tag scheme", report.scheme),
    ]
    if report.vectors_path is None:
        rows.append(("vectors", "none (random initial vectors)"))
    else:
        rows.append(("vectors", f"{report.vectors_path}: {report.vectors_found:,} {forms} found"))
    for split in report.splits.values():
        name, lengths = split.name, split.lengths
        counts = f"{split.sentences:,} {sentences}, {split.tokens:,} {tokens}, {split.forms:,} {forms}"
        rows.append((name, f"{split.path}: {counts}"))
        rows.append((
            f"{name} {sentence} length",
            f"min {lengths.min} · median {lengths.median:g} · mean {lengths.mean:.1f} · "
            f"p95 {lengths.p95:g} · max {lengths.max}",
        ))
        tag_counts = [f"{tag} {count:,}" for tag, count in split.tag_counts.items()]
        rows.append((f"{name} tags", listed(tag_counts, limit=40).replace(", ", " · ")))
        if split.oov_vectors_tokens is not None:
            rows.append((
                f"{name} without vector",
                f"{_percent(split.oov_vectors_tokens)} of {tokens}, {_percent(split.oov_vectors_forms)} of {kinds}",
            ))
        if split.oov_train_tokens is not None:
            rows.append((
                f"{name} unseen in train",
                f"{_percent(split.oov_train_tokens)} of {tokens}, {_percent(split.oov_train_forms)} of {kinds}",
            ))
        if split.overlap_with_train is not None:
            share = split.overlap_with_train / split.sentences if split.sentences else 0.0
            rows.append((f"{name} {sentences} in train", f"{split.overlap_with_train:,} ({_percent(share)})"))
    rows.append(("checked in", f"{report.seconds:.2f} s"))
    return rows
