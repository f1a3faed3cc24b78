"""Loading the full GloVe 6B 50-d file (400,000 × 50): time and peak memory.

    python benchmarks/load_vectors.py [/tmp/glove.6B.50d.txt] [--threads 1] [--repeat 3] [--skip-train]

Every measurement runs in a *fresh* Python process, so that its peak RSS (the child's
ru_maxrss from wait4, = VmHWM) belongs to it alone; the time is the load call itself, taken
inside the child (interpreter start-up and imports excluded).  Variants:

* baseline: python + numpy + wintrain imported, nothing loaded (the floor under every RSS);
* wintrain full: ``wintrain.data.vectors.load_vectors(path)``;
* Python loop: a plain line-by-line loader written here (split, ``float`` per value, list of
  rows → float32 array);
* np.loadtxt: ``np.loadtxt(path, comments=None, ...)`` for the numbers (plus one pass for the
  words);
* wintrain filtered: ``load_vectors(path, keep=...)`` keeping only the CoNLL-2003 vocabulary
  (lowercased tokens of train/dev/test);
* wintrain cached: ``load_vectors(path, cache_dir=...)`` with the cache already written (full
  file, and filtered);
* a 1-epoch CoNLL-2003 training run through the CLI with ``embeddings.extend_vocab=true`` and
  the full file (peak RSS of the whole run): train, dev and test from the shared data folder
  beside the repository (``--conll-dir``).

The targets (issue #13): the full text file loads in ≤ 1.0 s with a peak RSS ≤ 300 MB, and
from the cache in ≤ 0.05 s; the training run peaks at ≤ 400 MB.

One warm-up round (fills the OS page cache and the vectors cache) is not counted; then
``--repeat`` rounds run every variant once, interleaved; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

DEFAULT_PATH = Path("/tmp/glove.6B.50d.txt")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"  # beside the repository
CONLL_DIR = SHARED / "data" / "conll2003"
MAKE_GLOVE = SHARED / "tools" / "make_glove.sh"
MIB = 1024.0  # ru_maxrss and VmHWM are in KiB

LOADERS = {
    "baseline": "baseline: python + numpy + wintrain imported",
    "wintrain-full": "wintrain load_vectors, full file",
    "python-loop": "plain Python loop (split + float)",
    "loadtxt": "np.loadtxt(comments=None) + words pass",
    "wintrain-filtered": "wintrain load_vectors, keep=CoNLL vocab",
    "wintrain-cached": "wintrain load_vectors, cache_dir (full)",
    "wintrain-cached-filtered": "wintrain load_vectors, cache_dir (filtered)",
}
TRAIN = "train-extend-vocab"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH,
                        help=f"the full GloVe 6B 50-d text file (default {DEFAULT_PATH})")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads in every child (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds (median; default 3)")
    parser.add_argument("--conll-dir", type=Path, default=CONLL_DIR,
                        help=f"folder with CoNLL-2003 train/dev/test.txt (default {CONLL_DIR})")
    parser.add_argument("--skip-train", action="store_true", help="skip the 1-epoch training run")
    parser.add_argument("--skip-slow", action="store_true", help="skip the Python-loop and np.loadtxt loaders")
    parser.add_argument("--child", choices=sorted(LOADERS), help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


ARGS = parse_args()
_common.set_threads(ARGS.threads)


# ----------------------------------------------------------------------------- child side
def conll_vocabulary(folder: Path) -> set[str]:
    """Lowercased tokens (first column) of train/dev/test.txt."""
    words: set[str] = set()
    for split in ("train", "dev", "test"):
        with open(folder / f"{split}.txt", encoding="utf-8") as stream:
            for line in stream:
                token = line.split(" ", 1)[0].strip()
                if token:
                    words.add(token.lower())
    return words


def python_loop(path: Path):
    import numpy as np

    words, rows = [], []
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            parts = line.rstrip("\n").split(" ")
            words.append(parts[0])
            rows.append([float(value) for value in parts[1:]])
    return words, np.array(rows, dtype=np.float32)


def numpy_loadtxt(path: Path):
    import numpy as np

    with open(path, encoding="utf-8") as stream:
        dim = len(stream.readline().split(" ")) - 1
    matrix = np.loadtxt(path, dtype=np.float32, comments=None, delimiter=" ", usecols=range(1, dim + 1),
                        encoding="utf-8", quotechar=None)
    with open(path, encoding="utf-8") as stream:
        words = [line.split(" ", 1)[0] for line in stream]
    return words, matrix


def vm_hwm_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as stream:
        for line in stream:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def child(variant: str) -> int:
    import numpy as np

    from wintrain.data.vectors import load_vectors

    keep = conll_vocabulary(ARGS.conll_dir) if "filtered" in variant else None
    started = time.perf_counter()
    if variant == "baseline":
        words, matrix = [], np.zeros((0, 0), np.float32)
    elif variant == "python-loop":
        words, matrix = python_loop(ARGS.path)
    elif variant == "loadtxt":
        words, matrix = numpy_loadtxt(ARGS.path)
    else:
        cache_dir = ARGS.cache_dir if "cached" in variant else None
        vectors = load_vectors(ARGS.path, keep=keep, cache_dir=cache_dir)
        words, matrix = vectors.words, vectors.matrix
    seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": seconds, "vm_hwm_kib": vm_hwm_kib(), "rows": int(matrix.shape[0]),
        "dim": int(matrix.shape[1]) if matrix.ndim == 2 else 0,
        "checksum": float(matrix.sum(dtype=np.float64)), "first": words[0] if words else "",
        "last": words[-1] if words else "", "keep": len(keep) if keep is not None else None,
    }))
    return 0


# ----------------------------------------------------------------------------- parent side
def run_child(command: list[str], workdir: Path) -> tuple[int, int, str, str, float]:
    """Run ``command``; (exit code, peak RSS KiB of that process alone, stdout, stderr, wall s)."""
    out_path, err_path = workdir / "child.out", workdir / "child.err"
    started = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=_common.ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return (process.returncode, int(usage.ru_maxrss), out_path.read_text(errors="replace"),
            err_path.read_text(errors="replace"), wall)


def loader_command(variant: str, cache_dir: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), str(ARGS.path), "--threads", str(ARGS.threads),
            "--conll-dir", str(ARGS.conll_dir), "--cache-dir", str(cache_dir), "--child", variant]


def train_command(out_dir: Path) -> list[str]:
    """The config's data paths (data/conll2003/... in the repository) do not exist: every input is
    given on the command line, as absolute paths."""
    return [sys.executable, "-m", "wintrain", "train", str(_common.ROOT / "configs" / "conll2003_reference.yaml"),
            "--set", "train.epochs=1", "--set", "embeddings.extend_vocab=true",
            "--set", f"embeddings.path={ARGS.path.resolve()}", "--set", "features.casing=false",
            "--set", f"data.train={(ARGS.conll_dir / 'train.txt').resolve()}",
            "--set", f"data.dev={(ARGS.conll_dir / 'dev.txt').resolve()}",
            "--set", f"data.test={(ARGS.conll_dir / 'test.txt').resolve()}",
            "--out", str(out_dir), "--force"]


def main() -> int:
    if not ARGS.path.is_file():
        sys.exit(f"load_vectors.py: {ARGS.path} not found. Make the full GloVe 6B 50-d file first:\n"
                 f"    {MAKE_GLOVE} {ARGS.path}\n(or give its path as the first argument)")
    have_conll = all((ARGS.conll_dir / f"{split}.txt").is_file() for split in ("train", "dev", "test"))
    variants = [v for v in LOADERS if have_conll or "filtered" not in v]
    if ARGS.skip_slow:
        variants = [v for v in variants if v not in ("python-loop", "loadtxt")]
    do_train = have_conll and not ARGS.skip_train

    print("benchmarks/load_vectors.py — loading the full GloVe 6B 50-d text file: time and peak RSS")
    print(_common.machine_report(ARGS.threads))
    size = ARGS.path.stat().st_size
    print(f"file:      {ARGS.path} ({size / 1e6:,.1f} MB)")
    print(f"CoNLL:     {ARGS.conll_dir} (filtered loads: train/dev/test vocabulary; training run: train, dev, test)")
    print(f"method:    every measurement in a fresh process; 1 warm-up round (page cache, vectors cache) + "
          f"{ARGS.repeat} measured rounds, interleaved in a rotating order; medians. "
          "Time = the load call inside the child; peak RSS = that child's ru_maxrss (wait4) in MiB, "
          "interpreter and imports included")
    if not have_conll:
        print(f"note:      CoNLL-2003 not found in {ARGS.conll_dir}: filtered loads and the training run are skipped")

    workdir = Path(tempfile.mkdtemp(prefix="wintrain-bench-vectors-"))
    cache_dir = workdir / "cache"
    train_out = workdir / "run"
    results: dict[str, list[dict]] = {v: [] for v in variants}
    train_results: list[dict] = []
    try:
        for round_index in range(ARGS.repeat + 1):
            measured = round_index > 0
            tag = f"round {round_index}/{ARGS.repeat}" if measured else "warm-up round"
            shift = round_index % len(variants)  # a rotating order: a burst of load hits every variant
            for variant in variants[shift:] + variants[:shift]:
                code, peak, out, err, wall = run_child(loader_command(variant, cache_dir), workdir)
                if code != 0:
                    sys.exit(f"load_vectors.py: the {variant} child failed (exit {code}):\n{err.strip()}")
                record = json.loads(out.strip().splitlines()[-1])
                record["peak_kib"] = peak
                print(f"{tag}: {variant:26s} {record['seconds']:8.3f} s  peak {peak / MIB:7.1f} MiB",
                      file=sys.stderr, flush=True)
                if measured:
                    results[variant].append(record)
            if do_train:
                code, peak, out, err, wall = run_child(train_command(train_out), workdir)
                if code != 0:
                    sys.exit(f"load_vectors.py: the training run failed (exit {code}):\n{err.strip() or out.strip()}")
                record = {"peak_kib": peak, "wall": wall}
                try:
                    metrics = json.loads((train_out / "metrics.jsonl").read_text().splitlines()[-1])
                    record["epoch_seconds"] = metrics["epoch_seconds"]
                except (OSError, ValueError, KeyError, IndexError):
                    record["epoch_seconds"] = float("nan")
                print(f"{tag}: {TRAIN:26s} wall {wall:8.3f} s  peak {peak / MIB:7.1f} MiB", file=sys.stderr, flush=True)
                if measured:
                    train_results.append(record)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(_common.section("loaders"))
    rows = []
    summary: dict[str, tuple[float, float]] = {}
    for variant in variants:
        records = results[variant]
        seconds = [r["seconds"] for r in records]
        peaks = [r["peak_kib"] / MIB for r in records]
        summary[variant] = (_common.median(seconds), _common.median(peaks))
        last = records[-1]
        rows.append([LOADERS[variant], f"{summary[variant][0]:.3f}", _common.spread(seconds),
                     f"{summary[variant][1]:,.1f}", _common.spread(peaks, digits=1), f"{last['rows']:,}",
                     f"{last['checksum']:.6g}" if last["rows"] else ""])
    print(_common.table(["loader", "load s", "min–max s", "peak RSS MiB", "min–max MiB", "rows", "Σ values"], rows))
    keep = next((r[-1]["keep"] for v, r in results.items() if "filtered" in v and r), None)
    if keep is not None:
        print(f"filtered: keep = {keep:,} lowercased CoNLL-2003 train/dev/test tokens (building the set is not timed)")
    if "wintrain-full" in summary and "python-loop" in summary:
        full = summary["wintrain-full"][0]
        ratios = [f"Python loop {summary['python-loop'][0] / full:.2f}x"]
        if "loadtxt" in summary:
            ratios.append(f"np.loadtxt {summary['loadtxt'][0] / full:.2f}x")
        print(f"load time / wintrain full load time: {', '.join(ratios)} (> 1: wintrain is faster)")
    print("Σ values: sum of the loaded matrix (float64) — equal sums show the loaders read the same numbers")

    train_line = None
    if train_results:
        print(_common.section("1-epoch CoNLL-2003 training run, extend_vocab=true, full 400k file"))
        peaks = [r["peak_kib"] / MIB for r in train_results]
        walls = [r["wall"] for r in train_results]
        epochs = [r["epoch_seconds"] for r in train_results]
        train_line = _common.median(peaks)
        print("command:   python -m wintrain train configs/conll2003_reference.yaml --set train.epochs=1 "
              "--set embeddings.extend_vocab=true --set embeddings.path=<file> --set features.casing=false "
              "--set data.train=<CoNLL-2003>/train.txt --set data.dev=<CoNLL-2003>/dev.txt "
              "--set data.test=<CoNLL-2003>/test.txt "
              "--out <tmp> --force")
        print(_common.table(["measure", "median", "min–max"], [
            ["peak RSS MiB (whole run)", f"{train_line:,.1f}", _common.spread(peaks, digits=1)],
            ["wall s (incl. start-up, load, dev and test eval)", f"{_common.median(walls):.2f}",
             _common.spread(walls, digits=2)],
            ["epoch s", f"{_common.median(epochs):.2f}", _common.spread(epochs, digits=2)],
        ]))

    print(_common.section("targets (issue #13)"))
    rows = []

    def add(label: str, target: str, variant: str, index: int, limit: float, unit: str) -> None:
        if variant not in summary:
            rows.append([label, target, "not measured", "n/a"])
            return
        value = summary[variant][index]
        if unit == "s":
            rows.append([label, target, f"{value:.3f} s", _common.verdict(value <= limit)])
        else:  # peaks are measured in MiB; the targets are in MB (10^6 bytes)
            megabytes = value * 1.048576
            rows.append([label, target, f"{megabytes:,.1f} MB ({value:,.1f} MiB)",
                         _common.verdict(megabytes <= limit)])

    add("full text file: load time", "≤ 1.0 s", "wintrain-full", 0, 1.0, "s")
    add("full text file: load peak RSS", "≤ 300 MB", "wintrain-full", 1, 300.0, "MiB")
    add("full file from the cache: load time", "≤ 0.05 s", "wintrain-cached", 0, 0.05, "s")
    if train_line is None:
        rows.append(["training run, full vectors + extend_vocab: peak RSS", "≤ 400 MB", "not measured", "n/a"])
    else:
        megabytes = train_line * 1.048576
        rows.append(["training run, full vectors + extend_vocab: peak RSS", "≤ 400 MB",
                     f"{megabytes:,.1f} MB ({train_line:,.1f} MiB)", _common.verdict(megabytes <= 400.0)])
    add("filtered load time (earlier target)", "≤ 0.5 s", "wintrain-filtered", 0, 0.5, "s")
    print(_common.table(["target", "limit", "measured (median)", "verdict"], rows, left=2))
    print("(MB = 10^6 bytes; 1 MiB = 1.048576 MB; peak RSS includes the interpreter and imports, see baseline)")
    return 0


if __name__ == "__main__":
    if ARGS.child:
        sys.exit(child(ARGS.child))
    sys.exit(main())
