"""Load pre-trained word vectors from GloVe or word2vec text files (plain or gzip).

GloVe lines are ``word v1 ... vd``; word2vec text files add a first line ``V d``.  The file is
read in blocks of complete lines; each line is split once at its first space, the kept lines'
number parts are joined and parsed by a single numpy call per block.  Exact per-line checks
run only when a block looks wrong, so that errors can name ``file:line``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import warnings
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wintrain.errors import WintrainError

BLOCK_BYTES = 1 << 23
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


def _line_batches(stream: io.BufferedIOBase) -> Iterator[tuple[int, list[bytes]]]:
    """Yield ``(number of the first line, complete lines)`` blocks of ``stream``, 1-based.

    CRLF line ends become LF.
    """
    first_line, carry = 1, b""
    while block := stream.read(BLOCK_BYTES):
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
        lines = block.split(b"\n")
        lines[0] = _without_cr(carry + lines[0]) if len(lines) > 1 else carry + lines[0]
        carry = lines.pop()
        if lines:
            yield first_line, lines
            first_line += len(lines)
    if carry:
        yield first_line, [_without_cr(carry)]


def _without_cr(line: bytes) -> bytes:
    """``line`` without one trailing carriage return (a CRLF split across two reads)."""
    return line[:-1] if line.endswith(b"\r") else line


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
    wanted = None if keep is None else frozenset(word.encode("utf-8") for word in keep)
    words: list[str] = []
    blocks: list[np.ndarray] = []
    dim = None
    stream = _open_binary(path)
    try:
        with stream:
            for first_line, lines in _line_batches(stream):
                block = _Block(path, first_line, lines)
                if dim is None:
                    dim = _find_dim(block)
                    if dim is None:
                        continue
                block_words, values = _parse_block(block, dim, wanted)
                words.extend(block_words)
                blocks.append(values)
    except (OSError, EOFError, zlib.error) as error:
        raise WintrainError(
            f"{path}: cannot read the vectors file ({_reason(error)}); is it a complete file?"
        ) from None
    if dim is None:
        raise WintrainError(f"{path} contains no vectors; expected lines 'word v1 ... vd' (GloVe or word2vec text)")
    vectors = _first_occurrences(words, _stack(blocks, dim))
    release_freed_memory()
    return vectors


def release_freed_memory() -> None:
    """Hand memory freed by the parse back to the system (glibc ``malloc_trim``).

    Parsing a large text file leaves tens of MB of freed line buffers that the C allocator
    would keep for the process (65 MB after the 400k-word GloVe file), raising the peak of
    everything that follows.  A no-op where glibc is not available.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _stack(blocks: list[np.ndarray], dim: int) -> np.ndarray:
    """Concatenate (n_i, d) blocks, releasing each once copied (peak: the result plus one block,
    not twice the matrix as ``np.concatenate`` needs)."""
    matrix = np.empty((sum(len(block) for block in blocks), dim), np.float32)
    offset = 0
    blocks.reverse()
    while blocks:
        block = blocks.pop()
        matrix[offset:offset + len(block)] = block
        offset += len(block)
    return matrix


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
    first_row = dict(zip(reversed(words), range(n_rows - 1, -1, -1)))
    if len(first_row) == n_rows:
        return Vectors(words, matrix)
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
    so loading a cached 400k-word file costs little more than reading its words."""
    try:
        matrix = np.load(files.matrix, allow_pickle=False, mmap_mode="r")
        text = files.words.read_text(encoding="utf-8")
    except (OSError, ValueError, EOFError):
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
        words_tmp.write_text("\n".join(vectors.words), encoding="utf-8")
        os.replace(words_tmp, files.words)
        os.replace(matrix_tmp, files.matrix)
    except OSError as error:
        raise WintrainError(
            f"cannot write the vectors cache in {cache_dir} ({_reason(error)}); "
            "make the directory writable or turn the cache off"
        ) from None
