"""The rule tokenizer and sentence splitter of :mod:`wintrain.data.tokenize` over a whole chunk of texts at once.

:func:`tokenize_texts` gives, for every text, exactly the tokens and sentences of
:func:`~wintrain.data.tokenize.tokenize_sentences`, but as flat arrays for the whole chunk and with
little Python work per token:

1. The texts are joined by newlines and read as an array of code points.  A table classifies each
   character once: whitespace, a word character (the regex's ``\\w``) or anything else.  The
   *pieces* (maximal runs of non-whitespace) follow from where the class changes.
2. Tokens never contain whitespace and the tokenizer's regex starts afresh at every piece, so each
   piece can be tokenized on its own, given what its patterns can see around it: one blank before
   (a lookbehind sees whitespace or the start of the text alike) and, after it, the blank and at most
   two characters of the next piece (``J. K.``, ``No. #1``: only patterns ending in a period look that
   far).  Two kinds of piece are decided without the regex: a piece of word characters alone is one
   token (``Paris``), and a word followed by one of ``, . ; : ? !`` is that word and that mark
   (``Paris.``) -- except the few words the regex treats otherwise (``cannot``, ``gonna``, ...,
   abbreviations such as ``Mr.`` or ``No.``, an initial, ``www.``), which go with every other piece
   through the regex.  In English text nine pieces in ten are of the first two kinds.
3. The other pieces, each with its context, are joined by blanks into one string and tokenized by the
   same regex and clitic rule as :func:`~wintrain.data.tokenize.tokenize`; tokens found in a context
   are dropped.
4. Sentence boundaries are found with array operations from three per-token flags (sentence-final
   punctuation, closing quote or bracket, starts a sentence), the rule of
   :func:`~wintrain.data.tokenize.split_sentences`; sentences longer than ``max_tokens`` are cut the
   same way.

:func:`split_whitespace_texts` is the ``--pretokenized`` counterpart: tokens at whitespace only, one
sentence per non-empty text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import repeat

import numpy as np

from wintrain.data.tokenize import (
    _ABBREVIATION_NAMES,
    _CLOSERS,
    _SENTENCE_FINAL_CHARS,
    _TOKEN_RE,
    Token,
    _split_clitics,
    _starts_sentence,
)

SPACE, WORD, OTHER = 0, 1, 2
_BMP = 0x10000  # code points above the Basic Multilingual Plane share the last table row
_CONTEXT_CHARS = 2  # characters of the next piece a pattern can look at (``No. #1``)
_END_OF_TEXT = "\n\x00 "  # after a text's last piece: a blank, then a character no pattern looks for
_MARKS_AFTER_A_WORD = ",.;:?!"
_SPLIT_WORD = re.compile("(?i:cannot|gonna|wanna|gotta)")  # the regex's can|not, gon|na, wan|na, got|ta
_WWW = re.compile("(?i:www)")  # "www." is a URL
_ALONE_BEFORE_A_PERIOD = frozenset(_ABBREVIATION_NAMES) | {"No", "no", "Nos", "nos"}
_AMBIGUOUS_QUOTES = np.array([ord('"'), ord("'")], dtype=np.int64)


@dataclass(frozen=True)
class TokenizedTexts:
    """The tokens and sentences of T texts, flat.

    Attributes:
        tokens: the N token strings in text order.
        starts, ends: (N,) int64 offsets of each token into its own text (``end`` exclusive).
        sentence_starts: (S+1,) int64 offsets of the sentences into ``tokens``.
        text_sentences: (T+1,) int64 offsets of each text's sentences into the S sentences.
    """

    tokens: list[str]
    starts: np.ndarray
    ends: np.ndarray
    sentence_starts: np.ndarray
    text_sentences: np.ndarray

    def token_sentences(self) -> list[list[str]]:
        """The S sentences as lists of token strings (what :meth:`Tagger.tag_tokens` takes)."""
        bounds = self.sentence_starts.tolist()
        tokens = self.tokens
        return [tokens[begin:end] for begin, end in zip(bounds[:-1], bounds[1:])]

    def text_token_sentences(self) -> list[list[list[Token]]]:
        """Per text, its sentences of :class:`Token` (as :func:`~wintrain.data.tokenize.tokenize_sentences`)."""
        flat = list(map(tuple.__new__, repeat(Token), zip(self.tokens, self.starts.tolist(), self.ends.tolist())))
        bounds = self.sentence_starts.tolist()
        sentences = [flat[begin:end] for begin, end in zip(bounds[:-1], bounds[1:])]
        groups = self.text_sentences.tolist()
        return [sentences[begin:end] for begin, end in zip(groups[:-1], groups[1:])]


# --------------------------------------------------------------------------- character tables


@cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(class, sentence-final, starts-a-sentence) per code point of the BMP, one more row for any higher one.

    Built from the regex engine and ``str`` methods themselves, so they agree with the rules by
    construction: ``\\s`` and ``\\w`` are what the tokenizer's regex means by them."""
    plane = "".join(map(chr, range(_BMP)))
    classes = np.full(_BMP + 1, OTHER, dtype=np.uint8)
    classes[[match.start() for match in re.finditer(r"\w", plane)]] = WORD
    classes[[match.start() for match in re.finditer(r"\s", plane)]] = SPACE
    final = np.zeros(_BMP + 1, dtype=bool)
    final[[ord(char) for char in _SENTENCE_FINAL_CHARS]] = True
    starts = np.array([_starts_sentence(char) for char in plane] + [False])
    return classes, final, starts


def code_points(text: str) -> np.ndarray:
    """(len(text),) the code points of ``text`` (a lone surrogate too)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _table_rows(codes: np.ndarray) -> np.ndarray:
    """Row of each code point in the tables (code points above the BMP share the last row)."""
    return np.minimum(codes, _BMP)


@dataclass(frozen=True)
class _Pieces:
    """The maximal runs of non-whitespace of the joined texts, and the per-character arrays they came from."""

    joined: str
    codes: np.ndarray  # (L,) code points of ``joined``
    rows: np.ndarray  # (L,) their table rows
    strings: list[str]  # the P pieces
    starts: np.ndarray  # (P,) offsets into ``joined``
    ends: np.ndarray
    text_offsets: np.ndarray  # (T+1,) where each text starts in ``joined`` (and the end + 1)
    text_of: np.ndarray  # (P,) the text of each piece


def _pieces(texts: Sequence[str]) -> _Pieces:
    """The texts joined by newlines, split at whitespace."""
    joined = "\n".join(texts)
    codes = code_points(joined)
    rows = _table_rows(codes)
    classes = _tables()[0][rows]
    solid = np.concatenate(([False], classes != SPACE, [False]))
    change = np.flatnonzero(solid[1:] != solid[:-1])
    starts, ends = change[0::2], change[1::2]
    strings = joined.split()
    if len(strings) != len(starts):  # str.split() and the regex agree on whitespace; a guard all the same
        raise AssertionError("whitespace tables disagree with str.split")
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    text_offsets = np.concatenate(([0], np.cumsum(lengths + 1)))
    text_of = np.searchsorted(text_offsets, starts, side="right") - 1
    return _Pieces(joined, codes, rows, strings, starts, ends, text_offsets, text_of)


# --------------------------------------------------------------------------- tokens


def split_whitespace_texts(texts: Sequence[str]) -> TokenizedTexts:
    """``--pretokenized``: each text split at whitespace only, all its tokens one sentence (none when empty)."""
    pieces = _pieces(texts)
    begin = pieces.text_offsets[pieces.text_of]
    per_text = np.bincount(pieces.text_of, minlength=len(texts))
    sentence_starts = np.concatenate(([0], np.cumsum(per_text[per_text > 0])))
    text_sentences = np.concatenate(([0], np.cumsum(per_text > 0)))
    return TokenizedTexts(pieces.strings, pieces.starts - begin, pieces.ends - begin,
                          sentence_starts.astype(np.int64), text_sentences.astype(np.int64))


def tokenize_texts(texts: Sequence[str], max_tokens: int = 100) -> TokenizedTexts:
    """The tokens and sentences of every text, equal to ``[tokenize_sentences(t, max_tokens) for t in texts]``
    (see the module docstring for how).

    Raises ValueError if ``max_tokens < 1``."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    pieces = _pieces(texts)
    tokens, starts, ends = _tokens(pieces)
    text_of = np.searchsorted(pieces.text_offsets, starts, side="right") - 1
    sentence_starts, text_sentences = _sentences(pieces, tokens, starts, ends, text_of, len(texts), max_tokens)
    begin = pieces.text_offsets[text_of]
    return TokenizedTexts(tokens, starts - begin, ends - begin, sentence_starts, text_sentences)


def _tokens(pieces: _Pieces) -> tuple[list[str], np.ndarray, np.ndarray]:
    """All tokens of the joined texts: strings, and start and end offsets into ``pieces.joined``."""
    classes = _tables()[0][pieces.rows]
    starts, ends = pieces.starts, pieces.ends
    strings = pieces.strings
    other = np.concatenate(([0], np.cumsum(classes == OTHER)))
    n_other = other[ends] - other[starts]
    lengths = ends - starts
    last = pieces.codes[ends - 1] if len(ends) else np.zeros(0, dtype=np.uint32)
    marked = (n_other == 1) & np.isin(last, [ord(c) for c in _MARKS_AFTER_A_WORD]) & (lengths >= 2)
    word = n_other == 0
    # the words the regex does not take as they are
    first = pieces.codes[starts] if len(starts) else np.zeros(0, dtype=np.uint32)
    may_split = np.isin(first, [ord(c) for c in "cCgGwW"]) & ((lengths == 5) | (lengths == 6))
    for index in np.flatnonzero(word & may_split).tolist():
        if _SPLIT_WORD.fullmatch(strings[index]):
            word[index] = False
    period = ord(".")
    for index in np.flatnonzero(marked).tolist():
        piece = strings[index]
        head = piece[:-1]
        if (len(head) in (5, 6) and _SPLIT_WORD.fullmatch(head)) or (
            last[index] == period and (len(head) == 1 or head in _ALONE_BEFORE_A_PERIOD or _WWW.fullmatch(head))
        ):
            marked[index] = False
    regex = np.flatnonzero(~word & ~marked)
    found = _regex_tokens(pieces, regex)

    # tokens per piece: a word 1, a word and its mark 2, a regex piece what the regex found
    counts = np.where(word, 1, 2)
    counts[regex] = found.counts
    first = np.concatenate(([0], np.cumsum(counts)))
    n = int(first[-1])
    token_starts = np.empty(n, dtype=np.int64)
    token_ends = np.empty(n, dtype=np.int64)
    texts = np.empty(n, dtype=object)
    pieces_array = np.empty(len(strings), dtype=object)
    pieces_array[:] = strings

    at = first[:-1][word]
    token_starts[at], token_ends[at] = starts[word], ends[word]
    texts[at] = pieces_array[word]

    at = first[:-1][marked]
    marked_strings = pieces_array[marked].tolist()
    token_starts[at], token_ends[at] = starts[marked], ends[marked] - 1
    token_starts[at + 1], token_ends[at + 1] = ends[marked] - 1, ends[marked]
    texts[at] = [piece[:-1] for piece in marked_strings]
    texts[at + 1] = [piece[-1] for piece in marked_strings]

    at = np.repeat(first[:-1][regex], found.counts) + _ranks(found.counts)
    token_starts[at], token_ends[at] = found.starts, found.ends
    texts[at] = found.texts
    return texts.tolist(), token_starts, token_ends


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, …, counts[0]-1, 0, 1, …, counts[1]-1, …: each item's rank within its group."""
    offsets = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(offsets, counts)


@dataclass(frozen=True)
class _Found:
    counts: np.ndarray  # tokens of each regex piece
    texts: list[str]
    starts: np.ndarray  # offsets into the joined texts
    ends: np.ndarray


def _regex_tokens(pieces: _Pieces, selected: np.ndarray) -> _Found:
    """Tokenize the ``selected`` pieces with the regex of :func:`~wintrain.data.tokenize.tokenize`, each
    followed by its context (a blank and the first characters of the next piece of the same text)."""
    strings, joined = pieces.strings, pieces.joined
    starts, ends = pieces.starts.tolist(), pieces.ends.tolist()
    text_of = pieces.text_of.tolist()
    n_pieces = len(strings)
    parts: list[str] = []
    offsets: list[int] = []  # where each selected piece starts in the regex string
    position = 0
    for index in selected.tolist():
        piece = strings[index]
        after = " "
        if piece[-1] == ".":  # only a final period's patterns look past the blank (``J. K.``, ``No. #1``)
            following = index + 1
            if following < n_pieces and text_of[following] == text_of[index]:
                begin = starts[following]
                after = " " + joined[begin:min(begin + _CONTEXT_CHARS, ends[following])] + " "
            else:
                after = _END_OF_TEXT
        parts.append(piece + after)
        offsets.append(position)
        position += len(piece) + len(after)
    source = "".join(parts)
    piece_ends = [offset + len(strings[index]) for offset, index in zip(offsets, selected.tolist())]

    selected_starts = [starts[index] for index in selected.tolist()]
    shifts = [begin - offset for begin, offset in zip(selected_starts, offsets)]
    counts = [0] * len(offsets)
    texts: list[str] = []
    token_starts: list[int] = []
    token_ends: list[int] = []
    current, last = 0, len(offsets) - 1
    for match in _TOKEN_RE.finditer(source):
        start, end = match.span()
        while current < last and start >= offsets[current + 1]:
            current += 1
        if start >= piece_ends[current]:  # in the context or the separator after the piece
            continue
        shift = shifts[current]
        word = match.group()
        if ("'" in word or "\u2019" in word) and match.lastindex:
            for token in _split_clitics(word, start + shift):
                texts.append(token.text)
                token_starts.append(token.start)
                token_ends.append(token.end)
                counts[current] += 1
        else:
            texts.append(word)
            token_starts.append(start + shift)
            token_ends.append(end + shift)
            counts[current] += 1
    return _Found(np.array(counts, dtype=np.int64), texts, np.array(token_starts, dtype=np.int64),
                  np.array(token_ends, dtype=np.int64))


# --------------------------------------------------------------------------- sentences


def _sentences(
    pieces: _Pieces, tokens: list[str], starts: np.ndarray, ends: np.ndarray, text_of: np.ndarray, n_texts: int,
    max_tokens: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(S+1,) sentence offsets into the tokens and (T+1,) text offsets into the sentences, by the rule of
    :func:`~wintrain.data.tokenize.split_sentences` applied to each text's tokens.

    A sentence ends after a run of tokens that are each sentence-final or closing when the run holds a
    sentence-final token and the token after the run starts a sentence; every text ends one."""
    _, final_char, starts_char = _tables()
    n = len(tokens)
    if n == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(n_texts + 1, dtype=np.int64)
    not_final = np.concatenate(([0], np.cumsum(~final_char[pieces.rows])))
    final = not_final[ends] == not_final[starts]
    lengths = ends - starts
    first = pieces.codes[starts]
    single = lengths == 1
    closers = [ord(c) for c in _CLOSERS if len(c) == 1]
    closes = single & np.isin(first, closers)
    closes |= (lengths == 2) & (first == ord("'")) & (pieces.codes[np.minimum(starts + 1, len(pieces.codes) - 1)]
                                                       == ord("'"))
    attached = np.concatenate(([False], starts[1:] == ends[:-1]))
    closes |= single & np.isin(first, _AMBIGUOUS_QUOTES) & attached
    opens = starts_char[_table_rows(first)]
    for index in np.flatnonzero(first >= _BMP).tolist():  # above the BMP: ask str itself
        opens[index] = _starts_sentence(tokens[index])

    text_start = np.concatenate(([True], text_of[1:] != text_of[:-1]))
    in_run = final | closes
    positions = np.arange(n)
    # the last token before i (inclusive) that is outside a run, that is sentence-final, that starts its text
    last_outside = np.maximum.accumulate(np.where(~in_run, positions, -1))
    last_final = np.maximum.accumulate(np.where(final, positions, -1))
    last_text_start = np.maximum.accumulate(np.where(text_start, positions, 0))
    k = positions[1:]  # a boundary before token k
    run_before = last_final[k - 1] > np.maximum(last_outside[k - 1], last_text_start[k] - 1)
    boundary = ~in_run[k] & run_before & opens[k]  # (a text start fails run_before)
    cuts = np.concatenate((np.flatnonzero(text_start), k[boundary], [n]))
    cuts.sort()
    sentence_starts = _cut_long(cuts, max_tokens)
    # each text's first sentence: texts without tokens have none
    first_token = np.searchsorted(text_of, np.arange(n_texts + 1), side="left")
    text_sentences = np.searchsorted(sentence_starts, first_token, side="left")
    text_sentences[-1] = len(sentence_starts) - 1
    return sentence_starts.astype(np.int64), text_sentences.astype(np.int64)


def _cut_long(bounds: np.ndarray, max_tokens: int) -> np.ndarray:
    """Sentence offsets with every sentence longer than ``max_tokens`` cut into pieces of nearly equal length
    (the longer pieces first), as :func:`~wintrain.data.tokenize.split_sentences` cuts them."""
    lengths = np.diff(bounds)
    long = np.flatnonzero(lengths > max_tokens)
    if len(long) == 0:
        return bounds
    extra: list[int] = []
    for index in long.tolist():
        length, start = int(lengths[index]), int(bounds[index])
        n_pieces = -(-length // max_tokens)
        size, n_longer = divmod(length, n_pieces)
        for piece in range(n_pieces - 1):
            start += size + (piece < n_longer)
            extra.append(start)
    return np.sort(np.concatenate((bounds, np.array(extra, dtype=bounds.dtype))))
