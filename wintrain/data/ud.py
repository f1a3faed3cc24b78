"""What a tokenizer learns from: Universal Dependencies sentences as raw text, tokens and words.

A UD treebank (CoNLL-U, see :mod:`wintrain.data.conllu`) keeps the raw text of each sentence in
its ``# text`` comment and splits it twice:

* into *tokens*, the strings of the text between token boundaries (``don't``, ``du``, ``20 000``);
  ``SpaceAfter=No`` in MISC says that no space follows a token in the text;
* into *syntactic words*: a plain token is one word, a *multiword token* (a range line ``3-4 du``)
  is several (``de`` ``le``; English ``don't`` = ``do`` ``n't``).

:func:`read_ud_sentences` reads a CoNLL-U text into :class:`UDSentence` objects whose tokens carry
character offsets into the sentence text.  Tokens are aligned to ``# text`` by walking it: skip
whitespace, then the token's FORM must follow (a FORM with a space inside matches the same spaces).
A sentence without ``# text`` gets the text rebuilt from its FORMs, joined by one space unless
``SpaceAfter=No``; a sentence whose FORMs cannot be aligned with its ``# text`` (some treebanks
normalise FORMs) falls back to the rebuilt text and says so in :attr:`UDSentence.text_source`
(:func:`text_mismatches` counts them).

A tokenizer labels every character of a text (:class:`Label`); :func:`tokenizer_texts` groups
sentences into paragraphs and labels their characters, :func:`segment` is the inverse: labels →
sentences of tokens.  :class:`MultiwordLexicon` turns a multiword token back into its words.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from itertools import accumulate, chain, pairwise, repeat
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from wintrain.data.conllu import FORM_FIELD, ConlluBlock, conllu_blocks, field_of
from wintrain.data.reader import read_utf8
from wintrain.errors import WintrainError

__all__ = [
    "Label",
    "UDToken",
    "UDSentence",
    "TextSource",
    "read_ud_sentences",
    "read_ud_file",
    "text_mismatches",
    "TokenizerText",
    "tokenizer_texts",
    "Segment",
    "segment",
    "segment_arrays",
    "whitespace_mask",
    "MultiwordLexicon",
    "SENTENCES_PER_TEXT",
]

MISC_FIELD = 9
SPACE_AFTER_NO = "SpaceAfter=No"
SENTENCES_PER_TEXT = 20
"""Sentences per paragraph text when a file marks no paragraphs (``# newpar``) or documents."""

TextSource = Literal["text", "forms", "mismatch"]
"""Where :attr:`UDSentence.text` comes from: the ``# text`` comment (``text``); the FORMs, because
there was no ``# text`` (``forms``) or because the FORMs did not match it (``mismatch``)."""


class Label(IntEnum):
    """What one character of a text is, for a tokenizer: stored as a ``uint8``.

    * ``SPACE`` -- whitespace between tokens (also between sentences);
    * ``INSIDE`` -- any character of a token but its last, including a space inside a FORM (``20 000``);
    * ``TOKEN_END`` -- the last character of a single-word token; the sentence goes on;
    * ``SENTENCE_END`` -- the last character of a single-word token that ends its sentence;
    * ``MULTIWORD_END`` / ``MULTIWORD_SENTENCE_END`` -- the same for a multiword token (``du``).

    The four end labels are ``TOKEN_END + sentence_end + 2 * multiword``.
    """

    SPACE = 0
    INSIDE = 1
    TOKEN_END = 2
    SENTENCE_END = 3
    MULTIWORD_END = 4
    MULTIWORD_SENTENCE_END = 5


END_LABELS = (Label.TOKEN_END, Label.SENTENCE_END, Label.MULTIWORD_END, Label.MULTIWORD_SENTENCE_END)
N_LABELS = len(Label)
# plain ints for the hot path (an IntEnum member lookup costs more than the comparison it feeds)
_SPACE, _INSIDE, _TOKEN_END, _SENTENCE_END, _MULTIWORD_END, _MULTIWORD_SENTENCE_END = map(int, Label)


class UDToken(NamedTuple):
    """One token of a sentence (see :attr:`UDSentence.tokens`): ``text[start:end] == form`` in its sentence's text.

    ``words`` are its syntactic words (``(form,)`` for a plain token, e.g. ``("de", "le")`` for
    ``du``), ``space_after`` is False when MISC says ``SpaceAfter=No``, ``line`` is the 1-based line
    of the token (the range line of a multiword token).
    """

    form: str
    start: int
    end: int
    words: tuple[str, ...]
    space_after: bool
    line: int

    @property
    def multiword(self) -> bool:
        """Whether the token is a multiword token (a range line of two or more words)."""
        return len(self.words) > 1


@dataclass(frozen=True)
class UDSentence:
    """One sentence: its raw text and its N tokens with offsets into it.

    The tokens are stored as columns (a treebank has hundreds of thousands of them: one object
    each would make reading several times slower); :attr:`tokens` builds :class:`UDToken` objects.

    Attributes:
        text: the ``# text`` comment, or the text rebuilt from the FORMs (see ``text_source``).
        forms: the N token FORMs; ``text[starts[i]:starts[i] + len(forms[i])] == forms[i]`` and only
            whitespace lies between and around them in ``text``.
        starts: the N character offsets.
        space_after: N flags, False where MISC says ``SpaceAfter=No``.
        token_lines: the N 1-based line numbers (the range line of a multiword token).
        multiword: ``{token index: its syntactic words}`` for the multiword tokens (``{3: ("de", "le")}``).
        sent_id: the ``# sent_id`` comment, or None.
        newdoc, newpar: whether a ``# newdoc`` / ``# newpar`` comment starts a document / paragraph here.
        text_source: see :data:`TextSource`.
    """

    text: str
    forms: list[str]
    starts: list[int]
    space_after: list[bool]
    token_lines: list[int]
    multiword: dict[int, tuple[str, ...]]
    sent_id: str | None
    newdoc: bool
    newpar: bool
    text_source: TextSource

    @property
    def line(self) -> int:
        """The 1-based line of its first token."""
        return self.token_lines[0]

    @property
    def tokens(self) -> list[UDToken]:
        """The N tokens as objects (built anew on every call)."""
        multiword = self.multiword
        return [
            UDToken(form, start, start + len(form), multiword.get(index) or (form,), space, line)
            for index, (form, start, space, line)
            in enumerate(zip(self.forms, self.starts, self.space_after, self.token_lines))
        ]

    @property
    def words(self) -> list[str]:
        """The syntactic words of the sentence, in order."""
        if not self.multiword:
            return list(self.forms)
        multiword = self.multiword
        return [word for index, form in enumerate(self.forms) for word in multiword.get(index) or (form,)]


# --------------------------------------------------------------------------- reading


def read_ud_file(path: Path | str) -> list[UDSentence]:
    """:func:`read_ud_sentences` of a CoNLL-U file (plain or gzip, UTF-8), named by its path in errors."""
    path = Path(path)
    return read_ud_sentences(read_utf8(path), str(path))


def read_ud_sentences(text: str, name: str) -> list[UDSentence]:
    """The sentences of CoNLL-U ``text`` with their raw text, tokens and words (see the module doc).

    Comments other than ``# text``, ``# sent_id``, ``# newdoc`` and ``# newpar``, and empty nodes
    (``8.1``), are ignored.  ``name`` (the file) prefixes error messages.

    Raises:
        WintrainError: a malformed line or ID; a multiword range that is not ``a-b`` with ``a < b``
            followed by its words ``a`` to ``b``; an empty FORM or one that starts or ends with a
            space; no sentence; or a text with neither ``# text`` comments nor ``SpaceAfter=No``,
            which cannot say where tokens touch -- all as one ``name:line`` line.
    """
    sentences = [_sentence(block, name) for block in conllu_blocks(text.removeprefix("\ufeff"), name)]
    if not sentences:
        raise WintrainError(
            f"{name} contains no sentences; expected CoNLL-U word lines (10 TAB-separated fields) with a blank "
            "line after each sentence"
        )
    has_text = any(sentence.text_source != "forms" for sentence in sentences)
    if not has_text and all(all(sentence.space_after) for sentence in sentences):
        raise WintrainError(
            f"{name}: no sentence has a '# text' comment and no token has SpaceAfter=No in MISC, so the file "
            "cannot teach where tokens touch ('word,' has no space before the comma); use the treebank's "
            "original CoNLL-U files, which have both, or add '# text = ...' comments"
        )
    return sentences


def text_mismatches(sentences: Iterable[UDSentence]) -> int:
    """How many sentences' ``# text`` did not match their FORMs (their text was rebuilt instead)."""
    return sum(sentence.text_source == "mismatch" for sentence in sentences)


def _sentence(block: ConlluBlock, name: str) -> UDSentence:
    """The :class:`UDSentence` of one CoNLL-U block."""
    text = sent_id = None
    newdoc = newpar = False
    for _, line in block.comments:
        key, equals, value = line[1:].partition("=")
        key = key.strip()
        if key == "text" and equals:
            text = value.strip()
        elif key == "sent_id" and equals:
            sent_id = value.strip()
        elif key.startswith(("newdoc", "newpar")):
            kind = key.split()[0]
            newdoc = newdoc or kind == "newdoc"
            newpar = newpar or kind == "newpar"
    forms, multiword, space_after, lines = _tokens(block, name)
    rebuilt, rebuilt_starts = _rebuilt(forms, space_after)
    source: TextSource = "text"
    aligned = rebuilt_starts if text == rebuilt else None if text is None else _align(text, forms)
    if text is None or aligned is None:
        source = "forms" if text is None else "mismatch"
        text, aligned = rebuilt, rebuilt_starts
    return UDSentence(text, forms, aligned, space_after, lines, multiword, sent_id, newdoc, newpar, source)


def _tokens(block: ConlluBlock, name: str) -> tuple[list[str], dict[int, tuple[str, ...]], list[bool], list[int]]:
    """The tokens of ``block``: FORMs, the words of the multiword ones, space-after flags, 1-based lines.

    A range line ``a-b`` makes one token of the words ``a`` to ``b`` that follow it.
    """
    rows = block.word_lines
    multiword: dict[int, tuple[str, ...]] = {}
    if not block.ranges:
        forms = [line.split("\t", 2)[FORM_FIELD] for line in rows]
        space_after = [SPACE_AFTER_NO not in line or _space_after(line) for line in rows]
        lines = [index + 1 for index in block.word_indices]
    else:
        forms, space_after, lines = [], [], []
        spans = _ranges(block, name)
        position = 0
        while position < len(rows):
            line = rows[position]
            first = _word_id(line)
            span = spans.pop(first, None)
            if span is None:
                forms.append(field_of(line, FORM_FIELD))
                space_after.append(_space_after(line))
                lines.append(block.word_indices[position] + 1)
                position += 1
                continue
            last, range_index, range_line = span
            part = rows[position:position + last - first + 1]
            if [_word_id(line) for line in part] != list(range(first, last + 1)):
                raise _range_error(name, range_index, range_line, f"is not followed by its words {first} to {last}")
            multiword[len(forms)] = tuple(field_of(line, FORM_FIELD) for line in part)
            forms.append(field_of(range_line, FORM_FIELD))
            space_after.append(_space_after(range_line))
            lines.append(range_index + 1)
            position += len(part)
        if spans:
            _, range_index, range_line = next(iter(spans.values()))
            raise _range_error(name, range_index, range_line, "does not start at a word of its sentence")
    for form, line_number in zip(forms, lines):
        if not form or form.strip() != form:
            raise WintrainError(
                f"{name}:{line_number}: the FORM {form!r} is empty or starts or ends with a space; a token is the "
                "text between two token boundaries: fix the FORM"
            )
    return forms, multiword, space_after, lines


def _word_id(line: str) -> int:
    """The integer ID of a word line."""
    return int(line[:line.find("\t")])


def _ranges(block: ConlluBlock, name: str) -> dict[int, tuple[int, int, str]]:
    """The multiword ranges of ``block`` by first word: ``{a: (b, line index, line)}``."""
    spans = {}
    for index, line in block.ranges:
        first, last = map(int, line[:line.find("\t")].split("-"))
        if last <= first or first in spans:
            raise _range_error(name, index, line, "must span two or more words, a-b with a < b, once")
        spans[first] = (last, index, line)
    return spans


def _range_error(name: str, index: int, line: str, problem: str) -> WintrainError:
    word_id, form = line.split("\t", 2)[:2]
    return WintrainError(
        f"{name}:{index + 1}: the multiword token {word_id} {form!r} {problem}; fix its ID (the first field) or "
        "its words"
    )


def _space_after(line: str) -> bool:
    """False when the MISC field of the word line says ``SpaceAfter=No``."""
    return SPACE_AFTER_NO not in field_of(line, MISC_FIELD).split("|")


def _align(text: str, forms: Sequence[str]) -> list[int] | None:
    """Where each FORM starts in ``text`` when walking it (skip whitespace, then the FORM must follow),
    or None when a FORM does not follow or something but whitespace is left after the last one."""
    starts = []
    position, length = 0, len(text)
    for form in forms:
        while position < length and text[position].isspace():
            position += 1
        if not text.startswith(form, position):
            return None
        starts.append(position)
        position += len(form)
    return None if text[position:].strip() else starts


def _rebuilt(forms: Sequence[str], space_after: Sequence[bool]) -> tuple[str, list[int]]:
    """The text of ``forms`` joined by one space unless ``SpaceAfter=No``, and where each starts."""
    steps = [len(form) + space for form, space in zip(forms, space_after)]
    starts = [0, *accumulate(steps)]
    starts.pop()
    text = "".join([form + " " if space else form for form, space in zip(forms, space_after)])
    return text.removesuffix(" ") if space_after[-1] else text, starts


# --------------------------------------------------------------------------- labelled texts


class Segment(NamedTuple):
    """A token found in a text: ``text[start:end]``; ``multiword`` when labelled as a multiword token."""

    start: int
    end: int
    multiword: bool


@dataclass(frozen=True)
class TokenizerText:
    """A paragraph of sentences as one text with a :class:`Label` per character.

    Attributes:
        text: the sentences' texts joined by one space.
        labels: (T,) uint8 labels, one per character of ``text`` (T = ``len(text)``).
        sentences: the S sentences it holds.
        offsets: (S,) int64 where each sentence's text starts in ``text``.
    """

    text: str
    labels: np.ndarray
    sentences: list[UDSentence]
    offsets: np.ndarray

    def gold(self) -> list[list[Segment]]:
        """The sentences' tokens as :class:`Segment` lists with offsets into ``text``."""
        return [
            [Segment(offset + start, offset + start + len(form), index in sentence.multiword)
             for index, (form, start) in enumerate(zip(sentence.forms, sentence.starts))]
            for offset, sentence in zip(self.offsets.tolist(), self.sentences)
        ]


def tokenizer_texts(sentences: Sequence[UDSentence], sentences_per_text: int = SENTENCES_PER_TEXT
                    ) -> list[TokenizerText]:
    """Group ``sentences`` into paragraphs and label every character of each (see :class:`Label`).

    A paragraph starts at every ``# newpar`` or ``# newdoc``; when no sentence but the first has such
    a marker, every ``sentences_per_text`` sentences instead.  Its text is the sentences' texts joined
    by one space.
    """
    if sentences_per_text < 1:
        raise ValueError(f"sentences_per_text must be >= 1, got {sentences_per_text}")
    marked = any(sentence.newpar or sentence.newdoc for sentence in sentences[1:])
    groups: list[list[UDSentence]] = []
    for number, sentence in enumerate(sentences):
        starts_paragraph = (sentence.newpar or sentence.newdoc) if marked else number % sentences_per_text == 0
        if starts_paragraph or not groups:
            groups.append([])
        groups[-1].append(sentence)
    return [_labelled(group) for group in groups]


def _labelled(sentences: list[UDSentence]) -> TokenizerText:
    """One :class:`TokenizerText` of ``sentences``."""
    lengths = np.array([len(sentence.text) + 1 for sentence in sentences], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    text = " ".join(sentence.text for sentence in sentences)
    counts = np.array([len(sentence.forms) for sentence in sentences], dtype=np.int64)
    firsts = np.cumsum(counts) - counts  # index of each sentence's first token
    n_tokens = int(counts.sum())
    starts = np.fromiter(chain.from_iterable(s.starts for s in sentences), dtype=np.int64, count=n_tokens)
    starts += np.repeat(offsets, counts)
    lengths = np.fromiter(map(len, chain.from_iterable(s.forms for s in sentences)), dtype=np.int64, count=n_tokens)
    multiword = np.zeros(n_tokens, dtype=bool)
    multiword[[first + index for first, s in zip(firsts.tolist(), sentences) for index in s.multiword]] = True
    sentence_end = np.zeros(n_tokens, dtype=bool)
    sentence_end[firsts + counts - 1] = True
    ends = starts + lengths
    return TokenizerText(text, token_labels(len(text), starts, ends, multiword, sentence_end), sentences, offsets)


def token_labels(length: int, starts: np.ndarray, ends: np.ndarray, multiword: np.ndarray,
                 sentence_end: np.ndarray) -> np.ndarray:
    """(T,) uint8 labels of a text of ``length`` characters holding N non-overlapping tokens.

    ``starts``, ``ends`` (N,) are the tokens' character offsets, ``multiword`` and ``sentence_end``
    (N,) bool flags.  Characters covered by a token are ``INSIDE`` but the last, which gets
    ``TOKEN_END + sentence_end + 2 * multiword``; the rest is ``SPACE``.
    """
    depth = np.zeros(length + 1, dtype=np.int32)
    depth[starts] += 1
    depth[ends] -= 1
    labels = np.where(np.cumsum(depth[:-1]) > 0, np.uint8(Label.INSIDE), np.uint8(Label.SPACE)).astype(np.uint8)
    labels[ends - 1] = Label.TOKEN_END + sentence_end.astype(np.uint8) + 2 * multiword.astype(np.uint8)
    return labels


# --------------------------------------------------------------------------- labels -> tokens

_LAST_WHITESPACE = 0x3000  # no code point above U+3000 is whitespace for str.isspace
_WHITESPACE_TABLE = np.array([chr(code).isspace() for code in range(_LAST_WHITESPACE + 1)] + [False])


def whitespace_mask(text: str) -> np.ndarray:
    """(T,) bool: which characters of ``text`` are whitespace (as ``str.isspace`` says)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return _WHITESPACE_TABLE[np.minimum(codes, _LAST_WHITESPACE + 1)]


def segment_arrays(text: str, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The tokens and sentences that per-character ``labels`` mark in ``text``, as arrays.

    A token starts at a non-whitespace character that no open token reaches, or that is labelled
    ``SPACE``; it ends at a character labelled as an end (:data:`END_LABELS`), just before a
    character labelled ``SPACE`` or a whitespace character not labelled ``INSIDE``, or at the end
    of the text, and never ends in whitespace (whitespace labelled ``INSIDE`` continues a token
    only when a non-whitespace character of it follows).  It is multiword when its last
    character is labelled ``MULTIWORD_*``.  A sentence ends after a ``*SENTENCE_END`` label (a
    token that follows one starts a new sentence) and at the end of the text.

    Args:
        text: T characters.
        labels: (T,) integer :class:`Label` values.

    Returns:
        ``starts``, ``ends`` (N,) int64 character offsets of the tokens, ``multiword`` (N,) bool,
        and ``sentence_starts`` (S+1,) int64 offsets into the tokens (``sentence_starts[-1] == N``).
    """
    labels = np.asarray(labels)
    if labels.shape != (len(text),):
        raise ValueError(f"labels must have shape ({len(text)},) for a text of {len(text)} characters, "
                         f"got {labels.shape}")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= N_LABELS):
        raise ValueError(f"labels must be Label values 0..{N_LABELS - 1}, got {labels.min()}..{labels.max()}")
    whitespace = whitespace_mask(text)
    solid = ~whitespace
    is_end = (labels >= _TOKEN_END) & (labels <= _MULTIWORD_SENTENCE_END)
    # An open token reaches past character i when the last character up to i that is not
    # whitespace labelled INSIDE is a non-whitespace character that does not end a token.
    glue = whitespace & (labels == _INSIDE)
    positions = np.arange(len(text))
    last_firm = np.maximum.accumulate(np.where(glue, -1, positions)) if len(text) else positions
    anchor = np.maximum(last_firm, 0)
    open_after = (last_firm >= 0) & solid[anchor] & ~is_end[anchor]
    open_before = np.concatenate(([False], open_after[:-1]))
    token_start = solid & (~open_before | (labels == _SPACE))
    starts = np.flatnonzero(token_start)
    # Every non-whitespace character belongs to the token started last: its last one ends the token.
    solid_positions = np.flatnonzero(solid)
    token_of = np.cumsum(token_start)[solid_positions]
    last_of_token = np.append(token_of[1:] != token_of[:-1], True)[:len(token_of)]
    ends = solid_positions[last_of_token] + 1
    last_labels = labels[ends - 1]
    multiword = (last_labels == _MULTIWORD_END) | (last_labels == _MULTIWORD_SENTENCE_END)
    sentence_ends = np.cumsum((labels == _SENTENCE_END) | (labels == _MULTIWORD_SENTENCE_END))
    before = np.where(starts > 0, sentence_ends[np.maximum(starts - 1, 0)], 0)
    breaks = np.flatnonzero(before[1:] > before[:-1]) + 1
    sentence_starts = np.concatenate(([0], breaks, [len(starts)])) if len(starts) else np.zeros(1, dtype=np.int64)
    return starts.astype(np.int64), ends.astype(np.int64), multiword, sentence_starts.astype(np.int64)


def segment(text: str, labels: np.ndarray) -> list[list[Segment]]:
    """The sentences of tokens that per-character ``labels`` mark in ``text`` (rules:
    :func:`segment_arrays`); no sentence is empty, a text without tokens has no sentence."""
    starts, ends, multiword, sentence_starts = segment_arrays(text, labels)
    # tuple.__new__ called from C: several times faster than Segment(...) for many tokens
    segments = list(map(tuple.__new__, repeat(Segment), zip(starts.tolist(), ends.tolist(), multiword.tolist())))
    return [segments[begin:end] for begin, end in pairwise(sentence_starts.tolist())]


# --------------------------------------------------------------------------- multiword lexicon


@dataclass(frozen=True)
class MultiwordEntry:
    """What training said about one multiword surface form (lowercased).

    Attributes:
        words: its most frequent expansion, lowercased.
        count: how often it occurred as a multiword token (with any expansion).
        single: how often the same (lowercased) form occurred as a single-word token.
    """

    words: tuple[str, ...]
    count: int
    single: int


@dataclass(frozen=True)
class SuffixRule:
    """A tail split off unseen surface forms: ``shouldn't`` → ``should`` + ``n't``.

    Attributes:
        words: the words of the tail, lowercased (``("n't",)``); the tail is their concatenation.
        surfaces: how many distinct training surface forms (lowercased) showed it.
    """

    words: tuple[str, ...]
    surfaces: int

    @property
    def tail(self) -> str:
        """The tail's text: its words written together."""
        return "".join(self.words)


class MultiwordLexicon:
    """Multiword tokens → syntactic words, learned from training sentences.

    :meth:`expand` of a surface form seen in training as a multiword token gives its most frequent
    expansion.  Case follows the surface: when the words concatenated equal the surface ignoring
    case (``don't`` → ``do n't``) the surface's own characters are cut into the words (``DON'T`` →
    ``DO N'T``, ``Gonna`` → ``Gon na``); otherwise (``du`` → ``de le``) the first word is
    capitalised when the surface starts with a capital (``Du`` → ``De le``) and every word is upper
    case when the surface is (``DU`` → ``DE LE``).  An unseen surface form is split by the longest
    *suffix rule* that leaves a non-empty prefix: a rule is the tail after the first word of a
    concatenative training token (``don't``, ``can't`` → tail ``n't``: ``shouldn't`` → ``should
    n't``), kept when at least ``min_rule_surfaces`` distinct surface forms showed it.  With no rule
    the surface stays one word.

    Saved without pickle: :meth:`to_json` / :meth:`from_json`, or :meth:`to_arrays` /
    :meth:`from_arrays` (one unicode array, for an ``.npz`` file).
    """

    ARRAY_KEY = "multiword_lexicon"
    VERSION = 1

    def __init__(self, entries: dict[str, MultiwordEntry], rules: dict[str, SuffixRule]) -> None:
        self.entries = entries
        self.rules = rules
        self._rules_longest_first = sorted(rules.values(), key=lambda rule: (-len(rule.tail), rule.tail))
        self._usual = frozenset(form for form, entry in entries.items()
                                if entry.count >= self.USUALLY * (entry.count + entry.single))

    @classmethod
    def learn(cls, sentences: Iterable[UDSentence], min_rule_surfaces: int = 2) -> MultiwordLexicon:
        """The lexicon of the multiword tokens of ``sentences`` (see the class doc)."""
        expansions: defaultdict[str, Counter[tuple[str, ...]]] = defaultdict(Counter)
        singles: Counter[str] = Counter()
        tails: defaultdict[str, Counter[tuple[str, ...]]] = defaultdict(Counter)
        seen_tails: set[tuple[str, tuple[str, ...]]] = set()
        for sentence in sentences:
            singles.update(form.lower() for index, form in enumerate(sentence.forms) if index not in sentence.multiword)
            for index, token_words in sentence.multiword.items():
                surface = sentence.forms[index].lower()
                words = tuple(word.lower() for word in token_words)
                expansions[surface][words] += 1
                if _concatenative(surface, words) and (surface, words[1:]) not in seen_tails:
                    seen_tails.add((surface, words[1:]))
                    tails["".join(words[1:])][words[1:]] += 1
        entries = {
            surface: MultiwordEntry(counts.most_common(1)[0][0], sum(counts.values()), singles[surface])
            for surface, counts in sorted(expansions.items())
        }
        rules = {}
        for tail, splits in sorted(tails.items()):
            surfaces = sum(splits.values())
            if surfaces >= min_rule_surfaces:
                words = min(splits, key=lambda split: (-splits[split], split))
                rules[tail] = SuffixRule(words, surfaces)
        return cls(entries, rules)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, surface: object) -> bool:
        return isinstance(surface, str) and surface.lower() in self.entries

    USUALLY = 0.8
    """The share of a form's training occurrences that were multiword tokens above which it is *usually* one."""

    def usually_multiword(self, surface: str) -> bool:
        """Whether at least 4 in 5 of the training occurrences of ``surface`` (ignoring case) were multiword
        tokens (EWT ``dont``: 34 of 34, ``ive``: 7 of 8, French ``du``: 454 of 465; not ``des``: 516 of 783,
        nor ``its``: 57 of 221).  The tokenizer expands such a token even when its model did not label it a
        multiword token: a window of characters often misses a contraction written without its apostrophe,
        which the lexicon knows by heart, while a form that is often one word is left to the model, which sees
        its context."""
        return surface.lower() in self._usual

    def expand(self, surface: str) -> list[str]:
        """The syntactic words of the multiword token ``surface``, in the surface's case."""
        entry = self.entries.get(surface.lower())
        if entry is not None:
            return _cased(surface, entry.words)
        lowered = surface.lower()
        if len(lowered) == len(surface):
            for rule in self._rules_longest_first:
                tail = rule.tail
                if len(tail) < len(surface) and lowered.endswith(tail):
                    return _cased(surface, (lowered[:-len(tail)], *rule.words))
        return [surface]

    # ------------------------------------------------------------------ saving

    def to_json(self) -> str:
        """The lexicon as a JSON string (entries and rules in sorted order)."""
        return json.dumps({
            "version": self.VERSION,
            "entries": [[surface, list(e.words), e.count, e.single] for surface, e in sorted(self.entries.items())],
            "rules": [[list(rule.words), rule.surfaces] for _, rule in sorted(self.rules.items())],
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> MultiwordLexicon:
        """The lexicon :meth:`to_json` wrote."""
        data = json.loads(text)
        if data.get("version") != cls.VERSION:
            raise ValueError(f"multiword lexicon version {data.get('version')!r}, expected {cls.VERSION}")
        entries = {surface: MultiwordEntry(tuple(words), count, single)
                   for surface, words, count, single in data["entries"]}
        rules = {"".join(words): SuffixRule(tuple(words), surfaces) for words, surfaces in data["rules"]}
        return cls(entries, rules)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """``{ARRAY_KEY: 0-d unicode array of the JSON}``: storable with ``np.savez``, loadable without pickle."""
        return {self.ARRAY_KEY: np.array(self.to_json())}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> MultiwordLexicon:
        """The lexicon :meth:`to_arrays` wrote (a dict or an opened ``.npz`` file)."""
        return cls.from_json(str(arrays[cls.ARRAY_KEY][()]))


def _concatenative(surface: str, words: Sequence[str]) -> bool:
    """Whether ``words`` written together are ``surface``, ignoring case, character for character."""
    joined = "".join(words)
    return len(joined) == len(surface) and joined.lower() == surface.lower()


def _cased(surface: str, words: Sequence[str]) -> list[str]:
    """``words`` (lowercased) in the case of ``surface`` (see :class:`MultiwordLexicon`)."""
    if _concatenative(surface, words):
        cuts = [0, *accumulate(len(word) for word in words)]
        return [surface[begin:end] for begin, end in pairwise(cuts)]
    if surface.isupper():
        return [word.upper() for word in words]
    if surface[:1].isupper():
        return [words[0][:1].upper() + words[0][1:], *words[1:]]
    return list(words)
