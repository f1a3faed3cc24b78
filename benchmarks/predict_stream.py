"""Streaming ``wintrain predict``: throughput, peak memory, processes, a Dask cluster, first-line latency.

    python benchmarks/predict_stream.py [--checkpoint CKPT] [--threads 1] [--rounds 3] [--baseline DIR]
                                        [--big-mb 1000] [--jobs-mb 30] [--skip-big] [--skip-dask]
                                        [--sections throughput,jobs,dask,big]

Every measurement runs the command itself (``python -m wintrain predict ...`` of this checkout) in a
child process, as a user would, with the thread variables of ``--threads`` (default 1) in its
environment.  The model is the quickstart model (``wintrain train configs/quickstart.yaml``, trained
here unless ``--checkpoint`` is given).  Inputs are made in a temporary folder under /tmp and deleted
afterwards: the ``# text`` lines of UD English-EWT (``../shared/data/ud_en_ewt/conllu/*.conllu.gz``)
repeated to the size wanted.

* **Throughput**, file in → file out, one process: the 10 MB file, raw text → ``--format conll`` and
  ``--pretokenized`` → ``--format conll``.  One warm-up run, then ``--rounds`` rounds that run every
  variant once in a rotating order; medians.  tokens/s = tokens of the output ÷ wall time, and the same
  with the median start-up (``predict`` of an empty input: interpreter, imports, checkpoint) taken off.
  For scale, ``Tagger.tag_tokens`` alone on the same sentences, chunk by chunk, in a child with the same
  threads (the model's own speed: encoding, scores, decoding, tag strings).
  With ``--baseline DIR`` (a folder holding another checkout's ``wintrain`` package, e.g.
  ``git archive <commit> wintrain | tar -x -C /tmp/base``) its ``predict`` runs in the same rounds and
  its output is compared byte for byte (raw text and pretokenized).
* **Peak RSS** (``ru_maxrss`` of the child, from ``os.wait4``) tagging a ``--big-mb`` MB raw-text file
  (default 1 GB) and a tenth of it into /dev/null.
* **Processes**: ``--jobs 2`` against ``--jobs 1`` on one ``--jobs-mb`` MB file and on a folder of 24
  files of the same total size (``--out-dir``), interleaved rounds, medians; outputs compared.
* **Dask**: a ``LocalCluster`` of 2 worker processes with one thread each started here; ``--scheduler``
  with the checkpoint read at its path and with ``--ship-checkpoint``; outputs compared with a local run.
* **First tagged line** of ``cat BIG | wintrain predict CKPT -``: from starting the two processes to
  reading the first line of output (the ``--big-mb``/10 file; medians of ``--rounds``).

Targets (issue #24): peak RSS on the 1 GB file < 400 MB and within 10 % of the 100 MB file's; ``--jobs 2``
≥ 1.6× ``--jobs 1`` on a file and on a folder, outputs byte-identical; Dask byte-identical; first
tagged line ≤ 2 s; raw → conll ≥ 500 k tokens/s, pretokenized ≥ 800 k tokens/s.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

EWT = _common.SHARED / "data" / "ud_en_ewt" / "conllu"
TARGETS = {"rss": 400e6, "rss_growth": 0.10, "jobs": 1.6, "first_line": 2.0, "raw": 500_000, "pre": 800_000}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="the quickstart model (trained here when not given)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="folder with another checkout's wintrain package")
    parser.add_argument("--big-mb", type=float, default=1000.0, help="size of the big raw-text file (MB)")
    parser.add_argument("--jobs-mb", type=float, default=30.0, help="input size of the --jobs comparison (MB)")
    parser.add_argument("--skip-big", action="store_true", help="no peak-RSS runs on the big files")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--sections", default="throughput,jobs,dask,big",
                        help="which sections to run, comma-separated (e.g. jobs to measure only --jobs again)")
    return parser.parse_args()


ARGS = parse_args()
_common.set_threads(ARGS.threads)


CHILD_CWD = tempfile.gettempdir()  # not the repository: `python -m` would put its wintrain first on the path


def environment(package: Path | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(package or _common.ROOT)}


def predict_command(*args: object) -> list[str]:
    return [sys.executable, "-m", "wintrain", "predict", *map(str, args)]


def timed(command: list[str], stdout: Path | None = None, package: Path | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of a command, its output into ``stdout`` (else /dev/null)."""
    sink = open(stdout, "wb") if stdout is not None else open(os.devnull, "wb")
    started = time.perf_counter()
    with sink, tempfile.TemporaryFile() as log_file:  # progress lines of a long run would fill a pipe
        process = subprocess.Popen(command, stdout=sink, stderr=log_file, env=environment(package), cwd=CHILD_CWD)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            log_file.seek(0)
            raise SystemExit(f"failed: {' '.join(command)}\n{log_file.read().decode()}")
    return seconds, usage.ru_maxrss


def ewt_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(EWT.glob("*.conllu.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            texts += [line[len("# text = "):].rstrip("\n") for line in lines if line.startswith("# text = ")]
    if not texts:
        raise SystemExit(f"no EWT CoNLL-U files in {EWT}; give ../shared beside the repository")
    return texts


def write_text(path: Path, texts: list[str], megabytes: float) -> int:
    """``texts`` repeated into ``path`` up to ``megabytes`` MB; returns the number of lines."""
    block = ("\n".join(texts) + "\n").encode("utf-8")
    target = int(megabytes * 1e6)
    lines = 0
    with open(path, "wb") as out:
        written = 0
        while written + len(block) <= target:
            out.write(block)
            written += len(block)
            lines += len(texts)
        rest = block[:target - written]
        rest = rest[:rest.rfind(b"\n") + 1]
        out.write(rest)
        lines += rest.count(b"\n")
    return lines


def count_tokens(conll: Path) -> int:
    with open(conll, "rb") as lines:
        return sum(1 for line in lines if line.strip())


def same_files(a: Path, b: Path) -> bool:
    if a.is_dir():
        names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and not p.name.startswith("."))
        others = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and not p.name.startswith("."))
        return names == others and all(same_files(a / name, b / name) for name in names)
    return subprocess.run(["cmp", "-s", str(a), str(b)]).returncode == 0


def rounds(variants: dict[str, list[str]], outputs: dict[str, Path | None], packages: dict[str, Path | None],
           count: int, warmup: bool = True) -> dict[str, list[float]]:
    """Run every variant once per round in a rotating order (after one uncounted round); wall seconds."""
    names = list(variants)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for index in range(count + warmup):
        order = names[index % len(names):] + names[:index % len(names)]
        for name in order:
            output = outputs.get(name)
            if output is not None and output.is_dir():
                shutil.rmtree(output)
            wall, _ = timed(variants[name], None if output is None or output.suffix == "" else output,
                            packages.get(name))
            if index >= warmup:
                seconds[name].append(wall)
            log(f"  round {index + 1 - warmup}: {name}: {wall:.2f} s")
    return seconds


def model_speed(checkpoint: Path, text: Path) -> float:
    """tokens/s of ``Tagger.tag_tokens`` alone on the file's whitespace tokens, chunk by chunk (a child)."""
    script = f"""
import time
from wintrain.evaluation.tagger import Tagger
from wintrain.data.reader import read_lines
lines = read_lines({str(text)!r})
chunks = [[line.split() for line in lines[i:i + 2000]] for i in range(0, len(lines), 2000)]
tagger = Tagger.load({str(checkpoint)!r})
n = sum(len(s) for chunk in chunks for s in chunk)
best = []
for repeat in range(4):
    start = time.perf_counter()
    for chunk in chunks:
        tagger.tag_tokens(chunk)
    best.append(n / (time.perf_counter() - start))
print(sorted(best[1:])[1])
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment(),
                            check=True, cwd=CHILD_CWD)
    return float(result.stdout.strip())


_BURN = """
import sys, time
from multiprocessing import get_context
def burn(n):
    x = 0
    for i in range(n):
        x += i * i
    return x
if __name__ == "__main__":
    n = 15_000_000
    start = time.perf_counter(); burn(n); one = time.perf_counter() - start
    with get_context("spawn").Pool(2) as pool:
        pool.map(burn, [1, 1])
        start = time.perf_counter(); pool.map(burn, [n, n]); two = time.perf_counter() - start
    print(2 * one / two)
"""


def parallel_capacity() -> float:
    """How much two processes get done against one right now: a pure-Python CPU task alone, then two at
    once in two processes (2.0 on two idle cores; less when other work holds a core)."""
    with tempfile.TemporaryDirectory(prefix="wintrain-burn-") as folder:
        script = Path(folder) / "burn.py"  # a file, not -c: spawned workers import burn() from the main module
        script.write_text(_BURN, encoding="utf-8")
        result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True,
                                cwd=CHILD_CWD, timeout=300)
    return float(result.stdout.strip())


def first_line_seconds(checkpoint: Path, big: Path) -> float:
    started = time.perf_counter()
    cat = subprocess.Popen(["cat", str(big)], stdout=subprocess.PIPE)
    predict = subprocess.Popen(predict_command(checkpoint, "-"), stdin=cat.stdout, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=environment(), cwd=CHILD_CWD)
    assert cat.stdout is not None and predict.stdout is not None
    cat.stdout.close()
    predict.stdout.readline()
    seconds = time.perf_counter() - started
    predict.stdout.close()
    predict.wait()
    cat.kill()
    cat.wait()
    return seconds


def main() -> int:
    print("benchmarks/predict_stream.py — streaming wintrain predict (issue 24)")
    print(_common.machine_report(ARGS.threads, [
        f"method:    whole commands in child processes with the thread variables above; medians of "
        f"{ARGS.rounds} rounds after a warm-up round, variants interleaved in a rotating order"]))
    work = Path(tempfile.mkdtemp(prefix="wintrain-stream-", dir="/tmp"))
    results: dict[str, object] = {}
    try:
        checkpoint = ARGS.checkpoint
        if checkpoint is None:
            log("training the quickstart model ...")
            subprocess.run([sys.executable, "-m", "wintrain", "train", str(_common.ROOT / "configs/quickstart.yaml"),
                            "--out", str(work / "quickstart")], check=True, capture_output=True, env=environment(),
                           cwd=CHILD_CWD)
            checkpoint = work / "quickstart" / "best.npz"
        checkpoint = checkpoint.resolve()
        print(f"model:     {checkpoint}{'' if ARGS.checkpoint else ' (quickstart, trained here)'}")
        texts = ewt_texts()
        ten = work / "ewt10.txt"
        lines = write_text(ten, texts, 10)
        empty = work / "empty.txt"
        empty.write_bytes(b"")
        print(f"inputs:    {ten.name}: {lines:,} lines (EWT # text lines repeated), "
              f"{ten.stat().st_size / 1e6:.1f} MB; made in {work}, deleted afterwards")
        sections = set(ARGS.sections.split(","))
        if "throughput" in sections:
            throughput(checkpoint, ten, empty, work, results)
        if "jobs" in sections:
            processes(checkpoint, texts, work, results)
        if "dask" in sections and not ARGS.skip_dask:
            dask_cluster(checkpoint, ten, work, results)
        if "big" in sections:
            big_files(checkpoint, texts, work, results)
        targets(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def throughput(checkpoint: Path, ten: Path, empty: Path, work: Path, results: dict[str, object]) -> None:
    print(_common.section("throughput, one process, file in → file out (10 MB of EWT sentences)"))
    variants = {
        "start-up (empty input)": predict_command(checkpoint, empty, "--format", "conll"),
        "raw → conll": predict_command(checkpoint, ten, "--format", "conll"),
        "pretokenized → conll": predict_command(checkpoint, ten, "--pretokenized", "--format", "conll"),
    }
    outputs: dict[str, Path | None] = {"raw → conll": work / "raw.conll", "pretokenized → conll": work / "pre.conll"}
    packages: dict[str, Path | None] = {}
    if ARGS.baseline is not None:
        variants["baseline raw → conll"] = variants["raw → conll"]
        variants["baseline pretokenized → conll"] = variants["pretokenized → conll"]
        outputs["baseline raw → conll"] = work / "base_raw.conll"
        outputs["baseline pretokenized → conll"] = work / "base_pre.conll"
        packages = {"baseline raw → conll": ARGS.baseline, "baseline pretokenized → conll": ARGS.baseline}
    log("throughput rounds ...")
    seconds = rounds(variants, outputs, packages, ARGS.rounds)
    start_up = _common.median(seconds["start-up (empty input)"])
    tokens = {"raw → conll": count_tokens(work / "raw.conll"), "pretokenized → conll": count_tokens(work / "pre.conll")}
    log("Tagger.tag_tokens alone ...")
    ceiling = model_speed(checkpoint, ten)
    rows = [["start-up (empty input)", "", f"{start_up:.2f}", _common.spread(seconds["start-up (empty input)"], 1, 2),
             "", "", ""]]
    speed: dict[str, float] = {}
    for name in [n for n in variants if n != "start-up (empty input)"]:
        count = tokens[name.removeprefix("baseline ")]
        wall = _common.median(seconds[name])
        speed[name] = count / (wall - start_up)
        row = [name, f"{count:,}", f"{wall:.2f}", _common.spread(seconds[name], 1, 2), f"{count / wall:,.0f}",
               f"{speed[name]:,.0f}", f"{speed[name] / ceiling:.0%}"]
        rows.append(row)
    print(_common.table(["variant", "tokens", "median s", "min–max s", "tokens/s", "tokens/s after start-up",
                         "of tag_tokens"], rows))
    print(f"Tagger.tag_tokens alone on the same sentences, chunks of 2,000 lines: {ceiling:,.0f} tokens/s "
          "(the model's own speed: encoding, scores, decoding, tag strings)")
    results["raw"] = tokens["raw → conll"] / _common.median(seconds["raw → conll"])
    results["pre"] = tokens["pretokenized → conll"] / _common.median(seconds["pretokenized → conll"])
    if ARGS.baseline is not None:
        same_raw = same_files(work / "raw.conll", work / "base_raw.conll")
        same_pre = same_files(work / "pre.conll", work / "base_pre.conll")
        for kind in ("raw → conll", "pretokenized → conll"):
            new, old = _common.median(seconds[kind]), _common.median(seconds["baseline " + kind])
            print(f"vs baseline ({ARGS.baseline}): {kind}: {old / new:.2f}x faster (wall), "
                  f"{speed[kind] / speed['baseline ' + kind]:.2f}x after start-up")
        print(f"outputs:   raw → conll {'byte-identical' if same_raw else 'DIFFERENT'} to the baseline's, "
              f"pretokenized {'byte-identical' if same_pre else 'DIFFERENT'}")
        results["baseline_same"] = same_raw and same_pre


def processes(checkpoint: Path, texts: list[str], work: Path, results: dict[str, object]) -> None:
    print(_common.section(f"--jobs 2 vs --jobs 1 ({ARGS.jobs_mb:g} MB, one file and a folder of 24 files)"))
    big = work / "jobs.txt"
    write_text(big, texts, ARGS.jobs_mb)
    folder = work / "folder"
    folder.mkdir()
    for index in range(24):
        write_text(folder / f"part{index:02d}.txt", texts[index * 500:] + texts[:index * 500], ARGS.jobs_mb / 24)
    variants = {
        "file, --jobs 1": predict_command(checkpoint, big, "--format", "conll", "--jobs", 1),
        "file, --jobs 2": predict_command(checkpoint, big, "--format", "conll", "--jobs", 2),
        "folder, --jobs 1": predict_command(checkpoint, folder, "--format", "conll", "--out-dir", work / "out1"),
        "folder, --jobs 2": predict_command(checkpoint, folder, "--format", "conll", "--out-dir", work / "out2",
                                            "--jobs", 2),
    }
    outputs: dict[str, Path | None] = {"file, --jobs 1": work / "j1.conll", "file, --jobs 2": work / "j2.conll",
                                       "folder, --jobs 1": work / "out1", "folder, --jobs 2": work / "out2"}
    log("--jobs rounds ...")
    for name in ("folder, --jobs 1", "folder, --jobs 2"):
        (work / ("out1" if "1" in name[-1] else "out2")).mkdir(exist_ok=True)
    capacity = [parallel_capacity()]
    seconds = rounds(variants, outputs, {}, ARGS.rounds)
    capacity.append(parallel_capacity())
    tokens = count_tokens(work / "j1.conll")
    folder_tokens = sum(count_tokens(p) for p in (work / "out1").glob("*.conll"))
    rows = []
    for name, count in (("file, --jobs 1", tokens), ("file, --jobs 2", tokens), ("folder, --jobs 1", folder_tokens),
                        ("folder, --jobs 2", folder_tokens)):
        wall = _common.median(seconds[name])
        rows.append([name, f"{count:,}", f"{wall:.2f}", _common.spread(seconds[name], 1, 2), f"{count / wall:,.0f}"])
    print(_common.table(["variant", "tokens", "median s", "min–max s", "tokens/s"], rows))
    file_ratio = _common.median(seconds["file, --jobs 1"]) / _common.median(seconds["file, --jobs 2"])
    folder_ratio = _common.median(seconds["folder, --jobs 1"]) / _common.median(seconds["folder, --jobs 2"])
    same_file = same_files(work / "j1.conll", work / "j2.conll")
    same_folder = same_files(work / "out1", work / "out2")
    print(f"speed-up: one file {file_ratio:.2f}x, folder {folder_ratio:.2f}x (ratio of median wall times, "
          "start-up included: spawning two workers costs a second or two)")
    print(f"machine:  two processes of pure-Python CPU work got {capacity[0]:.2f}x / {capacity[1]:.2f}x of one "
          "process's work done (before / after the rounds; 2.0 on two idle cores): the ceiling for --jobs 2 here")
    print(f"outputs:  one file {'byte-identical' if same_file else 'DIFFERENT'}, folder "
          f"{'byte-identical' if same_folder else 'DIFFERENT'} (--jobs 2 vs --jobs 1)")
    results.update(jobs_file=file_ratio, jobs_folder=folder_ratio, jobs_same=same_file and same_folder)


def dask_cluster(checkpoint: Path, ten: Path, work: Path, results: dict[str, object]) -> None:
    print(_common.section("a Dask LocalCluster of 2 worker processes (1 thread each) vs this machine's local run"))
    try:
        from dask.distributed import LocalCluster
    except ImportError:
        print('dask.distributed is not installed (pip install "wintrain[distributed]"); skipped')
        return
    local = work / "local.json"
    timed(predict_command(checkpoint, ten, "--format", "json"), local)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        rows, same = [], []
        for ship in (False, True):
            output = work / f"dask{int(ship)}.json"
            extra = ["--ship-checkpoint"] if ship else []
            wall, _ = timed(predict_command(checkpoint, ten, "--format", "json", "--scheduler", address, *extra),
                            output)
            same.append(same_files(local, output))
            rows.append(["--ship-checkpoint" if ship else "checkpoint by path", f"{wall:.2f}",
                         "byte-identical" if same[-1] else "DIFFERENT"])
    print(_common.table(["checkpoint", "wall s", "output vs local"], rows))
    results["dask_same"] = all(same)


def big_files(checkpoint: Path, texts: list[str], work: Path, results: dict[str, object]) -> None:
    sizes = f"{ARGS.big_mb:g} MB and {ARGS.big_mb / 10:g} MB of raw text"
    print(_common.section(f"peak RSS and first tagged line ({sizes})"))
    small = work / "small.txt"
    write_text(small, texts, ARGS.big_mb / 10)
    log("first tagged line of cat | predict - ...")
    first = [first_line_seconds(checkpoint, small) for _ in range(ARGS.rounds)]
    print(f"first tagged line of `cat {ARGS.big_mb / 10:g}MB.txt | wintrain predict CKPT -`: median "
          f"{_common.median(first):.2f} s ({_common.spread(first, 1, 2)} s)")
    results["first_line"] = _common.median(first)
    if ARGS.skip_big:
        print("peak RSS runs skipped (--skip-big)")
        return
    rows = []
    peaks = {}
    for name, path, megabytes in (("small", small, ARGS.big_mb / 10), ("big", None, ARGS.big_mb)):
        if path is None:
            path = work / "big.txt"
            log(f"writing {megabytes:g} MB ...")
            write_text(path, texts, megabytes)
        log(f"tagging {megabytes:g} MB ...")
        wall, rss = timed(predict_command(checkpoint, path, "--format", "conll"))
        peaks[name] = rss * 1024
        rows.append([f"{megabytes:g} MB raw text → conll", f"{wall:.1f}", f"{rss / 1024:,.0f}",
                     f"{rss * 1024 / 1e6:,.0f}"])
        path.unlink()
    print(_common.table(["input", "wall s", "peak RSS MiB", "peak RSS MB"], rows))
    growth = peaks["big"] / peaks["small"] - 1
    print(f"peak RSS, {ARGS.big_mb:g} MB vs {ARGS.big_mb / 10:g} MB: {growth:+.1%}")
    results.update(rss=peaks["big"], rss_growth=growth)


def targets(results: dict[str, object]) -> None:
    print(_common.section("targets"))

    def value(key: str) -> float | None:
        found = results.get(key)
        return float(found) if isinstance(found, (int, float)) and not isinstance(found, bool) else None

    def row(name: str, shown: str, ok: bool | None) -> list[str]:
        return [name, shown, _common.verdict(ok)]

    rss, growth = value("rss"), value("rss_growth")
    rows = [
        row(f"peak RSS tagging {ARGS.big_mb:g} MB < 400 MB", "n/a" if rss is None else f"{rss / 1e6:,.0f} MB",
            None if rss is None else rss < TARGETS["rss"]),
        row("peak RSS, big vs a tenth, differ < 10 %", "n/a" if growth is None else f"{growth:+.1%}",
            None if growth is None else abs(growth) < TARGETS["rss_growth"]),
    ]
    for key, name in (("jobs_file", "--jobs 2 ≥ 1.6× --jobs 1, one file"),
                      ("jobs_folder", "--jobs 2 ≥ 1.6× --jobs 1, folder")):
        ratio = value(key)
        rows.append(row(name, "n/a" if ratio is None else f"{ratio:.2f}x",
                        None if ratio is None else ratio >= TARGETS["jobs"]))
    for key, name in (("jobs_same", "--jobs 2 output byte-identical"), ("dask_same", "Dask output byte-identical"),
                      ("baseline_same", "output byte-identical to the baseline")):
        found = results.get(key)
        rows.append(row(name, "n/a" if found is None else ("yes" if found else "no"),
                        None if found is None else bool(found)))
    first = value("first_line")
    rows.append(row("first tagged line of cat | predict - ≤ 2 s", "n/a" if first is None else f"{first:.2f} s",
                    None if first is None else first <= TARGETS["first_line"]))
    for key, name in (("raw", "raw → conll ≥ 500k tokens/s"), ("pre", "pretokenized → conll ≥ 800k tokens/s")):
        speed = value(key)
        rows.append(row(name, "n/a" if speed is None else f"{speed:,.0f}", None if speed is None else
                        speed >= TARGETS[key]))
    print(_common.table(["target", "measured", "verdict"], rows))
    print("tokens/s in the targets: wall time of the whole command, start-up included")


if __name__ == "__main__":
    sys.exit(main())
