"""Tests for wintrain.data.vectors: GloVe / word2vec text loading and the cache."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

import wintrain.data.vectors as vectors_module
from wintrain.data.vectors import Vectors, load_vectors

from conftest import error_of

SHARED = Path(__file__).resolve().parents[2].parent / "shared"

GLOVE = "the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\n#news 1e-05 -2.5E+01 7\n# 0 -0 .5\n"
EXPECTED_WORDS = ["the", ",", "#news", "#"]
EXPECTED = np.array(
    [[0.418, 0.24968, -0.41242], [0.013441, 0.23682, -0.16899], [1e-05, -25.0, 7.0], [0.0, -0.0, 0.5]],
    dtype=np.float32,
)


def write(tmp_path: Path, content: str | bytes, name: str = "vectors.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def assert_expected(vectors: Vectors, words=EXPECTED_WORDS, matrix=EXPECTED) -> None:
    assert vectors.words == list(words)
    assert vectors.matrix.dtype == np.float32
    np.testing.assert_array_equal(vectors.matrix, matrix)


# --------------------------------------------------------------------------- formats


def test_glove_values_words_and_index(tmp_path):
    vectors = load_vectors(write(tmp_path, GLOVE))
    assert_expected(vectors)
    assert vectors.dim == 3 and len(vectors) == 4
    assert vectors.index() == {"the": 0, ",": 1, "#news": 2, "#": 3}


def test_word2vec_header_and_trailing_spaces(tmp_path):
    lines = GLOVE.replace("\n", " \n")  # the word2vec C tool ends every row with a space
    vectors = load_vectors(write(tmp_path, "4 3\n" + lines))
    assert_expected(vectors)


def test_word2vec_header_dimension_must_match_rows(tmp_path):
    path = write(tmp_path, "4 5\n" + GLOVE, name="w2v.txt")
    message = error_of(load_vectors, path)
    assert f"{path}:2:" in message and "5" in message and "3" in message


@pytest.mark.parametrize("name", ["vectors.txt.gz", "vectors.txt"])
def test_gzip_by_suffix_or_magic_bytes(tmp_path, name):
    path = write(tmp_path, gzip.compress(GLOVE.encode("utf-8")), name=name)
    assert_expected(load_vectors(path))


def test_crlf_bom_blank_lines_and_no_final_newline(tmp_path):
    content = b"\xef\xbb\xbf" + GLOVE.replace("\n", "\r\n").replace(",", "\n\n,").encode("utf-8").rstrip()
    assert_expected(load_vectors(write(tmp_path, content)))


def test_unicode_words_and_duplicates_keep_first(tmp_path):
    vectors = load_vectors(write(tmp_path, "café 1 2\n東京 3 4\ncafé 5 6\n"))
    assert vectors.words == ["café", "東京"]
    np.testing.assert_array_equal(vectors.matrix, np.array([[1, 2], [3, 4]], dtype=np.float32))


def test_small_blocks_keep_lines_and_numbers_right(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors_module, "BLOCK_BYTES", 7)  # lines and CRLFs split across reads
    path = write(tmp_path, "4 3\r\n" + GLOVE.replace("\n", "\r\n"))
    assert_expected(load_vectors(path))
    bad = write(tmp_path, GLOVE + "long 1 2 3 4\n", name="bad.txt")
    assert f"{bad}:5:" in error_of(load_vectors, bad)


# --------------------------------------------------------------------------- keep


def test_keep_filters_before_parsing(tmp_path):
    path = write(tmp_path, GLOVE + "broken not numbers at all\n")
    vectors = load_vectors(path, keep={"#", "the", "absent"})
    assert_expected(vectors, ["the", "#"], EXPECTED[[0, 3]])
    assert load_vectors(path, keep=[]).matrix.shape == (0, 3)


# --------------------------------------------------------------------------- errors


def test_dimension_mismatch(tmp_path):
    path = write(tmp_path, GLOVE, name="glove.3d.txt")
    message = error_of(load_vectors, path, dim=100)
    assert str(path) in message
    assert "has 3-d vectors but embeddings.dim is 100; set embeddings.dim: 3" in message
    assert load_vectors(path, dim=3).dim == 3


@pytest.mark.parametrize(
    ("content", "line", "counts"),
    [
        ("a 1 2 3\nb 1 2 3\nc 1 2\n", 3, ("2 values", "have 3")),
        ("a 1 2 3\nb 1 2\nc 1 2 3 4\n", 2, ("2 values", "have 3")),  # totals balance out
        ("a 1 2 3\nb 1\t2 3 4\nc 1 2 \n", 2, ("4 values", "have 3")),  # a tab and a trailing space
        ("a 1 2 3\nb\n", 2, ("0 values", "have 3")),
    ],
)
def test_unequal_rows_name_the_first_bad_line(tmp_path, content, line, counts):
    path = write(tmp_path, content, name="ragged.txt")
    message = error_of(load_vectors, path)
    assert f"{path}:{line}:" in message
    for count in counts:
        assert count in message


@pytest.mark.parametrize("value", ["abc", "1,5", "0.1-0.2", "0x10"])
def test_non_numeric_value(tmp_path, value):
    path = write(tmp_path, f"a 1 2 3\nb 1 {value} 3\n", name="text.txt")
    message = error_of(load_vectors, path)
    assert f"{path}:2:" in message and repr(value) in message and "not a number" in message


def test_bad_utf8_word(tmp_path):
    path = write(tmp_path, b"a 1 2\ncaf\xe9 3 4\n", name="latin1.txt")
    message = error_of(load_vectors, path)
    assert f"{path}:2:" in message and "UTF-8" in message


@pytest.mark.parametrize("content", ["", "\n \n\n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, content, name="empty.txt")
    message = error_of(load_vectors, path)
    assert str(path) in message and "contains no vectors" in message


def test_missing_file_directory_and_broken_gzip(tmp_path):
    missing = tmp_path / "nope.txt"
    assert str(missing) in error_of(load_vectors, missing)
    assert "directory" in error_of(load_vectors, tmp_path)
    truncated = write(tmp_path, gzip.compress(GLOVE.encode("utf-8"))[:-12], name="cut.txt.gz")
    assert str(truncated) in error_of(load_vectors, truncated)


# --------------------------------------------------------------------------- cache


def cache_files(cache_dir: Path) -> list[str]:
    return sorted(path.suffix for path in cache_dir.iterdir())


def test_cache_is_written_and_reused(tmp_path, monkeypatch):
    path = write(tmp_path, GLOVE)
    cache_dir = tmp_path / "cache"
    first = load_vectors(path, cache_dir=cache_dir)
    assert cache_files(cache_dir) == [".npy", ".txt"]

    def no_parsing(*args, **kwargs):
        raise AssertionError("the source was parsed again")

    monkeypatch.setattr(vectors_module, "_parse_file", no_parsing)
    assert_expected(load_vectors(path, cache_dir=cache_dir), first.words, first.matrix)
    assert "embeddings.dim is 7" in error_of(load_vectors, path, dim=7, cache_dir=cache_dir)


def test_cache_is_keyed_by_keep_and_file_changes(tmp_path):
    path = write(tmp_path, GLOVE)
    cache_dir = tmp_path / "cache"
    assert_expected(load_vectors(path, cache_dir=cache_dir))
    assert load_vectors(path, keep={"the"}, cache_dir=cache_dir).words == ["the"]
    assert len(cache_files(cache_dir)) == 4

    path.write_text("new 9 8\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))
    changed = load_vectors(path, cache_dir=cache_dir)
    assert changed.words == ["new"]
    np.testing.assert_array_equal(changed.matrix, np.array([[9, 8]], dtype=np.float32))


def test_cached_words_come_back_exactly(tmp_path, monkeypatch):
    path = write(tmp_path, "c 3 4\na\rb 1 2\nd\u2028e 5 6\n")  # a lone CR and a line separator inside words
    cache_dir = tmp_path / "cache"
    first = load_vectors(path, cache_dir=cache_dir)
    assert first.words == ["c", "a\rb", "d\u2028e"]

    def no_parsing(*args, **kwargs):
        raise AssertionError("the source was parsed again")

    monkeypatch.setattr(vectors_module, "_parse_file", no_parsing)
    again = load_vectors(path, cache_dir=cache_dir)
    assert again.words == first.words
    np.testing.assert_array_equal(again.matrix, np.array([[3, 4], [1, 2], [5, 6]], dtype=np.float32))


def test_damaged_cache_is_rebuilt(tmp_path):
    path = write(tmp_path, GLOVE)
    cache_dir = tmp_path / "cache"
    load_vectors(path, cache_dir=cache_dir)
    for cached in cache_dir.glob("*.npy"):
        cached.write_bytes(b"not an npy file")
    assert_expected(load_vectors(path, cache_dir=cache_dir))
    assert_expected(load_vectors(path, cache_dir=cache_dir))


# --------------------------------------------------------------------------- shared data


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data directory is absent")
def test_shared_glove_subset():
    vectors = load_vectors(SHARED / "data" / "glove" / "glove.6B.50d.conll2003.txt", dim=50)
    assert vectors.matrix.shape == (22_947, 50)
    assert vectors.words[0] == "the"
    np.testing.assert_allclose(vectors.matrix[0, :3], [0.418, 0.24968, -0.41242])
