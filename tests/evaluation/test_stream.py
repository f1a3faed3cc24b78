"""Chunked tagging equals whole-input tagging, in order, in bounded memory; errors stop where they should."""

from __future__ import annotations

import errno
import gzip
import io
import os
import threading
import time
import tracemalloc
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from wintrain.errors import CannotWrite, WintrainError
from wintrain.evaluation import stream
from wintrain.evaluation.stream import (
    STDIN,
    ChunkJob,
    FileSink,
    Input,
    OutputSpec,
    Pipeline,
    RawInput,
    Task,
    plan_out_dir,
    renumber_sentences,
    tag_chunk,
    text_chunks,
)
from wintrain.evaluation.tagger import (
    TaggedChunk,
    Tagger,
    _pretokenized_result,
    format_conll,
    format_conllu,
    format_json,
    format_text,
)
from wintrain.evaluation.workers import LocalExecutor

import conftest

WORDS = ["Alice", "visited", "Paris", "yesterday", "Bob", "left", "Rome", "and", "saw", "Oslo", "Mr.", "U.S.",
         "don't", "(Vienna)", "Élysée", "3.5%", "e-mail", "“quoted”", "—", "Carol's", "liked", "Madrid", "it"]
FORMATS = ["text", "json", "conll", "conllu"]


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Tagger:
    folder = tmp_path_factory.mktemp("ner")
    return Tagger.load(conftest.tiny_ner_checkpoint(folder, epochs=4))


def raw_texts(n: int, seed: int = 0) -> list[str]:
    """Lines of one to three sentences (some cut at 100 tokens), punctuation, Unicode."""
    rng = np.random.default_rng(seed)
    lines = []
    for index in range(n):
        length = 120 if index % 17 == 5 else int(rng.integers(1, 25))
        words = [WORDS[i] for i in rng.integers(0, len(WORDS), length)]
        for cut in sorted(rng.integers(1, length + 1, int(rng.integers(0, 3)))):
            words[cut - 1] += "."
        lines.append(" ".join(words) + rng.choice([".", "!", "", " ?"]))
    return lines


def as_bytes(lines: list[str], crlf: bool = False) -> bytes:
    """The lines as a file: a BOM, blank lines between some, CRLF line ends when asked, no final newline."""
    end = "\r\n" if crlf else "\n"
    body = end.join(line + (end + "  " if i % 7 == 3 else "") for i, line in enumerate(lines))
    return ("\ufeff" + body).encode("utf-8")


def expected(tagger: Tagger, texts: list[str], fmt: str, pretokenized: bool = False) -> str:
    """The general path on the whole input at once: TaggedText objects and the format functions."""
    results = list(tagger.tag_texts(texts, pretokenized))
    return {"text": lambda: format_text(results), "conll": lambda: format_conll(results),
            "json": lambda: format_json(results, tagger.span_scheme),
            "conllu": lambda: format_conllu(results, "misc")}[fmt]()


def run(tagger: Tagger, data: bytes, fmt: str = "text", chunk: int = 2000, input_format: str = "auto",
        pretokenized: bool = False, executor=None) -> str:
    output = OutputSpec(fmt, "misc" if fmt == "conllu" else None)
    buffer = io.StringIO()
    pipeline = Pipeline(executor or LocalExecutor(tagger, output), input_format, pretokenized, chunk,
                        stream=buffer, stdin=io.BytesIO(data))
    pipeline.run([Task(STDIN)])
    return buffer.getvalue()


def conllu_document(tagger: Tagger, n: int) -> str:
    """CoNLL-U with comments, multiword tokens, empty nodes, runs of blank lines and CRLF in places."""
    blocks = []
    for index, text in enumerate(raw_texts(n, seed=5)):
        forms = text.split()
        lines = [f"# sent_id = s{index}", f"# text = {text}"]
        for number, form in enumerate(forms, start=1):
            if number == 2 and index % 3 == 0:
                lines.append(f"2-3\t{form}{form}\t_\t_\t_\t_\t_\t_\t_\t_")
            lines.append(f"{number}\t{form}\t_\tX\t_\t_\t0\troot\t_\t_")
            if number == 1 and index % 5 == 0:
                lines.append("1.1\tghost\t_\t_\t_\t_\t_\t_\t0:root\t_")
        end = "\r\n" if index % 4 == 1 else "\n"
        blocks.append(end.join(lines) + end + ("\n" if index % 6 == 2 else ""))
    return "\n".join(blocks) + "\n"


# --------------------------------------------------------------------------- chunks equal the whole


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("chunk", [1, 3, 2000])
def test_chunked_output_equals_the_whole_for_every_format(tagger, fmt, chunk, monkeypatch):
    monkeypatch.setattr(stream, "BLOCK_BYTES", 37)  # lines straddle the reads, a BOM and CRLFs too
    texts = raw_texts(60)
    for crlf in (False, True):
        assert run(tagger, as_bytes(texts, crlf), fmt, chunk) == expected(tagger, texts, fmt)
    assert run(tagger, as_bytes(texts), fmt, chunk, pretokenized=True) == expected(tagger, texts, fmt, True)


@pytest.mark.parametrize("chunk", [1, 4, 2000])
def test_conllu_round_trip_is_byte_for_byte_and_other_formats_follow(tagger, chunk, monkeypatch):
    monkeypatch.setattr(stream, "BLOCK_BYTES", 53)
    document = conllu_document(tagger, 40)
    data = document.encode("utf-8")
    written = run(tagger, data, "conllu", chunk)  # recognised from its lines on standard input
    assert written == tagger.tag_conllu(document, "misc")
    old, new = document.split("\n"), written.split("\n")
    assert len(old) == len(new)
    for before, after in zip(old, new):
        fields = before.rstrip("\r").split("\t")
        if len(fields) == 10 and fields[0].isdigit():
            assert after.rstrip("\r").split("\t")[:9] == fields[:9] and after.endswith("\r") == before.endswith("\r")
        else:
            assert after == before  # comments, ranges, empty nodes, blank lines
    from wintrain.data.conllu import conllu_forms

    forms = conllu_forms(document)
    results = [_pretokenized_result(f, t) for f, t in zip(forms, tagger.tag_tokens(forms))]
    assert run(tagger, data, "conll", chunk) == format_conll(results)
    assert run(tagger, data, "conllu", chunk, input_format="text") != written  # the override reads it as text


def test_conllu_made_from_tokens_numbers_sentences_across_chunks(tagger):
    texts = raw_texts(30)
    whole = expected(tagger, texts, "conllu")
    assert run(tagger, as_bytes(texts), "conllu", 1) == whole
    assert [int(line.split()[-1]) for line in whole.splitlines() if line.startswith("# sent_id")] == \
        list(range(1, whole.count("# sent_id") + 1))
    assert renumber_sentences("# sent_id = 2\n1\tx\n# sent_id = 10\n", 5) == "# sent_id = 7\n1\tx\n# sent_id = 15\n"


def test_a_tagged_chunk_is_a_sequence_of_tagged_texts_and_formats_as_one(tagger):
    texts = ["Alice visited Paris.", "", "   ", "Bob left. Carol saw Oslo!"]
    chunk = tagger.tag_texts(texts)
    assert isinstance(chunk, TaggedChunk) and len(chunk) == 4 and chunk.n_tokens == 11
    results = list(chunk)
    assert chunk == results and chunk[0] == results[0] and chunk[-2:] == results[-2:]
    assert results[1].sentences == [] and [len(s) for s in results[3].sentences] == [3, 4]
    assert format_text(chunk) == format_text(results) == (
        "".join(f"{t.text} {g}\n" for s, gs in zip(results[0].sentences, results[0].tags) for t, g in zip(s, gs))
        + "\n\n\n" + format_text(results[3:]))
    assert format_conll(chunk) == format_conll(results)
    assert format_text(tagger.tag_texts([])) == format_conll(tagger.tag_texts([])) == ""


def test_tag_stream_takes_a_generator_lazily(tagger):
    texts = raw_texts(25)
    pulled = []

    def lines():
        for text in texts:
            pulled.append(text)
            yield text

    tagged = tagger.tag_stream(lines(), chunk=4)
    first = next(tagged)
    assert len(pulled) == 4  # one chunk read, not the whole input
    assert [first, *tagged] == list(tagger.tag_texts(texts))
    assert len(pulled) == 25


def test_tag_conllu_stream_equals_the_whole(tagger):
    document = conllu_document(tagger, 12)
    lines = io.StringIO(document, newline="")
    assert "".join(tagger.tag_conllu_stream(lines, "misc", chunk=2)) == tagger.tag_conllu(document, "misc")


# --------------------------------------------------------------------------- order, memory, standard input


class Shuffled:
    """Finishes chunks out of order (later ones sooner) on threads; counts chunks in flight."""

    capacity = 3

    def __init__(self, tagger: Tagger, output: OutputSpec) -> None:
        self.pool = ThreadPoolExecutor(3)
        self.tagger, self.output = tagger, output
        self.in_flight = self.most = 0
        self.count = 0
        self.lock = threading.Lock()

    def submit(self, job: ChunkJob) -> Future:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            delay = 0.02 * (3 - self.count % 3)
            self.count += 1

        def work():
            time.sleep(delay)
            with self.lock:
                self.in_flight -= 1
            return tag_chunk(self.tagger, job, self.output)

        return self.pool.submit(work)

    def close(self) -> None:
        self.pool.shutdown()


def test_output_keeps_input_order_with_bounded_chunks_in_flight(tagger):
    texts = raw_texts(40)
    executor = Shuffled(tagger, OutputSpec("conll"))
    assert run(tagger, as_bytes(texts), "conll", 3, executor=executor) == expected(tagger, texts, "conll")
    assert executor.count == 14 and executor.most <= executor.capacity
    executor.close()


def peak_bytes(tagger: Tagger, n_texts: int, chunk: int) -> int:
    texts = raw_texts(n_texts, seed=1)
    data = as_bytes(texts)
    output = OutputSpec("conll")
    sink = open(os.devnull, "w")
    tracemalloc.start()
    try:
        Pipeline(LocalExecutor(tagger, output), chunk=chunk, stream=sink,
                 stdin=io.BytesIO(data)).run([Task(STDIN)])
        return tracemalloc.get_traced_memory()[1] - len(data)  # the input itself sits in the BytesIO
    finally:
        tracemalloc.stop()
        sink.close()


def test_peak_memory_follows_the_chunk_not_the_input(tagger, monkeypatch):
    monkeypatch.setattr(stream, "BLOCK_BYTES", 4096)
    peak_bytes(tagger, 20, 20)  # tables and caches built once, outside the comparison
    small, large = peak_bytes(tagger, 60, 15), peak_bytes(tagger, 600, 15)
    assert large < 1.5 * small  # ten times the input, about the same peak
    assert peak_bytes(tagger, 600, 600) > 3 * small  # while one chunk of all of it is bigger


def test_a_stalled_pipe_gets_its_lines_tagged_before_the_end(tagger):
    read_end, write_end = os.pipe()
    raw = RawInput("<pipe>", os.fdopen(read_end, "rb", buffering=0), read_end, waits=True)
    chunks = text_chunks(raw, "text", chunk=1000)
    os.write(write_end, b"Alice visited Paris.\nBob left")
    started = time.perf_counter()
    first = next(chunks)  # the second line is unfinished and the pipe stays open: the first is tagged now
    assert first.job.texts == ["Alice visited Paris."] and time.perf_counter() - started < 2
    os.write(write_end, b" Rome.\n")
    os.close(write_end)
    assert [read.job.texts for read in chunks] == [["Bob left Rome."]]


# --------------------------------------------------------------------------- bad lines and full disks


def test_bad_utf8_in_the_middle_names_its_line_after_writing_everything_before(tagger):
    texts = raw_texts(50)
    good = "\n".join(texts[:23]).encode() + b"\n"
    data = good + b"Alice \xff Paris\n" + "\n".join(texts[24:]).encode()
    output = OutputSpec("conll")
    buffer = io.StringIO()
    with pytest.raises(WintrainError) as stopped:
        Pipeline(LocalExecutor(tagger, output), chunk=10, stream=buffer,
                 stdin=io.BytesIO(data)).run([Task(STDIN)])
    assert str(stopped.value).startswith("<stdin>:24: invalid UTF-8 byte b'\\xff'")
    assert buffer.getvalue() == expected(tagger, texts[:23], "conll")  # the three lines of its chunk too


def test_a_malformed_conllu_line_names_its_line_after_the_sentences_before(tagger, tmp_path):
    document = conllu_document(tagger, 20)
    lines = document.split("\n")
    bad = next(i for i, line in enumerate(lines) if line.startswith("# sent_id = s11"))
    lines[bad + 3] = "3 spaces instead of tabs"
    path = tmp_path / "bad.txt"  # CoNLL-U under any name
    path.write_text("\n".join(lines), encoding="utf-8")
    output = OutputSpec("conllu", "misc")
    buffer = io.StringIO()
    with pytest.raises(WintrainError) as stopped:
        Pipeline(LocalExecutor(tagger, output), chunk=4, stream=buffer).run([Task(Input(str(path), path))])
    assert str(stopped.value).startswith(f"{path}:{bad + 4}: expected 10 TAB-separated fields")
    before = "\n".join(lines[:bad]) + "\n"
    assert buffer.getvalue() == tagger.tag_conllu(before, "misc")  # sentences 0-10, the last chunk's too


class FillsUp:
    """A file whose disk is full after ``room`` writes."""

    def __init__(self, file, room: int) -> None:
        self.file, self.room = file, room

    def write(self, data: bytes) -> int:
        self.room -= 1
        if self.room < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.file.write(data)

    def __getattr__(self, name: str):
        return getattr(self.file, name)


def test_a_full_disk_is_one_line_exit_1_and_leaves_no_file(tagger, tmp_path, monkeypatch):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(raw_texts(30)), encoding="utf-8")
    output = OutputSpec("text")
    monkeypatch.setattr(stream, "open", lambda path, mode: FillsUp(open(path, mode), 2), raising=False)
    target = tmp_path / "out" / "in.txt"
    pipeline = Pipeline(LocalExecutor(tagger, output), chunk=5, keep_going=True)
    with pytest.raises(CannotWrite) as stopped:
        pipeline.run([Task(Input(str(source), source), target)])
    message = str(stopped.value)
    assert stopped.value.exit_code == 1 and "\n" not in message
    assert message.startswith(f"{target}: cannot write (No space left on device)")
    assert list(target.parent.iterdir()) == []  # nothing under the final name, no temporary file either


def test_standard_output_full_is_one_line_exit_1(tagger):
    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    output = OutputSpec("text")
    with pytest.raises(CannotWrite, match="^standard output: cannot write \\(No space left on device\\)"):
        Pipeline(LocalExecutor(tagger, output), stream=Full(),
                 stdin=io.BytesIO(b"Alice visited Paris.\n")).run([Task(STDIN)])


# --------------------------------------------------------------------------- many files


def write_corpus(root: Path) -> list[str]:
    texts = raw_texts(45, seed=3)
    (root / "a" / "b").mkdir(parents=True)
    (root / "one.txt").write_text("\n".join(texts[:15]), encoding="utf-8")
    (root / "a" / "two.txt").write_text("\n".join(texts[15:30]), encoding="utf-8")
    with gzip.open(root / "a" / "b" / "three.txt.gz", "wt", encoding="utf-8") as packed:
        packed.write("\n".join(texts[30:]))
    return texts


def tag_folder(tagger, patterns, out_dir, force=False, compress=False, fmt="conll"):
    output = OutputSpec(fmt)
    plan = plan_out_dir([str(p) for p in patterns], out_dir, fmt, compress, force)
    pipeline = Pipeline(LocalExecutor(tagger, output), chunk=4, compress=compress, keep_going=True)
    return pipeline.run(plan.tasks, len(plan.skipped))


def test_out_dir_mirrors_the_inputs_and_a_rerun_skips_what_is_done(tagger, tmp_path):
    texts = write_corpus(tmp_path / "in")
    out = tmp_path / "out"
    stats = tag_folder(tagger, [tmp_path / "in"], out)
    assert (stats.done, stats.skipped, stats.failed) == (3, 0, 0)
    written = {p.relative_to(out).as_posix(): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}
    assert written == {"one.conll": expected(tagger, texts[:15], "conll"),
                       "a/two.conll": expected(tagger, texts[15:30], "conll"),
                       "a/b/three.conll": expected(tagger, texts[30:], "conll")}
    stamp = (out / "one.conll").stat().st_mtime_ns
    again = tag_folder(tagger, [tmp_path / "in"], out)
    assert (again.done, again.skipped, again.tokens) == (0, 3, 0)
    assert (out / "one.conll").stat().st_mtime_ns == stamp
    forced = tag_folder(tagger, [tmp_path / "in" / "*.txt", tmp_path / "in" / "a" / "**" / "*.gz"], out, force=True)
    assert (forced.done, forced.skipped) == (2, 0)  # the patterns' common folder is in/: same names


def test_a_killed_run_s_temporary_file_is_redone(tagger, tmp_path):
    texts = write_corpus(tmp_path / "in")
    out = tmp_path / "out"
    tag_folder(tagger, [tmp_path / "in"], out)
    (out / "a" / "two.conll").unlink()
    (out / "a" / ".two.conll.partial").write_text("half a file")  # what SIGKILL leaves behind
    stats = tag_folder(tagger, [tmp_path / "in"], out)
    assert (stats.done, stats.skipped) == (1, 2)
    assert (out / "a" / "two.conll").read_text() == expected(tagger, texts[15:30], "conll")
    assert not (out / "a" / ".two.conll.partial").exists()


def test_gzip_output_is_compressed_and_reproducible(tagger, tmp_path):
    texts = write_corpus(tmp_path / "in")
    tag_folder(tagger, [tmp_path / "in"], tmp_path / "out", compress=True, fmt="text")
    three = tmp_path / "out" / "a" / "b" / "three.txt.gz"
    assert gzip.decompress(three.read_bytes()).decode() == expected(tagger, texts[30:], "text")
    first = three.read_bytes()
    tag_folder(tagger, [tmp_path / "in"], tmp_path / "out", compress=True, force=True, fmt="text")
    assert three.read_bytes() == first  # no time stamp in the header


def test_one_bad_file_among_good_ones_is_left_out_and_reported(tagger, tmp_path):
    texts = write_corpus(tmp_path / "in")
    (tmp_path / "in" / "a" / "bad.txt").write_bytes("\n".join(texts[:20]).encode() + b"\n\xc3(\n" + b"more\n")
    out = tmp_path / "out"
    stats = tag_folder(tagger, [tmp_path / "in"], out)
    assert (stats.done, stats.failed) == (3, 1)
    assert stats.errors == [f"{tmp_path / 'in' / 'a' / 'bad.txt'}:21: invalid UTF-8 byte b'\\xc3'; "
                            "the file must be UTF-8 encoded (convert it, e.g. with iconv)"]
    assert sorted(p.name for p in out.rglob("*")) == ["a", "b", "one.conll", "three.conll", "two.conll"]


def test_out_dir_plans_refuse_clashes_and_missing_patterns(tmp_path):
    (tmp_path / "x.txt").write_text("a")
    (tmp_path / "x.text").write_text("b")
    assert "would both be written to" in str(pytest.raises(WintrainError, plan_out_dir,
                                                           [str(tmp_path / "x.*")], tmp_path / "o", "conll").value)
    assert "no file matches" in str(pytest.raises(WintrainError, plan_out_dir, [str(tmp_path / "*.none")],
                                                  tmp_path / "o", "conll").value)
    plan = plan_out_dir([str(tmp_path / "x.txt")], tmp_path / "o", "json")
    assert [task.output for task in plan.tasks] == [tmp_path / "o" / "x.jsonl"]


def test_file_sink_writes_under_the_final_name_only_when_finished(tmp_path):
    sink = FileSink(tmp_path / "d" / "f.txt")
    sink.write("abc")
    assert not (tmp_path / "d" / "f.txt").exists() and (tmp_path / "d" / ".f.txt.partial").exists()
    sink.finish()
    assert (tmp_path / "d" / "f.txt").read_text() == "abc" and not (tmp_path / "d" / ".f.txt.partial").exists()
    assert oct((tmp_path / "d" / "f.txt").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_outputs_inside_an_input_folder_are_not_inputs(tmp_path):
    (tmp_path / "in.txt").write_text("a")
    (tmp_path / "tagged").mkdir()
    (tmp_path / "tagged" / "in.conll").write_text("a\tO\n\n")  # a run before wrote it
    plan = plan_out_dir([str(tmp_path)], tmp_path / "tagged", "conll")
    assert plan.tasks == [] and [task.source.path for task in plan.skipped] == [tmp_path / "in.txt"]


def test_a_worker_that_dies_stops_the_run_with_one_line_and_exit_1(tagger, tmp_path):
    from concurrent.futures.process import BrokenProcessPool

    class Dying:
        capacity = 2

        def submit(self, job):
            future = Future()
            future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            return future

        def close(self):
            pass

    source = tmp_path / "in.txt"
    source.write_text("\n".join(raw_texts(10)), encoding="utf-8")
    pipeline = Pipeline(Dying(), keep_going=True)
    with pytest.raises(WintrainError) as stopped:
        pipeline.run([Task(Input(str(source), source), tmp_path / "out" / "in.txt")])
    assert stopped.value.exit_code == 1 and "a worker process stopped" in str(stopped.value)
    assert list((tmp_path / "out").iterdir()) == []


def test_the_command_s_chunk_is_the_library_s():
    import inspect

    from wintrain.cli.tag import predict
    from wintrain.evaluation.tagger import DEFAULT_CHUNK

    assert inspect.signature(predict).parameters["chunk"].default == DEFAULT_CHUNK
