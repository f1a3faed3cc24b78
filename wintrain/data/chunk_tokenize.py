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
   far).  Most pieces are decided by their shape alone (:func:`_shape`): one character is one token,
   and ``[opener] words joined by hyphens or apostrophes [closer]`` (``Paris.``, ``(well-known``,
   ``don't,``) is the opener, the words with their clitics split off, the closer -- except the few
   words the regex treats otherwise (``cannot``, ``gonna``, ..., abbreviations such as ``Mr.`` or
   ``No.``, an initial, ``www.``).  In English web text 97 pieces in 100 are decided so.
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
from itertools import product, repeat

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
_OPENERS_ALONE = "([{\"\u201c"  # ( [ { " “
_CLOSERS_ALONE = ",.;:?!)]}\"\u201d"  # , . ; : ? ! ) ] } " ”
_JOINERS = "-\u2010\u2011'\u2019"  # the hyphens and apostrophes of the regex's word pattern
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


@dataclass(frozen=True)
class _FastTables:
    word: np.ndarray
    joiner: np.ndarray
    apostrophe: np.ndarray
    opener: np.ndarray
    closer: np.ndarray


@cache
def _tables_fast() -> _FastTables:
    """Per code point (BMP, one more row for any higher): a word character, a joiner of words (hyphen,
    apostrophe), an apostrophe, an opener or closer that is always a token of its own."""
    word = _tables()[0] == WORD

    def of(chars: str) -> np.ndarray:
        table = np.zeros(_BMP + 1, dtype=bool)
        table[[ord(char) for char in chars]] = True
        return table

    return _FastTables(word, of(_JOINERS), of("'\u2019"), of(_OPENERS_ALONE), of(_CLOSERS_ALONE))


_KEY_BITS = 10  # a word of up to 6 characters below U+0400 packed into one int64
_KEY_CHARS = 6


def _keys(codes: np.ndarray, starts: np.ndarray, lengths: np.ndarray, lower: bool = False) -> np.ndarray:
    """One int64 per word ``codes[start:start + length]`` (lowercased ASCII letters when ``lower``), equal
    for equal words; -1 for a word too long or with a character that no key in this module holds."""
    offsets = np.arange(_KEY_CHARS)
    inside = offsets < lengths[:, None]
    chars = np.where(inside, codes[np.minimum(starts[:, None] + offsets, len(codes) - 1)], 0).astype(np.int64)
    if lower:
        chars += np.where((chars >= ord("A")) & (chars <= ord("Z")), 32, 0)
    keys = (chars << (_KEY_BITS * offsets)).sum(axis=1)
    keys[(lengths > _KEY_CHARS) | (chars >= 1 << _KEY_BITS).any(axis=1)] = -1
    return keys


def _word_keys(words: Sequence[str]) -> np.ndarray:
    """:func:`_keys` of ``words`` (each at most 6 characters below U+0400)."""
    codes = code_points("".join(words)).astype(np.int64)
    lengths = np.array([len(word) for word in words], dtype=np.int64)
    return _keys(codes, np.cumsum(lengths) - lengths, lengths)


def code_points(text: str) -> np.ndarray:
    """(len(text),) the code points of ``text`` (a lone surrogate too)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _table_rows(codes: np.ndarray) -> np.ndarray:
    """Row of each code point in the tables (code points above the BMP share the last row)."""
    return np.minimum(codes, _BMP)


_SPLIT_WORD_KEYS = _word_keys(["cannot", "gonna", "wanna", "gotta"])
_KEPT_BEFORE_A_PERIOD_KEYS = _word_keys(sorted(_ALONE_BEFORE_A_PERIOD) + [
    "".join(case) for case in product("wW", repeat=3)])  # www in any case
assert max(map(len, _ALONE_BEFORE_A_PERIOD)) <= _KEY_CHARS


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
    shape = _shape(pieces)
    strings = pieces.strings
    starts, ends = pieces.starts, pieces.ends
    fast, opened, closed = shape.fast, shape.opened, shape.closed
    regex = np.flatnonzero(~fast)
    found = _regex_tokens(pieces, regex)
    clitic = np.flatnonzero(fast & shape.apostrophe)
    core_starts, core_ends = starts + opened, ends - closed
    split: list[list[Token]] = [
        _split_clitics(strings[index][opened[index]:len(strings[index]) - closed[index]], begin)
        for index, begin in zip(clitic.tolist(), core_starts[clitic].tolist())
    ]

    # tokens per piece: an opener, the core's (one, or its clitics), a closer; or what the regex found
    core_counts = np.ones(len(strings), dtype=np.int64)
    core_counts[clitic] = [len(tokens) for tokens in split]
    counts = opened + core_counts + closed
    counts[regex] = found.counts
    first = np.concatenate(([0], np.cumsum(counts)))
    n = int(first[-1])
    token_starts = np.empty(n, dtype=np.int64)
    token_ends = np.empty(n, dtype=np.int64)
    texts = np.empty(n, dtype=object)
    pieces_array = np.empty(len(strings), dtype=object)
    pieces_array[:] = strings

    plain = fast & ~shape.apostrophe
    whole = plain & ~opened.astype(bool) & ~closed.astype(bool)  # the piece is its one token
    at = first[:-1][whole]
    token_starts[at], token_ends[at] = starts[whole], ends[whole]
    texts[at] = pieces_array[whole]
    framed = fast & (opened | closed).astype(bool)
    framed_strings = pieces_array[framed].tolist()
    framed_open, framed_close = opened[framed].tolist(), closed[framed].tolist()
    at = first[:-1][framed]
    has_open = opened[framed].astype(bool)
    token_starts[at[has_open]] = starts[framed][has_open]
    token_ends[at[has_open]] = starts[framed][has_open] + 1
    texts[at[has_open]] = [piece[0] for piece, o in zip(framed_strings, framed_open) if o]
    has_close = closed[framed].astype(bool)
    last = first[1:][framed] - 1
    token_starts[last[has_close]] = ends[framed][has_close] - 1
    token_ends[last[has_close]] = ends[framed][has_close]
    texts[last[has_close]] = [piece[-1] for piece, c in zip(framed_strings, framed_close) if c]
    framed_plain = plain[framed]
    at = first[:-1][framed][framed_plain] + has_open[framed_plain]
    token_starts[at] = core_starts[framed][framed_plain]
    token_ends[at] = core_ends[framed][framed_plain]
    texts[at] = [piece[o:len(piece) - c] for piece, o, c, keep in
                 zip(framed_strings, framed_open, framed_close, framed_plain.tolist()) if keep]
    if split:
        at = np.repeat(first[:-1][clitic] + opened[clitic], core_counts[clitic]) + _ranks(core_counts[clitic])
        flat = [token for tokens in split for token in tokens]
        token_starts[at] = [token.start for token in flat]
        token_ends[at] = [token.end for token in flat]
        texts[at] = [token.text for token in flat]

    at = np.repeat(first[:-1][regex], found.counts) + _ranks(found.counts)
    token_starts[at], token_ends[at] = found.starts, found.ends
    texts[at] = found.texts
    return texts.tolist(), token_starts, token_ends


@dataclass(frozen=True)
class _Shape:
    """Which pieces are tokenized without the regex, and how (per piece, see :func:`_shape`)."""

    fast: np.ndarray  # (P,) bool
    opened: np.ndarray  # (P,) int64 1 when the first character is a token of its own
    closed: np.ndarray  # (P,) int64 1 when the last character is
    apostrophe: np.ndarray  # (P,) bool: the core holds an apostrophe (its clitics are split off)


def _shape(pieces: _Pieces) -> _Shape:
    """The pieces whose tokens follow from their shape, each rule what the regex of
    :func:`~wintrain.data.tokenize.tokenize` does with it:

    * a piece of one character is that token (tokens cover every non-blank character and hold no blank);
    * otherwise ``[opener] core [closer]``: an opener ``( [ { " “`` and a closer ``, . ; : ? ! ) ] } " ”``
      are tokens of their own (no pattern starts with them or takes them after a word, alone), and the
      core -- words joined by hyphens or apostrophes, ``well-known``, ``don't`` -- is what the regex's
      word pattern matches, with its clitics split off as :func:`~wintrain.data.tokenize._split_clitics`
      does.  Not so: a core starting with ``cannot``/``gonna``/``wanna``/``gotta`` (split by their own
      pattern), and a single word before a period that can keep it (an abbreviation such as ``Mr.``,
      ``No.``, an initial, ``www.``); these go through the regex."""
    tables = _tables_fast()
    rows = pieces.rows
    word, joiner = tables.word[rows], tables.joiner[rows]
    starts, ends = pieces.starts, pieces.ends
    lengths = ends - starts
    n_chars = len(rows)
    if len(starts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Shape(empty.astype(bool), empty, empty, empty.astype(bool))
    first_rows, last_rows = rows[starts], rows[ends - 1]
    opened = (tables.opener[first_rows] & (lengths >= 2)).astype(np.int64)
    closed = (tables.closer[last_rows] & (lengths >= 2)).astype(np.int64)
    core_starts, core_ends = starts + opened, ends - closed
    filled = core_ends > core_starts
    safe_start, safe_end = np.minimum(core_starts, n_chars - 1), np.maximum(core_ends - 1, 0)
    bad = np.concatenate(([0], np.cumsum(~(word | joiner))))
    double = np.concatenate(([0], np.cumsum(joiner[:-1] & joiner[1:])))  # joiner pairs before each character
    apostrophes = np.concatenate(([0], np.cumsum(tables.apostrophe[rows])))
    joiners = np.concatenate(([0], np.cumsum(joiner)))
    fast = (filled & (bad[core_ends] == bad[core_starts]) & word[safe_start] & word[safe_end]
            & (double[np.maximum(core_ends - 1, core_starts)] == double[core_starts]))
    single = lengths == 1
    fast |= single
    opened[single] = 0
    closed[single] = 0
    apostrophe = fast & (apostrophes[core_ends] > apostrophes[core_starts])

    codes = pieces.codes
    core_lengths = core_ends - core_starts
    plain = joiners[core_ends] == joiners[core_starts]  # one word, no hyphen or apostrophe
    # can|not, gon|na, wan|na, got|ta: the core's first word, in any case
    joiner_at = np.flatnonzero(joiner)
    following = np.searchsorted(joiner_at, core_starts)
    first_word_ends = np.minimum(np.append(joiner_at, n_chars)[following], core_ends)
    first_lengths = first_word_ends - core_starts
    candidates = fast & ~single & ((first_lengths == 5) | (first_lengths == 6))
    keys = _keys(codes, core_starts[candidates], first_lengths[candidates], lower=True)
    fast[np.flatnonzero(candidates)[np.isin(keys, _SPLIT_WORD_KEYS)]] = False
    # a single word before a period that may keep it: Mr. No. an initial, www.
    period = fast & (closed == 1) & (codes[ends - 1] == ord(".")) & plain
    fast[period & (core_lengths == 1)] = False
    keys = _keys(codes, core_starts[period], core_lengths[period])
    fast[np.flatnonzero(period)[np.isin(keys, _KEPT_BEFORE_A_PERIOD_KEYS)]] = False
    return _Shape(fast, opened, closed, apostrophe & fast)


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
