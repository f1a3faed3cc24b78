"""Score a tokenizer's (and tagger's) CoNLL-U output against gold as the CoNLL 2018 UD shared task does.

The numbers equal those of the shared task's evaluation script (``conll18_ud_eval.py``, version 1.2)
for every metric computed here; this is an independent implementation of its definitions:

* **Text.**  Both files are reduced to the characters of their token FORMs laid end to end, with every
  Unicode space separator (category Zs, e.g. the space in the French FORM ``20 000``) removed.  The two
  character sequences must be identical: the system must have tokenized the gold file's own text.
* **Tokens** are character spans ``[start, end)`` over that sequence: a word line that is not part of a
  multiword token, or a multiword-token line (``3-4 du``).  **Sentences** are the spans from a sentence's
  first token to its last.  A gold and a system span match when both ends are equal.
* **Words** are the syntactic words (``ID`` an integer).  A word outside a multiword token has its
  token's span; a word inside one has the span of the whole multiword token.  Words are aligned in one
  left-to-right pass over both files:

  - where neither current word belongs to a multiword token, two words align when their spans are equal,
    otherwise the one that starts first (the gold one on a tie) is passed over;
  - where one of them does, a *multiword region* is grown: it starts at these words (passing over one
    system/gold word outside any multiword token that starts before the multiword token), ends where that
    token ends, and swallows the next word of either file (whichever starts first, gold on a tie) until the
    next word of each file lies beyond the region: a word inside a multiword token when its token starts at
    or after the region's end, any other word when it ends after it.  A swallowed multiword token that
    reaches past the end extends the region to its own end.  The gold and system words of the region are
    aligned by the longest common subsequence of their lowercased FORMs (a word outside a multiword token
    compared without its spaces, a word inside one as written), read off greedily from the front: equal
    forms align, otherwise the gold word is skipped when that keeps the LCS length, else the system word.

  ``Words`` counts aligned words: ``precision = aligned / system words``, ``recall = aligned / gold words``.
* **UPOS, XPOS, UFeats, AllTags, Lemmas** count aligned words whose UPOS / XPOS / universal features /
  all three / LEMMA are equal, over the same denominators; ``aligned_accuracy = correct / aligned``.
  UFeats keeps only the features in :data:`UNIVERSAL_FEATURES` (sorted); a gold LEMMA ``_`` counts as
  correct whatever the system says.
* ``F1 = 2 · correct / (gold + system)``; precision, recall and F1 are 0 when their denominator is 0.

One metric is our own (the official script has none like it): **Multiword tokens**.  A gold and a system
multiword token match when they cover the same character span AND expand to the same word FORMs, in
order, compared lowercased as the word alignment compares them::

    precision = matching / system multiword tokens      recall = matching / gold multiword tokens

So ``du`` → ``de le`` against gold ``du`` → ``de le`` counts, ``du`` → ``du le`` or an unexpanded ``du``
does not (the latter is a plain token, not a multiword token, and costs recall only).

The reader is lenient where the official script is strict about things scoring does not need: HEAD and
DEPREL are not read (no tree is required), blank (or whitespace-only) lines may repeat, the last one may
be missing, and empty nodes (``8.1``) are skipped wherever they occur.  Anything else malformed is a
:class:`~wintrain.errors.WintrainError` naming ``file:line``.  UAS/LAS and the other parsing metrics
are not computed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from os.path import commonprefix
from pathlib import Path
from typing import NoReturn

import numpy as np

from wintrain.data.reader import read_utf8, show_line
from wintrain.errors import WintrainError, shown

# The universal features of UD v2 that UFeats compares (the set the CoNLL 2018 script keeps).
UNIVERSAL_FEATURES = frozenset(
    {
        "PronType", "NumType", "Poss", "Reflex", "Foreign", "Abbr", "Gender", "Animacy", "Number", "Case",
        "Definite", "Degree", "VerbForm", "Mood", "Tense", "Aspect", "Voice", "Evident", "Polarity", "Person",
        "Polite",
    }
)  # fmt: skip

OFFICIAL_METRICS = ("Tokens", "Sentences", "Words", "UPOS", "XPOS", "UFeats", "AllTags", "Lemmas")
MULTIWORD_METRIC = "Multiword tokens"
METRICS = (*OFFICIAL_METRICS, MULTIWORD_METRIC)

_FIELDS = 10
_ID, _FORM, _LEMMA, _UPOS, _XPOS, _FEATS = range(6)
_EXCERPT_CHARS = 20
_OFFICIAL_NAME_WIDTH = 11


@dataclass(frozen=True)
class UDScore:
    """Counts behind one metric: ``gold`` and ``system`` items, ``correct`` ones, and for the metrics
    over aligned words the number of ``aligned`` words (None for Tokens, Sentences, Words, Multiword tokens)."""

    gold: int
    system: int
    correct: int
    aligned: int | None = None

    @property
    def precision(self) -> float:
        """correct / system (0 when there is no system item)."""
        return self.correct / self.system if self.system else 0.0

    @property
    def recall(self) -> float:
        """correct / gold (0 when there is no gold item)."""
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        """2 · correct / (gold + system) (0 when both are 0)."""
        total = self.gold + self.system
        return 2 * self.correct / total if total else 0.0

    @property
    def aligned_accuracy(self) -> float | None:
        """correct / aligned for the metrics over aligned words (0 when none aligned), else None."""
        if self.aligned is None:
            return None
        return self.correct / self.aligned if self.aligned else 0.0


@dataclass(frozen=True, eq=False)
class UDDocument:
    """What scoring needs from one CoNLL-U file.

    Spans are (n, 2) int64 arrays of ``[start, end)`` offsets into ``characters``, in file order.

    Attributes:
        name: the file name used in messages.
        characters: the token FORMs laid end to end, without Unicode space separators (Zs).
        token_spans: (T, 2) the tokens: words outside multiword tokens and multiword tokens.
        token_lines: (T,) the 1-based line of each token in ``name``.
        sentence_spans: (S, 2) the sentences (a sentence without tokens is not kept).
        word_spans: (W, 2) the syntactic words: the span of their token, or of their multiword token.
        in_multiword: (W,) whether each word is part of a multiword token.
        forms, lemmas, upos, xpos: the W words' columns as written.
        ufeats: the W words' universal features, sorted and joined by ``|`` (``""`` for none).
        multiword_spans: (M, 2) the multiword tokens.
        multiword_words: (M, 2) the ``[first, end)`` indices of each multiword token's words.
    """

    name: str
    characters: str
    token_spans: np.ndarray
    token_lines: np.ndarray
    sentence_spans: np.ndarray
    word_spans: np.ndarray
    in_multiword: np.ndarray
    forms: list[str]
    lemmas: list[str]
    upos: list[str]
    xpos: list[str]
    ufeats: list[str]
    multiword_spans: np.ndarray
    multiword_words: np.ndarray

    @property
    def n_words(self) -> int:
        """W, the number of syntactic words."""
        return len(self.forms)


# --------------------------------------------------------------------------- reading


def without_spaces(form: str) -> str:
    """``form`` without its Unicode space separators (category Zs: ASCII space, no-break space, …)."""
    if form.isascii():
        return form.replace(" ", "")
    return "".join(char for char in form if unicodedata.category(char) != "Zs")


def universal_features(feats: str) -> str:
    """The features of a FEATS column whose name is in :data:`UNIVERSAL_FEATURES`, sorted, joined by ``|``."""
    return "|".join(sorted(feat for feat in feats.split("|") if feat.split("=", 1)[0] in UNIVERSAL_FEATURES))


def _word_id(field: str) -> int | None:
    """The integer of an ID field made of ASCII digits, else None."""
    return int(field) if field.isascii() and field.isdigit() else None


def _index_spans(ranges: list[int], bounds: np.ndarray) -> np.ndarray:
    """(n, 2) spans from a flat list of ``[first, end)`` index pairs into ``bounds`` (item offsets)."""
    pairs = np.array(ranges, dtype=np.int64).reshape(-1, 2)
    return bounds[pairs]


class _Reader:
    """Reads CoNLL-U lines into the columns of a :class:`UDDocument`.

    Tokens are kept as their characters and words as the index of their token; character offsets are
    worked out once at the end (a cumulative sum of the token lengths)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.token_characters: list[str] = []
        self.token_lines: list[int] = []
        self.word_token: list[int] = []
        self.in_multiword: list[bool] = []
        self.columns: tuple[list[str], list[str], list[str], list[str], list[str]] = ([], [], [], [], [])
        self.ufeats_of: dict[str, str] = {}
        self.sentence_tokens: list[int] = []  # [first, end) token index pairs, flat
        self.multiword_tokens: list[int] = []  # token index of each multiword token
        self.multiword_words: list[int] = []  # [first, end) word index pairs, flat
        self.sentence_first_token: int | None = None  # set while inside a sentence
        self.sentence_words = 0
        # the multiword token whose words are still to come: (line, first ID, last ID)
        self.open_multiword: tuple[int, int, int] | None = None

    def where(self, line_number: int) -> str:
        return f"{self.name}:{line_number}"

    def read(self, text: str) -> UDDocument:
        if "\r" in text:
            text = text.replace("\r\n", "\n").removesuffix("\r")
        lines = text.split("\n")
        for line_number, line in enumerate(lines, start=1):
            if not line or line.isspace():
                self.end_sentence(line_number)
            elif line.startswith("#"):
                if self.sentence_first_token is not None:
                    raise WintrainError(
                        f"{self.where(line_number)}: a comment line inside a sentence; comments go before the "
                        "first word line of a sentence, after the blank line that ends the previous one"
                    )
            else:
                self.read_word_line(line, line_number)
        self.end_sentence(len(lines))
        return self.document()

    def end_sentence(self, line_number: int) -> None:
        if self.open_multiword is not None:
            self.missing_words(line_number, "the sentence ends")
        first, end = self.sentence_first_token, len(self.token_characters)
        if first is not None and end > first:
            self.sentence_tokens += (first, end)
        self.sentence_first_token = None
        self.sentence_words = 0

    def read_word_line(self, line: str, line_number: int) -> None:
        fields = line.split("\t")
        if len(fields) != _FIELDS:
            raise WintrainError(
                f"{self.where(line_number)}: expected 10 TAB-separated fields, got {len(fields)} in "
                f"{show_line(line)}; fix the line (a word line has the fields ID FORM LEMMA UPOS XPOS FEATS HEAD "
                "DEPREL DEPS MISC separated by TABs, _ for an empty one; a blank line ends a sentence)"
            )
        if self.sentence_first_token is None:
            self.sentence_first_token = len(self.token_characters)
        word_id = fields[_ID]
        if "." in word_id:  # an empty node: not a token, not a word
            return
        if not fields[_FORM]:
            raise WintrainError(f"{self.where(line_number)}: the FORM field is empty; every word needs a FORM")
        if "-" in word_id:
            self.read_multiword_line(fields, line_number)
        elif self.open_multiword is not None:
            self.read_multiword_part(fields, line_number)
        else:
            if word_id != str(self.sentence_words + 1):
                self.wrong_id(word_id, line_number)
            self.add_token(fields[_FORM], line_number)
            self.add_word(fields, in_multiword=False)

    def wrong_id(self, word_id: str, line_number: int) -> NoReturn:
        raise WintrainError(
            f"{self.where(line_number)}: word ID {shown(word_id)} should be {self.sentence_words + 1} (IDs count "
            "1, 2, 3, … in each sentence, a multiword token 3-4 comes before its words, empty nodes are 8.1); "
            "fix the ID column, or add the blank line that ends the sentence"
        )

    def missing_words(self, line_number: int, found: str) -> NoReturn:
        assert self.open_multiword is not None
        opened, first, last = self.open_multiword
        raise WintrainError(
            f"{self.where(line_number)}: the multiword token {first}-{last} of line {opened} needs its words "
            f"{first} to {last} on the lines after it, but {found} before word {self.sentence_words + 1}; "
            "list the words of a multiword token right after its line"
        )

    def add_token(self, form: str, line_number: int) -> None:
        characters = without_spaces(form)
        if not characters:
            raise WintrainError(
                f"{self.where(line_number)}: the FORM {shown(form)} has no character other than spaces; "
                "every token needs at least one"
            )
        self.token_characters.append(characters)
        self.token_lines.append(line_number)

    def add_word(self, fields: list[str], in_multiword: bool) -> None:
        forms, lemmas, upos, xpos, ufeats = self.columns
        forms.append(fields[_FORM])
        lemmas.append(fields[_LEMMA])
        upos.append(fields[_UPOS])
        xpos.append(fields[_XPOS])
        feats = fields[_FEATS]
        universal = self.ufeats_of.get(feats)
        if universal is None:
            universal = self.ufeats_of[feats] = universal_features(feats)
        ufeats.append(universal)
        self.word_token.append(len(self.token_characters) - 1)
        self.in_multiword.append(in_multiword)
        self.sentence_words += 1

    def read_multiword_line(self, fields: list[str], line_number: int) -> None:
        if self.open_multiword is not None:
            self.missing_words(line_number, f"line {line_number} starts another multiword token")
        expected = self.sentence_words + 1
        first_field, _, last_field = fields[_ID].partition("-")
        first, last = _word_id(first_field), _word_id(last_field)
        if first != expected or last is None or last < expected:
            raise WintrainError(
                f"{self.where(line_number)}: multiword token ID {shown(fields[_ID])} should be a range "
                f"{expected}-N of the IDs of the words that follow it (N ≥ {expected}); fix the ID column"
            )
        self.add_token(fields[_FORM], line_number)
        self.open_multiword = (line_number, expected, last)
        self.multiword_tokens.append(len(self.token_characters) - 1)

    def read_multiword_part(self, fields: list[str], line_number: int) -> None:
        assert self.open_multiword is not None
        _, first, last = self.open_multiword
        if fields[_ID] != str(self.sentence_words + 1):
            self.missing_words(line_number, f"line {line_number} has the ID {shown(fields[_ID])}")
        self.add_word(fields, in_multiword=True)
        if self.sentence_words == last:
            end = len(self.word_token)
            self.multiword_words += (end - (last - first + 1), end)
            self.open_multiword = None

    def document(self) -> UDDocument:
        lengths = np.fromiter(map(len, self.token_characters), dtype=np.int64, count=len(self.token_characters))
        token_bounds = np.concatenate([[0], np.cumsum(lengths)])  # token i is [bounds[i], bounds[i + 1])
        token_spans = np.stack([token_bounds[:-1], token_bounds[1:]], axis=1)
        word_token = np.array(self.word_token, dtype=np.int64)
        multiword_tokens = np.array(self.multiword_tokens, dtype=np.int64)
        forms, lemmas, upos, xpos, ufeats = self.columns
        return UDDocument(
            name=self.name,
            characters="".join(self.token_characters),
            token_spans=token_spans,
            token_lines=np.array(self.token_lines, dtype=np.int64),
            sentence_spans=_index_spans(self.sentence_tokens, token_bounds),
            word_spans=token_spans[word_token].reshape(-1, 2),
            in_multiword=np.array(self.in_multiword, dtype=bool),
            forms=forms,
            lemmas=lemmas,
            upos=upos,
            xpos=xpos,
            ufeats=ufeats,
            multiword_spans=token_spans[multiword_tokens].reshape(-1, 2),
            multiword_words=np.array(self.multiword_words, dtype=np.int64).reshape(-1, 2),
        )


def parse_ud_document(text: str, name: str) -> UDDocument:
    """Read the CoNLL-U ``text`` (LF or CRLF line ends) of the file ``name`` into what scoring needs.

    Comments (before a sentence's first word line), empty nodes and blank or whitespace-only lines
    between sentences are skipped; HEAD, DEPREL, DEPS and MISC are not read.  Malformed lines raise a
    WintrainError naming ``name:line``.
    """
    return _Reader(name).read(text)


def read_ud_document(path: Path | str) -> UDDocument:
    """:func:`parse_ud_document` of a UTF-8 file (plain or gzip-compressed)."""
    return parse_ud_document(read_utf8(Path(path)), str(path))


# --------------------------------------------------------------------------- aligning words


@dataclass(frozen=True)
class _Words:
    """One file's words as plain lists, for the alignment pass."""

    document: UDDocument
    start: list[int]
    end: list[int]
    in_multiword: list[bool]

    @classmethod
    def of(cls, document: UDDocument) -> _Words:
        return cls(
            document,
            document.word_spans[:, 0].tolist(),
            document.word_spans[:, 1].tolist(),
            document.in_multiword.tolist(),
        )

    def __len__(self) -> int:
        return len(self.start)

    def beyond(self, index: int, region_end: int) -> bool:
        """Whether word ``index`` lies beyond a multiword region ending at ``region_end`` (past the end: yes)."""
        if index >= len(self.start):
            return True
        if self.in_multiword[index]:
            return self.start[index] >= region_end
        return self.end[index] > region_end

    def extended(self, index: int, region_end: int) -> int:
        """The region's end once word ``index`` joins it: a multiword token reaching further moves it."""
        if self.in_multiword[index]:
            return max(region_end, self.end[index])
        return region_end

    def compared_forms(self, first: int, end: int) -> list[str]:
        """The lowercased FORMs of words ``first:end`` as the LCS compares them: a word that is its own
        token without its spaces (its characters), a word inside a multiword token as written."""
        document = self.document
        return [
            (document.forms[i] if self.in_multiword[i] else document.characters[self.start[i] : self.end[i]]).lower()
            for i in range(first, end)
        ]


def _multiword_region(gold: _Words, system: _Words, g: int, s: int) -> tuple[int, int, int, int]:
    """The words ``gold[g0:g1]`` and ``system[s0:s1]`` of the multiword region that starts at ``g``, ``s``
    (one of them inside a multiword token), as ``(g0, s0, g1, s1)``."""
    if gold.in_multiword[g]:
        region_end = gold.end[g]
        if not system.in_multiword[s] and system.start[s] < gold.start[g]:
            s += 1
    else:
        region_end = system.end[s]
        if gold.start[g] < system.start[s]:
            g += 1
    g0, s0 = g, s
    while not (gold.beyond(g, region_end) and system.beyond(s, region_end)):
        if g < len(gold) and (s >= len(system) or gold.start[g] <= system.start[s]):
            region_end = gold.extended(g, region_end)
            g += 1
        else:
            region_end = system.extended(s, region_end)
            s += 1
    return g0, s0, g, s


def _lcs_pairs(gold_forms: list[str], system_forms: list[str]) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of two form lists, read greedily from the front:
    equal forms pair up; otherwise the gold form is skipped when the rest still has an LCS as long."""
    n, m = len(gold_forms), len(system_forms)
    # longest[g][s]: LCS length of gold_forms[g:] and system_forms[s:] (row n and column m are 0)
    longest = [[0] * (m + 1) for _ in range(n + 1)]
    for g in range(n - 1, -1, -1):
        row, below = longest[g], longest[g + 1]
        for s in range(m - 1, -1, -1):
            row[s] = below[s + 1] + 1 if gold_forms[g] == system_forms[s] else max(below[s], row[s + 1])
    pairs = []
    g = s = 0
    while g < n and s < m:
        if gold_forms[g] == system_forms[s]:
            pairs.append((g, s))
            g += 1
            s += 1
        elif longest[g][s] == longest[g + 1][s]:
            g += 1
        else:
            s += 1
    return pairs


def align_words(gold: UDDocument, system: UDDocument) -> tuple[np.ndarray, np.ndarray]:
    """The aligned words as two (A,) int64 arrays: gold word ``gold_index[k]`` aligns with system word
    ``system_index[k]``, in file order.  See the module docstring for the rules; the texts are not checked."""
    gold_words, system_words = _Words.of(gold), _Words.of(system)
    gold_index: list[int] = []
    system_index: list[int] = []
    n_gold, n_system = len(gold_words), len(system_words)
    g = s = 0
    while g < n_gold and s < n_system:
        if gold_words.in_multiword[g] or system_words.in_multiword[s]:
            g0, s0, g, s = _multiword_region(gold_words, system_words, g, s)
            pairs = _lcs_pairs(gold_words.compared_forms(g0, g), system_words.compared_forms(s0, s))
            gold_index.extend(g0 + a for a, _ in pairs)
            system_index.extend(s0 + b for _, b in pairs)
        elif gold_words.start[g] == system_words.start[s] and gold_words.end[g] == system_words.end[s]:
            gold_index.append(g)
            system_index.append(s)
            g += 1
            s += 1
        elif gold_words.start[g] <= system_words.start[s]:
            g += 1
        else:
            s += 1
    return np.array(gold_index, dtype=np.int64), np.array(system_index, dtype=np.int64)


# --------------------------------------------------------------------------- scoring


def _check_same_text(gold: UDDocument, system: UDDocument) -> None:
    """Raise a WintrainError saying where the two character sequences first differ, if they do."""
    if gold.characters == system.characters:
        return
    index = len(commonprefix([gold.characters, system.characters]))
    raise WintrainError(
        f"{system.name} does not hold the text of {gold.name}: ignoring spaces, they first differ at character "
        f"{index:,} ({_place(gold, index)} has {shown(gold.characters[index : index + _EXCERPT_CHARS])}, "
        f"{_place(system, index)} has {shown(system.characters[index : index + _EXCERPT_CHARS])}); "
        f"score the system output for the text of {gold.name} itself (the same characters, tokenized anew)"
    )


def _place(document: UDDocument, index: int) -> str:
    """``name:line`` of the token holding character ``index``, or ``the end of name``."""
    if index >= len(document.characters):
        return f"the end of {document.name}"
    token = int(np.searchsorted(document.token_spans[:, 0], index, side="right")) - 1
    return f"{document.name}:{int(document.token_lines[token])}"


def _span_score(gold_spans: np.ndarray, system_spans: np.ndarray, text_length: int) -> UDScore:
    """Gold and system spans and how many are in both (spans of one file never repeat)."""

    def keys(spans: np.ndarray) -> np.ndarray:
        return spans[:, 0] * (text_length + 1) + spans[:, 1]

    correct = np.intersect1d(keys(gold_spans), keys(system_spans), assume_unique=True).size
    return UDScore(len(gold_spans), len(system_spans), int(correct))


def _multiword_keys(document: UDDocument) -> set[tuple[int, int, tuple[str, ...]]]:
    """Each multiword token as (start, end, its words' lowercased FORMs)."""
    return {
        (start, end, tuple(form.lower() for form in document.forms[first:last]))
        for (start, end), (first, last) in zip(document.multiword_spans.tolist(), document.multiword_words.tolist())
    }


def score_ud(gold: UDDocument, system: UDDocument) -> dict[str, UDScore]:
    """The scores of ``system`` against ``gold`` under the names of :data:`METRICS`, in that order.

    Raises a WintrainError when the two files do not hold the same text (spaces aside).
    """
    _check_same_text(gold, system)
    gold_index, system_index = align_words(gold, system)
    pairs = list(zip(gold_index.tolist(), system_index.tolist()))
    n_gold, n_system, n_aligned = gold.n_words, system.n_words, len(pairs)

    def aligned_score(correct: int) -> UDScore:
        return UDScore(n_gold, n_system, correct, n_aligned)

    def same(gold_column: list[str], system_column: list[str]) -> list[bool]:
        return [gold_column[g] == system_column[s] for g, s in pairs]

    upos, xpos, ufeats = same(gold.upos, system.upos), same(gold.xpos, system.xpos), same(gold.ufeats, system.ufeats)
    lemmas = [gold.lemmas[g] == "_" or gold.lemmas[g] == system.lemmas[s] for g, s in pairs]
    gold_multiwords, system_multiwords = _multiword_keys(gold), _multiword_keys(system)
    text_length = len(gold.characters)
    return {
        "Tokens": _span_score(gold.token_spans, system.token_spans, text_length),
        "Sentences": _span_score(gold.sentence_spans, system.sentence_spans, text_length),
        "Words": UDScore(n_gold, n_system, n_aligned),
        "UPOS": aligned_score(sum(upos)),
        "XPOS": aligned_score(sum(xpos)),
        "UFeats": aligned_score(sum(ufeats)),
        "AllTags": aligned_score(sum(u and x and f for u, x, f in zip(upos, xpos, ufeats))),
        "Lemmas": aligned_score(sum(lemmas)),
        MULTIWORD_METRIC: UDScore(
            len(gold_multiwords), len(system_multiwords), len(gold_multiwords & system_multiwords)
        ),
    }


def score_ud_files(gold_path: Path | str, system_path: Path | str) -> dict[str, UDScore]:
    """:func:`score_ud` of two UTF-8 CoNLL-U files (plain or gzip-compressed)."""
    return score_ud(read_ud_document(gold_path), read_ud_document(system_path))


def format_ud_table(scores: Mapping[str, UDScore]) -> str:
    """The scores as the official script's ``-v`` table, in percent, one row per metric in ``scores``' order::

        Metric     | Precision |    Recall |  F1 Score | AligndAcc
        -----------+-----------+-----------+-----------+-----------
        Tokens     |     99.12 |     98.40 |     98.76 |

    The name column is the official 11 characters wide, wider only when a name needs it (``Multiword
    tokens``); AligndAcc is empty where the score has no aligned accuracy.
    """
    width = max([_OFFICIAL_NAME_WIDTH, *(len(name) + 1 for name in scores)])
    lines = [
        "Metric".ljust(width) + "| Precision |    Recall |  F1 Score | AligndAcc",
        "-" * width + "+-----------" * 4,
    ]
    for name, score in scores.items():
        accuracy = score.aligned_accuracy
        cells = [f"{100 * value:10.2f} " for value in (score.precision, score.recall, score.f1)]
        cells.append("" if accuracy is None else f"{100 * accuracy:10.2f}")
        lines.append(name.ljust(width) + "|" + "|".join(cells))
    return "\n".join(lines)
