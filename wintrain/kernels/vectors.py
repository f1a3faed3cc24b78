"""Fast twin of :func:`wintrain.data.vectors.parse_lines`: the numbers of a vector file read straight from
its bytes.

The separators (bytes ≤ space) of a chunk are found with one vectorised pass; when every line of the
chunk has exactly ``d`` numbers, the words are cut out and decoded in one call, and each number of the
usual form ``[-]D.F`` (one integer digit, at most 8 decimals) is read from the bytes with integer
SIMD-within-a-register arithmetic and divided once in float64 (the correctly rounded double, then
float32: the values the textbook parser gives).  The few numbers of another form are converted one by
one with ``float``; a chunk with anything unusual (blank lines, tabs, bad UTF-8, text that is not a
number, many numbers of other forms) goes to the textbook line parser instead.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from wintrain.data.vectors import PAD, ZERO, Block, ChunkReader, MatrixBuilder, Wanted, parse_lines
from wintrain.kernels import twin_of

_NEWLINE, _CR, _SPACE, _MINUS, _DOT = 10, 13, 32, 45, 46


_U64 = np.uint64
_ASCIIZEROS = _U64(0x3030303030303030)
_HIGH_NIBBLES = _U64(0xF0F0F0F0F0F0F0F0)
_SIXES = _U64(0x0606060606060606)
_BYTE_PAIRS = _U64(0x00FF00FF00FF00FF)
_BYTE_QUADS = _U64(0x0000FFFF0000FFFF)
_OTHER_FORMS_SHARE = 32  # more than 1 in 32 numbers not of the form [-]D.F: the chunk goes to the line path
_PLAIN_NUMBER = re.compile(rb"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


@twin_of(parse_lines)
def parse_bytes(reader: ChunkReader, rows: MatrixBuilder, wanted: Wanted | None, where: Block) -> tuple[list[str], int]:
    """:func:`~wintrain.data.vectors.parse_lines` read from the bytes (see the module docstring); a chunk with
    anything unusual goes to the textbook line parser."""
    scratch = reader.workspace.setdefault("fast", _Scratch())
    parsed = _parse_chunk(reader, rows, None if wanted is None else wanted.as_str, scratch)
    return parsed if parsed is not None else parse_lines(reader, rows, wanted, where)


def _parse_chunk(
    reader: ChunkReader, rows: MatrixBuilder, wanted: frozenset[str] | None, scratch: _Scratch
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
        line_starts[0] = PAD
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
    digit -= np.uint8(ZERO)
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
    low ^= _ASCIIZEROS
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
