"""The fast twin of the vector-file parser (wintrain.kernels.vectors) against the textbook line parser."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import wintrain.data.vectors as vectors_module
import wintrain.kernels.vectors as fast_vectors
from wintrain.data.vectors import Vectors, load_vectors

from conftest import SHARED, error_of


def write(tmp_path: Path, content: str | bytes, name: str = "vectors.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# --------------------------------------------------------------------------- fast path
# With the fast kernels every chunk after the first is parsed from its bytes (vectorised; numbers of
# the form [-]D.F with at most 8 decimals); the textbook line parser (np.loadtxt per chunk, exact
# per-line checks) is the twin it must equal bit for bit, and float() the truth.

# numbers the fast path reads itself, numbers it hands to float() one by one
USUAL = ["0.418", "-0.41242", "9.99999999", "-0.00066023", "0.1", "-7.5", "3.", "-0.0", "0.0", "1.00000006"]
OTHER = ["12.5", "-3", "7", "1e-05", "-2.5E+01", ".5", "+0.25", "0.000000001", "-123.456", "1e39", "00.5"]


def spy_calls(monkeypatch, *names: str) -> Counter:
    """Count the calls of the named functions (which still run): the fast kernel's, or ``parse_block``,
    the textbook line parser's."""
    calls: Counter = Counter()
    for name in names:
        module = vectors_module if name == "parse_block" else fast_vectors
        original = getattr(module, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    return calls


def line_path_only(monkeypatch, path: Path, **kwargs) -> Vectors:
    """``load_vectors`` with the textbook kernels: every chunk goes to the line parser."""
    calls = spy_calls(monkeypatch, "_fast_values")
    vectors = load_vectors(path, kernels="textbook", **kwargs)
    assert calls["_fast_values"] == 0
    return vectors


def assert_same_bits(vectors: Vectors, words: list[str], matrix: np.ndarray) -> None:
    """Equal words and float32 bit patterns (so -0.0 differs from 0.0, and nan is compared)."""
    assert vectors.words == words
    assert vectors.matrix.dtype == np.float32 and vectors.matrix.shape == matrix.shape
    np.testing.assert_array_equal(vectors.matrix.view(np.uint32), matrix.astype(np.float32).view(np.uint32))


def float32_of(rows: list[list[str]]) -> np.ndarray:
    """What float() (= np.loadtxt) gives, then float32: the values every path must produce."""
    with np.errstate(over="ignore"):
        return np.array([[float(token) for token in row] for row in rows]).astype(np.float32)


def glove_text(rows: list[list[str]], words: list[str], end: str = "\n") -> str:
    return "".join(f"{word} {' '.join(row)}{end}" for word, row in zip(words, rows))


def random_rows(seed: int, n_rows: int, dim: int, other_every: int = 0) -> list[list[str]]:
    """Numbers in the usual forms (1-8 decimals, both signs, |x| < 10); with ``other_every``, one
    number of another form every ``other_every`` rows."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 1.5, (n_rows, dim))
    decimals = rng.integers(1, 9, (n_rows, dim))
    rows = [[f"{value:.{places}f}" for value, places in zip(row, row_places)] for row, row_places in
            zip(values.tolist(), decimals.tolist())]
    for index, usual in enumerate(USUAL):
        rows[(7 * index + 3) % n_rows][index % dim] = usual
    if other_every:
        for index, line in enumerate(range(0, n_rows, other_every)):
            rows[line][(3 * index) % dim] = OTHER[index % len(OTHER)]
    return rows


def test_fast_path_reads_usual_and_other_forms_exactly(tmp_path, monkeypatch):
    rows = random_rows(seed=1, n_rows=300, dim=8, other_every=12)
    words = [f"w{i}" for i in range(len(rows))]
    path = write(tmp_path, glove_text(rows, words))
    monkeypatch.setattr(vectors_module, "BLOCK_BYTES", 512)  # about 60 numbers a chunk, many chunks
    calls = spy_calls(monkeypatch, "_fast_values", "_other_forms", "parse_block")
    vectors = load_vectors(path)
    assert calls["_fast_values"] > 30 and calls["_other_forms"] > 10
    assert calls["parse_block"] == 1  # only the first chunk (it finds d)
    expected = float32_of(rows)
    assert_same_bits(vectors, words, expected)
    assert np.isinf(vectors.matrix).sum() == sum(row.count("1e39") for row in rows) > 0
    assert_same_bits(line_path_only(monkeypatch, path), words, expected)
    # spot checks of the bits that matter
    minus_zero = next((i, row.index("-0.0")) for i, row in enumerate(rows) if "-0.0" in row)
    assert np.signbit(vectors.matrix[minus_zero]) and vectors.matrix[minus_zero] == 0.0
    rounded = next((i, row.index("1.00000006")) for i, row in enumerate(rows) if "1.00000006" in row)
    assert vectors.matrix[rounded] == np.float32(1.0000001)


def test_many_other_forms_go_to_the_line_path_or_one_by_one(tmp_path, monkeypatch):
    rows = random_rows(seed=2, n_rows=120, dim=5, other_every=1)
    rows = [[row[0], f"{float(row[1]):.3e}", row[2], str(round(float(row[3]))), row[4]] for row in rows]
    words = [f"w{i}" for i in range(len(rows))]
    path = write(tmp_path, glove_text(rows, words))
    expected = float32_of(rows)
    monkeypatch.setattr(vectors_module, "BLOCK_BYTES", 400)
    calls = spy_calls(monkeypatch, "_fast_values", "_other_forms", "parse_block")
    assert_same_bits(load_vectors(path), words, expected)  # too many: every chunk on the line path
    assert calls["_fast_values"] > 5 and calls["parse_block"] == calls["_fast_values"] + 1
    monkeypatch.setattr(fast_vectors, "_OTHER_FORMS_SHARE", 1)  # accept any share: one by one
    calls.clear()
    assert_same_bits(load_vectors(path), words, expected)
    assert calls["_other_forms"] == calls["_fast_values"] > 5 and calls["parse_block"] == 1


@pytest.mark.parametrize("variant", ["crlf", "trailing_spaces", "gzip", "keep", "duplicates", "no_final_newline"])
def test_fast_path_equals_line_path(tmp_path, monkeypatch, variant):
    rows = random_rows(seed=3, n_rows=200, dim=6, other_every=25)
    words = [f"w{i}" for i in range(len(rows))]
    if variant == "duplicates":
        words = [f"w{i % 150}" for i in range(len(rows))]
    text = glove_text(rows, words, end={"crlf": "\r\n", "trailing_spaces": " \n"}.get(variant, "\n"))
    if variant == "trailing_spaces":
        text = f"{len(rows)} 6 \n" + text  # a word2vec file
    if variant == "no_final_newline":
        text = text.rstrip("\n")
    content = gzip.compress(text.encode("utf-8")) if variant == "gzip" else text
    path = write(tmp_path, content, name="vectors.txt.gz" if variant == "gzip" else "vectors.txt")
    keep = {f"w{i}" for i in range(0, len(rows), 3)} | {"absent"} if variant == "keep" else None
    monkeypatch.setattr(vectors_module, "BLOCK_BYTES", 333)
    calls = spy_calls(monkeypatch, "_fast_values", "parse_block")
    vectors = load_vectors(path, keep=keep)
    assert calls["_fast_values"] > 10
    assert calls["parse_block"] == 1 or variant == "keep"  # kept rows only: other forms are a larger share
    first = {}
    for index, word in enumerate(words):
        if (keep is None or word in keep) and word not in first:
            first[word] = index
    expected = float32_of(rows)[list(first.values())]
    assert_same_bits(vectors, list(first), expected)
    assert_same_bits(line_path_only(monkeypatch, path, keep=keep), list(first), expected)


def test_rows_reserved_too_few_grow(tmp_path, monkeypatch):
    rows = random_rows(seed=4, n_rows=150, dim=4)
    words = [f"w{i}" for i in range(len(rows))]
    path = write(tmp_path, glove_text(rows, words))
    monkeypatch.setattr(vectors_module, "BLOCK_BYTES", 200)
    monkeypatch.setattr(vectors_module, "_row_estimate", lambda *args: 1)
    vectors = load_vectors(path)
    assert_same_bits(vectors, words, float32_of(rows))
    assert vectors.matrix.flags.c_contiguous and vectors.matrix.base is None


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("w 0.1 0.2x 0.3 0.4", "'0.2x' is not a number"),
        ("w 0.1 0.2 0.3", "this row has 3 values but the rows before have 4"),
        ("w 0.1 0.2 0.3 0.4 0.5", "this row has 5 values but the rows before have 4"),
        ("w 0.1  0.2 0.3", "this row has 3 values but the rows before have 4"),
        ("w 0.1 -- 0.3 0.4", "'--' is not a number"),
        ("w 0.1 1_0 0.3 0.4", "'1_0' is not a number"),
        ("caf\udce9 0.1 0.2 0.3 0.4", "invalid UTF-8"),
    ],
)
def test_errors_in_later_chunks_name_their_line(tmp_path, monkeypatch, bad_line, expected):
    rows = random_rows(seed=5, n_rows=120, dim=4)
    lines = glove_text(rows, [f"w{i}" for i in range(len(rows))]).splitlines()
    lines[96] = bad_line  # line 97 of the file
    path = write(tmp_path, ("\n".join(lines) + "\n").encode("utf-8", errors="surrogateescape"), name="bad.txt")
    monkeypatch.setattr(vectors_module, "BLOCK_BYTES", 256)
    message = error_of(load_vectors, path)
    assert f"{path}:97:" in message and expected in message


def test_nan_inf_blank_lines_and_tabs_in_later_chunks_read_as_before(tmp_path, monkeypatch):
    rows = random_rows(seed=6, n_rows=80, dim=3)
    rows[50] = ["nan", "-inf", "Infinity"]
    lines = glove_text(rows, [f"w{i}" for i in range(len(rows))]).splitlines()
    lines[70] = lines[70] + "\n"  # a blank line after it
    lines[75] = lines[75].replace(" ", " \t", 1)  # a tab after the word: split() still sees 3 values
    path = write(tmp_path, "\n".join(lines) + "\n")
    monkeypatch.setattr(vectors_module, "BLOCK_BYTES", 256)
    vectors = load_vectors(path)
    expected = float32_of(rows)
    assert vectors.words == [f"w{i}" for i in range(len(rows))]
    np.testing.assert_array_equal(vectors.matrix, expected)  # nan equals nan here
    assert np.isnan(vectors.matrix[50, 0]) and vectors.matrix[50, 1] == -np.inf and vectors.matrix[50, 2] == np.inf
    assert_same_bits(line_path_only(monkeypatch, path), vectors.words, vectors.matrix)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data directory is absent")
def test_shared_glove_subset_fast_path_equals_line_path(monkeypatch):
    path = SHARED / "data" / "glove" / "glove.6B.50d.conll2003.txt"
    calls = spy_calls(monkeypatch, "_fast_values")
    vectors = load_vectors(path)
    assert calls["_fast_values"] > 10
    slow = line_path_only(monkeypatch, path)
    assert_same_bits(vectors, slow.words, slow.matrix)
