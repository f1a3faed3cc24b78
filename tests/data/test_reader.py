"""Tests for wintrain.data.reader: CoNLL corpora and raw text."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from wintrain.data.reader import Corpus, read_conll, read_lines

from conftest import error_of

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def write(tmp_path: Path, content: str | bytes, name: str = "data.txt") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# --------------------------------------------------------------------------- read_conll


def test_sentences_offsets_and_lines(tmp_path):
    path = write(tmp_path, "EU B-ORG\nrejects O\nGerman B-MISC\n\nPeter B-PER\nBlackburn I-PER\n")
    corpus = read_conll(path)
    assert isinstance(corpus, Corpus)
    assert corpus.path == path
    assert corpus.tokens == ["EU", "rejects", "German", "Peter", "Blackburn"]
    assert corpus.tags == ["B-ORG", "O", "B-MISC", "B-PER", "I-PER"]
    assert corpus.sentence_starts.dtype == np.int64
    assert corpus.sentence_starts.tolist() == [0, 3, 5]
    assert corpus.lines.dtype == np.int32
    assert corpus.lines.tolist() == [1, 2, 3, 5, 6]
    assert (corpus.n_tokens, corpus.n_sentences) == (5, 2)
    assert corpus.sentences() == [["EU", "rejects", "German"], ["Peter", "Blackburn"]]
    assert corpus.tag_sentences() == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]


def test_docstart_and_repeated_blank_lines_make_no_empty_sentences(tmp_path):
    text = (
        "-DOCSTART- -X- -X- O\n\n\n"
        "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
        "-DOCSTART- -X- -X- O\n"  # a document break also ends the sentence
        "Peter NNP B-NP B-PER\n   \n\t\n\n"
        "BRUSSELS NNP B-NP B-LOC"  # no final newline
    )
    corpus = read_conll(write(tmp_path, text))
    assert corpus.sentences() == [["EU", "rejects"], ["Peter"], ["BRUSSELS"]]
    assert corpus.tags == ["B-ORG", "O", "B-PER", "B-LOC"]
    assert corpus.sentence_starts.tolist() == [0, 2, 3, 4]
    assert corpus.lines.tolist() == [4, 5, 7, 11]


def test_tag_column_choice(tmp_path):
    path = write(tmp_path, "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n")
    assert read_conll(path, tag_column=1).tags == ["NNP", "VBZ"]
    assert read_conll(path, tag_column=-2).tags == ["B-NP", "B-VP"]
    assert read_conll(path, token_column=1, tag_column=0).tokens == ["NNP", "VBZ"]
    assert read_conll(path).tags == ["B-ORG", "O"]


def test_crlf_bom_and_tabs(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfEU\tB-ORG\r\nrejects \t O\r\n\r\nPeter\tB-PER\r\n")
    corpus = read_conll(path)
    assert corpus.tokens == ["EU", "rejects", "Peter"]
    assert corpus.tags == ["B-ORG", "O", "B-PER"]
    assert corpus.sentence_starts.tolist() == [0, 2, 3]
    assert corpus.lines.tolist() == [1, 2, 4]


def test_a_line_with_a_tab_is_split_at_tabs_only(tmp_path):
    text = "New York\tB-LOC\n20 000 \t NUM\t\tX\nrejects O\n\n  Peter Pan\tB-PER  \r\nsaid\tO\n"
    corpus = read_conll(write(tmp_path, text))
    assert corpus.tokens == ["New York", "20 000", "rejects", "Peter Pan", "said"]
    assert corpus.tags == ["B-LOC", "X", "O", "B-PER", "O"]
    assert read_conll(write(tmp_path, text), tag_column=1).tags[:2] == ["B-LOC", "NUM"]  # a TAB run is one
    assert corpus.sentence_starts.tolist() == [0, 3, 5]
    assert corpus.lines.tolist() == [1, 2, 3, 5, 6]


def test_a_tab_line_without_a_tag_names_its_line(tmp_path):
    path = write(tmp_path, "New York\tB-LOC\n\tO\n")
    message = error_of(read_conll, path)
    assert f"{path}:2:" in message and "TAB" in message


def test_unicode_tokens_keep_non_breaking_spaces(tmp_path):
    corpus = read_conll(write(tmp_path, "Zürich B-LOC\n1\u00a0000 O\n東京 B-LOC\n"))
    assert corpus.tokens == ["Zürich", "1\u00a0000", "東京"]
    assert corpus.tags == ["B-LOC", "O", "B-LOC"]


def test_missing_tag_names_file_and_line(tmp_path):
    path = write(tmp_path, "EU B-ORG\n\nlonely\nPeter B-PER\n", name="train.txt")
    message = error_of(read_conll, path)
    assert f"{path}:3:" in message
    assert "expected a token and a tag" in message
    assert "got 'lonely'" in message


def test_column_out_of_range_is_a_line_error(tmp_path):
    path = write(tmp_path, "EU NNP B-ORG\nrejects O\n")
    message = error_of(read_conll, path, tag_column=2)
    assert f"{path}:2:" in message and "got 'rejects O'" in message
    # with 2 columns, column 1 and column -1 are the same column: no distinct tag
    assert f"{path}:2:" in error_of(read_conll, path, token_column=1, tag_column=-1)


def test_same_token_and_tag_column(tmp_path):
    path = write(tmp_path, "EU B-ORG\n")
    message = error_of(read_conll, path, token_column=1, tag_column=1)
    assert str(path) in message and "different columns" in message


def test_bad_utf8_names_file_and_line(tmp_path):
    path = write(tmp_path, b"EU B-ORG\n\ncaf\xe9 O\n", name="latin1.txt")
    message = error_of(read_conll, path)
    assert f"{path}:3:" in message
    assert "UTF-8" in message


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "nope.txt"
    assert str(missing) in error_of(read_conll, missing)
    assert str(tmp_path) in error_of(read_conll, tmp_path)
    assert "directory" in error_of(read_conll, tmp_path)


@pytest.mark.parametrize("content", ["", "\n\n  \n", "-DOCSTART- -X- O\n\n"])
def test_file_without_tokens(tmp_path, content):
    path = write(tmp_path, content, name="empty.txt")
    message = error_of(read_conll, path)
    assert str(path) in message and "contains no sentences" in message


# --------------------------------------------------------------------------- read_lines


def test_read_lines_from_path_keeps_each_non_empty_line_whole(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfEU rejects  German\tcall\r\n\r\n   \nPeter Blackburn\n")
    assert read_lines(path) == ["EU rejects  German\tcall", "Peter Blackburn"]
    assert read_lines(str(path)) == read_lines(path)
    packed = tmp_path / "text.txt.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert read_lines(packed) == read_lines(path)


def test_read_lines_from_streams():
    assert read_lines(io.StringIO("a b\n\nc\n")) == ["a b", "c"]
    assert read_lines(io.BytesIO("\ufeffé b\n".encode("utf-8"))) == ["é b"]


def test_read_lines_errors(tmp_path):
    path = write(tmp_path, b"fine\nbad \xff byte\n", name="raw.txt")
    assert f"{path}:2:" in error_of(read_lines, path)
    assert "UTF-8" in error_of(read_lines, io.BytesIO(b"\xff"))
    assert str(tmp_path / "missing.txt") in error_of(read_lines, tmp_path / "missing.txt")


# --------------------------------------------------------------------------- shared data


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data directory is absent")
def test_conll2003_train():
    corpus = read_conll(SHARED / "data" / "conll2003" / "train.txt")
    assert corpus.n_tokens == 203_621
    assert corpus.n_sentences == 14_041
    assert corpus.sentence_starts[-1] == corpus.n_tokens
    assert len(corpus.tags) == len(corpus.lines) == corpus.n_tokens
    assert corpus.sentences()[0] == ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]
