"""Shared helpers of the benchmark scripts (thread set-up, machine report, statistics, tables).

Import this module *before* numpy: :func:`set_threads` must put the BLAS thread variables in
the environment before numpy (or torch) is first imported.  Nothing here imports numpy at
module level.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository root (benchmarks/..)
SHARED = ROOT.parent / "shared"
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "WINTRAIN_THREADS")

# Benchmark this checkout's wintrain, whatever else is installed.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def set_threads(threads: int) -> None:
    """Give every variant the same BLAS/OpenMP thread count (call before importing numpy/torch).

    OPENBLAS_CORETYPE is deliberately left as it is (it is only reported).
    """
    for module in ("numpy", "torch"):
        if module in sys.modules:
            raise RuntimeError(f"set_threads() must run before {module} is imported")
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (and the vector extensions that matter for GEMM)."""
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model == "unknown":
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        return platform.processor() or "unknown"
    simd = [name for name in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if name in flags]
    return f"{model} ({', '.join(simd) or 'no avx2'})"


def git_revision() -> str:
    """Short commit of the checkout, marked when the work tree has uncommitted changes."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


def blas_name() -> str:
    """numpy's BLAS library and version, as numpy reports it."""
    import numpy as np

    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except Exception:  # older numpy: no dict mode
        return "unknown"


def machine_report(threads: int, extra: Iterable[str] = ()) -> str:
    """The plain-text header every benchmark prints: machine, versions, thread settings."""
    import numpy as np

    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = os.cpu_count() or 0
    try:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "unknown"
    try:
        import wintrain

        wintrain_line = f"wintrain {wintrain.__version__} from {Path(wintrain.__file__).parent}, git {git_revision()}"
    except Exception as error:  # pragma: no cover - reported, not fatal
        wintrain_line = f"wintrain: not importable ({error})"
    env = " ".join(f"{name}={os.environ.get(name, '(unset)')}" for name in THREAD_VARIABLES + ("OPENBLAS_CORETYPE",))
    lines = [
        f"date:      {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}",
        f"cpu:       {cpu_model()}; {os.cpu_count()} logical CPUs, {affinity} usable; load average {load}",
        f"python:    {platform.python_version()} ({sys.executable}); numpy {np.__version__}, BLAS {blas_name()}",
        f"package:   {wintrain_line}",
        f"threads:   --threads {threads}; env {env}",
    ]
    lines += list(extra)
    return "\n".join(lines)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 3) -> str:
    """'min–max' of the samples, for judging the noise next to a median."""
    return f"{min(values) * scale:,.{digits}f}–{max(values) * scale:,.{digits}f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A plain-text table: the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [str(cell).ljust(width) if i < left else str(cell).rjust(width)
                 for i, (cell, width) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def section(title: str) -> str:
    return f"\n== {title} " + "=" * max(3, 76 - len(title))
