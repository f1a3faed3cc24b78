"""Rule-based Penn-Treebank-style tokenizer with character offsets, for tagging raw text.

The models are trained on CoNLL-2003 (Reuters news) and UD English-EWT (web text), whose
tokens follow Penn-Treebank (PTB) conventions, so raw text given to ``wintrain predict`` is
split the same way. Every token carries its ``start``/``end`` offsets, and
``text[start:end]`` is always the token, so tags can be mapped back onto the input.

Conventions:

* Whitespace (any Unicode space, tab or line break) separates tokens and is never part of one.
* Punctuation and quotes are split off: ``" ' “ ” ‘ ’ ( ) [ ] { } , ; : ! ?`` and a
  sentence-final ``.``. Runs stay one token: ``...``, ``…``, ``--``, ``?!``, ``!!!``, and
  PTB-style double quotes made of two backticks or two apostrophes; a lone ``-`` is a token.
* Clitics are split as in PTB and UD-EWT, with either apostrophe (``'`` or ``’``) and in any
  case: ``don't`` → ``do n't``, ``can't`` → ``ca n't``, ``won't`` → ``wo n't``,
  ``DON'T`` → ``DO N'T``, ``I'm`` → ``I 'm``, ``John's`` → ``John 's`` (also
  ``'re 'll 've 'd``); ``cannot`` → ``can not``, ``gonna`` → ``gon na``,
  ``wanna`` → ``wan na``, ``gotta`` → ``got ta``. A plural possessive apostrophe is its own
  token (``boys' toys`` → ``boys ' toys``); names such as ``O'Neill`` and decade
  abbreviations such as ``'90s`` stay whole. Already-tokenized input (``do n't``,
  ``John 's``) is kept as it is.
* Kept whole: abbreviations with internal periods (``U.S.``, ``e.g.``, ``a.m.``,
  ``Ph.D.``); common abbreviations with a final period (``Mr.``, ``Dr.``, ``St.``,
  ``Inc.``, ``Corp.``, ``Co.``, ``Ltd.``, ``vs.``, ``etc.``, ``Jan.``…``Dec.`` but not
  ``May``, ``Gov.``, ``Sen.``, US state abbreviations such as ``Calif.`` …, matched
  case-sensitively; ``No.`` only before a number); a single capital initial followed by a
  capitalised word (``J. K. Rowling``); ``AT&T``-style names.
* A period that ends an abbreviation at the end of a sentence stays inside it
  (``He lives in the U.S.`` ends with the token ``U.S.``): tokens are substrings of the input.
* Numbers stay whole: ``3.5``, ``1,000,000.50``, ``10:30``, ``1/2``, ``2-1``,
  ``1996-08-22``, ``-3``, ``+44``, ``1990s``; currency and percent signs are split off
  (``$5`` → ``$ 5``, ``€10`` → ``€ 10``, ``50%`` → ``50 %``).
* Hyphenated words stay whole (``well-known``, ``e-mail``; ``New York-based`` →
  ``New York-based``); a dash between words is its own token (``word—word``).
* URLs (``https://example.com/a?b=c``, ``www.example.org``, ``example.com``) stay whole
  without a trailing sentence period, comma or closing bracket or quote
  (``(see https://x.org/a).`` → ``( see https://x.org/a ) .``); so do e-mail addresses,
  ``@user`` mentions, ``#hashtags``, emoticons (``:)`` ``:-(`` ``;)`` ``:D`` ``<3``);
  each emoji (with its skin tone, ZWJ sequence or flag pair) is one token.
* Unicode letters, digits and combining marks are word characters (``Élysée``,
  ``Zürich``, ``Müller's`` → ``Müller 's``); runs of CJK characters stay one token.

Sentences are split after ``.``, ``!``, ``?``, ``...`` (and runs of them) when the next
token starts a sentence; long sentences are cut to ``max_tokens`` (see
:func:`split_sentences`).

:func:`tokenize` and :func:`split_sentences` are the rules, one text at a time.  Tagging many
texts goes through :mod:`wintrain.data.chunk_tokenize`, which gives the same tokens and sentences
for a whole chunk of texts at once with arrays.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Token(NamedTuple):
    """One token of an input string (a light, immutable tuple: millions are made per second).

    ``text`` is non-empty and contains no whitespace; ``start`` is its offset into the input
    and ``end`` is exclusive, so ``line[start:end] == text``.
    """

    text: str
    start: int
    end: int


# --- character classes (contents of [...]) ---------------------------------------------

# Combining marks of the common scripts: \w does not include them, but they belong to the
# letter before them (decomposed "é", Devanagari vowel signs, emoji variation selectors).
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u0711\u0730-\u074a\u07a6-\u07b0\u07eb-\u07f3"
    "\u0900-\u0963\u0966-\u0dff"  # Indic blocks: letters, signs and digits; not the dandas
    "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd"
    "\u0f18\u0f19\u0f35\u0f37\u0f39\u0f3e\u0f3f\u0f71-\u0f84\u0f86\u0f87\u0f8d-\u0fbc"
    "\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074"
    "\u1082-\u108d\u108f\u109a-\u109d\u17b4-\u17d3\u17dd"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u200c\u200d\u20d0-\u20ff\u302a-\u302f\u3099\u309a"
    "\ufe00-\ufe0f\ufe20-\ufe2f\U000e0100-\U000e01ef"
)
_WCH = r"\w" + _MARKS  # word characters
_LETTER = r"[^\W\d_]"
_UPPER = "A-ZÀ-ÖØ-Þ"
_APOS = "'\u2019"  # ' ’
_HYPHENS = "\\-\u2010\u2011"  # - ‐ ‑ (joining hyphens, not dashes)
_SIGN = "\\-+\u2212"  # - + −
_NOT_WORD_BEFORE = f"(?<![{_WCH}])"
_WORD_END = f"(?![{_WCH}])"

# --- token patterns, tried in this order at each position --------------------------------

# A URL ends before trailing punctuation that is followed by whitespace, the end or a
# character that cannot be in a URL; a balanced "(...)" inside it is kept (Wikipedia links).
_URL_CHAR = '[^\\s<>"\u201c\u201d]'
_URL_TRAIL = "[.,;:!?'\"\u2018\u2019\u201c\u201d)\\]}>]"
_URL_BODY = f'(?:\\([^\\s()<>]{{0,60}}\\)|{_URL_CHAR})*?(?={_URL_TRAIL}{{0,10}}(?:[\\s<>"\u201c\u201d]|$))'
_URL = f"(?i:(?:https?|ftp)://|www\\.){_URL_BODY}"

# can|not, gon|na, wan|na, got|ta: the first part here, the second part is then a word.
_SPLIT_WORD = (
    f"{_NOT_WORD_BEFORE}(?i:can(?=not{_WORD_END})|gon(?=na{_WORD_END})|wan(?=na{_WORD_END})|got(?=ta{_WORD_END}))"
)

# The common case, matched first: a plain word or number followed by nothing that could
# make it part of a longer token (clitic, hyphen, abbreviation, number, e-mail, URL...).
_SIMPLE_WORD = f"\\w[{_WCH}]*(?![{_WCH}@&+.{_APOS}{_HYPHENS}]|[,:/]\\w)"

_EMAIL = r"\w[\w.+\-]{0,63}@\w[\w\-]{0,62}(?:\.\w[\w\-]{0,62})+"

_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|io|co|uk|de|fr|ai|app|dev|ly|tv|ca|au|eu|ru|cn|"
    "jp|nl|es|ch|se|fm|gg|xyz|news|online|site|tech|blog"
)
_DOMAIN = f"(?<![{_WCH}.@])(?:[A-Za-z0-9][A-Za-z0-9\\-]{{0,62}}\\.)+(?:{_TLDS})(?![\\w\\-])(?:[/?#]{_URL_BODY})?"

# U.S. U.K. e.g. i.e. a.m. Ph.D. U.S.A.
_DOTTED_ABBREVIATION = f"(?<![{_WCH}.])(?:{_LETTER}{{1,2}}\\.){{2,}}"

_ABBREVIATIONS = (
    # titles and ranks
    "Mr Mrs Ms Messrs Mme Mlle Dr Prof Jr Sr Esq Rev Hon Pres Gov Sen Rep Gen Lt Col Capt "
    "Cmdr Sgt Maj Adm Supt "
    # companies and organisations
    "Inc Corp Co Ltd Bros Dept Univ Assn Intl "
    # months (not May)
    "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec "
    # places and addresses
    "St Mt Ft Ave Rd Blvd "
    "Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Ky La Md Mass Mich Minn Miss Mo "
    "Mont Neb Nev Okla Ore Pa Tenn Tex Va Vt Wash Wis Wyo "
    # references
    "Fig Figs Vol Vols Ch Eq Eqs "
    # lower case
    "vs etc cf al approx incl viz"
).split()
# ALL-CAPS variants (news headlines) of the abbreviations that are not also English words.
_CAPS_ABBREVIATIONS = (
    "Mr Mrs Ms Dr Prof Jr Sr Gov Sen Lt Capt Sgt Inc Corp Ltd Bros "
    "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec St Mt Ft Ave"
).split()
_ABBREVIATION_NAMES = sorted(set(_ABBREVIATIONS) | {name.upper() for name in _CAPS_ABBREVIATIONS})
_ABBREVIATION = (
    f"{_NOT_WORD_BEFORE}(?=\\w{{1,6}}\\.)"
    f"(?:(?:{'|'.join(_ABBREVIATION_NAMES)})\\.|(?:No|no|Nos|nos)\\.(?=\\s*#?\\d))"  # "No. 1" but "said No."
)

_INITIAL = f"(?<![{_WCH}.])[{_UPPER}]\\.(?=\\s+[{_UPPER}])"  # J. K. Rowling
_AMPERSAND_NAME = f"{_NOT_WORD_BEFORE}[A-Z]{{1,4}}&[A-Z]{{1,4}}{_WORD_END}"  # AT&T, S&P
_SIGNED_NUMBER = f"{_NOT_WORD_BEFORE}[{_SIGN}](?=\\d)"  # -3, +44: the sign joins the number
_LEADING_POINT_NUMBER = f"(?<!\\S)\\.\\d+[{_WCH}]*"  # .45 calibre

# A word: "atoms" joined by hyphens or apostrophes (clitics are split off afterwards).
_NUMBER_ATOM = f"{_LETTER}{{0,3}}\\d+(?:[.,:/]\\d+)+[{_WCH}]*"  # 3.5 1,000 10:30 1/2 v1.2
_ATOM = f"(?:{_NUMBER_ATOM}|\\w[{_WCH}]*)"
_WORD_BODY = f"{_ATOM}(?:[{_HYPHENS}{_APOS}]{_ATOM})*"
_WORD = f"({_WORD_BODY})"  # the only capturing group: words are checked for clitics

_CLITIC = f"(?:(?<=[{_WCH}.])|(?<!\\S))[{_APOS}](?i:s|re|ll|ve|d|m){_WORD_END}"  # U.S.'s, John 's
_DECADE = f"{_NOT_WORD_BEFORE}[{_APOS}]\\d\\ds?{_WORD_END}"  # '90s, '99
_MENTION = f"{_NOT_WORD_BEFORE}@\\w[{_WCH}]*"
_HASHTAG = f"{_NOT_WORD_BEFORE}#\\d*{_LETTER}[{_WCH}]*"  # not "#1", which is "# 1"
_EMOTICON = f"(?:[:;=][{_APOS}]?[\\-o^]?[)(\\]\\[DPpOo/\\\\|*]|(?<!\\S)<3(?!\\d)|\\^_*\\^|-_-){_WORD_END}"

_EMOJI_BASE = "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff]"
_EMOJI_MODIFIERS = "[\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\u20e3]*"
_EMOJI = (
    "[\U0001f1e6-\U0001f1ff]{2}"  # flag: a pair of regional indicators
    f"|{_EMOJI_BASE}{_EMOJI_MODIFIERS}(?:\u200d{_EMOJI_BASE}{_EMOJI_MODIFIERS})*"
)

_PUNCTUATION_RUN = "\\.{2,}|\u2026+|[?!]+|-{2,}|\u2014+|\u2013+|``|''"
_ANY_OTHER_CHARACTER = r"\S"  # guarantees that every non-space character is covered

_TOKEN_RE = re.compile(
    "|".join(
        [
            _URL,
            _SPLIT_WORD,
            _SIMPLE_WORD,
            _EMAIL,
            _DOMAIN,
            _DOTTED_ABBREVIATION,
            _ABBREVIATION,
            _INITIAL,
            _AMPERSAND_NAME,
            _SIGNED_NUMBER + _WORD_BODY,
            _LEADING_POINT_NUMBER,
            _WORD,
            _CLITIC,
            _DECADE,
            _MENTION,
            _HASHTAG,
            _EMOTICON,
            _EMOJI,
            _PUNCTUATION_RUN,
            _ANY_OTHER_CHARACTER,
        ]
    )
)
_CLITIC_WORD = re.compile(f"(?i:n[{_APOS}]t|[{_APOS}](?:s|re|ll|ve|d|m))")


def _clitic_length(word: str, end: int) -> int:
    """Length of the clitic ending ``word[:end]`` with something in front of it, or 0."""
    for length in (3, 2):
        if end > length and _CLITIC_WORD.fullmatch(word, end - length, end):
            return length
    return 0


def _split_clitics(word: str, start: int) -> list[Token]:
    """Tokens of a word containing an apostrophe: ``shouldn't've`` → should n't 've.

    Clitics are peeled off the end while something is left in front of them, so ``n't`` or
    ``O'Neill`` stay whole.
    """
    tails: list[Token] = []
    end = len(word)
    while length := _clitic_length(word, end):
        tails.append(Token(word[end - length : end], start + end - length, start + end))
        end -= length
    return [Token(word[:end], start, start + end), *reversed(tails)]


def tokenize(text: str) -> list[Token]:
    """Split any string into PTB-style tokens, in order (see the module docstring).

    Never raises. No token is empty or contains whitespace; tokens do not overlap, are in
    increasing order and cover every non-whitespace character; ``text[t.start:t.end] ==
    t.text`` for each token ``t``.
    """
    tokens: list[Token] = []
    append = tokens.append
    for match in _TOKEN_RE.finditer(text):
        start, end = match.span()
        word = match.group()
        if ("'" in word or "\u2019" in word) and match.lastindex:
            tokens.extend(_split_clitics(word, start))
        else:
            append(Token(word, start, end))
    return tokens


# --- sentences ----------------------------------------------------------------------------

_SENTENCE_FINAL_CHARS = frozenset(".!?\u2026\u3002\uff01\uff1f")  # . ! ? … 。 ！ ？
_CLOSERS = frozenset(["\u201d", "\u2019", ")", "]", "}", "\u00bb", "\u300d", "\u300f", "\uff09", "''"])
_AMBIGUOUS_QUOTES = frozenset(['"', "'"])  # closing only when attached to the punctuation
_OPENERS = frozenset("\"'\u201c\u2018([{\u00ab\u300c\u300e\uff08`\u00bf\u00a1")


def _is_sentence_final(text: str) -> bool:
    """``.``, ``!``, ``?``, ``...``, ``?!`` and other runs of sentence-final punctuation."""
    return all(char in _SENTENCE_FINAL_CHARS for char in text)


def _closes(token: Token, previous: Token) -> bool:
    """Whether ``token`` is a closing quote or bracket belonging to the sentence before it."""
    if token.text in _CLOSERS:
        return True
    return token.text in _AMBIGUOUS_QUOTES and token.start == previous.end


def _starts_sentence(text: str) -> bool:
    """An upper-case (or uncased, e.g. CJK) letter, a digit, or an opening quote or bracket."""
    first = text[0]
    return first.isdigit() or first in _OPENERS or (first.isalpha() and not first.islower())


def _cut(sentence: list[Token], max_tokens: int) -> list[list[Token]]:
    """Pieces of at most ``max_tokens`` tokens and of nearly equal length (no tiny last piece)."""
    if len(sentence) <= max_tokens:
        return [sentence]
    n_pieces = -(-len(sentence) // max_tokens)
    size, n_longer = divmod(len(sentence), n_pieces)
    pieces = []
    start = 0
    for index in range(n_pieces):
        end = start + size + (index < n_longer)
        pieces.append(sentence[start:end])
        start = end
    return pieces


def split_sentences(tokens: list[Token], max_tokens: int = 100) -> list[list[Token]]:
    """Group tokens into sentences: a list of sentences, each a non-empty list of tokens.

    A sentence ends after a ``.``, ``!``, ``?``, ``...`` token (or a run of them) when the
    next token starts with an upper-case letter, a digit or an opening quote or bracket, or
    at the end; closing quotes and brackets right after the punctuation stay in the sentence.
    ``Mr.`` or ``U.S.`` are single tokens, so they do not end a sentence. A sentence longer
    than ``max_tokens`` is cut into pieces of at most ``max_tokens`` tokens, so the tagger
    never sees an unbounded sequence. Every token appears in exactly one sentence, in order.

    Raises ValueError if ``max_tokens < 1``.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    sentences: list[list[Token]] = []
    sentence_start = 0
    index = 0
    while index < len(tokens):
        if not _is_sentence_final(tokens[index].text):
            index += 1
            continue
        index += 1
        while index < len(tokens) and (
            _is_sentence_final(tokens[index].text) or _closes(tokens[index], tokens[index - 1])
        ):
            index += 1
        if index == len(tokens) or _starts_sentence(tokens[index].text):
            sentences.extend(_cut(tokens[sentence_start:index], max_tokens))
            sentence_start = index
    if sentence_start < len(tokens):
        sentences.extend(_cut(tokens[sentence_start:], max_tokens))
    return sentences


def tokenize_sentences(text: str, max_tokens: int = 100) -> list[list[Token]]:
    """:func:`tokenize` then :func:`split_sentences`: the sentences of a raw text, as tokens."""
    return split_sentences(tokenize(text), max_tokens)
