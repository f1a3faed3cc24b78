"""``wintrain predict`` as a user runs it: pipes, folders, processes, errors, exit codes, memory."""

from __future__ import annotations

import gzip
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

import conftest

pytestmark = pytest.mark.slow  # runs whole commands

LINES = [f"{p} visited {q} yesterday. {q} saw {p}!" for p in conftest.PEOPLE for q in conftest.PLACES]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ner")
    return conftest.tiny_ner_checkpoint(folder, epochs=3)


def command(*args: object) -> list[str]:
    return [sys.executable, "-m", "wintrain", "predict", *map(str, args)]


def predict(*args: object, stdin: bytes | None = None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), input=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=300)


def one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in result.stderr.decode(), result.stderr
    return lines[-1]


def test_standard_input_is_tagged_as_it_arrives(model):
    process = subprocess.Popen(command(model, "-"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        assert process.stdin is not None and process.stdout is not None
        for text in ("Alice visited Paris.", "Bob left Rome."):
            process.stdin.write(text.encode() + b"\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], 60)
            assert ready, "no tagged line while standard input stays open"
            assert process.stdout.readline().decode().split()[0] == text.split()[0]
            while process.stdout.readline().strip():  # the rest of this text's lines
                pass
        process.stdin.close()
        assert process.wait(60) == 0
    finally:
        process.kill()


def test_a_closed_pipe_stops_quietly_with_141(model, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("\n".join(LINES * 400), encoding="utf-8")
    process = subprocess.Popen(command(model, big), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()  # the reader goes away, as `| head -1` does
    assert process.wait(120) == 141
    assert process.stderr is not None and process.stderr.read() == b""


def test_conllu_is_recognised_on_standard_input_and_the_format_can_be_forced(model):
    conllu = "".join(f"{i}\t{w}\t_\t_\t_\t_\t0\troot\t_\t_\n" for i, w in enumerate("Alice saw Oslo .".split(), 1))
    tagged = predict(model, "--format", "conllu", "--field", "misc", stdin=(conllu + "\n").encode())
    assert tagged.returncode == 0, tagged.stderr
    assert [line.split("\t")[9] for line in tagged.stdout.decode().splitlines() if line] == \
        ["B-PER", "O", "B-LOC", "O"]  # only that field replaced
    as_text = predict(model, "--input-format", "text", stdin=conllu.encode())
    assert as_text.stdout.decode().splitlines()[0] == "1 O"  # each field a token
    assert "contradicts" in one_line_error(predict(model, "--pretokenized", "--input-format", "conllu", stdin=b""))


def test_a_bad_byte_mid_file_is_one_error_after_the_lines_before(model, tmp_path):
    source = tmp_path / "corpus.txt"
    source.write_bytes("\n".join(LINES * 20).encode() + b"\nAlice \xfe\n" + "\n".join(LINES).encode())
    result = predict(model, source, "--format", "conll", "--chunk", "50")
    assert one_line_error(result).startswith(f"error: {source}:{len(LINES) * 20 + 1}: invalid UTF-8 byte")
    whole = predict(model, "--format", "conll", stdin="\n".join(LINES * 20).encode())
    assert result.stdout == whole.stdout and whole.stdout.count(b"\n\n") == 2 * len(LINES) * 20


def test_a_full_standard_output_is_one_line_exit_1(model, tmp_path):
    source = tmp_path / "t.txt"
    source.write_text("\n".join(LINES), encoding="utf-8")
    with open("/dev/full", "wb") as full:
        result = predict(model, source, stdout=full)
    assert one_line_error(result, 1) == "error: standard output: cannot write (No space left on device); " \
                                        "free space and run again"


def test_out_dir_with_a_bad_file_jobs_and_reruns(model, tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    for index in range(4):
        target = corpus / ("sub" if index % 2 else "") / f"part{index}.txt"
        target.write_text("\n".join(LINES[index::4] * 30), encoding="utf-8")
    with gzip.open(corpus / "sub" / "packed.txt.gz", "wt", encoding="utf-8") as packed:
        packed.write("\n".join(LINES))
    (corpus / "bad.txt").write_bytes(b"Alice visited Paris.\n\xff\n")
    one = predict(model, corpus, "--out-dir", tmp_path / "one", "--format", "conll", "--gzip")
    assert "corpus/bad.txt:2: invalid UTF-8" in one_line_error(one)
    summary = one.stderr.decode().strip().splitlines()[-2]
    assert summary.startswith("predict: 6 files: 5 done, 0 skipped (already done), 1 failed;")
    names = sorted(p.relative_to(tmp_path / "one").as_posix() for p in (tmp_path / "one").rglob("*.gz"))
    assert names == ["part0.conll.gz", "part2.conll.gz", "sub/packed.conll.gz", "sub/part1.conll.gz",
                     "sub/part3.conll.gz"]
    assert not list((tmp_path / "one").rglob("*.partial"))
    two = predict(model, corpus / "*.txt", corpus / "sub", "--out-dir", tmp_path / "two", "--format", "conll",
                  "--gzip", "--jobs", "2")
    one_line_error(two)
    for name in names:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
    again = predict(model, corpus, "--out-dir", tmp_path / "one", "--format", "conll", "--gzip")
    assert "5 skipped (already done), 1 failed" in again.stderr.decode()


def test_jobs_2_on_one_input_equals_jobs_1(model, tmp_path):
    source = tmp_path / "big.txt"
    source.write_text("\n".join(LINES * 60), encoding="utf-8")
    one = predict(model, source, "--format", "conllu", "--field", "misc", "--chunk", "100")
    two = predict(model, source, "--format", "conllu", "--field", "misc", "--chunk", "100", "--jobs", "2")
    assert one.returncode == two.returncode == 0, two.stderr
    assert one.stdout == two.stdout and one.stdout.count(b"# sent_id") == 2 * len(LINES) * 60


def peak_rss_kib(args: list[str]) -> int:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, process.stderr.read() if process.stderr else ""
    return usage.ru_maxrss


def test_peak_memory_does_not_grow_with_the_input(model, tmp_path):
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_text("\n".join(LINES * 50), encoding="utf-8")
    large.write_text("\n".join(LINES * 1000), encoding="utf-8")  # 2 MB
    started = time.perf_counter()
    rss_small = peak_rss_kib(command(model, small, "--format", "json"))
    rss_large = peak_rss_kib(command(model, large, "--format", "json"))
    assert rss_large < 1.15 * rss_small, (rss_small, rss_large)
    assert time.perf_counter() - started < 240
