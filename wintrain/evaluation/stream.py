"""Tag inputs of any size chunk by chunk: the readers, the unit of work, the writers and their order.

``wintrain predict`` runs here.  The parent process reads each input in chunks -- texts (non-empty
lines) or whole CoNLL-U sentences -- and hands each chunk to an executor (this process, worker
processes or a Dask cluster: :mod:`wintrain.evaluation.workers`).  A worker's unit of work,
:func:`tag_chunk`, turns a chunk into its formatted output with :meth:`Tagger.tag_texts` /
:meth:`Tagger.tag_tokens` and the ``format_*`` functions, and counts its tokens.  The parent writes
the outputs in input order as they come back, with at most ``capacity`` chunks in flight, so memory is
bounded by the chunk size, not the input.

* Standard input is tagged as it arrives: a chunk is also cut when the input stalls (nothing more
  within :data:`STALL_SECONDS` once a text is in), and every chunk is flushed when written.
* A bad line (invalid UTF-8, a malformed CoNLL-U line) stops its input with one ``file:line`` error,
  after everything before it -- the earlier lines of the same chunk too -- has been written.
* With ``--out-dir`` each output goes to a temporary file beside its final name and is renamed when
  complete: a file is either whole under its final name or absent.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import re
import select
import stat
import sys
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from wintrain.data.conllu import check_lines, conllu_forms, looks_like_conllu, replace_field, sentence_ends
from wintrain.data.reader import GZIP_MAGIC, UTF8_BOM
from wintrain.errors import CannotWrite, WintrainError, listed
from wintrain.evaluation.tagger import (
    DEFAULT_CHUNK,
    TaggedChunk,
    TaggedText,
    Tagger,
    _pretokenized_result,
    format_conll,
    format_conllu,
    format_json,
    format_text,
)

STALL_SECONDS = 0.1
"""How long standard input may stay silent, once a text is in, before the texts so far are tagged."""
BLOCK_BYTES = 1 << 20
"""Bytes read from an input at a time."""
MAX_CHUNK_CHARS = 1 << 20
"""A chunk of texts also ends after about this many characters (long lines make few, large texts)."""
SNIFF_BYTES = 1 << 16
"""At most this much of an input is looked at to recognise CoNLL-U."""
INPUT_FORMATS = ("auto", "text", "pretokenized", "conllu")
EXTENSIONS = {"text": ".txt", "json": ".jsonl", "conll": ".conll", "conllu": ".conllu"}
TEMPORARY_SUFFIX = ".partial"
_SENT_ID = re.compile(r"^# sent_id = ([0-9]+)$", re.MULTILINE)
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


# --------------------------------------------------------------------------- the unit of work


@dataclass(frozen=True)
class ChunkJob:
    """A chunk of one input as the parent hands it to a worker.

    ``kind`` is ``text`` or ``pretokenized`` (``texts`` holds the non-empty lines) or ``conllu``
    (``conllu`` holds whole sentences, byte for byte); ``name`` and ``first_line`` place error messages."""

    kind: str
    texts: list[str] = field(default_factory=list)
    conllu: str = ""
    name: str = "<stdin>"
    first_line: int = 1


@dataclass(frozen=True)
class OutputSpec:
    """What a worker makes of a chunk: ``output_format`` (text, json, conll, conllu) and, for CoNLL-U
    output, the ``field`` the tags go into (resolved by the parent)."""

    output_format: str = "text"
    field: str | None = None


@dataclass(frozen=True)
class ChunkOutput:
    """A tagged chunk: its ``text`` in the output format, its ``tokens``, and the ``sentences`` it numbers
    ``# sent_id = 1, 2, …`` (CoNLL-U made from tokens; the parent renumbers them to follow the chunks
    before) or 0."""

    text: str
    tokens: int
    sentences: int = 0


def tag_chunk(tagger: Tagger, job: ChunkJob, output: OutputSpec) -> ChunkOutput:
    """Tag one chunk and format it: the same text a whole-input run gives for these texts or sentences."""
    if job.kind == "conllu":
        forms = conllu_forms(job.conllu, name=job.name, first_line=job.first_line)
        tags = tagger.tag_tokens(forms)
        tokens = sum(map(len, forms))
        if output.output_format == "conllu":
            flat = [tag for row in tags for tag in row]
            text = replace_field(job.conllu, tagger.conllu_field(output.field), flat, name=job.name,
                                 first_line=job.first_line)
            return ChunkOutput(text, tokens)
        results = [_pretokenized_result(sentence, row) for sentence, row in zip(forms, tags)]
        return format_results(tagger, results, output, tokens)
    chunk = tagger.tag_texts(job.texts, pretokenized=job.kind == "pretokenized")
    tokens = chunk.n_tokens if isinstance(chunk, TaggedChunk) else sum(
        len(sentence) for result in chunk for sentence in result.sentences)
    return format_results(tagger, chunk, output, tokens)


def format_results(tagger: Tagger, results: Sequence[TaggedText], output: OutputSpec, tokens: int) -> ChunkOutput:
    """``results`` in the output format."""
    if output.output_format == "json":
        return ChunkOutput(format_json(results, tagger.span_scheme), tokens)
    if output.output_format == "conll":
        return ChunkOutput(format_conll(results), tokens)
    if output.output_format == "conllu":
        sentences = sum(len(result.sentences) for result in results)
        return ChunkOutput(format_conllu(results, tagger.conllu_field(output.field)), tokens, sentences)
    return ChunkOutput(format_text(results), tokens)


def renumber_sentences(text: str, offset: int) -> str:
    """CoNLL-U ``text`` with every ``# sent_id = N`` made ``N + offset``."""
    if offset == 0:
        return text
    return _SENT_ID.sub(lambda match: f"# sent_id = {int(match.group(1)) + offset}", text)


class Executor(Protocol):
    """Runs :func:`tag_chunk` somewhere: ``submit`` returns a future of its :class:`ChunkOutput`;
    ``capacity`` is how many chunks may be in flight at once."""

    capacity: int

    def submit(self, job: ChunkJob) -> Future[ChunkOutput] | Any: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Input:
    """One input: a file (plain or gzip) or standard input (``path`` None)."""

    name: str
    path: Path | None = None

    @property
    def size(self) -> int | None:
        """Its size in bytes (compressed for gzip), when it is a file."""
        if self.path is None:
            return None
        try:
            return self.path.stat().st_size
        except OSError:
            return None


STDIN = Input("<stdin>")


class Readable(Protocol):
    """What an input is read from: a file, a gzip stream, standard input."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class Writable(Protocol):
    """What an output file is written to: the file, or a gzip stream over it."""

    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


class RawInput:
    """The bytes of an input, a block at a time.

    A pipe, terminal or socket (``waits``) can be asked for a block with a timeout (``None`` back:
    nothing came in time; ``select`` on its descriptor); a file always answers at once.  ``position`` is
    how far into the input (the compressed file, for gzip) reading has got; :meth:`peek` reads ahead
    without consuming."""

    def __init__(self, name: str, stream: Readable, descriptor: int | None = None, waits: bool = False,
                 position: Callable[[], int] | None = None, owned: Sequence[Readable] = ()) -> None:
        self.name = name
        self._stream = stream
        self._descriptor = descriptor
        self._waits = waits
        self._position = position
        self._owned = list(owned)
        self._pushed = b""
        self._read = 0

    @property
    def position(self) -> int:
        return self._position() if self._position is not None else self._read - len(self._pushed)

    def read(self, timeout: float | None = None) -> bytes | None:
        """The next block: ``b""`` at the end, ``None`` when a pipe stayed silent for ``timeout`` seconds."""
        if self._pushed:
            data, self._pushed = self._pushed, b""
            return data
        descriptor = self._descriptor
        if descriptor is not None:
            if timeout is not None and self._waits:
                ready, _, _ = select.select([descriptor], [], [], timeout)
                if not ready:
                    return None
            data = self._guarded(lambda: os.read(descriptor, BLOCK_BYTES))
        else:
            data = self._guarded(lambda: self._stream.read(BLOCK_BYTES))
        self._read += len(data)
        return data

    def peek(self, limit: int, enough: Callable[[bytes], bool]) -> bytes:
        """Read ahead until ``enough(head)``, ``limit`` bytes, the end, or a silent pipe; the bytes stay unread."""
        head, self._pushed = self._pushed, b""
        while len(head) < limit and not enough(head):
            data = self.read(STALL_SECONDS if head else None)
            if not data:
                break
            head += data
        self._pushed = head
        return head

    def _guarded(self, read: Callable[[], bytes]) -> bytes:
        try:
            return read()
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            reason = str(error) or type(error).__name__
            raise WintrainError(
                f"{self.name}: cannot decompress the gzip file ({reason}); check that the file is complete, "
                "or give the uncompressed file"
            ) from None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise WintrainError(f"{self.name}: cannot read ({reason}); check the path and its permissions") from None

    def close(self) -> None:
        for stream in self._owned:
            stream.close()


def open_input(source: Input, stdin: IO[bytes] | None = None) -> RawInput:
    """Open a file (gzip by suffix or magic bytes) or standard input for reading in blocks."""
    if source.path is None:
        return _open_stream(source.name, stdin if stdin is not None else sys.stdin.buffer)
    path = source.path
    if path.is_dir():
        raise WintrainError(f"{path} is a directory, not a file; give the path of a file inside it, or use --out-dir")
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise WintrainError(f"{path}: no such file; check the path") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise WintrainError(f"{path}: cannot read the file ({reason}); check the path and its permissions") from None
    magic = handle.read(len(GZIP_MAGIC))
    handle.seek(0)
    if path.suffix == ".gz" or magic == GZIP_MAGIC:
        unpacked = gzip.GzipFile(fileobj=handle, mode="rb")
        return RawInput(str(path), unpacked, position=handle.tell, owned=[unpacked, handle])
    return RawInput(str(path), handle, position=handle.tell, owned=[handle])


def _open_stream(name: str, stream: IO[bytes]) -> RawInput:
    """Standard input: read from its descriptor (no Python buffering, so a line is seen when it arrives),
    with a timeout when it is a pipe, terminal or socket.  Gzip data (magic bytes) is decompressed."""
    descriptor: int | None = None
    waits = False
    try:
        descriptor = stream.fileno()
        mode = os.fstat(descriptor).st_mode
        waits = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        descriptor = None
    raw = RawInput(name, stream, descriptor, waits)
    head = raw.peek(len(GZIP_MAGIC), lambda data: len(data) >= len(GZIP_MAGIC))
    if head.startswith(GZIP_MAGIC):
        unpacked = gzip.GzipFile(fileobj=_Unread(raw), mode="rb")
        return RawInput(name, unpacked, owned=[unpacked])
    return raw


class _Unread(io.RawIOBase):
    """A :class:`RawInput` as a file object (for :class:`gzip.GzipFile` on standard input)."""

    def __init__(self, raw: RawInput) -> None:
        self._raw = raw
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        if not self._buffer:
            self._buffer = self._raw.read() or b""
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _complete_lines(head: bytes) -> list[bytes]:
    return head.split(b"\n")[:-1]


def sniff_conllu(raw: RawInput) -> bool:
    """Whether the input looks like CoNLL-U (:func:`~wintrain.data.conllu.looks_like_conllu` on its first lines)."""

    def enough(head: bytes) -> bool:
        lines = [line for line in _complete_lines(head) if line.strip() and not line.startswith(b"#")]
        return len(lines) >= 20

    head = raw.peek(SNIFF_BYTES, enough)
    complete = head if len(head) < SNIFF_BYTES else head[:head.rfind(b"\n") + 1]
    return looks_like_conllu(complete.removeprefix(UTF8_BOM).decode("utf-8", "replace"))


def input_kind(source: Input, raw: RawInput, input_format: str, pretokenized: bool) -> str:
    """``text``, ``pretokenized`` or ``conllu``: as asked, or for ``auto`` recognised by the name
    (``*.conllu``) or the first lines (10 TAB-separated fields with integer IDs)."""
    if input_format not in INPUT_FORMATS:
        raise WintrainError(f"unknown input format {input_format!r}; choose one of {', '.join(INPUT_FORMATS)}")
    if input_format != "auto":
        return input_format
    if source.name.removesuffix(".gz").endswith(".conllu") or sniff_conllu(raw):
        return "conllu"
    return "pretokenized" if pretokenized else "text"


@dataclass(frozen=True)
class ReadChunk:
    """A chunk as read: the job, and where reading had got to (for progress)."""

    job: ChunkJob
    position: int
    lines: int


class _Lines:
    """Complete lines of a :class:`RawInput`, decoded, block by block; the BOM dropped, line numbers kept."""

    def __init__(self, raw: RawInput) -> None:
        self.raw = raw
        self.rest = bytearray()  # the start of a line not finished yet (grows without copying)
        self.next_line = 1  # number of the first line not yet returned
        self.started = False
        self.ended = False

    def next(self, waiting: bool) -> tuple[str, int, WintrainError | None] | None:
        """(text of whole lines, number of its first line, the error of a bad byte after it) or None on a
        stall; ``ended`` is set after the last block."""
        while True:
            data = self.raw.read(STALL_SECONDS if waiting else None)
            if data is None:
                return None
            at_end = not data
            if not self.started:
                if len(self.rest) + len(data) < len(UTF8_BOM) and not at_end:
                    self.rest += data
                    continue
                data = bytes(self.rest + data).removeprefix(UTF8_BOM)
                self.rest = bytearray()
                self.started = True
            cut = len(data) if at_end else data.rfind(b"\n") + 1
            if cut == 0 and not at_end:  # no line ends in this block yet
                self.rest += data
                continue
            complete = bytes(self.rest) + data[:cut] if self.rest else data[:cut]
            self.rest = bytearray(data[cut:])
            self.ended = at_end
            first = self.next_line
            text, error = decode_lines(complete, self.raw.name, first)
            self.next_line += text.count("\n")
            if error is not None:
                self.ended = True
            return text, first, error


def decode_lines(data: bytes, name: str, first_line: int) -> tuple[str, WintrainError | None]:
    """``data`` decoded as UTF-8 up to the line of its first invalid byte, and the error for that byte."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        begin = data.rfind(b"\n", 0, error.start) + 1
        number = first_line + data.count(b"\n", 0, error.start)
        message = (f"{name}:{number}: invalid UTF-8 byte {data[error.start:error.start + 1]!r}; "
                   "the file must be UTF-8 encoded (convert it, e.g. with iconv)")
        return data[:begin].decode("utf-8"), WintrainError(message)


def text_chunks(raw: RawInput, kind: str, chunk: int = DEFAULT_CHUNK) -> Iterator[ReadChunk]:
    """The texts (non-empty lines, ``\\r`` dropped) of a raw-text input, ``chunk`` at a time (fewer when the
    input stalls or :data:`MAX_CHUNK_CHARS` is reached); a bad byte ends it with its error after the texts
    before it."""
    lines = _Lines(raw)
    pending: list[str] = []
    chars = 0
    chunk = max(1, chunk)

    def cut(texts: list[str]) -> ReadChunk:
        return ReadChunk(ChunkJob(kind, texts, name=raw.name), raw.position, lines.next_line - 1)

    while not lines.ended:
        read = lines.next(waiting=bool(pending))
        if read is None:  # the input stalled: tag what is in
            yield cut(pending)
            pending, chars = [], 0
            continue
        text, _, error = read
        parts = text.split("\n")
        if text.endswith("\n"):
            parts.pop()
        for line in parts:
            if line and not line.isspace():
                pending.append(line.removesuffix("\r"))
                chars += len(line)
                if len(pending) >= chunk or chars >= MAX_CHUNK_CHARS:
                    yield cut(pending)
                    pending, chars = [], 0
        if error is not None:
            if pending:
                yield cut(pending)
            raise error
    if pending:
        yield cut(pending)


def conllu_chunks(raw: RawInput, chunk: int = DEFAULT_CHUNK) -> Iterator[ReadChunk]:
    """The text of a CoNLL-U input in blocks of about ``chunk`` whole sentences, byte for byte (the BOM
    dropped), a block also ending when the input stalls; a malformed line or bad byte ends it with its
    ``file:line`` error after the whole sentences before it."""
    lines = _Lines(raw)
    buffer = ""
    first_line = 1
    ends: list[int] = []  # offsets in buffer just after each blank line
    chunk = max(1, chunk)

    def emit(size: int) -> Iterator[ReadChunk]:
        nonlocal buffer, first_line, ends
        block = buffer[:size]
        problem = check_lines(block, raw.name, first_line)
        if problem is not None:
            offset, error = problem
            whole = max((end for end in ends if end <= offset), default=0)
            if whole:
                yield _conllu_chunk(raw, block[:whole], first_line)
            raise error
        yield _conllu_chunk(raw, block, first_line)
        first_line += block.count("\n")
        buffer = buffer[size:]
        ends = [end - size for end in ends if end > size]

    while not lines.ended:
        read = lines.next(waiting=bool(ends))
        if read is None:  # the input stalled: tag the whole sentences in
            yield from emit(ends[-1])
            continue
        text, _, error = read
        offset = len(buffer)
        buffer += text
        ends += [offset + end for end in sentence_ends(text)]
        while len(ends) >= chunk:
            yield from emit(ends[chunk - 1])
        if error is not None:
            if ends:
                yield from emit(ends[-1])
            if buffer.strip():  # the sentence the bad byte is in, checked for an earlier bad line
                problem = check_lines(buffer, raw.name, first_line)
                if problem is not None:
                    raise problem[1]
            raise error
    if buffer:
        yield from emit(len(buffer))


def _conllu_chunk(raw: RawInput, block: str, first_line: int) -> ReadChunk:
    job = ChunkJob("conllu", conllu=block, name=raw.name, first_line=first_line)
    return ReadChunk(job, raw.position, first_line + block.count("\n") - 1)


def read_chunks(raw: RawInput, kind: str, chunk: int = DEFAULT_CHUNK) -> Iterator[ReadChunk]:
    """The chunks of an input of ``kind`` (see :func:`input_kind`)."""
    if kind == "conllu":
        return conllu_chunks(raw, chunk)
    return text_chunks(raw, kind, chunk)


# --------------------------------------------------------------------------- writing


class Sink(Protocol):
    """Where one output goes: written a chunk at a time, then finished (or discarded)."""

    name: str
    sentences: int  # CoNLL-U sentences numbered so far

    def write(self, text: str) -> None: ...

    def finish(self) -> None: ...

    def discard(self) -> None: ...


def cannot_write(name: str, error: OSError, what: str = "") -> WintrainError:
    """The one-line error for a failed write: exit 1 for a full disk or quota, else 2."""
    reason = error.strerror or type(error).__name__
    if error.errno in _DISK_FULL:
        return CannotWrite(f"{name}: cannot write ({reason}){what}; free space and run again")
    return WintrainError(f"{name}: cannot write ({reason}){what}; check the folder and its permissions")


class StreamSink:
    """A text or binary stream (standard output by default): every chunk written and flushed at once.  A
    text stream with a binary buffer underneath (standard output) gets UTF-8 bytes, whatever the locale."""

    def __init__(self, stream: IO[str] | IO[bytes] | None = None, name: str = "standard output") -> None:
        target: Any = stream if stream is not None else sys.stdout
        self._binary: Any = None
        self._text: Any = None
        if isinstance(target, io.TextIOWrapper):
            target.flush()
            self._binary = target.buffer
        elif isinstance(target, (io.RawIOBase, io.BufferedIOBase)):
            self._binary = target
        else:
            self._text = target
        self.name = name
        self.sentences = 0

    def write(self, text: str) -> None:
        try:
            if self._binary is not None:
                self._binary.write(text.encode("utf-8"))
                self._binary.flush()
            elif self._text is not None:
                self._text.write(text)
                self._text.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise cannot_write(self.name, error) from None

    def finish(self) -> None:
        """(A stream stays open.)"""

    def discard(self) -> None:
        """(What was written to a stream stays written.)"""


class FileSink:
    """A file written atomically: into ``.NAME.partial`` beside it, renamed to ``NAME`` when complete
    (after an fsync), so a file under its final name is always whole; gzip-compressed when asked (no
    time stamp or name in the header, so equal inputs give equal bytes)."""

    def __init__(self, path: Path, compress: bool = False) -> None:
        self.path = path
        self.name = str(path)
        self.temporary = path.with_name(f".{path.name}{TEMPORARY_SUFFIX}")
        self.sentences = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.temporary, "wb")
        except OSError as error:
            raise cannot_write(str(path), error) from None
        self._stream: Writable = (gzip.GzipFile(filename="", mode="wb", fileobj=self._file, mtime=0,
                                                 compresslevel=6) if compress else self._file)

    def write(self, text: str) -> None:
        try:
            self._stream.write(text.encode("utf-8"))
        except OSError as error:
            self.discard()
            raise cannot_write(self.name, error, "; nothing was written under that name") from None

    def finish(self) -> None:
        try:
            if self._stream is not self._file:
                self._stream.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self.temporary, self.path)
        except OSError as error:
            self.discard()
            raise cannot_write(self.name, error, "; nothing was written under that name") from None

    def discard(self) -> None:
        for stream in (self._stream, self._file):
            try:
                stream.close()
            except OSError:
                pass
        self.temporary.unlink(missing_ok=True)


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Task:
    """One input and where it goes: ``output`` (a file) or, when None, the shared stream sink."""

    source: Input
    output: Path | None = None


@dataclass
class Stats:
    """What a run has done so far (progress and the final summary)."""

    files: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_total: int | None = None
    bytes_done: int = 0
    lines: int = 0
    tokens: int = 0
    seconds: float = 0.0
    current: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


Report = Callable[[Stats], None]


@dataclass
class _Running:
    """A task being tagged: its sink, its chunks still in flight, and whether it failed."""

    task: Task
    sink: Sink
    in_flight: int = 0
    read_all: bool = False
    failed: bool = False


class Pipeline:
    """Reads tasks' inputs in chunks, keeps up to ``executor.capacity`` chunks in flight, and writes the
    tagged chunks in input order.

    An input's own error (it cannot be read, a bad line) ends that input once everything read before it
    is written.  With ``keep_going`` (``--out-dir``) its output is then discarded and the other inputs go
    on (their errors are in ``stats.errors`` at the end); otherwise the error stops the run.  A worker's
    error stops its input at once.  A write that fails (a full disk) stops the run, every unfinished output
    discarded."""

    def __init__(self, executor: Executor, input_format: str = "auto",
                 pretokenized: bool = False, chunk: int = DEFAULT_CHUNK, compress: bool = False,
                 stream: IO[str] | IO[bytes] | None = None, stdin: IO[bytes] | None = None,
                 report: Report | None = None, keep_going: bool = False) -> None:
        self.executor = executor
        self.input_format = input_format
        self.pretokenized = pretokenized
        self.chunk = chunk
        self.compress = compress
        self.stdin = stdin
        self.report = report
        self.keep_going = keep_going
        self._stream_sink = StreamSink(stream) if not keep_going else None
        self._pending: deque[tuple[_Running, Any, ReadChunk]] = deque()
        self._open: list[_Running] = []
        self._done_bytes = 0
        self._done_lines = 0
        self._started = time.perf_counter()
        self.stats = Stats()

    def run(self, tasks: Sequence[Task], skipped: int = 0) -> Stats:
        """Tag every task; returns the summary."""
        self.stats.files = len(tasks) + skipped
        self.stats.skipped = skipped
        sizes = [task.source.size for task in tasks]
        self.stats.bytes_total = None if None in sizes else sum(size or 0 for size in sizes)
        try:
            for task in tasks:
                self._run_task(task)
            while self._pending:
                self._write_head()
        except _WriteStopped as stop:
            self._discard_open()
            raise stop.error from None
        except BaseException:
            self._discard_open()
            raise
        self._report()
        return self.stats

    def _run_task(self, task: Task) -> None:
        self.stats.current = task.source.name
        raw: RawInput | None = None
        running: _Running | None = None
        try:
            raw = open_input(task.source, self.stdin)
            kind = input_kind(task.source, raw, self.input_format, self.pretokenized)
            chunks = read_chunks(raw, kind, self.chunk)
            running = _Running(task, self._sink_for(task))
            self._open.append(running)
            while True:
                try:
                    read = next(chunks)
                except StopIteration:
                    break
                self._pending.append((running, self.executor.submit(read.job), read))
                running.in_flight += 1
                while len(self._pending) >= self.executor.capacity:
                    self._write_head()
        except WintrainError as error:  # the input's own: unreadable, a bad line
            if not self.keep_going:
                while self._pending:  # everything read before the error is written first
                    self._write_head()
                raise
            self._fail(running, error, task)
        finally:
            if raw is not None:
                raw.close()
        self._done_bytes += task.source.size or 0
        if running is not None:
            running.read_all = True
            self._maybe_finish(running)

    def _discard_open(self) -> None:
        for running in self._open:
            running.sink.discard()
        self._open.clear()

    def _sink_for(self, task: Task) -> Sink:
        if task.output is None:
            assert self._stream_sink is not None
            return self._stream_sink
        try:
            return FileSink(task.output, self.compress)
        except WintrainError as error:
            raise _WriteStopped(error) from None

    def _write_head(self) -> None:
        running, future, read = self._pending.popleft()
        running.in_flight -= 1
        if running.failed:  # its input failed: the rest of it is dropped
            future.cancel()
            self._maybe_finish(running)
            return
        try:
            result: ChunkOutput = future.result()
        except BrokenExecutor:
            raise _WriteStopped(WorkerStopped(
                "a worker process stopped (killed, or out of memory?); outputs not finished were removed; run "
                "again, with fewer --jobs or a smaller --chunk if memory ran out")) from None
        except WintrainError as error:
            if not self.keep_going:
                raise _WriteStopped(error) from None
            self._fail(running, error, running.task)
            return
        text = result.text
        if result.sentences:
            text = renumber_sentences(text, running.sink.sentences)
            running.sink.sentences += result.sentences
        try:
            running.sink.write(text)
        except WintrainError as error:
            raise _WriteStopped(error) from None
        self.stats.tokens += result.tokens
        self.stats.lines = self._done_lines + read.lines
        self.stats.bytes_done = self._done_bytes + read.position
        self._maybe_finish(running)
        self._report()

    def _maybe_finish(self, running: _Running) -> None:
        if not running.read_all or running.in_flight or running not in self._open:
            return
        self._open.remove(running)
        self._done_lines = self.stats.lines
        if not running.failed:
            try:
                running.sink.finish()
            except WintrainError as error:
                raise _WriteStopped(error) from None
            if running.task.output is not None:
                self.stats.done += 1
        self.stats.bytes_done = self._done_bytes
        self._report()

    def _fail(self, running: _Running | None, error: WintrainError, task: Task) -> None:
        self.stats.failed += 1
        self.stats.errors.append(str(error))
        if running is not None and not running.failed:
            running.failed = True
            running.sink.discard()
            running.read_all = True
            self._maybe_finish(running)

    def _report(self) -> None:
        self.stats.seconds = time.perf_counter() - self._started
        if self.report is not None:
            self.report(self.stats)


class WorkerStopped(WintrainError):
    """A worker process died under the run (exit 1: the run stopped on its own)."""

    exit_code = 1


class _WriteStopped(Exception):
    """A write or a worker failed: the run stops at once (nothing after it is written)."""

    def __init__(self, error: WintrainError) -> None:
        super().__init__(str(error))
        self.error = error


# --------------------------------------------------------------------------- many files


def expand_inputs(patterns: Sequence[str]) -> list[Path]:
    """Files named by ``patterns``: paths, globs (``*``, ``?``, ``[...]``, ``**``) and folders (every file
    under it, recursively, hidden ones and unfinished ``.partial`` outputs left out), in order, each once."""
    import glob

    found: list[Path] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            files = [path for path in matches if path.is_file()]
            if not files:
                raise WintrainError(f"{pattern}: no file matches the pattern; check it (quote it to let wintrain "
                                    "expand it)")
            found += files
        elif Path(pattern).is_dir():
            found += sorted(path for path in Path(pattern).rglob("*") if path.is_file() and not any(
                part.startswith(".") for part in path.relative_to(pattern).parts))
        else:
            found.append(Path(pattern))
    unique = list(dict.fromkeys(found))
    return unique


def common_base(patterns: Sequence[str], files: Sequence[Path]) -> Path:
    """The folder output names are relative to: the deepest folder holding every input (a folder given as
    an input counts as holding its files, so ``corpus/`` maps ``corpus/a/b.txt`` to ``a/b.txt``)."""
    roots = [Path(p).resolve() for p in patterns if Path(p).is_dir()]
    roots += [path.resolve().parent for path in files]
    return Path(os.path.commonpath([str(root) for root in roots])) if roots else Path.cwd()


def output_path(path: Path, base: Path, out_dir: Path, output_format: str, compress: bool) -> Path:
    """Where ``path`` is written: its name relative to ``base`` under ``out_dir``, the format's extension in
    place of the input's (``.gz`` dropped), ``.gz`` added when compressing."""
    relative = path.resolve().relative_to(base)
    name = relative.name.removesuffix(".gz")
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    target = out_dir / relative.parent / (stem + EXTENSIONS[output_format])
    return target.with_name(target.name + ".gz") if compress else target


@dataclass(frozen=True)
class Plan:
    """The tasks of an ``--out-dir`` run, and the inputs whose output is already there."""

    tasks: list[Task]
    skipped: list[Task]


def plan_out_dir(patterns: Sequence[str], out_dir: Path, output_format: str, compress: bool = False,
                 force: bool = False) -> Plan:
    """One task per input file; one whose output exists is skipped unless ``force`` (a ``.partial`` file a
    killed run left does not count: that input is tagged again)."""
    inside = out_dir.resolve()
    files = [path for path in expand_inputs(patterns) if inside not in path.resolve().parents]  # not its outputs
    if not files:
        raise WintrainError("no input files; give files, folders or patterns to tag")
    base = common_base(patterns, files)
    tasks: list[Task] = []
    skipped: list[Task] = []
    targets: dict[Path, Path] = {}
    for path in files:
        target = output_path(path, base, out_dir, output_format, compress)
        if target in targets:
            raise WintrainError(f"{path} and {targets[target]} would both be written to {target}; "
                                "rename one, or tag them into different --out-dir folders")
        if target.resolve() == path.resolve():
            raise WintrainError(f"{path} would be overwritten by its own output; choose another --out-dir")
        targets[target] = path
        task = Task(Input(str(path), path), target)
        (skipped if target.exists() and not force else tasks).append(task)
    return Plan(tasks, skipped)


def failed_message(stats: Stats) -> str:
    """The final error line of a run with failed inputs."""
    if len(stats.errors) == 1:
        return stats.errors[0]
    return f"{len(stats.errors)} inputs failed; the first: {stats.errors[0]} (all: {listed(stats.errors, 3)})"
