"""Tests for wintrain.data.conllu: reading, sniffing and writing back CoNLL-U files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from wintrain.data.conllu import (
    TAG_FIELDS,
    check_lines,
    conllu_blocks,
    conllu_forms,
    conllu_hint,
    field_of,
    looks_like_conllu,
    read_conllu,
    replace_field,
    sentence_blocks,
    sentence_ends,
)
from wintrain.data.reader import Corpus, read_utf8

from conftest import error_of


def row(*fields: str) -> str:
    """One CoNLL-U line of TAB-separated ``fields`` (with its LF)."""
    return "\t".join(fields) + "\n"


# Line numbers (1-based) are noted on the right; words are the integer-ID lines.
SAMPLE = (
    "# sent_id = 1\n"  # 1
    "# text = I don't know.\n"  # 2
    + row("1", "I", "I", "PRON", "PRP", "Case=Nom|Number=Sing", "4", "nsubj", "4:nsubj", "_")  # 3
    + row("2-3", "don't", "_", "_", "_", "_", "_", "_", "_", "_")  # 4
    + row("2", "do", "do", "AUX", "VBP", "Mood=Ind|Tense=Pres", "4", "aux", "4:aux", "_")  # 5
    + row("3", "n't", "not", "PART", "RB", "_", "4", "advmod", "4:advmod", "_")  # 6
    + row("4", "know", "know", "VERB", "VB", "VerbForm=Inf", "0", "root", "0:root", "SpaceAfter=No")  # 7
    + row("5", ".", ".", "PUNCT", ".", "_", "4", "punct", "4:punct", "_")  # 8
    + "\n"  # 9
    + "# sent_id = 2\n"  # 10
    + "# text = Sam ate, Kim too\n"  # 11
    + row("1", "Sam", "Sam", "PROPN", "NNP", "Number=Sing", "2", "nsubj", "2:nsubj", "_")  # 12
    + row("2", "ate", "eat", "VERB", "VBD", "Tense=Past", "0", "root", "0:root", "SpaceAfter=No")  # 13
    + row("3", ",", ",", "PUNCT", ",", "_", "4", "punct", "2.1:punct", "_")  # 14
    + row("4", "Kim", "Kim", "PROPN", "NNP", "Number=Sing", "2", "conj", "2.1:nsubj", "_")  # 15
    + row("4.1", "ate", "eat", "VERB", "VBD", "_", "_", "_", "2:conj", "CopyOf=2")  # 16
    + row("5", "too", "too", "ADV", "RB", "_", "4", "advmod", "2.1:advmod", "_")  # 17
    + "\n"  # 18
)
TOKENS = ["I", "do", "n't", "know", ".", "Sam", "ate", ",", "Kim", "too"]
UPOS = ["PRON", "AUX", "PART", "VERB", "PUNCT", "PROPN", "VERB", "PUNCT", "PROPN", "ADV"]
WORD_LINES = [3, 5, 6, 7, 8, 12, 13, 14, 15, 17]
GOOD_ROW = row("1", "I", "I", "PRON", "PRP", "_", "0", "root", "0:root", "_")


def write(tmp_path: Path, content: str | bytes, name: str = "data.conllu") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


# --------------------------------------------------------------------------- conllu_blocks


def test_blocks_sort_lines_into_comments_words_and_ranges():
    first, second = conllu_blocks(crlf(SAMPLE), "s.conllu")
    assert first.comments == [(0, "# sent_id = 1"), (1, "# text = I don't know.")]
    assert first.word_indices == [2, 4, 5, 6, 7]
    assert [field_of(line, 1) for line in first.word_lines] == TOKENS[:5]
    assert [index for index, _ in first.ranges] == [3] and field_of(first.ranges[0][1], 1) == "don't"
    assert second.word_indices == [n - 1 for n in WORD_LINES[5:]]  # the empty node 4.1 is dropped
    assert second.ranges == []
    assert [field_of(line, 9) for line in second.word_lines] == ["_", "SpaceAfter=No", "_", "_", "_"]
    assert field_of(SAMPLE.splitlines()[6], 7) == "root"


# --------------------------------------------------------------------------- read_conllu


def test_read_words_tags_sentences_and_lines(tmp_path):
    path = write(tmp_path, SAMPLE)
    corpus = read_conllu(path)
    assert isinstance(corpus, Corpus)
    assert corpus.path == path
    assert corpus.n_tokens == 10
    assert corpus.tokens == TOKENS
    assert corpus.tags == UPOS
    assert corpus.sentence_starts.dtype == np.int64
    assert corpus.sentence_starts.tolist() == [0, 5, 10]
    assert corpus.n_sentences == 2
    assert corpus.sentences() == [TOKENS[:5], TOKENS[5:]]
    assert corpus.lines.dtype == np.int32
    assert corpus.lines.tolist() == WORD_LINES


@pytest.mark.parametrize(
    ("tag_field", "expected"),
    [
        ("upos", UPOS),
        ("xpos", ["PRP", "VBP", "RB", "VB", ".", "NNP", "VBD", ",", "NNP", "RB"]),
        ("deprel", ["nsubj", "aux", "advmod", "root", "punct", "nsubj", "root", "punct", "conj", "advmod"]),
        (
            "feats",
            [
                "Case=Nom|Number=Sing", "Mood=Ind|Tense=Pres", "_", "VerbForm=Inf", "_",
                "Number=Sing", "Tense=Past", "_", "Number=Sing", "_",
            ],
        ),
        ("misc", ["_", "_", "_", "SpaceAfter=No", "_", "_", "SpaceAfter=No", "_", "_", "_"]),
    ],
)
def test_tag_field_selects_the_column(tmp_path, tag_field, expected):
    corpus = read_conllu(write(tmp_path, SAMPLE), tag_field=tag_field)
    assert corpus.tokens == TOKENS
    assert corpus.tags == expected


def test_tag_fields_table():
    assert TAG_FIELDS == {"upos": 3, "xpos": 4, "feats": 5, "deprel": 7, "misc": 9}


def test_str_path_blank_line_runs_and_no_final_newline(tmp_path):
    text = "\n\n" + GOOD_ROW + "\n\n\n# c\n" + GOOD_ROW.rstrip("\n")
    corpus = read_conllu(str(write(tmp_path, text)))
    assert corpus.path == tmp_path / "data.conllu"
    assert corpus.sentence_starts.tolist() == [0, 1, 2]
    assert corpus.lines.tolist() == [3, 8]


def test_sentence_of_only_skipped_lines_makes_no_empty_sentence(tmp_path):
    text = row("1-2", "ab", *["_"] * 8) + row("0.1", "x", *["_"] * 8) + "\n" + SAMPLE
    corpus = read_conllu(write(tmp_path, text))
    assert corpus.sentence_starts.tolist() == [0, 5, 10]
    assert corpus.lines.tolist() == [n + 3 for n in WORD_LINES]


def test_crlf_and_bom(tmp_path):
    plain = read_conllu(write(tmp_path, SAMPLE, "plain.conllu"), tag_field="misc")
    for name, content in [
        ("crlf.conllu", crlf(SAMPLE).encode("utf-8")),
        ("bom.conllu", b"\xef\xbb\xbf" + SAMPLE.encode("utf-8")),
        ("both.conllu", b"\xef\xbb\xbf" + crlf(SAMPLE).encode("utf-8")),
    ]:
        corpus = read_conllu(write(tmp_path, content, name), tag_field="misc")
        assert corpus.tokens == plain.tokens
        assert corpus.tags == plain.tags  # MISC is the last field: no CR left in it
        assert corpus.lines.tolist() == plain.lines.tolist()
        assert corpus.sentence_starts.tolist() == plain.sentence_starts.tolist()


@pytest.mark.parametrize("name", ["packed.conllu.gz", "packed.conllu"])
def test_gzip_by_suffix_or_magic_bytes_equals_plain(tmp_path, name):
    plain_path = write(tmp_path, SAMPLE, "plain.conllu")
    packed_path = write(tmp_path, gzip.compress(SAMPLE.encode("utf-8")), name)
    plain, packed = read_conllu(plain_path), read_conllu(packed_path)
    assert packed.tokens == plain.tokens
    assert packed.tags == plain.tags
    assert packed.lines.tolist() == plain.lines.tolist()
    assert packed.sentence_starts.tolist() == plain.sentence_starts.tolist()
    assert read_utf8(packed_path) == SAMPLE


def test_read_text_file_drops_bom_and_reports_broken_gzip(tmp_path):
    assert read_utf8(write(tmp_path, b"\xef\xbb\xbfabc\r\n", "a.txt")) == "abc\r\n"
    cut = write(tmp_path, gzip.compress(SAMPLE.encode("utf-8"))[:-12], "cut.conllu.gz")
    message = error_of(read_utf8, cut)
    assert str(cut) in message and "gzip" in message


# --------------------------------------------------------------------------- errors


def error_line(tmp_path: Path, bad_line: str, **kwargs: str) -> str:
    """The message for a file whose line 3 is ``bad_line``; asserts it is one line naming file:3."""
    path = write(tmp_path, "# sent_id = 1\n" + GOOD_ROW + bad_line + "\n" + GOOD_ROW)
    message = error_of(read_conllu, path, **kwargs)
    assert message.startswith(f"{path}:3: ")
    return message


@pytest.mark.parametrize(
    ("bad_line", "count"),
    [
        ("\t".join(["2", "a", "a", "X", "X", "_", "1", "dep", "_"]), "got 9 fields"),
        ("\t".join(["2", "a", "a", "X", "X", "_", "1", "dep", "_", "_", "extra"]), "got 11 fields"),
        ("just-a-token", "got 1 field "),
    ],
)
def test_wrong_field_count(tmp_path, bad_line, count):
    message = error_line(tmp_path, bad_line)
    assert count in message and "10 TAB-separated fields" in message
    assert "space-separated" not in message


def test_plain_conll_line_says_so(tmp_path):
    message = error_line(tmp_path, "EU B-ORG")
    assert "got 1 field " in message and "plain" in message


def test_space_separated_line_says_tabs_are_needed(tmp_path):
    message = error_line(tmp_path, "2 a a X X _ 1 dep _ _")
    assert "got 1 field" in message
    assert "space-separated" in message and "TAB" in message


@pytest.mark.parametrize("bad_id", ["x", "1-", "1.2.3", "", "-1", "1-2-3", "1.", "٣"])
def test_bad_id(tmp_path, bad_id):
    message = error_line(tmp_path, "\t".join([bad_id, "a", "a", "X", "X", "_", "1", "dep", "_", "_"]))
    assert f"ID {bad_id!r}" in message
    assert "3-4" in message and "8.1" in message


@pytest.mark.parametrize("tag_field", ["pos", "UPOS", "form", ""])
def test_unknown_tag_field_lists_the_valid_ones(tmp_path, tag_field):
    path = write(tmp_path, SAMPLE)
    message = error_of(read_conllu, path, tag_field=tag_field)
    assert str(path) in message and repr(tag_field) in message
    assert "upos, xpos, feats, deprel, misc" in message


@pytest.mark.parametrize("content", ["", "\n\n", "# sent_id = 1\n# text = nothing\n\n", row("1-2", "ab", *["_"] * 8)])
def test_file_without_words(tmp_path, content):
    path = write(tmp_path, content)
    message = error_of(read_conllu, path)
    assert message.startswith(str(path)) and "no words" in message


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.conllu"
    message = error_of(read_conllu, missing)
    assert str(missing) in message and "no such file" in message


SPACED = (
    "# text = Il y a 20 000 habitants\n"
    + row("1", "Il", "il", "PRON", "_", "_", "3", "expl", "_", "_")
    + row("2", "y", "y", "PRON", "_", "_", "3", "expl", "_", "_")
    + row("3", "a", "avoir", "VERB", "_", "_", "0", "root", "_", "_")
    + row("4", "20 000", "20 000", "NUM", "_", "_", "5", "nummod", "_", "_")
    + row("5", "habitants", "habitant", "NOUN", "_", "_", "3", "obj", "_", "_")
    + "\n"
)


def test_form_with_space_is_one_token_with_its_spaces(tmp_path):
    corpus = read_conllu(write(tmp_path, SPACED))
    assert corpus.tokens == ["Il", "y", "a", "20 000", "habitants"]
    assert corpus.tags == ["PRON", "PRON", "VERB", "NUM", "NOUN"]
    assert corpus.lines.tolist() == [2, 3, 4, 5, 6]
    assert conllu_forms(SPACED) == [corpus.tokens]
    assert read_conllu(write(tmp_path, SPACED, "lemma.conllu"), tag_field="deprel").tags[3] == "nummod"


def test_replace_field_keeps_a_form_with_spaces():
    upos = ["PRON", "PRON", "AUX", "NUM", "NOUN"]
    result = replace_field(SPACED, "upos", upos)
    assert read_values(result, 3) == upos
    assert read_values(result, 1)[3] == "20 000"
    assert result.replace("\tAUX\t", "\tVERB\t") == SPACED


def test_tag_with_space_and_empty_form_are_refused(tmp_path):
    spaced_misc = row("2", "a", "a", "X", "X", "_", "1", "dep", "_", "Gloss=a b").rstrip("\n")
    message = error_line(tmp_path, spaced_misc, tag_field="misc")
    assert "MISC 'Gloss=a b'" in message and "contains a space" in message and "data.tag_column" in message
    empty_form = row("2", "", "a", "X", "X", "_", "1", "dep", "_", "_").rstrip("\n")
    assert "FORM field is empty" in error_line(tmp_path, empty_form)


def test_unannotated_tag_field_is_refused(tmp_path):
    path = write(tmp_path, SAMPLE.replace("\tPRP\t", "\t_\t").replace("\tVBP\t", "\t_\t"))
    assert read_conllu(path, tag_field="xpos").tags[:2] == ["_", "_"]
    unannotated = "".join(
        "\t".join(line.split("\t")[:4] + ["_"] + line.split("\t")[5:]) if "\t" in line else line
        for line in SAMPLE.splitlines(keepends=True)
    )
    message = error_of(read_conllu, write(tmp_path, unannotated, "bare.conllu"), tag_field="xpos")
    assert "XPOS" in message and "'_'" in message and "data.tag_column" in message


# --------------------------------------------------------------------------- looks_like_conllu


def test_looks_like_conllu_true():
    assert looks_like_conllu(SAMPLE)
    assert looks_like_conllu(crlf(SAMPLE))
    assert looks_like_conllu("\ufeff" + SAMPLE)
    assert looks_like_conllu(SAMPLE[SAMPLE.index("2-3"):])  # a range line first
    assert looks_like_conllu("# only a comment\n\n" + GOOD_ROW.rstrip("\n"))
    assert looks_like_conllu(GOOD_ROW + "a broken line\n" + GOOD_ROW)  # one bad line does not hide it


def test_looks_like_conllu_false():
    assert not looks_like_conllu("EU B-ORG\nrejects O\nGerman B-MISC\n\nPeter B-PER\n")
    assert not looks_like_conllu("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n")
    assert not looks_like_conllu("EU\tB-ORG\nrejects\tO\n")
    assert not looks_like_conllu(GOOD_ROW.replace("\t", " ") * 3)
    assert not looks_like_conllu(GOOD_ROW.replace("1\t", "x\t", 1) * 3)
    assert not looks_like_conllu("")
    assert not looks_like_conllu("# sent_id = 1\n\n\n")


def test_looks_like_conllu_reads_only_the_first_lines():
    assert not looks_like_conllu("EU B-ORG\n" * 20 + GOOD_ROW * 100)
    assert looks_like_conllu(GOOD_ROW * 20 + "EU B-ORG\n" * 100)


def test_looks_like_conllu_by_content_whatever_the_ids():
    decimal = row("8.1", "ate", "eat", "VERB", "_", "_", "_", "_", "2:conj", "_")
    ranged = row("3-4", "du", *["_"] * 8)
    assert looks_like_conllu(decimal + ranged + GOOD_ROW)
    assert looks_like_conllu("# newdoc id = d1\n# newpar\n" + ranged + GOOD_ROW)
    assert looks_like_conllu(SPACED)  # a FORM with a space is still 10 TAB-separated fields
    assert not looks_like_conllu(row("3-", "du", *["_"] * 8) * 3)
    assert not looks_like_conllu("Il y a 20 000 habitants.\nUne phrase.\n")  # raw text
    assert not looks_like_conllu("# O\n# O\nEU B-ORG\n")  # '#' tokens of a plain file prove nothing


def test_looks_like_conllu_on_the_beginning_of_a_stream():
    head = SAMPLE[:SAMPLE.index("\tdon't")]  # stops in the middle of the line "2-3<TAB>don't..."
    assert looks_like_conllu(head, prefix=True)
    assert looks_like_conllu("# sent_id = 1\n# text = I don't", prefix=True)  # only UD comments so far
    assert looks_like_conllu("\ufeff# newdoc id = x\r\n", prefix=True)
    assert not looks_like_conllu("# sent_id = 1\n# text = I don't", prefix=False)  # a whole text without words
    assert not looks_like_conllu("# a remark\n# another\n", prefix=True)
    assert not looks_like_conllu(GOOD_ROW.rstrip("\n"), prefix=True)  # the only line may be cut
    assert looks_like_conllu(GOOD_ROW, prefix=True)
    assert not looks_like_conllu("EU B-ORG\nrejects O\n" + GOOD_ROW[:5], prefix=True)


def test_conllu_hint_names_the_path_and_the_fix(tmp_path):
    message = conllu_hint(tmp_path / "train.txt")
    assert str(tmp_path / "train.txt") in message
    assert "CoNLL-U" in message and "*.conllu" in message and "data.format: conllu" in message


# --------------------------------------------------------------------------- conllu_forms / replace_field


def test_conllu_forms_are_the_syntactic_words():
    assert conllu_forms(SAMPLE) == [TOKENS[:5], TOKENS[5:]]
    assert conllu_forms(crlf("\ufeff" + SAMPLE)) == [TOKENS[:5], TOKENS[5:]]
    message = error_of(conllu_forms, "# c\nbad line\n", name="in.conllu")
    assert message.startswith("in.conllu:2: ")


@pytest.mark.parametrize(
    "text", [SAMPLE, crlf(SAMPLE), SAMPLE.rstrip("\n"), crlf(SAMPLE).rstrip("\r\n"), "\ufeff" + SAMPLE]
)
def test_replace_with_the_same_values_is_byte_identical(text):
    for tag_field in TAG_FIELDS:
        same = read_values(text, TAG_FIELDS[tag_field])
        assert replace_field(text, tag_field, same) == text


def read_values(text: str, column: int) -> list[str]:
    """The ``column`` field of every integer-ID line of ``text`` (independently of the module)."""
    values = []
    for line in text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n"):
        fields = line.split("\t")
        if len(fields) == 10 and fields[0].isdigit():
            values.append(fields[column])
    return values


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize("tag_field", ["upos", "misc"])
def test_replace_changes_only_that_field_of_the_words(line_end, final_newline, tag_field):
    text = SAMPLE.replace("\n", line_end)
    if not final_newline:
        text = text.rstrip("\r\n")
    new = [f"NEW{i}" for i in range(len(TOKENS))]
    result = replace_field(text, tag_field, new)
    old_lines, new_lines = text.split(line_end), result.split(line_end)
    assert len(new_lines) == len(old_lines)
    assert result.count("\r") == text.count("\r")
    assert result.endswith(line_end) == final_newline
    column = TAG_FIELDS[tag_field]
    word_numbers = iter(range(len(new)))
    for number, (old, changed) in enumerate(zip(old_lines, new_lines, strict=True), start=1):
        if number not in WORD_LINES:
            assert changed == old
            continue
        old_fields, new_fields = old.split("\t"), changed.split("\t")
        assert new_fields[column] == new[next(word_numbers)]
        assert new_fields[:column] + new_fields[column + 1:] == old_fields[:column] + old_fields[column + 1:]
    assert read_conllu_text(result, tag_field) == new


def read_conllu_text(text: str, tag_field: str) -> list[str]:
    return read_values(text, TAG_FIELDS[tag_field])


def test_replace_count_mismatch_and_bad_values():
    message = error_of(replace_field, SAMPLE, "upos", UPOS[:-1], name="out.conllu")
    assert message.startswith("out.conllu: ") and "9" in message and "10 syntactic words" in message
    assert "10 syntactic words" in error_of(replace_field, SAMPLE, "upos", UPOS + ["X"])
    for bad in ["", "A\tB", "A\nB"]:
        values = UPOS[:3] + [bad] + UPOS[4:]
        assert error_of(replace_field, SAMPLE, "upos", values, name="out.conllu").startswith("out.conllu:7: ")
    assert "upos, xpos" in error_of(replace_field, SAMPLE, "lemma", UPOS)


# --------------------------------------------------------------------------- chunks of a stream


def test_first_line_moves_every_line_number_of_a_chunk():
    bad = SAMPLE + row("x", "bad", "_", "_", "_", "_", "_", "_", "_", "_")
    number = SAMPLE.count("\n") + 1
    assert f"<text>:{number}: ID 'x'" in error_of(conllu_forms, bad)
    assert f"f:{number + 99}: ID 'x'" in error_of(conllu_forms, bad, name="f", first_line=100)
    assert f"f:{number + 99}:" in error_of(replace_field, bad, "upos", ["X"] * 9, name="f", first_line=100)


@pytest.mark.parametrize("bad_line, problem", [
    ("1\tonly\tnine\t_\t_\t_\t_\t_\t_\n", "got 9 fields"),
    ("x\ta\t_\t_\t_\t_\t_\t_\t_\t_\n", "ID 'x'"),
    ("\t" * 9 + "\n", "ID ''"),  # whitespace, but ten fields: a word line without an ID
    ("2 b _ _ _ _ _ _ _ _\n", "space-separated"),
])
def test_check_lines_finds_the_line_the_parser_refuses(bad_line, problem):
    text = SAMPLE + bad_line + row("1", "c", "_", "_", "_", "_", "_", "_", "_", "_")
    offset, error = check_lines(text, "f.conllu", first_line=11)
    assert offset == len(SAMPLE)
    assert str(error) == error_of(conllu_forms, text, name="f.conllu", first_line=11)
    assert f"f.conllu:{11 + SAMPLE.count(chr(10))}:" in str(error) and problem in str(error)


def test_check_lines_accepts_what_the_parser_accepts():
    crlf = SAMPLE.replace("\n", "\r\n")
    for text in (SAMPLE, crlf, "\n \t\n\u00a0\n", "#\tcomment\twith\ttabs\n" + SAMPLE, "", SAMPLE.rstrip("\n")):
        conllu_forms(text)
        assert check_lines(text, "f") is None


def test_sentence_ends_and_blocks_cut_between_sentences_only():
    four = SAMPLE + "\n" + SAMPLE.replace("sent_id = ", "sent_id = 1")  # a run of two blank lines in the middle
    ends = sentence_ends(four)
    assert len(ends) == 4  # a run of blank lines ends one sentence
    assert all(four[end - 1] == "\n" and not four[four.rfind("\n", 0, end - 1) + 1:end].strip() for end in ends)
    lines = four.splitlines(keepends=True)
    for size in (1, 2, 3, 100):
        blocks = list(sentence_blocks(lines, size))
        assert "".join(text for _, text in blocks) == four
        for first_line, text in blocks:
            assert lines[first_line - 1:first_line - 1 + text.count("\n")] == text.splitlines(keepends=True)
            assert 0 < len(conllu_forms(text)) <= size  # whole sentences
        assert sum(len(conllu_forms(text)) for _, text in blocks) == 4
    assert [text.count("\n") for _, text in sentence_blocks(lines, 1)] == [9, 9, 10, 9]
