from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wintrain.data.tokenize import Token, split_sentences, tokenize, tokenize_sentences

CASES: list[tuple[str, list[str]]] = [
    # news
    (
        "Angela Merkel visited Paris on Tuesday, meeting Emmanuel Macron at the Élysée.",
        "Angela Merkel visited Paris on Tuesday , meeting Emmanuel Macron at the Élysée .".split(),
    ),
    ("Shares rose 3.5% to $12.40.", ["Shares", "rose", "3.5", "%", "to", "$", "12.40", "."]),
    ("Police arrested 1,200 people.", ["Police", "arrested", "1,200", "people", "."]),
    ("It cost 1,000,000.50 euros.", ["It", "cost", "1,000,000.50", "euros", "."]),
    ("Germany beat Italy 2-1 on 1996-08-22.", ["Germany", "beat", "Italy", "2-1", "on", "1996-08-22", "."]),
    ("The meeting starts at 10:30 a.m. sharp.", ["The", "meeting", "starts", "at", "10:30", "a.m.", "sharp", "."]),
    ("Temperatures fell to -3 degrees.", ["Temperatures", "fell", "to", "-3", "degrees", "."]),
    ("Call +44 now, half (1/2) off.", ["Call", "+44", "now", ",", "half", "(", "1/2", ")", "off", "."]),
    ("€10 and £1.5m", ["€", "10", "and", "£", "1.5m"]),
    ("He lives in the U.S.", ["He", "lives", "in", "the", "U.S."]),
    ("The U.K. and the U.S. agreed.", ["The", "U.K.", "and", "the", "U.S.", "agreed", "."]),
    ("Mr. Smith met Mrs. Jones and Dr. Brown.", ["Mr.", "Smith", "met", "Mrs.", "Jones", "and", "Dr.", "Brown", "."]),
    (
        "Apple Inc. and Acme Corp. vs. Foo Co. Ltd.",
        ["Apple", "Inc.", "and", "Acme", "Corp.", "vs.", "Foo", "Co.", "Ltd."],
    ),
    ("On Jan. 5, not May 5.", ["On", "Jan.", "5", ",", "not", "May", "5", "."]),
    (
        "Gov. Brown and Sen. Smith of Calif. spoke.",
        ["Gov.", "Brown", "and", "Sen.", "Smith", "of", "Calif.", "spoke", "."],
    ),
    (
        "He holds a Ph.D. in physics, e.g. optics, i.e. light.",
        "He holds a Ph.D. in physics , e.g. optics , i.e. light .".split(),
    ),
    ("J. K. Rowling met John F. Kennedy Jr.", ["J.", "K.", "Rowling", "met", "John", "F.", "Kennedy", "Jr."]),
    ("He was No. 1 and said no.", ["He", "was", "No.", "1", "and", "said", "no", "."]),
    ("AT&T's S&P 500 index", ["AT&T", "'s", "S&P", "500", "index"]),
    # clitics
    ("I don't know.", ["I", "do", "n't", "know", "."]),
    ("She can't and won't.", ["She", "ca", "n't", "and", "wo", "n't", "."]),
    ("I DON'T CARE", ["I", "DO", "N'T", "CARE"]),
    (
        "I'm sure they're here, we'll see, you've won, he'd go.",
        "I 'm sure they 're here , we 'll see , you 've won , he 'd go .".split(),
    ),
    ("I don’t think it’s John’s.", ["I", "do", "n’t", "think", "it", "’s", "John", "’s", "."]),
    ("You cannot go.", ["You", "can", "not", "go", "."]),
    ("I'm gonna go, wanna come? Gotta run.", "I 'm gon na go , wan na come ? Got ta run .".split()),
    ("the boys' toys", ["the", "boys", "'", "toys"]),
    ("music of the '90s", ["music", "of", "the", "'90s"]),
    ("O'Neill's rock'n'roll y'all", ["O'Neill", "'s", "rock'n'roll", "y'all"]),
    ("You shouldn't've.", ["You", "should", "n't", "'ve", "."]),
    ("do n't go , John 's", ["do", "n't", "go", ",", "John", "'s"]),
    # hyphens, dashes, quotes, ellipsis
    ("a well-known New York-based e-mail", ["a", "well-known", "New", "York-based", "e-mail"]),
    ("pre- and post-war", ["pre", "-", "and", "post-war"]),
    ("yes - no -- maybe—never", ["yes", "-", "no", "--", "maybe", "—", "never"]),
    ('"Hello," he said.', ['"', "Hello", ",", '"', "he", "said", "."]),
    (
        "“Great” ‘fine’ (ok) [a] {b}",
        ["“", "Great", "”", "‘", "fine", "’", "(", "ok", ")", "[", "a", "]", "{", "b", "}"],
    ),
    ("``Yes,'' he said.", ["``", "Yes", ",", "''", "he", "said", "."]),
    ("Wait... what?! No!!!", ["Wait", "...", "what", "?!", "No", "!!!"]),
    ("Well… ok; fine: done", ["Well", "…", "ok", ";", "fine", ":", "done"]),
    # web
    ("See https://example.com/a?b=c&d=1, please.", ["See", "https://example.com/a?b=c&d=1", ",", "please", "."]),
    ("(see https://x.org/a).", ["(", "see", "https://x.org/a", ")", "."]),
    ("Visit www.example.org or example.com.", ["Visit", "www.example.org", "or", "example.com", "."]),
    ("<https://en.wikipedia.org/wiki/Foo_(bar)>", ["<", "https://en.wikipedia.org/wiki/Foo_(bar)", ">"]),
    ("Mail john.doe@example.co.uk.", ["Mail", "john.doe@example.co.uk", "."]),
    # social media
    ("@user: loving #NewYork today", ["@user", ":", "loving", "#NewYork", "today"]),
    ("ranked #1 by @bbc's poll", ["ranked", "#", "1", "by", "@bbc", "'s", "poll"]),
    ("great :) sad :-( wink ;) lol:D <3", ["great", ":)", "sad", ":-(", "wink", ";)", "lol", ":D", "<3"]),
    ("Great 👍🏽! 🇩🇪👨‍👩‍👧❤️", ["Great", "👍🏽", "!", "🇩🇪", "👨‍👩‍👧", "❤️"]),
    # Unicode
    ("Zürich and Müller's café", ["Zürich", "and", "Müller", "'s", "café"]),
    ("Cafe\u0301 हिन्दी", ["Cafe\u0301", "हिन्दी"]),
    ("東京は晴れ。", ["東京は晴れ", "。"]),
    # whitespace
    ("multiple   spaces\tand\ttabs\nlines", ["multiple", "spaces", "and", "tabs", "lines"]),
    ("no\u00a0break\u2028separator", ["no", "break", "separator"]),
    ("", []),
    ("  \t\n\u00a0 ", []),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[text[:30] or "empty" for text, _ in CASES])
def test_tokenize_table(text: str, expected: list[str]) -> None:
    assert [token.text for token in tokenize(text)] == expected


@pytest.mark.parametrize("text, expected", CASES, ids=[text[:30] or "empty" for text, _ in CASES])
def test_every_token_is_the_text_at_its_offsets_in_order(text: str, expected: list[str]) -> None:
    tokens = tokenize(text)
    assert all(text[token.start:token.end] == token.text != "" for token in tokens)
    assert all(one.end <= other.start for one, other in zip(tokens, tokens[1:]))
    assert all(not text[one.end:other.start].strip() for one, other in zip(tokens, tokens[1:]))  # only blanks dropped


def test_offsets_by_value() -> None:
    assert tokenize("  I don't.") == [Token("I", 2, 3), Token("do", 4, 6), Token("n't", 6, 9), Token(".", 9, 10)]
    assert tokenize("$5, (see https://x.org/a).") == [
        Token("$", 0, 1),
        Token("5", 1, 2),
        Token(",", 2, 3),
        Token("(", 4, 5),
        Token("see", 5, 8),
        Token("https://x.org/a", 9, 24),
        Token(")", 24, 25),
        Token(".", 25, 26),
    ]
    assert tokenize("Élysée\tMüller’s") == [Token("Élysée", 0, 6), Token("Müller", 7, 13), Token("’s", 13, 15)]


def test_token_is_frozen() -> None:
    token = Token("a", 0, 1)
    with pytest.raises(AttributeError):
        token.text = "b"  # type: ignore[misc]


def check_invariants(text: str) -> None:
    tokens = tokenize(text)
    previous_end = 0
    covered: set[int] = set()
    for token in tokens:
        assert token.text, tokens
        assert text[token.start : token.end] == token.text
        assert not any(char.isspace() for char in token.text), token
        assert previous_end <= token.start < token.end
        previous_end = token.end
        covered.update(range(token.start, token.end))
    assert all(index in covered for index, char in enumerate(text) if not char.isspace())


WORD_LIKE_PIECES = (
    "word Word don n't 's ' ’ \" “ ” . .. ... … , ; : ! ? - -- — ( ) [ ] U.S. Mr. J. e.g. "
    "3 3.5 1,000 10:30 $ % € @ # & / http:// https://x.org/ www. .com a@b.co can not gonna '90s "
    ":) :-( <3 👍 🏽 🇩 é 東京 हि _ + \\"
).split()
SPACES = [" ", "  ", "\t", "\n", "\u00a0", "\u2028", "\u3000"]
MARKS = ["\u200d", "\ufe0f", "\u0301"]
PIECES = st.sampled_from(WORD_LIKE_PIECES + SPACES + MARKS)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_invariants_on_any_text(text: str) -> None:
    check_invariants(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=3)), max_size=40).map("".join))
def test_invariants_on_word_like_text(text: str) -> None:
    check_invariants(text)


# --- sentences --------------------------------------------------------------------------


def sentence_texts(text: str, max_tokens: int = 100) -> list[list[str]]:
    return [[token.text for token in sentence] for sentence in tokenize_sentences(text, max_tokens)]


def test_two_sentences() -> None:
    assert sentence_texts("It rained. We stayed home!") == [["It", "rained", "."], ["We", "stayed", "home", "!"]]


def test_abbreviation_does_not_end_a_sentence() -> None:
    assert sentence_texts("Mr. Smith went. He came back.") == [
        ["Mr.", "Smith", "went", "."],
        ["He", "came", "back", "."],
    ]


def test_lower_case_after_the_period_continues_the_sentence() -> None:
    assert sentence_texts("See the end. and more") == [["See", "the", "end", ".", "and", "more"]]


def test_closing_quote_and_paren_stay_with_the_sentence() -> None:
    assert sentence_texts('He said "no." She left. (Really.) "Why?" she asked.') == [
        ["He", "said", '"', "no", ".", '"'],
        ["She", "left", "."],
        ["(", "Really", ".", ")"],
        ['"', "Why", "?", '"', "she", "asked", "."],
    ]


def test_digit_and_opening_quote_start_a_sentence() -> None:
    assert sentence_texts("Wait... 3 more?! “Yes.”") == [["Wait", "..."], ["3", "more", "?!"], ["“", "Yes", ".", "”"]]


def test_long_sentence_is_cut() -> None:
    text = " ".join(["word"] * 250) + "."
    pieces = tokenize_sentences(text, max_tokens=100)
    assert [len(piece) for piece in pieces] == [84, 84, 83]
    assert sentence_texts("a b c d e", max_tokens=2) == [["a", "b"], ["c", "d"], ["e"]]


def test_no_tokens_no_sentences() -> None:
    assert split_sentences([]) == []
    assert tokenize_sentences("   ") == []


def test_max_tokens_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_sentences(tokenize("a"), max_tokens=0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=3)), max_size=60).map("".join), st.integers(1, 12))
def test_sentences_partition_the_tokens(text: str, max_tokens: int) -> None:
    tokens = tokenize(text)
    sentences = split_sentences(tokens, max_tokens)
    assert [token for sentence in sentences for token in sentence] == tokens
    assert all(0 < len(sentence) <= max_tokens for sentence in sentences)
