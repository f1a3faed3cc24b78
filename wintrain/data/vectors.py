"""Load pre-trained word vectors from GloVe or word2vec text files (plain or gzip).

GloVe lines are ``word v1 ... vd``; word2vec text files add a first line ``V d``.  The file is
read into one reusable buffer, a chunk of complete lines at a time (:class:`ChunkReader`), and
each chunk is parsed by :func:`parse_lines`: each line is split once at its first space and the
kept lines' number parts are parsed by a single NumPy call per chunk.  Exact per-line checks run
only when a chunk looks wrong, so that errors can name ``file:line``.  The fast twin
(:func:`wintrain.kernels.vectors.parse_bytes`) reads the numbers straight from the bytes.

The vectors are written straight into one float32 matrix (:class:`MatrixBuilder`), so the peak
memory is about the matrix, the words and one chunk.  ``cache_dir`` keeps a parsed ``.npy`` copy.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import warnings
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wintrain.errors import WintrainError
from wintrain.kernels import pick

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
    kernels: str = "fast",
) -> Vectors:
    """Load GloVe / word2vec text vectors from ``path`` (gzip by ``.gz`` suffix or magic bytes).

    Args:
        path: the vectors file.
        dim: the expected dimension d, or None to accept the file's.
        keep: when given, only words in ``keep`` are loaded (the others are never parsed).
        cache_dir: when given, the parsed result is stored there as ``.npy`` + words file, keyed
            by the source path, size, mtime and ``keep``, and reused while they are unchanged.
        kernels: ``textbook`` parses every chunk of lines with :func:`parse_lines`; ``fast`` with its
            twin :func:`wintrain.kernels.vectors.parse_bytes` (the same numbers).

    Returns:
        :class:`Vectors` with (V, d) float32 ``matrix``; a repeated word keeps its first vector.

    Raises:
        WintrainError: missing/unreadable file, not UTF-8, empty, rows of unequal length,
            a non-numeric value, or a dimension other than ``dim``.
    """
    import wintrain.kernels.vectors  # noqa: F401  (registers the fast twin of parse_lines)

    path = Path(path)
    stat = _stat(path)
    parse_chunk = pick(parse_lines, kernels)
    if cache_dir is None:
        vectors = _parse_file(path, keep, parse_chunk)
    else:
        vectors = _load_cached(path, stat, keep, Path(cache_dir), parse_chunk)
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

PAD = 8  # b"0" bytes before the text: an 8-byte load that ends in the first number stays inside the buffer
SPARE = 16  # bytes kept free after the text: the aligned 8-byte word after a number's last byte exists
NEWLINE, ZERO = 10, 48


class ChunkReader:
    """Reads a binary stream into one reusable buffer, a chunk of complete lines at a time.

    After :meth:`next_chunk`, ``buffer[PAD:stop]`` holds whole lines, the last one ending in
    b"\\n" (a last line of the file without one is given one).  The partial line after the
    chunk moves to the front on the next call, so no view of the buffer may be kept from one
    chunk to the next.
    """

    def __init__(self, stream: io.BufferedIOBase, block_bytes: int) -> None:
        self._stream = stream
        self._block = max(1, block_bytes)
        self.buffer = self._allocate(2 * self._block)
        self.stop = PAD  # end of the current chunk
        self._filled = PAD  # end of the bytes read so far
        self._rest = PAD  # where the bytes after the current chunk start
        self._eof = False
        self.workspace: dict[str, Any] = {}  # work arrays a chunk parser keeps from one chunk to the next

    @staticmethod
    def _allocate(size: int) -> np.ndarray:
        """A buffer of at least ``size`` text bytes plus the padding, its length a multiple of 8."""
        buffer = np.empty((PAD + size + SPARE + 7) // 8 * 8, np.uint8)
        buffer[:PAD] = ZERO
        return buffer

    def words64(self) -> np.ndarray:
        """The buffer as aligned little-endian 64-bit words: byte ``8 k + j`` is byte ``j`` of word ``k``."""
        return self.buffer.view("<u8")

    def next_chunk(self) -> bool:
        """Read on to the end of the next complete line(s); False at the end of the stream."""
        rest = self._filled - self._rest
        if rest:
            self.buffer[PAD:PAD + rest] = self.buffer[self._rest:self._filled]
        self._filled = self._rest = self.stop = PAD + rest
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
        if self._filled == PAD:
            return False
        self._make_room(1)
        self.buffer[self._filled] = NEWLINE
        self._filled += 1
        self._rest = self.stop = self._filled
        return True

    def _make_room(self, size: int) -> None:
        """Grow the buffer (keeping its bytes) so that ``size`` more bytes fit after the text."""
        if self._filled + size + SPARE <= len(self.buffer):
            return
        grown = self._allocate(max(2 * len(self.buffer), self._filled + size))
        grown[:self._filled] = self.buffer[:self._filled]
        self.buffer = grown

    def crlf_to_lf(self) -> bool:
        """Make the chunk's CRLF line ends LF in place; False if it has none."""
        text = self.buffer[PAD:self.stop].tobytes()
        if b"\r\n" not in text:
            return False
        text = text.replace(b"\r\n", b"\n")
        self.buffer[PAD:PAD + len(text)] = np.frombuffer(text, np.uint8)
        self.stop = PAD + len(text)
        return True

    def lines(self) -> list[bytes]:
        """The chunk's lines without their b"\\n", CRLF line ends made LF."""
        text = self.buffer[PAD:self.stop].tobytes()
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
class Block:
    """A block of file lines and where it starts; ``lines[i]`` is line ``first_line + i``."""

    path: Path
    first_line: int
    lines: list[bytes]

    def where(self, index: int) -> str:
        """``file:line`` of ``lines[index]``."""
        return f"{self.path}:{self.first_line + index}"


def _parse_file(path: Path, keep: Collection[str] | None, parse_chunk: ChunkParser) -> Vectors:
    """Parse the whole file (no cache)."""
    words, matrix = _read_rows(path, keep, parse_chunk)
    return _first_occurrences(words, matrix)


def _read_rows(path: Path, keep: Collection[str] | None, parse_chunk: ChunkParser) -> tuple[list[str], np.ndarray]:
    """Every kept line's word and vector, in file order (repeated words included), each chunk after the
    first parsed by ``parse_chunk`` (:func:`parse_lines` or its fast twin)."""
    wanted = None if keep is None else Wanted(keep)
    words: list[str] = []
    rows: MatrixBuilder | None = None
    first_line = 1
    stream = _open_binary(path)
    try:
        with stream:
            reader = ChunkReader(stream, BLOCK_BYTES)
            while reader.next_chunk():
                if rows is None:  # the first lines: the dimension (and a word2vec header)
                    block = Block(path, first_line, reader.lines())
                    first_line += len(block.lines)
                    dim = _find_dim(block)
                    if dim is None:
                        continue
                    rows = MatrixBuilder(dim, _row_estimate(path, reader.stop - PAD, len(block.lines)))
                    block_words, values = parse_block(block, rows.dim, wanted)
                    words.extend(block_words)
                    rows.append(values)
                    continue
                chunk_words, n_lines = parse_chunk(reader, rows, wanted, Block(path, first_line, []))
                words.extend(chunk_words)
                first_line += n_lines
    except (OSError, EOFError, zlib.error) as error:
        raise WintrainError(
            f"{path}: cannot read the vectors file ({_reason(error)}); is it a complete file?"
        ) from None
    if rows is None:
        raise WintrainError(f"{path} contains no vectors; expected lines 'word v1 ... vd' (GloVe or word2vec text)")
    return words, rows.finish()


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


class Wanted:
    """The words to keep, as strings and as their UTF-8 bytes (the line path compares bytes)."""

    def __init__(self, words: Collection[str]) -> None:
        self.as_str = frozenset(words)
        self.as_bytes = frozenset(word.encode("utf-8") for word in self.as_str)


class MatrixBuilder:
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


def _find_dim(block: Block) -> int | None:
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


def _dim_after_header(block: Block, header_index: int, dim: int) -> int:
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


def parse_lines(reader: ChunkReader, rows: MatrixBuilder, wanted: Wanted | None, where: Block) -> tuple[list[str], int]:
    """Parse the reader's chunk of complete lines: each line is split at its first space into its word and
    its numbers, and the kept lines' numbers are read by NumPy's text parser; malformed lines are named
    ``file:line``.  The vectors go into ``rows``; returns the kept words and the number of lines.
    ``where`` gives the file and the first line's number (its ``lines`` are unused)."""
    block = Block(where.path, where.first_line, reader.lines())
    words, values = parse_block(block, rows.dim, wanted)
    rows.append(values)
    return words, len(block.lines)


ChunkParser = Callable[[ChunkReader, MatrixBuilder, "Wanted | None", Block], tuple[list[str], int]]


def parse_block(block: Block, dim: int, wanted: Wanted | None) -> tuple[list[str], np.ndarray]:
    """Return the kept words of a block of lines and their (n, d) float32 vectors."""
    words, numbers = _split_rows(block.lines, None if wanted is None else wanted.as_bytes)
    if numbers and numbers[0].endswith(b" "):  # word2vec writes a trailing space
        numbers = [row.rstrip(b" ") for row in numbers]
    values = _parse_matrix(b"\n".join(numbers), len(numbers), dim)
    if values is None:
        words, numbers = _checked_rows(block, dim, None if wanted is None else wanted.as_bytes)
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


def _checked_rows(block: Block, dim: int, wanted: frozenset[bytes] | None) -> _Rows:
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


def _check_row(block: Block, index: int, values: list[bytes], dim: int) -> None:
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


def _decode_words(block: Block, words: list[bytes]) -> list[str]:
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


def _load_cached(path: Path, stat: os.stat_result, keep: Collection[str] | None, cache_dir: Path,
                 parse_chunk: ChunkParser) -> Vectors:
    """Reuse the cached parse of ``path`` if present, else parse and store it."""
    files = _CacheFiles.for_source(cache_dir, path, stat, keep)
    cached = _read_cache(files)
    if cached is not None:
        return cached
    vectors = _parse_file(path, keep, parse_chunk)
    _write_cache(files, vectors, cache_dir)
    return vectors


def _read_cache(files: _CacheFiles) -> Vectors | None:
    """The cached vectors, or None when missing or damaged (they are then rebuilt).

    The matrix is memory-mapped read-only: rows are read from the page cache as they are used,
    so loading a cached 400k-word file costs little more than making its words (read as bytes
    and decoded in one call: exact, with no newline translation)."""
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
