"""Read CoNLL-style tagged corpora and raw text.

A CoNLL file holds one token per line with whitespace-separated columns (the token and its
tag among them); a blank line ends a sentence and ``-DOCSTART-`` lines mark document
breaks.  A line that contains a TAB is split at TABs only, so ``token<TAB>TAG`` lines can carry
tokens with spaces (``New York<TAB>B-LOC``, ``20 000<TAB>NUM``); lines without a TAB are split
at any run of spaces.  The whole file is read as bytes, decoded once and split into lines, so
the only per-token work is one ``str.split``.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from wintrain.errors import WintrainError

DOCSTART = "-DOCSTART-"
UTF8_BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
_SHOWN_LINE_CHARS = 80

# ``str.split()`` also splits on these; CoNLL columns are separated by ASCII blanks only.
_UNICODE_ONLY_SPACE = re.compile("[\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_ASCII_BLANKS = re.compile(r"[ \t\r\f\v]+")
_TAB_SEPARATOR = re.compile(r"[ \r\f\v]*\t[ \t\r\f\v]*")
_BLANK_INSIDE_LINE = re.compile(r"[ \f\v]|\r(?!\n)")  # a blank a TAB-separated column could hold

PathLike = str | Path


@dataclass(frozen=True)
class Corpus:
    """A tagged corpus stored flat, with sentence boundaries as offsets.

    Attributes:
        path: the file the corpus was read from.
        tokens: all N tokens in file order.
        tags: the N tags, ``tags[i]`` belongs to ``tokens[i]``.
        sentence_starts: (S+1,) int64 offsets into ``tokens``; sentence ``i`` is
            ``tokens[sentence_starts[i]:sentence_starts[i + 1]]`` and ``sentence_starts[-1] == N``.
        lines: (N,) int32 1-based line number of each token in ``path`` (for error messages).
    """

    path: Path
    tokens: list[str]
    tags: list[str]
    sentence_starts: np.ndarray
    lines: np.ndarray

    @property
    def n_tokens(self) -> int:
        """N, the number of tokens."""
        return len(self.tokens)

    @property
    def n_sentences(self) -> int:
        """S, the number of (non-empty) sentences."""
        return len(self.sentence_starts) - 1

    def sentences(self) -> list[list[str]]:
        """The S sentences as lists of tokens."""
        return split_at(self.tokens, self.sentence_starts)

    def tag_sentences(self) -> list[list[str]]:
        """The S sentences as lists of tags."""
        return split_at(self.tags, self.sentence_starts)

    def subset(self, sentences: np.ndarray) -> Corpus:
        """The corpus of the sentences numbered ``sentences`` (in that order)."""
        rows, starts = sentence_rows(self.sentence_starts, sentences)
        return Corpus(self.path, [self.tokens[i] for i in rows.tolist()], [self.tags[i] for i in rows.tolist()],
                      starts, self.lines[rows])


def sentence_rows(starts: np.ndarray, sentences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The token rows of the sentences numbered ``sentences`` (of a corpus with offsets ``starts``), back to
    back, and their new (len(sentences)+1,) offsets."""
    first, lengths = starts[:-1][sentences], np.diff(starts)[sentences]
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    rows = np.repeat(first - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
    return rows, offsets


def split_at(items: list[str], starts: np.ndarray) -> list[list[str]]:
    """Cut flat ``items`` into consecutive sentences at the (S+1,) offsets ``starts``."""
    bounds = starts.tolist()
    return [items[begin:end] for begin, end in zip(bounds[:-1], bounds[1:])]


def sentence_starts(sentences: Sequence[Sequence[str]]) -> np.ndarray:
    """(S+1,) int64 offsets of ``sentences`` laid end to end (the inverse of :func:`split_at`)."""
    return np.concatenate(([0], np.cumsum([len(s) for s in sentences]))).astype(np.int64)


# --------------------------------------------------------------------------- file access


def read_utf8(path: Path) -> str:
    """Return the text of a plain or gzip-compressed UTF-8 file, without a leading BOM.

    Gzip is recognised by the ``.gz`` suffix or the magic bytes ``1f 8b``.  Any problem (missing,
    unreadable, a broken gzip file, not UTF-8) is a WintrainError.
    """
    data = read_bytes(path)
    if path.suffix == ".gz" or data.startswith(GZIP_MAGIC):
        data = _gunzip(path, data)
    return decode_utf8(data, str(path))


def _gunzip(path: Path, data: bytes) -> bytes:
    """The decompressed ``data`` of the gzip file ``path``."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        reason = str(error) or type(error).__name__
        raise WintrainError(
            f"{path}: cannot decompress the gzip file ({reason}); check that the file is complete, "
            "or give the uncompressed file"
        ) from None


def read_bytes(path: Path) -> bytes:
    """Return the bytes of ``path``; a missing, unreadable or directory path is a WintrainError."""
    if path.is_dir():
        raise WintrainError(f"{path} is a directory, not a file; give the path of a file inside it")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise WintrainError(f"{path}: no such file; check the path") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise WintrainError(f"{path}: cannot read the file ({reason}); check the path and its permissions") from None


def decode_utf8(data: bytes, name: str) -> str:
    """Decode ``data`` (read from ``name``) as UTF-8, dropping a leading BOM."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise WintrainError(
            f"{name}:{line}: invalid UTF-8 byte {data[error.start:error.start + 1]!r}; "
            "the file must be UTF-8 encoded (convert it, e.g. with iconv)"
        ) from None


def show_line(line: str) -> str:
    """A one-line, length-limited ``repr`` of a file line for error messages."""
    line = line.rstrip("\r\n")
    if len(line) > _SHOWN_LINE_CHARS:
        line = line[:_SHOWN_LINE_CHARS] + "..."
    return repr(line)


def column_splitter(text: str) -> Callable[[str], list[str]]:
    """The fastest function that splits a line of ``text`` into its columns.

    A line with a TAB is split at TABs (a run of TABs, with the blanks around it, is one
    separator), so a column may hold spaces; any other line at runs of ASCII blanks (spaces,
    CR, FF, VT), keeping e.g. non-breaking spaces inside columns.  Columns never start or end
    with an ASCII blank.
    """
    blank_split = str.split if _UNICODE_ONLY_SPACE.search(text) is None else _split_ascii_blanks
    if "\t" not in text or _BLANK_INSIDE_LINE.search(text) is None:  # no column can hold a blank: same columns
        return blank_split

    def split(line: str) -> list[str]:
        return _split_tabs(line) if "\t" in line else blank_split(line)

    return split


def _split_ascii_blanks(line: str) -> list[str]:
    """Split ``line`` on ASCII blanks only, keeping e.g. non-breaking spaces inside columns."""
    stripped = line.strip(" \t\r\f\v")
    return _ASCII_BLANKS.split(stripped) if stripped else []


def _split_tabs(line: str) -> list[str]:
    """Split ``line`` at its TABs only; the ASCII blanks around each column are dropped."""
    stripped = line.strip(" \t\r\f\v")
    return _TAB_SEPARATOR.split(stripped) if stripped else []


# --------------------------------------------------------------------------- CoNLL


@dataclass(frozen=True)
class _ColumnRule:
    """Which columns hold the token and the tag, and which column counts cannot hold both."""

    token_column: int
    tag_column: int
    min_columns: int
    clash_columns: int  # a line with exactly this many columns selects the same column twice

    @classmethod
    def build(cls, path: Path, token_column: int, tag_column: int) -> _ColumnRule:
        """Check the column choice once, for every line of ``path``."""
        if token_column == tag_column:
            raise WintrainError(
                f"{path}: token_column and tag_column are both {token_column}; choose two different columns"
            )
        needed = max(_columns_needed(token_column), _columns_needed(tag_column), 2)
        opposite_signs = (token_column < 0) != (tag_column < 0)
        clash = abs(token_column - tag_column) if opposite_signs else -1
        return cls(token_column, tag_column, needed, clash)

    def accepts(self, n_columns: int) -> bool:
        """Whether a line with ``n_columns`` columns holds a distinct token and tag."""
        return n_columns >= self.min_columns and n_columns != self.clash_columns


def _columns_needed(column: int) -> int:
    """The fewest columns a line needs for index ``column`` (negative counts from the end)."""
    return column + 1 if column >= 0 else -column


def read_conll(path: PathLike, token_column: int = 0, tag_column: int = -1) -> Corpus:
    """Read a CoNLL-style file of ``token ... tag`` lines into a :class:`Corpus`.

    Columns are split on spaces/tabs, or only at TABs on a line that has one (``token<TAB>TAG``:
    the token may then hold spaces); ``token_column`` and ``tag_column`` index them (negative
    values count from the end).  Blank lines end sentences, ``-DOCSTART-`` lines are document
    breaks, runs of breaks make no empty sentences, CRLF line ends and a UTF-8 BOM are accepted.

    Raises:
        WintrainError: the file is missing, unreadable, not UTF-8, has a line without a token
            and a tag (``file:line``), or contains no tokens.
    """
    path = Path(path)
    return conll_from_text(path, read_utf8(path), token_column, tag_column)


def conll_from_text(path: Path, text: str, token_column: int = 0, tag_column: int = -1) -> Corpus:
    """:func:`read_conll` of the already read ``text`` of ``path``."""
    rule = _ColumnRule.build(path, token_column, tag_column)
    tokens, tags, starts, lines = _parse_conll(path, text, rule)
    if not tokens:
        raise WintrainError(
            f"{path} contains no sentences; expected CoNLL lines 'token ... tag' with blank lines between sentences"
        )
    return Corpus(
        path=path,
        tokens=tokens,
        tags=tags,
        sentence_starts=np.array(starts, dtype=np.int64),
        lines=np.array(lines, dtype=np.int32),
    )


def _parse_conll(
    path: Path, text: str, rule: _ColumnRule
) -> tuple[list[str], list[str], list[int], list[int]]:
    """Return tokens, tags, sentence offsets (S+1 of them) and 1-based token line numbers."""
    split = column_splitter(text)
    token_column, tag_column = rule.token_column, rule.tag_column
    tokens: list[str] = []
    tags: list[str] = []
    starts: list[int] = [0]
    lines: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        columns = split(line)
        if not columns or columns[0] == DOCSTART:
            if len(tokens) > starts[-1]:
                starts.append(len(tokens))
            continue
        if not rule.accepts(len(columns)):
            raise _bad_line(path, number, line, rule)
        tokens.append(columns[token_column])
        tags.append(columns[tag_column])
        lines.append(number)
    if len(tokens) > starts[-1]:
        starts.append(len(tokens))
    return tokens, tags, starts, lines


def _bad_line(path: Path, number: int, line: str, rule: _ColumnRule) -> WintrainError:
    """The error for a line that does not hold a token and a tag."""
    return WintrainError(
        f"{path}:{number}: expected a token and a tag (token_column {rule.token_column}, "
        f"tag_column {rule.tag_column}, at least {rule.min_columns} columns separated by whitespace, or by TABs "
        "on a line with a TAB), "
        f"got {show_line(line)}; fix the line or end the sentence with a blank line"
    )


# --------------------------------------------------------------------------- raw text


def read_lines(stream_or_path: PathLike | IO[str] | IO[bytes]) -> list[str]:
    """Read raw text for tagging: its non-empty lines (line ends removed), one text each.

    ``stream_or_path`` is a file path (``str`` or ``Path``; gzip too) or an open text/binary
    stream such as ``sys.stdin``.

    Raises:
        WintrainError: the file is missing/unreadable or the text is not UTF-8.
    """
    if isinstance(stream_or_path, (str, Path)):
        text = read_utf8(Path(stream_or_path))
    else:
        text = _read_stream(stream_or_path)
    lines = (line.removesuffix("\r") for line in text.split("\n"))
    return [line for line in lines if line.strip()]


def _read_stream(stream: IO[str] | IO[bytes]) -> str:
    """Read all of ``stream``; bytes are decoded as UTF-8, a leading BOM is dropped."""
    name = str(getattr(stream, "name", "<stream>"))
    try:
        content = stream.read()
    except UnicodeDecodeError:
        raise WintrainError(f"{name}: the input is not valid UTF-8; the text must be UTF-8 encoded") from None
    if isinstance(content, bytes):
        return decode_utf8(content, name)
    return content.removeprefix("\ufeff")

