"""Load pre-trained word vectors from GloVe or word2vec text files (plain or gzip).

GloVe lines are ``word v1 ... vd``; word2vec text files add a first line ``V d``.  The file is
read into one reusable buffer, a chunk of complete lines at a time, and each chunk is parsed
by one of two paths with the same result:

* the fast path (every chunk after the first): the separators (bytes ≤ space) are found with
  one vectorised pass; when every line of the chunk has exactly ``d`` numbers, the words are
  cut out and decoded in one call, and each number of the usual form ``[-]D.F`` (one integer
  digit, at most 8 decimals) is read from the bytes with integer SIMD-within-a-register arithmetic
  and divided once in float64 (the correctly rounded double, then float32: the values
  ``np.loadtxt`` gives).  The few numbers of another form are converted one by one with
  ``float``; a chunk with anything unusual (blank lines, tabs, bad UTF-8, text that is not a
  number, many numbers of other forms) goes to the line path instead;
* the line path (the first chunk, which finds d and a word2vec header, and any unusual one):
  each line is split once at its first space and the kept lines' number parts are parsed by
  a single numpy call per chunk.  Exact per-line checks run only when a chunk looks wrong, so
  that errors can name ``file:line``.

The vectors are written straight into one float32 matrix, so the peak memory is about the
matrix, the words and one chunk.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import os
import re
import warnings
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wintrain.errors import WintrainError

BLOCK_BYTES = 1 << 18  # bytes read per chunk: the fast path's work arrays stay in the CPU cache
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
_SHOWN_CHARS = 60

PathLike = str | Path
_Rows = tuple[list[bytes], list[bytes]]  # (words, number parts) of the kept lines


@dataclass(frozen=True)
class Vectors:
    """Word vectors: row ``i`` of ``matrix`` is the vector of ``words[i]``.

    Attributes:
        words: the V distinct words, in file order.
        matrix: (V, d) float32 vectors.
    """

    words: list[str]
    matrix: np.ndarray

    @property
    def dim(self) -> int:
        """d, the vector dimension."""
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        """V, the number of words."""
        return len(self.words)

    def index(self) -> dict[str, int]:
        """A new ``{word: row}`` dict over the V words (build it once and keep it)."""
        return dict(zip(self.words, range(len(self.words))))


def load_vectors(
    path: PathLike,
    dim: int | None = None,
    keep: Collection[str] | None = None,
    cache_dir: Path | None = None,
) -> Vectors:
    """Load GloVe / word2vec text vectors from ``path`` (gzip by ``.gz`` suffix or magic bytes).

    Args:
        path: the vectors file.
        dim: the expected dimension d, or None to accept the file's.
        keep: when given, only words in ``keep`` are loaded (the others are never parsed).
        cache_dir: when given, the parsed result is stored there as ``.npy`` + words file, keyed
            by the source path, size, mtime and ``keep``, and reused while they are unchanged.

    Returns:
        :class:`Vectors` with (V, d) float32 ``matrix``; a repeated word keeps its first vector.

    Raises:
        WintrainError: missing/unreadable file, not UTF-8, empty, rows of unequal length,
            a non-numeric value, or a dimension other than ``dim``.
    """
    path = Path(path)
    stat = _stat(path)
    if cache_dir is None:
        vectors = _parse_file(path, keep)
    else:
        vectors = _load_cached(path, stat, keep, Path(cache_dir))
    _check_dim(path, vectors, dim)
    return vectors


def _check_dim(path: Path, vectors: Vectors, dim: int | None) -> None:
    """Raise if the caller asked for another dimension than the file has."""
    if dim is not None and vectors.dim != dim:
        raise WintrainError(
            f"{path} has {vectors.dim}-d vectors but embeddings.dim is {dim}; "
            f"set embeddings.dim: {vectors.dim} or use another file"
        )


# --------------------------------------------------------------------------- file access


def _stat(path: Path) -> os.stat_result:
    """``os.stat`` of a regular file; a missing path or a directory is a WintrainError."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise WintrainError(f"{path}: no such vectors file; check the path") from None
    except OSError as error:
        raise WintrainError(f"{path}: cannot read the vectors file ({_reason(error)}); check the path") from None
    if path.is_dir():
        raise WintrainError(f"{path} is a directory; give the path of a GloVe or word2vec text file")
    return stat


def _reason(error: BaseException) -> str:
    """A short one-line reason for an I/O error."""
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _open_binary(path: Path) -> io.BufferedIOBase:
    """Open ``path`` for binary reading, decompressing gzip transparently."""
    try:
        stream = open(path, "rb")
        if path.suffix == ".gz" or stream.read(2) == GZIP_MAGIC:
            stream.close()
            return gzip.open(path, "rb")
        stream.seek(0)
        return stream
    except OSError as error:
        raise WintrainError(f"{path}: cannot read the vectors file ({_reason(error)}); check the path") from None


# --------------------------------------------------------------------------- reading

_PAD = 8  # b"0" bytes before the text: an 8-byte load that ends in the first number stays inside the buffer
_SPARE = 16  # bytes kept free after the text: the aligned 8-byte word after a number's last byte exists
_NEWLINE, _CR, _SPACE, _MINUS, _DOT, _ZERO = 10, 13, 32, 45, 46, 48


class _ChunkReader:
    """Reads a binary stream into one reusable buffer, a chunk of complete lines at a time.

    After :meth:`next_chunk`, ``buffer[_PAD:stop]`` holds whole lines, the last one ending in
    b"\\n" (a last line of the file without one is given one).  The partial line after the
    chunk moves to the front on the next call, so no view of the buffer may be kept from one
    chunk to the next.
    """

    def __init__(self, stream: io.BufferedIOBase, block_bytes: int) -> None:
        self._stream = stream
        self._block = max(1, block_bytes)
        self.buffer = self._allocate(2 * self._block)
        self.stop = _PAD  # end of the current chunk
        self._filled = _PAD  # end of the bytes read so far
        self._rest = _PAD  # where the bytes after the current chunk start
        self._eof = False

    @staticmethod
    def _allocate(size: int) -> np.ndarray:
        """A buffer of at least ``size`` text bytes plus the padding, its length a multiple of 8."""
        buffer = np.empty((_PAD + size + _SPARE + 7) // 8 * 8, np.uint8)
        buffer[:_PAD] = _ZERO
        return buffer

    def words64(self) -> np.ndarray:
        """The buffer as aligned little-endian 64-bit words: byte ``8 k + j`` is byte ``j`` of word ``k``."""
        return self.buffer.view("<u8")

    def next_chunk(self) -> bool:
        """Read on to the end of the next complete line(s); False at the end of the stream."""
        rest = self._filled - self._rest
        if rest:
            self.buffer[_PAD:_PAD + rest] = self.buffer[self._rest:self._filled]
        self._filled = self._rest = self.stop = _PAD + rest
        while not self._eof:
            self._make_room(self._block)
            start = self._filled
            got = self._stream.readinto(self.buffer[start:start + self._block].data)
            if not got:
                self._eof = True
                break
            self._filled += got
            last = _last_newline(self.buffer, start, self._filled)
            if last >= 0:
                self._rest = self.stop = last + 1
                return True
        if self._filled == _PAD:
            return False
        self._make_room(1)
        self.buffer[self._filled] = _NEWLINE
        self._filled += 1
        self._rest = self.stop = self._filled
        return True

    def _make_room(self, size: int) -> None:
        """Grow the buffer (keeping its bytes) so that ``size`` more bytes fit after the text."""
        if self._filled + size + _SPARE <= len(self.buffer):
            return
        grown = self._allocate(max(2 * len(self.buffer), self._filled + size))
        grown[:self._filled] = self.buffer[:self._filled]
        self.buffer = grown

    def crlf_to_lf(self) -> bool:
        """Make the chunk's CRLF line ends LF in place; False if it has none."""
        text = self.buffer[_PAD:self.stop].tobytes()
        if b"\r\n" not in text:
            return False
        text = text.replace(b"\r\n", b"\n")
        self.buffer[_PAD:_PAD + len(text)] = np.frombuffer(text, np.uint8)
        self.stop = _PAD + len(text)
        return True

    def lines(self) -> list[bytes]:
        """The chunk's lines without their b"\\n", CRLF line ends made LF."""
        text = self.buffer[_PAD:self.stop].tobytes()
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n")
        lines = text.split(b"\n")
        lines.pop()  # the chunk ends with b"\n"
        return lines


def _last_newline(buffer: np.ndarray, start: int, end: int) -> int:
    """Index of the last b"\\n" in ``buffer[start:end]``, or -1 (searched from the end in windows)."""
    window = 1 << 12
    while end > start:
        begin = max(start, end - window)
        found = buffer[begin:end].tobytes().rfind(b"\n")
        if found >= 0:
            return begin + found
        end, window = begin, window * 4
    return -1


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Block:
    """A block of file lines and where it starts; ``lines[i]`` is line ``first_line + i``."""

    path: Path
    first_line: int
    lines: list[bytes]

    def where(self, index: int) -> str:
        """``file:line`` of ``lines[index]``."""
        return f"{self.path}:{self.first_line + index}"


def _parse_file(path: Path, keep: Collection[str] | None) -> Vectors:
    """Parse the whole file (no cache)."""
    words, matrix = _read_rows(path, keep)
    vectors = _first_occurrences(words, matrix)
    release_freed_memory()
    return vectors


def _read_rows(path: Path, keep: Collection[str] | None) -> tuple[list[str], np.ndarray]:
    """Every kept line's word and vector, in file order (repeated words included)."""
    wanted = None if keep is None else frozenset(word.encode("utf-8") for word in keep)
    wanted_words = None if keep is None else frozenset(keep)
    words: list[str] = []
    rows: _MatrixBuilder | None = None
    scratch = _Scratch()
    first_line = 1
    stream = _open_binary(path)
    try:
        with stream:
            reader = _ChunkReader(stream, BLOCK_BYTES)
            while reader.next_chunk():
                if rows is not None:
                    parsed = _parse_chunk(reader, rows, wanted_words, scratch)
                    if parsed is not None:
                        chunk_words, n_lines = parsed
                        words.extend(chunk_words)
                        first_line += n_lines
                        continue
                block = _Block(path, first_line, reader.lines())
                first_line += len(block.lines)
                if rows is None:
                    dim = _find_dim(block)
                    if dim is None:
                        continue
                    rows = _MatrixBuilder(dim, _row_estimate(path, reader.stop - _PAD, len(block.lines)))
                block_words, values = _parse_block(block, rows.dim, wanted)
                words.extend(block_words)
                rows.append(values)
    except (OSError, EOFError, zlib.error) as error:
        raise WintrainError(
            f"{path}: cannot read the vectors file ({_reason(error)}); is it a complete file?"
        ) from None
    if rows is None:
        raise WintrainError(f"{path} contains no vectors; expected lines 'word v1 ... vd' (GloVe or word2vec text)")
    return words, rows.finish()


def release_freed_memory() -> None:
    """Hand memory freed by the parse back to the system (glibc ``malloc_trim``).

    Parsing a large text file leaves freed buffers that the C allocator would keep for the
    process, raising the peak of everything that follows.  A no-op where glibc is not
    available.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _row_estimate(path: Path, chunk_bytes: int, chunk_lines: int) -> int:
    """How many rows to reserve: the file's lines if they are as long as the first chunk's, +25%.

    Only the rows written use memory; more are added (one copy) if the guess is short, as it
    is for a gzip file.
    """
    try:
        size = path.stat().st_size
    except OSError:
        size = chunk_bytes
    return size * max(chunk_lines, 1) // max(chunk_bytes, 1) * 5 // 4 + 1024


class _MatrixBuilder:
    """The (rows, d) float32 result, written in place chunk by chunk.

    The reserved rows are ``np.empty`` pages that cost memory only once written; ``finish``
    gives the unused tail back without copying the rest.
    """

    def __init__(self, dim: int, capacity: int) -> None:
        self.dim = dim
        self.rows = 0
        self._matrix = np.empty((max(capacity, 1), dim), np.float32)

    def space(self, count: int) -> np.ndarray:
        """A (count, d) view of the next rows to write (committed by :meth:`commit`)."""
        needed = self.rows + count
        if needed > len(self._matrix):
            grown = np.empty((max(needed, 2 * len(self._matrix)), self.dim), np.float32)
            grown[:self.rows] = self._matrix[:self.rows]
            self._matrix = grown
        return self._matrix[self.rows:needed]

    def commit(self, count: int) -> None:
        self.rows += count

    def append(self, values: np.ndarray) -> None:
        self.space(len(values))[...] = values
        self.commit(len(values))

    def finish(self) -> np.ndarray:
        """The written rows, as an array of exactly that size."""
        matrix, self._matrix = self._matrix, np.empty((0, self.dim), np.float32)
        if self.rows == 0:
            return np.empty((0, self.dim), np.float32)
        if self.rows < len(matrix):
            matrix.resize((self.rows, self.dim), refcheck=False)  # realloc: shrinks in place, no copy
        return matrix


# --------------------------------------------------------------------------- fast path

_U64 = np.uint64
_ASCII_ZEROS = _U64(0x3030303030303030)
_HIGH_NIBBLES = _U64(0xF0F0F0F0F0F0F0F0)
_SIXES = _U64(0x0606060606060606)
_BYTE_PAIRS = _U64(0x00FF00FF00FF00FF)
_BYTE_QUADS = _U64(0x0000FFFF0000FFFF)
_OTHER_FORMS_SHARE = 32  # more than 1 in 32 numbers not of the form [-]D.F: the chunk goes to the line path
_PLAIN_NUMBER = re.compile(rb"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _parse_chunk(
    reader: _ChunkReader, rows: _MatrixBuilder, wanted: frozenset[str] | None, scratch: _Scratch
) -> tuple[list[str], int] | None:
    """Parse the reader's chunk on the fast path: the kept words and the number of lines, their
    vectors written to ``rows``; None when the chunk needs the line path."""
    text = reader.buffer
    separators = np.flatnonzero(text[:reader.stop] <= _SPACE)  # the padding is b"0": none there
    layout = _line_layout(text, separators, rows.dim)
    if layout is None:
        if (text[separators] == _CR).any() and reader.crlf_to_lf():
            return _parse_chunk(reader, rows, wanted, scratch)
        return None
    line_starts, bounds = layout
    words = _chunk_words(text, line_starts, bounds[:, 0])
    if words is None:
        return None
    if wanted is not None:
        kept = np.fromiter(map(wanted.__contains__, words), dtype=bool, count=len(words))
        if not kept.all():
            bounds = bounds[kept]
            words = list(itertools.compress(words, kept.tolist()))
    if words and not _fast_values(text, reader.words64(), bounds, rows.space(len(words)), scratch):
        return None
    rows.commit(len(words))
    return words, len(line_starts)


def _line_layout(text: np.ndarray, separators: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Where the chunk's lines start, and the (lines, d + 1) positions of the byte after each line's
    word and after each of its numbers; None unless every line is ``word`` + d times `` number``
    (+ one trailing space, as word2vec writes, on every line)."""
    codes = text[separators]
    for width in (dim + 1, dim + 2):
        lines, rest = divmod(len(separators), width)
        if rest or not lines:
            continue
        pattern = np.full(width, _SPACE, np.uint8)
        pattern[-1] = _NEWLINE
        if not (codes.reshape(lines, width) == pattern).all():
            continue
        grid = separators.reshape(lines, width)
        if width == dim + 2 and not (grid[:, -2] + 1 == grid[:, -1]).all():
            return None
        line_starts = np.empty(lines, np.intp)
        line_starts[0] = _PAD
        line_starts[1:] = grid[:-1, -1] + 1
        return line_starts, grid[:, :dim + 1]
    return None


def _chunk_words(text: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[str] | None:
    """The words ``text[starts[i]:ends[i]]`` decoded from UTF-8 in one call; None if one is not UTF-8."""
    lengths = ends - starts + 1  # each word with the space after it
    offsets = np.cumsum(lengths)
    index = np.arange(int(offsets[-1]), dtype=np.intp)
    offsets -= lengths
    index += np.repeat(starts - offsets, lengths)
    try:
        words = text[index].tobytes().decode("utf-8").split(" ")
    except UnicodeDecodeError:
        return None
    words.pop()
    return words


class _Scratch:
    """Work arrays of the fast path, kept from chunk to chunk (flat, grown when needed)."""

    def __init__(self) -> None:
        self.size = 0

    def reserve(self, count: int) -> None:
        """Make every array hold at least ``count`` numbers."""
        if count <= self.size:
            return
        self.size = max(count, self.size * 5 // 4)
        self.positions = np.empty(self.size, np.intp)
        self.ends = np.empty(self.size, np.intp)
        self.shifts = np.empty(self.size, _U64)
        self.low = np.empty(self.size, _U64)
        self.high = np.empty(self.size, _U64)
        self.chars = np.empty(self.size, np.uint8)
        self.digits = np.empty(self.size, np.uint8)
        self.negative = np.empty(self.size, bool)
        self.ok = np.empty(self.size, bool)
        self.test = np.empty(self.size, bool)


def _fast_values(text: np.ndarray, words64: np.ndarray, bounds: np.ndarray, out: np.ndarray,
                 scratch: _Scratch) -> bool:
    """Write the numbers between ``bounds`` into ``out`` (lines, d) float32; False if the chunk needs
    the line path.

    A number ``[-]D.F`` with at most 8 decimals F is (D·10^8 + F·10^(8 - len(F))) / 10^8: both
    integers are exact in float64, so the one division gives the correctly rounded double of
    the text, as ``float`` and ``np.loadtxt`` do; then float32, and the sign bit.  F comes from
    the 8 bytes before the number's end (two aligned words and shifts), made digits 0-9 by XOR,
    checked, and summed by three multiply-shift steps (byte pairs, quads, halves).  Numbers of
    other forms are flagged in ``ok`` and converted by :func:`_other_forms`.
    """
    lines, dim = out.shape
    count = lines * dim
    scratch.reserve(count)
    shape = (lines, dim)
    start = scratch.positions[:count].reshape(shape)
    end = scratch.ends[:count].reshape(shape)
    shifts = scratch.shifts[:count].reshape(shape)
    low = scratch.low[:count].reshape(shape)
    high = scratch.high[:count].reshape(shape)
    chars = scratch.chars[:count].reshape(shape)
    digit = scratch.digits[:count].reshape(shape)
    negative = scratch.negative[:count].reshape(shape)
    ok = scratch.ok[:count].reshape(shape)
    test = scratch.test[:count].reshape(shape)

    np.add(bounds[:, :-1], 1, out=start)
    np.subtract(bounds[:, 1:], 8, out=end)
    # [-] D . : the sign, the integer digit, the point
    np.take(text, start, out=chars, mode="clip")
    np.equal(chars, _MINUS, out=negative)
    start += negative
    np.take(text, start, out=digit, mode="clip")
    digit -= np.uint8(_ZERO)
    np.less_equal(digit, 9, out=ok)
    start += 1
    np.take(text, start, out=chars, mode="clip")
    np.equal(chars, _DOT, out=test)
    ok &= test
    # the decimals: 1 + their number is end - start; they are moved right by 72 - 8 (1 + decimals) bits
    moves = start.view(_U64)
    np.subtract(bounds[:, 1:], start, out=start)
    moves <<= _U64(3)
    np.subtract(_U64(72), moves, out=moves)
    np.less_equal(moves, _U64(64), out=test)  # 0-8 decimals ("5." is 5)
    ok &= test
    # the 8 bytes before the end, from the two aligned words they straddle
    np.bitwise_and(end, 7, out=shifts.view(np.intp))
    shifts <<= _U64(3)
    end >>= 3
    np.take(words64, end, out=low, mode="clip")
    end += 1
    np.take(words64, end, out=high, mode="clip")
    low >>= shifts
    np.subtract(_U64(64), shifts, out=shifts)
    high <<= shifts
    low |= high
    # keep the decimals, moved to the low bytes (first decimal in byte 0), as digit values 0-9
    low ^= _ASCII_ZEROS
    low >>= moves
    np.add(low, _SIXES, out=shifts)
    shifts |= low
    shifts &= _HIGH_NIBBLES
    np.equal(shifts, _U64(0), out=test)
    ok &= test
    # 8 digits (most significant in byte 0) to their value
    low *= _U64(10 * 256 + 1)
    low >>= _U64(8)
    low &= _BYTE_PAIRS
    low *= _U64(100 * 65536 + 1)
    low >>= _U64(16)
    low &= _BYTE_QUADS
    low *= _U64(10000 * 2**32 + 1)
    low >>= _U64(32)
    np.multiply(digit, _U64(10**8), out=shifts)
    low += shifts
    value = high.view(np.float64)
    np.divide(low.view(np.int64), 1e8, out=value)  # < 10^9: as int64, a faster conversion
    np.copyto(shifts, negative)
    shifts <<= _U64(63)
    high |= shifts  # the sign bit: -x exactly, and -0.0 for "-0.0"
    np.copyto(out, value, casting="same_kind")
    if ok.all():
        return True
    return _other_forms(text, bounds, out, np.flatnonzero(~ok))


def _other_forms(text: np.ndarray, bounds: np.ndarray, out: np.ndarray, others: np.ndarray) -> bool:
    """Convert the numbers ``others`` (flat indices) that are not ``[-]D.F`` one by one with ``float``
    (the same correctly rounded double as ``np.loadtxt``); False if one is not a plain decimal
    number or there are too many of them."""
    dim = out.shape[1]
    if len(others) * _OTHER_FORMS_SHARE > out.size:
        return False
    values = []
    for flat in others.tolist():
        line, column = divmod(flat, dim)
        token = text[bounds[line, column] + 1:bounds[line, column + 1]].tobytes()
        if not _PLAIN_NUMBER.fullmatch(token):
            return False
        values.append(float(token))
    with np.errstate(over="ignore"):  # beyond float32: inf, as np.loadtxt gives
        np.put(out, others, np.array(values, np.float64))
    return True


def _find_dim(block: _Block) -> int | None:
    """d from the first non-blank line of the file (blanking a word2vec header in place).

    Also drops a UTF-8 BOM; returns None if the block is all blank.
    """
    lines = block.lines
    if block.first_line == 1 and lines[0].startswith(UTF8_BOM):
        lines[0] = lines[0][len(UTF8_BOM):]
    for index, line in enumerate(lines):
        columns = line.split()
        if not columns:
            continue
        if len(columns) == 2 and columns[0].isdigit() and columns[1].isdigit():
            lines[index] = b""
            return _dim_after_header(block, index, int(columns[1]))
        if len(columns) < 2:
            raise WintrainError(
                f"{block.where(index)}: expected a word followed by its vector values, got {_show(line)}; "
                "give a GloVe or word2vec text file"
            )
        return len(columns) - 1
    return None


def _dim_after_header(block: _Block, header_index: int, dim: int) -> int:
    """Check a word2vec header's d against the next line when it is in the same block."""
    following = [line for line in block.lines[header_index + 1:header_index + 2] if line.strip()]
    if dim < 1:
        raise WintrainError(f"{block.where(header_index)}: the word2vec header gives dimension {dim}; fix the header")
    if following and len(following[0].split()) - 1 != dim:
        found = len(following[0].split()) - 1
        raise WintrainError(
            f"{block.where(header_index + 1)}: the word2vec header says {dim} values per word but this line has "
            f"{found}; fix the header or the file"
        )
    return dim


def _parse_block(block: _Block, dim: int, wanted: frozenset[bytes] | None) -> tuple[list[str], np.ndarray]:
    """Return the kept words of a block and their (n, d) float32 vectors."""
    words, numbers = _split_rows(block.lines, wanted)
    if numbers and numbers[0].endswith(b" "):  # word2vec writes a trailing space
        numbers = [row.rstrip(b" ") for row in numbers]
    values = _parse_matrix(b"\n".join(numbers), len(numbers), dim)
    if values is None:
        words, numbers = _checked_rows(block, dim, wanted)
        values = _parse_numbers(b"\n".join(numbers), len(numbers) * dim)
        if values is None:
            raise WintrainError(f"{block.where(0)}: cannot parse the vector values from this line on; check the file")
    return _decode_words(block, words), values.reshape(len(numbers), dim)


def _split_rows(lines: list[bytes], wanted: frozenset[bytes] | None) -> _Rows:
    """Split every (kept) line at its first space into word and number part."""
    pairs = [line.partition(b" ") for line in lines]
    if wanted is not None:
        pairs = [pair for pair in pairs if pair[0] in wanted]
    return [pair[0] for pair in pairs], [pair[2] for pair in pairs]


def _parse_matrix(text: bytes, rows: int, dim: int) -> np.ndarray | None:
    """``rows`` lines of ``dim`` single-space-separated values as flat float32, or None when any
    line differs (then the exact path finds and names it).  NumPy's C text parser checks every
    row's length itself and is faster than ``np.fromstring``."""
    if rows == 0:
        return np.empty(0, np.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": handled by the shape check
            values = np.loadtxt(io.BytesIO(text), dtype=np.float32, comments=None, delimiter=" ", ndmin=2,
                                encoding="latin-1")
    except ValueError:
        return None
    return values.reshape(-1) if values.shape == (rows, dim) else None


def _parse_numbers(text: bytes, expected: int) -> np.ndarray | None:
    """The ``expected`` whitespace-separated values of ``text`` as flat float32, else None."""
    try:
        values = np.fromstring(text, dtype=np.float32, sep=" ")
    except ValueError:
        return None
    return values if values.size == expected else None


def _checked_rows(block: _Block, dim: int, wanted: frozenset[bytes] | None) -> _Rows:
    """The slow, exact path: skip blank lines and raise on the first malformed kept line."""
    words: list[bytes] = []
    numbers: list[bytes] = []
    for index, line in enumerate(block.lines):
        if not line.strip():
            continue
        word, _, rest = line.partition(b" ")
        if wanted is not None and word not in wanted:
            continue
        _check_row(block, index, rest.split(), dim)
        words.append(word)
        numbers.append(rest)
    return words, numbers


def _check_row(block: _Block, index: int, values: list[bytes], dim: int) -> None:
    """Raise if a line does not hold exactly d numbers."""
    if len(values) != dim:
        raise WintrainError(
            f"{block.where(index)}: this row has {len(values)} values but the rows before have {dim}; "
            "fix or remove the line (every word needs the same number of values)"
        )
    if _parse_numbers(b" ".join(values), dim) is not None:
        return
    bad = next((value for value in values if _parse_numbers(value, 1) is None), values[0])
    raise WintrainError(f"{block.where(index)}: {_show(bad)} is not a number; fix or remove the line")


def _decode_words(block: _Block, words: list[bytes]) -> list[str]:
    """Decode a block's words from UTF-8 in one call; name the line of the first bad word."""
    if not words:
        return []
    try:
        return b"\n".join(words).decode("utf-8").split("\n")
    except UnicodeDecodeError:
        pass
    for index, line in enumerate(block.lines):
        word = line.partition(b" ")[0]
        try:
            word.decode("utf-8")
        except UnicodeDecodeError:
            raise WintrainError(
                f"{block.where(index)}: invalid UTF-8 in the word {_show(word)}; "
                "the vectors file must be UTF-8 encoded"
            ) from None
    raise WintrainError(f"{block.path}: invalid UTF-8; the vectors file must be UTF-8 encoded")


def _show(text: bytes) -> str:
    """A short one-line representation of raw file bytes for error messages."""
    shown = text.decode("utf-8", errors="backslashreplace").rstrip("\r")
    if len(shown) > _SHOWN_CHARS:
        shown = shown[:_SHOWN_CHARS] + "..."
    return repr(shown)


def _first_occurrences(words: list[str], matrix: np.ndarray) -> Vectors:
    """Drop repeated words, keeping each word's first row; ``matrix`` is (n, d)."""
    n_rows = len(words)
    if len(set(words)) == n_rows:  # the usual case, checked at half the cost of the dict below
        return Vectors(words, matrix)
    first_row = dict(zip(reversed(words), range(n_rows - 1, -1, -1)))
    rows = np.sort(np.fromiter(first_row.values(), dtype=np.int64, count=len(first_row)))
    return Vectors([words[row] for row in rows.tolist()], matrix[rows])


# --------------------------------------------------------------------------- cache


@dataclass(frozen=True)
class _CacheFiles:
    """The two files holding one cached parse: (V, d) float32 ``.npy`` and V words, one a line."""

    matrix: Path
    words: Path

    @classmethod
    def for_source(cls, cache_dir: Path, path: Path, stat: os.stat_result, keep: Collection[str] | None) -> _CacheFiles:
        """Cache file names keyed by the source's path, size, mtime and the ``keep`` set."""
        identity = f"{path.resolve()}\n{stat.st_size}\n{stat.st_mtime_ns}\n{_keep_digest(keep)}"
        key = hashlib.sha256(identity.encode("utf-8", errors="surrogateescape")).hexdigest()[:24]
        base = f"{path.name}.{key}"
        return cls(cache_dir / f"{base}.npy", cache_dir / f"{base}.words.txt")


def _keep_digest(keep: Collection[str] | None) -> str:
    """A stable hash of the ``keep`` set ('all' when there is none)."""
    if keep is None:
        return "all"
    joined = "\n".join(sorted(set(keep)))
    return hashlib.sha256(joined.encode("utf-8", errors="surrogatepass")).hexdigest()


def _load_cached(path: Path, stat: os.stat_result, keep: Collection[str] | None, cache_dir: Path) -> Vectors:
    """Reuse the cached parse of ``path`` if present, else parse and store it."""
    files = _CacheFiles.for_source(cache_dir, path, stat, keep)
    cached = _read_cache(files)
    if cached is not None:
        return cached
    vectors = _parse_file(path, keep)
    _write_cache(files, vectors, cache_dir)
    return vectors


def _read_cache(files: _CacheFiles) -> Vectors | None:
    """The cached vectors, or None when missing or damaged (they are then rebuilt).

    The matrix is memory-mapped read-only: rows are read from the page cache as they are used,
    so loading a cached 400k-word file costs little more than making its words (read as bytes
    and decoded in one call: a third faster than text-mode reading, and exact, with no newline
    translation)."""
    try:
        matrix = np.load(files.matrix, allow_pickle=False, mmap_mode="r")
        text = files.words.read_bytes().decode("utf-8")
    except (OSError, ValueError, EOFError):  # UnicodeDecodeError is a ValueError
        return None
    words = text.split("\n") if text else []
    if matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape[0] != len(words):
        return None
    return Vectors(words, matrix)


def _write_cache(files: _CacheFiles, vectors: Vectors, cache_dir: Path) -> None:
    """Store ``vectors`` atomically (write to temporary names, then rename)."""
    suffix = f".tmp{os.getpid()}"
    matrix_tmp = files.matrix.with_name(files.matrix.name + suffix)
    words_tmp = files.words.with_name(files.words.name + suffix)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with open(matrix_tmp, "wb") as stream:
            np.save(stream, vectors.matrix, allow_pickle=False)
        words_tmp.write_bytes("\n".join(vectors.words).encode("utf-8"))
        os.replace(words_tmp, files.words)
        os.replace(matrix_tmp, files.matrix)
    except OSError as error:
        raise WintrainError(
            f"cannot write the vectors cache in {cache_dir} ({_reason(error)}); "
            "make the directory writable or turn the cache off"
        ) from None
