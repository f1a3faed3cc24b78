"""Tests for wintrain.data.ud: UD sentences as text and tokens, character labels, segmentation,
the multiword lexicon; on hand-made CoNLL-U and (when present) the shared EWT and Sequoia files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wintrain.data.ud import (
    Label,
    MultiwordLexicon,
    Segment,
    UDSentence,
    UDToken,
    read_ud_file,
    read_ud_sentences,
    segment,
    segment_arrays,
    text_mismatches,
    tokenizer_texts,
    whitespace_mask,
)

from conftest import SHARED, error_of


def row(word_id: str, form: str, misc: str = "_") -> str:
    """A CoNLL-U word line (LEMMA = FORM, other fields '_')."""
    return "\t".join([word_id, form, form, "X", "_", "_", "_", "_", "_", misc]) + "\n"


NO = "SpaceAfter=No"

# Line numbers on the right.
DOC = (
    "# newdoc id = d1\n"  # 1
    "# sent_id = s1\n"  # 2
    "# newpar\n"  # 3
    "# text = I don't know.\n"  # 4
    + row("1", "I")  # 5
    + row("2-3", "don't")  # 6
    + row("2", "do")  # 7
    + row("3", "n't")  # 8
    + row("4", "know", NO)  # 9
    + row("5", ".")  # 10
    + "\n"  # 11
    "# sent_id = s2\n"  # 12
    "# translit = ignored\n"  # 13
    "# text = Il y a 20 000 gens du coin.\n"  # 14
    + row("1", "Il")  # 15
    + row("2", "y")  # 16
    + row("3", "a")  # 17
    + row("4", "20 000")  # 18
    + row("5", "gens")  # 19
    + row("6-7", "du")  # 20
    + row("6", "de")  # 21
    + row("7", "le")  # 22
    + row("7.1", "elided")  # 23: an empty node
    + row("8", "coin", "Gloss=corner|SpaceAfter=No")  # 24
    + row("9", ".")  # 25
    + "\n"  # 26
    "# newpar id = p2\n"  # 27
    "# text = Ok\n"  # 28
    + row("1", "Ok")  # 29
    + "\n"
)


def forms_of(sentence: UDSentence) -> list[str]:
    return [sentence.text[token.start:token.end] for token in sentence.tokens]


# --------------------------------------------------------------------------- reading


def test_sentences_tokens_words_and_comments():
    first, second, third = read_ud_sentences(DOC, "doc.conllu")
    assert first.text == "I don't know."
    assert first.tokens == [
        UDToken("I", 0, 1, ("I",), True, 5),
        UDToken("don't", 2, 7, ("do", "n't"), True, 6),
        UDToken("know", 8, 12, ("know",), False, 9),
        UDToken(".", 12, 13, (".",), True, 10),
    ]
    assert first.words == ["I", "do", "n't", "know", "."]
    assert [token.multiword for token in first.tokens] == [False, True, False, False]
    assert (first.sent_id, first.newdoc, first.newpar, first.text_source, first.line) == ("s1", True, True, "text", 5)
    assert second.forms == ["Il", "y", "a", "20 000", "gens", "du", "coin", "."]
    assert forms_of(second) == second.forms  # '20 000' matched the text with its space
    assert second.words == ["Il", "y", "a", "20 000", "gens", "de", "le", "coin", "."]  # no empty node
    assert second.multiword == {5: ("de", "le")}
    assert second.space_after == [True, True, True, True, True, True, False, True]
    assert (second.sent_id, second.newdoc, second.newpar) == ("s2", False, False)
    assert (third.sent_id, third.newdoc, third.newpar, third.words) == (None, False, True, ["Ok"])
    assert text_mismatches([first, second, third]) == 0


def test_text_rebuilt_from_forms_without_a_text_comment():
    text = row("1", "Hello", NO) + row("2", ",") + row("3-4", "can't") + row("3", "ca") + row("4", "n't", ) \
        + row("5", "20 000", NO) + row("6", "!") + "\n"
    (sentence,) = read_ud_sentences(text, "t.conllu")
    assert sentence.text == "Hello, can't 20 000!"
    assert sentence.text_source == "forms"
    assert forms_of(sentence) == ["Hello", ",", "can't", "20 000", "!"]
    assert [(token.start, token.end) for token in sentence.tokens] == [(0, 5), (5, 6), (7, 12), (13, 19), (19, 20)]


def test_text_with_other_spacing_is_walked():
    text = "# text =   Hello ,\tworld  \n" + row("1", "Hello") + row("2", ",") + row("3", "world") + "\n"
    (sentence,) = read_ud_sentences(text, "t.conllu")
    assert sentence.text == "Hello ,\tworld"  # the comment's value, stripped
    assert sentence.text_source == "text"
    assert sentence.starts == [0, 6, 8]
    assert forms_of(sentence) == ["Hello", ",", "world"]


def test_a_text_that_does_not_match_its_forms_falls_back_and_is_counted():
    text = (
        "# text = He said “no”.\n" + row("1", "He") + row("2", "said") + row("3", '"', NO) + row("4", "no", NO)
        + row("5", '"', NO) + row("6", ".") + "\n"
        "# text = Fine.\n" + row("1", "Fine", NO) + row("2", ".") + "\n"
        "# text = 20 000\n" + row("1", "20\u00a0000") + "\n"  # the FORM normalised the space
    )
    normalised, fine, number = read_ud_sentences(text, "t.conllu")
    assert normalised.text_source == "mismatch"
    assert normalised.text == 'He said "no".'
    assert forms_of(normalised) == ["He", "said", '"', "no", '"', "."]
    assert fine.text_source == "text"
    assert (number.text_source, number.text) == ("mismatch", "20\u00a0000")
    assert text_mismatches([normalised, fine, number]) == 2


def test_a_trailing_text_character_is_a_mismatch():
    (sentence,) = read_ud_sentences("# text = Hi there\n" + row("1", "Hi") + "\n", "t.conllu")
    assert (sentence.text_source, sentence.text) == ("mismatch", "Hi")


def test_crlf_bom_and_gzip_file(tmp_path):
    plain = read_ud_sentences(DOC, "doc.conllu")
    crlf = read_ud_sentences("\ufeff" + DOC.replace("\n", "\r\n"), "doc.conllu")
    assert [s.tokens for s in crlf] == [s.tokens for s in plain]
    assert [s.text for s in crlf] == [s.text for s in plain]
    path = tmp_path / "doc.conllu.gz"
    path.write_bytes(gzip.compress(DOC.encode("utf-8")))
    assert [s.tokens for s in read_ud_file(path)] == [s.tokens for s in plain]
    assert [s.tokens for s in read_ud_file(str(path))] == [s.tokens for s in plain]


def test_a_file_with_neither_text_nor_space_after_is_refused():
    text = row("1", "Hello") + row("2", ",") + row("3", "world") + "\n\n" + row("1", "Bye") + "\n"
    message = error_of(read_ud_sentences, text, "flat.conllu")
    assert message.startswith("flat.conllu: ")
    assert "# text" in message and "SpaceAfter=No" in message and "where tokens touch" in message
    assert read_ud_sentences(text.replace(row("1", "Hello"), row("1", "Hello", NO)), "ok.conllu")[0].text \
        == "Hello, world"
    assert read_ud_sentences("# text = Hello , world\n" + text, "ok.conllu")[0].text == "Hello , world"


@pytest.mark.parametrize(
    ("body", "line", "expected"),
    [
        (row("1", "a") + "broken line\n", 3, "expected 10 TAB-separated fields"),
        (row("1", "a") + row("x", "b"), 3, "ID 'x'"),
        (row("1-2", "ab") + row("1", "a") + row("3", "b"), 2, "not followed by its words 1 to 2"),
        (row("2-2", "ab") + row("1", "a") + row("2", "b"), 2, "a < b"),
        (row("1", "a") + row("5-6", "ab"), 3, "does not start at a word"),
        (row("1", "a") + row("2", ""), 3, "FORM '' is empty"),
        (row("1", "a") + row("2", " b"), 3, "FORM ' b'"),
    ],
)
def test_malformed_lines_name_the_file_and_line(body, line, expected):
    message = error_of(read_ud_sentences, "# text = a b\n" + body + "\n", "bad.conllu")
    assert message.startswith(f"bad.conllu:{line}: ")
    assert expected in message


def test_no_sentences_is_an_error(tmp_path):
    for text in ["", "# only a comment\n\n", row("1-2", "ab") + "\n"]:
        assert "contains no sentences" in error_of(read_ud_sentences, text, "empty.conllu")
    assert str(tmp_path / "gone.conllu") in error_of(read_ud_file, tmp_path / "gone.conllu")


# --------------------------------------------------------------------------- labels

SHOWN = {Label.SPACE: "_", Label.INSIDE: "i", Label.TOKEN_END: "t", Label.SENTENCE_END: "s",
         Label.MULTIWORD_END: "m", Label.MULTIWORD_SENTENCE_END: "M"}


def shown(labels: np.ndarray) -> str:
    return "".join(SHOWN[Label(value)] for value in labels.tolist())


def test_label_values_are_small_fixed_ints():
    assert [int(label) for label in Label] == [0, 1, 2, 3, 4, 5]
    assert Label.MULTIWORD_SENTENCE_END == Label.TOKEN_END + 1 + 2


def test_labels_of_a_hand_made_paragraph_spelled_out():
    (text,) = tokenizer_texts(read_ud_sentences(DOC, "doc.conllu")[:2])
    assert text.text == "I don't know. Il y a 20 000 gens du coin."
    assert shown(text.labels) == (
        "t_iiiim_iiits"  # I don't know.
        "_"  # between the sentences
        "it_t_t_iiiiit_iiit_im_iiits"  # Il y a 20 000 gens du coin.
    )
    assert text.labels.dtype == np.uint8 and text.labels.shape == (len(text.text),)
    assert text.offsets.tolist() == [0, 14]
    assert [[text.text[s.start:s.end] for s in sentence] for sentence in text.gold()] == [
        ["I", "don't", "know", "."], ["Il", "y", "a", "20 000", "gens", "du", "coin", "."]]


def test_paragraphs_follow_newpar_and_newdoc_markers():
    texts = tokenizer_texts(read_ud_sentences(DOC, "doc.conllu"))
    assert [len(text.sentences) for text in texts] == [2, 1]  # the 3rd sentence has '# newpar'
    assert texts[1].text == "Ok" and shown(texts[1].labels) == "is"


def test_without_markers_every_n_sentences_make_a_text():
    one = "# text = A b.\n" + row("1", "A") + row("2", "b", NO) + row("3", ".") + "\n"
    sentences = read_ud_sentences(one * 45, "plain.conllu")
    assert [len(text.sentences) for text in tokenizer_texts(sentences)] == [20, 20, 5]
    assert [len(text.sentences) for text in tokenizer_texts(sentences, sentences_per_text=7)] == [7] * 6 + [3]
    only_first_marked = read_ud_sentences("# newdoc\n" + one * 3, "doc.conllu")
    assert [len(text.sentences) for text in tokenizer_texts(only_first_marked, 2)] == [2, 1]
    with pytest.raises(ValueError):
        tokenizer_texts(sentences, sentences_per_text=0)


# --------------------------------------------------------------------------- segment


def labels_of(spelled: str) -> np.ndarray:
    inverse = {char: int(label) for label, char in SHOWN.items()}
    return np.array([inverse[char] for char in spelled], dtype=np.uint8)


def test_segment_inverts_the_gold_labels():
    for text in tokenizer_texts(read_ud_sentences(DOC, "doc.conllu")):
        assert segment(text.text, text.labels) == text.gold()


@pytest.mark.parametrize(
    ("text", "spelled", "expected"),
    [
        ("ab cd", "it_it", [[(0, 2), (3, 5)]]),
        ("ab cd", "iiiit", [[(0, 5)]]),  # whitespace labelled INSIDE continues the token
        ("ab cd", "iiiii", [[(0, 5)]]),  # ... and the end of the text ends it
        ("ab cd", "iitii", [[(0, 2), (3, 5)]]),  # whitespace with any other label breaks
        ("ab  cd", "ii_iit", [[(0, 2), (4, 6)]]),  # INSIDE whitespace then SPACE: the token ends before
        ("ab  ", "iiii", [[(0, 2)]]),  # a token never ends in whitespace
        ("abcd", "itit", [[(0, 2), (2, 4)]]),  # an end label splits touching tokens
        ("abcd", "ii_i", [[(0, 2), (2, 4)]]),  # a SPACE-labelled letter starts a token
        ("ab. Cd", "is__it", [[(0, 2)], [(2, 3), (4, 6)]]),  # '.' labelled SPACE still starts a token
        ("a. b", "ts_t", [[(0, 1), (1, 2)], [(3, 4)]]),
        ("a b", "tst", [[(0, 1)], [(2, 3)]]),  # a sentence end on whitespace still separates
        ("  a", "ss_", [[(2, 3)]]),  # sentence ends before the first token make no empty sentence
        ("a b ", "t_s_", [[(0, 1), (2, 3)]]),
        ("", "", []),
        ("   ", "___", []),
    ],
)
def test_segment_rules(text, spelled, expected):
    found = segment(text, labels_of(spelled))
    assert [[(s.start, s.end) for s in sentence] for sentence in found] == expected


def test_segment_marks_multiword_tokens_by_their_last_label():
    assert segment("du coin.", labels_of("im_iiits")) == [[Segment(0, 2, True), Segment(3, 7, False),
                                                          Segment(7, 8, False)]]
    assert segment("au", labels_of("iM")) == [[Segment(0, 2, True)]]


def test_segment_arrays_shapes_and_bad_labels():
    starts, ends, multiword, sentence_starts = segment_arrays("a b. c", labels_of("t_ts_t"))
    assert starts.tolist() == [0, 2, 3, 5] and ends.tolist() == [1, 3, 4, 6]
    assert multiword.tolist() == [False] * 4 and sentence_starts.tolist() == [0, 3, 4]
    assert starts.dtype == ends.dtype == sentence_starts.dtype == np.int64
    with pytest.raises(ValueError, match="shape"):
        segment_arrays("abc", np.zeros(2, dtype=np.uint8))
    with pytest.raises(ValueError, match="0..5"):
        segment_arrays("abc", np.array([0, 6, 1]))


def reference_segment(text: str, labels: list[int]) -> list[list[tuple[int, int, bool]]]:
    """The rules of segment_arrays, one character at a time."""
    ends_token = {int(label) for label in Label if label >= Label.TOKEN_END}
    ends_sentence = {int(Label.SENTENCE_END), int(Label.MULTIWORD_SENTENCE_END)}
    multiword = {int(Label.MULTIWORD_END), int(Label.MULTIWORD_SENTENCE_END)}
    sentences: list[list[tuple[int, int, bool]]] = []
    start = last = -1
    open_token = pending_break = False

    def close() -> None:
        sentences[-1].append((start, last + 1, labels[last] in multiword))

    for position, (char, label) in enumerate(zip(text, labels)):
        if char.isspace():
            if not (label == Label.INSIDE and open_token):
                if start >= 0:
                    close()
                start, open_token = -1, False
        else:
            if start < 0 or not open_token or label == Label.SPACE:
                if start >= 0:
                    close()
                if not sentences or pending_break:
                    sentences.append([])
                start, pending_break = position, False
            last, open_token = position, label not in ends_token
        if label in ends_sentence:
            pending_break = True
    if start >= 0:
        close()
    return [sentence for sentence in sentences if sentence]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ab.' \u00a0\n\u3000"), st.integers(0, 5)), max_size=40))
def test_segment_follows_its_rules_on_any_labels(pairs):
    text = "".join(char for char, _ in pairs)
    labels = [label for _, label in pairs]
    found = segment(text, np.array(labels, dtype=np.uint8))
    assert [[tuple(s) for s in sentence] for sentence in found] == reference_segment(text, labels)
    assert all(text[s.start:s.end] == text[s.start:s.end].strip() != "" for sentence in found for s in sentence)


def test_whitespace_mask_is_str_isspace():
    chars = "".join(chr(code) for code in [*range(0, 0x3100), 0x10000, 0x1F600, 0xD800, 0xFEFF])
    assert whitespace_mask(chars).tolist() == [char.isspace() for char in chars]
    assert whitespace_mask("").shape == (0,)


# --------------------------------------------------------------------------- multiword lexicon


def lexicon_sentences() -> list[UDSentence]:
    """One sentence per token: multiword ones as (surface, *words), single-word ones as (form,)."""
    tokens = [
        ("don't", "do", "n't"), ("can't", "ca", "n't"), ("Don't", "do", "n't"), ("gonna", "gon", "na"),
        ("wanna", "wan", "na"), ("I'm", "I", "'m"), ("du", "de", "le"), ("du", "de", "le"), ("du", "du", "le"),
        ("du",), ("Du",), ("zum", "zu", "dem"), ("its", "it", "s"), ("hes", "he", "s"),
        ("Bush's", "Bush", "'s"), ("Kim's", "Kim", "'s"), ("its",),
    ]
    text = ""
    for surface, *words in tokens:
        if words:
            text += row(f"1-{len(words)}", surface) + "".join(row(str(i), w) for i, w in enumerate(words, 1))
        else:
            text += row("1", surface)
        text += row(str(len(words) + 1), ".") + "\n"
    return read_ud_sentences("# text = x\n" + text, "lex.conllu")  # one '# text' (a mismatch) is enough


def test_lexicon_learns_the_most_frequent_expansion_and_single_counts():
    lexicon = MultiwordLexicon.learn(lexicon_sentences())
    assert len(lexicon) == 11
    assert lexicon.entries["don't"].words == ("do", "n't") and lexicon.entries["don't"].count == 2
    assert lexicon.entries["du"].words == ("de", "le")  # 2 of 3: ("du", "le") is rarer
    assert (lexicon.entries["du"].count, lexicon.entries["du"].single) == (3, 2)
    assert (lexicon.entries["its"].count, lexicon.entries["its"].single) == (1, 1)
    assert "DU" in lexicon and "du coin" not in lexicon and 3 not in lexicon
    assert sorted(lexicon.rules) == ["'s", "n't", "na", "s"]  # "'m" was seen on one surface only
    assert lexicon.rules["n't"].surfaces == 2  # don't and can't (Don't is the same surface)


def test_a_form_seen_mostly_as_a_multiword_token_is_usually_multiword():
    lexicon = MultiwordLexicon.learn(lexicon_sentences())
    assert lexicon.usually_multiword("DON'T") and lexicon.usually_multiword("zum")  # 2 of 2; 1 of 1
    assert not lexicon.usually_multiword("du")  # 3 of 5: the model decides, from the context
    assert not lexicon.usually_multiword("its")  # 1 of 2
    assert not lexicon.usually_multiword("shouldn't")  # unseen: only a suffix rule, applied when the model says so


@pytest.mark.parametrize(
    ("surface", "words"),
    [
        ("don't", ["do", "n't"]),
        ("DON'T", ["DO", "N'T"]),
        ("Don't", ["Do", "n't"]),
        ("Gonna", ["Gon", "na"]),
        ("I'm", ["I", "'m"]),
        ("du", ["de", "le"]),
        ("Du", ["De", "le"]),
        ("DU", ["DE", "LE"]),
        ("Zum", ["Zu", "dem"]),
        ("shouldn't", ["should", "n't"]),  # unseen: the n't rule
        ("SHOULDN'T", ["SHOULD", "N'T"]),
        ("Mary's", ["Mary", "'s"]),  # the longest tail wins: 's, not s
        ("cats", ["cat", "s"]),
        ("hafta", ["hafta"]),  # unseen, no rule
        ("you'm", ["you'm"]),  # 'm was seen on one surface only: no rule
        ("n't", ["n't"]),  # the rule would leave an empty prefix
        ("s", ["s"]),
        ("", [""]),
    ],
)
def test_expand_keeps_the_case_of_the_surface(surface, words):
    assert MultiwordLexicon.learn(lexicon_sentences()).expand(surface) == words


def test_the_rule_threshold_is_a_parameter():
    lexicon = MultiwordLexicon.learn(lexicon_sentences(), min_rule_surfaces=1)
    assert sorted(lexicon.rules) == ["'m", "'s", "n't", "na", "s"]
    assert lexicon.expand("you'm") == ["you", "'m"]
    assert sorted(MultiwordLexicon.learn(lexicon_sentences(), min_rule_surfaces=3).rules) == []


def test_lexicon_round_trips_through_json_and_npz_without_pickle(tmp_path):
    lexicon = MultiwordLexicon.learn(lexicon_sentences())
    again = MultiwordLexicon.from_json(lexicon.to_json())
    assert again.entries == lexicon.entries and again.rules == lexicon.rules
    np.savez(tmp_path / "lexicon.npz", other=np.arange(3), **lexicon.to_arrays())
    with np.load(tmp_path / "lexicon.npz", allow_pickle=False) as stored:
        loaded = MultiwordLexicon.from_arrays(stored)
    assert loaded.entries == lexicon.entries and loaded.rules == lexicon.rules
    assert [loaded.expand(s) for s in ["DON'T", "Du", "couldn't"]] == [["DO", "N'T"], ["De", "le"], ["could", "n't"]]
    assert loaded.to_json() == lexicon.to_json()
    with pytest.raises(ValueError, match="version"):
        MultiwordLexicon.from_json('{"version": 99, "entries": [], "rules": []}')


# --------------------------------------------------------------------------- shared treebanks

EWT = SHARED / "data" / "ud_en_ewt" / "conllu"
SEQUOIA = SHARED / "data" / "ud_fr_sequoia"


def counts(sentences: list[UDSentence]) -> tuple[int, int, int, int]:
    """Sentences, tokens, words, multiword tokens."""
    return (len(sentences), sum(len(s.forms) for s in sentences), sum(len(s.words) for s in sentences),
            sum(len(s.multiword) for s in sentences))


def shared_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present (../shared is only beside a development checkout)")
    return path


@pytest.fixture(scope="module")
def ewt_train() -> list[UDSentence]:
    return read_ud_file(shared_file(EWT / "train.conllu.gz"))


def test_ewt_train_counts(ewt_train):
    sentences = ewt_train
    assert counts(sentences) == (12_544, 201_962, 204_577, 2_614)
    assert text_mismatches(sentences) == 0
    assert sum(s.newdoc for s in sentences) == 540 and sum(s.newpar for s in sentences) == 2_462


@pytest.mark.parametrize(
    ("split", "expected"), [("dev", (2_001, 24_787, 25_147, 359)), ("test", (2_077, 24_740, 25_094, 354))]
)
def test_ewt_dev_and_test_counts(split, expected):
    sentences = read_ud_file(shared_file(EWT / f"{split}.conllu.gz"))
    assert counts(sentences) == expected
    assert text_mismatches(sentences) == 0


@pytest.mark.parametrize(
    ("split", "sentences", "words", "multiword", "spaced"),
    [("train", 2_231, 50_502, 1_360, 41), ("dev", 412, 9_999, 282, 13), ("test", 456, 10_044, 310, 13)],
)
def test_sequoia_counts(split, sentences, words, multiword, spaced):
    found = read_ud_file(shared_file(SEQUOIA / f"{split}.conllu.gz"))
    assert counts(found)[0] == sentences and counts(found)[2:] == (words, multiword)
    assert text_mismatches(found) == 0
    with_space = [(s.text, start, form) for s in found for start, form in zip(s.starts, s.forms) if " " in form]
    assert len(with_space) == spaced  # 67 in all, as ../shared/README.md says
    assert all(text[start:start + len(form)] == form for text, start, form in with_space)


def test_every_sequoia_train_sentence_round_trips():
    sentences = read_ud_file(shared_file(SEQUOIA / "train.conllu.gz"))
    texts = tokenizer_texts(sentences)
    assert sum(len(text.sentences) for text in texts) == len(sentences)
    assert all(segment(text.text, text.labels) == text.gold() for text in texts)
    lexicon = MultiwordLexicon.learn(sentences)
    assert lexicon.expand("Du") == ["De", "le"] and lexicon.expand("aux") == ["à", "les"]


@pytest.mark.slow
def test_every_ewt_train_sentence_round_trips(ewt_train):
    sentences = ewt_train
    texts = tokenizer_texts(sentences)
    assert len(texts) == 2_462  # one per '# newpar'
    gold_tokens = 0
    for text in texts:
        gold = text.gold()
        assert segment(text.text, text.labels) == gold
        assert [[text.text[s.start:s.end] for s in sentence] for sentence in gold] == [
            sentence.forms for sentence in text.sentences]
        gold_tokens += sum(map(len, gold))
    assert gold_tokens == 201_962
    lexicon = MultiwordLexicon.learn(sentences)
    assert lexicon.expand("DON'T") == ["DO", "N'T"] and lexicon.expand("mightn't") == ["might", "n't"]
