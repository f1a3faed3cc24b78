"""The chunk tokenizer gives every text exactly the tokens and sentences of the per-text rules."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wintrain.data.chunk_tokenize import SPACE, WORD, _tables, split_whitespace_texts, tokenize_texts
from wintrain.data.tokenize import Token, tokenize_sentences


def reference(texts: list[str], max_tokens: int = 100) -> list[list[list[Token]]]:
    return [tokenize_sentences(text, max_tokens) for text in texts]


def chunked(texts: list[str], max_tokens: int = 100) -> list[list[list[Token]]]:
    return tokenize_texts(texts, max_tokens).text_token_sentences()


# texts whose pieces take every path: plain words, word + mark, the words the regex splits or keeps
# whole, abbreviations and initials that look past the blank, clitics, URLs, numbers, quotes, emoji
AROUND_THE_FAST_PATHS = [
    "He lives in the U.S.", "J. K. Rowling met John F. Kennedy Jr.", "He was No. 1 and said no.",
    "ranked No. #1 today", "said No.", "No. 5", "Nos. 3 and 4", "See www. and www.example.org.",
    "You cannot go. Cannot. gonna, WANNA! gotta? cannots gonnas", "Mr. Smith met Mrs. Jones.",
    "I don't know. It's John's.", "ok. 3 more?! “Yes.”", "A. B. C. d.", "e.g. this, i.e. that.",
    'He said "no." She left. (Really.) "Why?" she asked.', "Wait... what?! No!!!", "''Yes,'' he said.",
    "Great 👍🏽! 🇩🇪👨‍👩‍👧❤️ 𝔘nicode 𝟙 starts.", "Cafe\u0301. Zürich, Müller's café.", "東京は晴れ。次です。",
    "price: $5, 3.5%; 1,000; 10:30; -3", "Calif. Inc. Corp. Co. Ltd. vs. etc. Jan. Gov.", "a. b, c; d: e? f!",
    "x" * 3 + ". " + "Y" * 3 + ".", "1996. 1997, v1. V2!", "_ __ _. hello_world.", "AT&T's S&P. O'Neill.",
    "(cannot-go) (Gonna's \"wanna\" “gotta” (Mr. \"A. B.\" (www. [No. 3] {e-mail.} (don't, it's.)",
    "O'Neill's rock'n'roll y'all. shouldn't've! boys' '90s 'tis (x-ray) [well-known]: “Élysée”",
    "WWW. Www. (wwW. CANNOT. GoNNa-x wanna's well--known a-'b a'-b -a- 'a' ‐x‑y‐ e-mail.",
    "1996-08-22, 2-1. (3) [4]. “5” ;) :) (: D: ):",
]


def test_fixed_texts_one_by_one_and_together():
    for text in AROUND_THE_FAST_PATHS:
        assert chunked([text]) == reference([text]), text
    assert chunked(AROUND_THE_FAST_PATHS) == reference(AROUND_THE_FAST_PATHS)


def test_a_text_does_not_look_into_the_next():
    # per text, "J." and "No." at the end see nothing after them; in a chunk the next text must not count
    texts = ["Written by J.", "K. Rowling wrote it.", "It was No.", "1 today", "see www.", "Example"]
    assert chunked(texts) == reference(texts)
    assert [[t.text for t in s] for s in chunked(texts)[0]] == [["Written", "by", "J", "."]]


def test_empty_and_blank_texts_have_no_sentences():
    texts = ["", "   ", "A b.", "", "\u00a0\u2028", "C."]
    result = tokenize_texts(texts)
    assert result.text_sentences.tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert chunked(texts) == reference(texts)
    assert chunked([]) == [] and tokenize_texts([]).tokens == []


def test_long_sentences_are_cut_as_the_rules_cut_them():
    texts = [" ".join(["word"] * 250) + ".", "a b c d e", "x " * 7]
    for max_tokens in (1, 2, 3, 100):
        assert chunked(texts, max_tokens) == reference(texts, max_tokens)
    with pytest.raises(ValueError):
        tokenize_texts(["a"], 0)


def test_offsets_point_into_each_text():
    texts = ["  I don't.", "$5, (see https://x.org/a)."]
    result = tokenize_texts(texts)
    for text, sentences in zip(texts, result.text_token_sentences()):
        assert all(text[t.start:t.end] == t.text for s in sentences for t in s)
    assert result.token_sentences() == [["I", "do", "n't", "."], ["$", "5", ",", "(", "see", "https://x.org/a", ")",
                                                                  "."]]


def test_the_character_table_is_the_regex_s_own():
    classes = _tables()[0]
    for code in range(0x10000):
        char = chr(code)
        expected = SPACE if re.match(r"\s", char) else WORD if re.match(r"\w", char) else 2
        assert classes[code] == expected, hex(code)
        assert (classes[code] == SPACE) == char.isspace()  # str.split() cuts where the regex does


WORD_LIKE_PIECES = (
    "word Word WORD don n't 's ' ’ \" “ ” . .. ... … , ; : ! ? - -- — ( ) [ ] U.S. Mr. Mr J. J e.g. No. No no. Nos "
    "3 3.5 1,000 10:30 $ % € @ # #1 & / http:// https://x.org/ www. www .com a@b.co can not cannot gonna Gotta "
    "'90s :) :-( <3 👍 🏽 🇩 é 東京 हि _ + \\ Inc. Calif. A. B. '' `` x. X, y; z: a? b! 𝔘 𝟙 ( [ { } ] ) “ ” "
    "(word word) \"Word\" don't it's O'Neill well-known x‐y (cannot-go gonna's can't. won't, ’s"
).split()
BLANKS = [" ", "  ", "\t", "\u00a0", "\u2028", "\u3000", "\r"]
PIECE = st.sampled_from(WORD_LIKE_PIECES + BLANKS + ["\u200d", "\ufe0f", "\u0301"])
TEXT = st.lists(st.one_of(PIECE, PIECE, st.text(max_size=3)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(TEXT, max_size=8), st.integers(1, 12))
def test_equal_to_the_rules_on_word_like_texts(texts: list[str], max_tokens: int) -> None:
    assert chunked(texts, max_tokens) == reference(texts, max_tokens)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=5))
def test_equal_to_the_rules_on_any_text(texts: list[str]) -> None:
    assert chunked(texts) == reference(texts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TEXT, st.text()), max_size=8))
def test_whitespace_split_is_one_sentence_per_non_empty_text(texts: list[str]) -> None:
    expected = [[[Token(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]] if text.split() else []
                for text in texts]
    assert split_whitespace_texts(texts).text_token_sentences() == expected
