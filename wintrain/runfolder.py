"""The run folder: its files, their schema, and the only code that writes or reads them.

A training run owns one folder::

    config.yaml        the config with absolute paths (the tag scheme training resolves is in the
                       checkpoints and in summary.json)
    environment.json   seed, versions, platform, start time
    metrics.jsonl      one JSON row per finished epoch (schema: :class:`MetricsRow`)
    metrics.csv        the same rows as CSV (columns fixed by the first row)
    last.npz           everything ``--resume`` needs      (written by :mod:`wintrain.checkpoint`)
    best.npz           the parameters of the best dev epoch
    summary.json       best epoch, best dev metrics, test metrics of best.npz, time, versions, tag
                       scheme, the diagnostics' advice

Training appends one row per epoch to both metrics files (never re-reading them); plotting,
comparing and resuming read them back through :func:`read_metrics`.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from wintrain import __version__
from wintrain.config import Config, dump_config
from wintrain.errors import WintrainError

CONFIG_FILE = "config.yaml"
ENVIRONMENT_FILE = "environment.json"
METRICS_FILE = "metrics.jsonl"
METRICS_CSV = "metrics.csv"
SUMMARY_FILE = "summary.json"
LAST = "last.npz"
BEST = "best.npz"
RUN_FILES = (METRICS_FILE, METRICS_CSV, SUMMARY_FILE, LAST, BEST)


MetricsRow = dict[str, Any]
"""One epoch of ``metrics.jsonl``: the keys of :data:`METRICS_COLUMNS` (``dev_*`` only with a dev set)."""

METRICS_COLUMNS = {
    "epoch": "1-based epoch number",
    "lr": "learning rate at the epoch's end",
    "train_loss": "mean J over the epoch's applied batches",
    "epoch_seconds": "training time of the epoch (dev scoring excluded)",
    "tokens_per_second": "training tokens / epoch_seconds",
    "skipped_batches": "non-finite batches skipped (train.on_nonfinite: skip_batch)",
    "dev_accuracy": "token accuracy on dev",
    "dev_precision": "entity precision on dev (chunk tag sets)",
    "dev_recall": "entity recall on dev (chunk tag sets)",
    "dev_f1": "entity F1 on dev (chunk tag sets); for tokenizers the mean of token and sentence F1",
    "dev_macro_f1": "macro-averaged per-tag F1 on dev (flat tag sets)",
    "dev_tokens_f1": "token F1 on dev (tokenizers: tokens with the gold character span)",
    "dev_sentences_f1": "sentence F1 on dev (tokenizers)",
    "dev_multiword_f1": "F1 of the multiword tokens the model labels, on dev (tokenizers; before the lexicon)",
    "dev_score": "the number that picks the best epoch: dev_f1 for chunk tag sets, else dev_accuracy",
    "train_score": "the same score on a fixed sample of training sentences (train.diagnostics)",
    "diagnostics": "per hidden layer (layers.NAME: activation, pre_mean, pre_std, act_mean, act_std, saturated, "
                   "dead) and per weight matrix, table and transitions (params.NAME: grad_norm, weight_norm, "
                   "update_ratio); see wintrain/training/diagnostics.py",
}
"""The schema of ``metrics.jsonl`` and ``metrics.csv``: every column and what it holds (scores in [0, 1])."""


def dev_columns(metrics: dict[str, Any], score: float) -> dict[str, float]:
    """The ``dev_*`` columns of a metrics row: an evaluation's headline numbers and its main ``score``."""
    row = {"dev_accuracy": float(metrics["accuracy"])}
    if "entity" in metrics:
        entity = metrics["entity"]
        row.update(dev_precision=entity["precision"], dev_recall=entity["recall"], dev_f1=entity["f1"])
    elif "segmentation" in metrics:
        row.update(dev_tokens_f1=metrics["tokens"]["f1"], dev_sentences_f1=metrics["sentences"]["f1"],
                   dev_multiword_f1=metrics["multiword"]["f1"], dev_f1=metrics["segmentation"]["f1"])
    elif "macro_f1" in metrics:
        row["dev_macro_f1"] = metrics["macro_f1"]
    row["dev_score"] = score
    return row


def dev_metric_key(rows: Sequence[dict[str, Any]]) -> str | None:
    """``dev_f1`` when any row has it, else ``dev_accuracy`` when any row has it, else None."""
    for key in ("dev_f1", "dev_accuracy"):
        if any(key in row for row in rows):
            return key
    return None


def environment(config: Config) -> dict[str, Any]:
    """What a reproduction needs besides the config: seed and package versions."""
    import numpy
    import pydantic

    return {
        "seed": config.seed,
        "wintrain": __version__,
        "numpy": numpy.__version__,
        "pydantic": pydantic.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "started": datetime.now().isoformat(timespec="seconds"),
    }


def default_run_dir(config: Config) -> Path:
    """``runs/<config name>-<date>-<time>``."""
    stem = Path(config.source).stem if config.source else "run"
    return Path("runs") / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


class FolderLock:
    """An exclusive lock on a folder (a run folder, a sweep's ``--out``) for one process at a time.

    It is an ``fcntl.flock`` on the file ``.lock`` inside the folder, which also records the
    holder's process id and command line for the message another process gets.  The operating
    system releases the lock when the holder exits in any way, SIGKILL included, so a lock
    left by a dead process never blocks.  (Where ``fcntl`` does not exist, nothing is locked.)
    """

    FILE = ".lock"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.descriptor: int | None = None

    def acquire(self) -> FolderLock:
        """Take the lock or raise a WintrainError naming the folder and the process that holds it;
        :meth:`announce` then records this process as the holder."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            return self
        path = self.folder / self.FILE
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise WintrainError(
                f"{self.folder}: cannot create {self.FILE} ({error.strerror}); choose another folder"
            ) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(descriptor, 4096).decode("utf-8", errors="replace").strip() or "another process"
            os.close(descriptor)
            raise WintrainError(
                f"{self.folder}: in use by {holder}; wait for it to finish or stop it, or choose another folder"
            ) from None
        self.descriptor = descriptor
        return self

    def announce(self) -> FolderLock:
        """Write this process's id and command line into the lock file (for the message others get)."""
        if self.descriptor is not None:
            command = " ".join(sys.argv[:6])[:120]
            os.ftruncate(self.descriptor, 0)
            os.pwrite(self.descriptor, f"process {os.getpid()} ({command})\n".encode(), 0)
        return self

    def release(self) -> None:
        """Give the lock up (closing the file releases it)."""
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None


@dataclass(frozen=True)
class RunFolder:
    """The files of one run folder at ``path``, locked for this process while it trains
    (:meth:`create` and :meth:`existing` take the lock, :meth:`release` gives it up)."""

    path: Path
    lock: FolderLock | None = None

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def last(self) -> Path:
        return self.path / LAST

    @property
    def best(self) -> Path:
        return self.path / BEST

    @classmethod
    def create(cls, path: Path, force: bool = False) -> RunFolder:
        """Create and lock the run folder; refuse to overwrite an earlier run unless ``force`` (which
        clears it) and refuse a folder another process is training in, ``force`` or not."""
        if path.exists() and not path.is_dir():
            raise WintrainError(f"{path}: output.dir exists and is not a folder; choose another --out")
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as error:
            raise WintrainError(
                f"{path}: cannot write the run folder ({error.strerror}); choose another --out"
            ) from None
        lock = FolderLock(path).acquire()
        holds_run = any((path / name).exists() for name in (LAST, METRICS_FILE, SUMMARY_FILE))
        if holds_run and not force:
            lock.release()
            raise WintrainError(
                f"{path}: already holds a run; resume it with --resume {path}, choose another --out, "
                "or pass --force to overwrite it"
            )
        for name in RUN_FILES:  # --force: a fresh run
            (path / name).unlink(missing_ok=True)
        return cls(path, lock.announce())

    @classmethod
    def existing(cls, path: Path) -> RunFolder:
        """Lock a folder a training run wrote, with a ``last.npz`` to resume from."""
        folder = cls(Path(path))
        if not folder.config_file.is_file():
            raise WintrainError(f"{path}: not a run folder (no {CONFIG_FILE}); pass the folder a training run wrote")
        lock = FolderLock(folder.path).acquire()
        if not folder.last.is_file():
            lock.release()
            raise WintrainError(
                f"{path}: no {LAST} to resume from (the run stopped before its first checkpoint); "
                "start it again with wintrain train"
            )
        return cls(folder.path, lock.announce())

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()

    def start(self, config: Config) -> None:
        """Write ``config.yaml`` and ``environment.json`` of a new run."""
        self._write(CONFIG_FILE, dump_config(config))
        self._write(ENVIRONMENT_FILE, json.dumps(environment(config), indent=2) + "\n")

    def append_metrics(self, row: MetricsRow) -> None:
        """Add one epoch's row to ``metrics.jsonl`` and ``metrics.csv`` (nested values, the diagnostics,
        flattened into dotted CSV columns)."""
        self._append(METRICS_FILE, json.dumps(row) + "\n")
        self._append_csv(flat_row(row))

    def _append_csv(self, row: dict[str, Any]) -> None:
        """One CSV line; the header (the first row's keys) is written with the first row."""
        header = _csv_header(self.path / METRICS_CSV)
        if header is None:
            header = list(row)
            self._append(METRICS_CSV, _csv_line(header))
        self._append(METRICS_CSV, _csv_line(["" if row.get(key) is None else row[key] for key in header]))

    def keep_epochs(self, epochs: int) -> None:
        """Drop metrics rows of epochs after ``epochs`` (a crash may have written one more than
        the checkpoint holds) and write the CSV afresh from the rows kept."""
        if not self.metrics_file.exists():
            return
        rows = read_metrics(self.path, allow_empty=True, torn_tail=True)
        rows = [row for row in rows if row.get("epoch", 0) <= epochs]
        self._write(METRICS_FILE, "".join(json.dumps(row) + "\n" for row in rows))
        (self.path / METRICS_CSV).unlink(missing_ok=True)
        for row in rows:
            self._append_csv(flat_row(row))

    def write_summary(self, summary: dict[str, Any]) -> None:
        self._write(SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")

    def clear_summary(self) -> None:
        (self.path / SUMMARY_FILE).unlink(missing_ok=True)

    def _write(self, name: str, text: str) -> None:
        (self.path / name).write_text(text, encoding="utf-8")

    def _append(self, name: str, text: str) -> None:
        with open(self.path / name, "a", encoding="utf-8", newline="") as stream:
            stream.write(text)


def flat_row(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"diagnostics": {"layers": {"hidden1": {"dead": 0.1}}}}`` → ``{"diagnostics.layers.hidden1.dead": 0.1}``."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update(flat_row(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _csv_line(values: list[Any]) -> str:
    """One CSV record; numbers written with ``str`` (floats round-trip exactly)."""
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _csv_header(path: Path) -> list[str] | None:
    """The column names of an existing, non-empty CSV file, else None."""
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            return next(csv.reader(stream), None)
    except FileNotFoundError:
        return None


def read_metrics(
    run_dir: str | os.PathLike[str], allow_empty: bool = False, torn_tail: bool = False
) -> list[dict[str, Any]]:
    """The epoch rows of ``run_dir/metrics.jsonl`` (``run_dir`` may also be the file itself).

    ``torn_tail``: a last line that is not valid JSON is dropped (a write cut short by a full
    disk or a crash) instead of being an error.

    Raises:
        WintrainError: the file is missing, not UTF-8, holds no rows (unless ``allow_empty``),
            or a line is not a JSON object (the message names ``file:line``).
    """
    path = Path(run_dir)
    if path.is_dir():
        path = path / METRICS_FILE
    if not path.exists():
        raise WintrainError(f"{path}: no such file; give a run folder written by wintrain train")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise WintrainError(f"{path}: not UTF-8 text; the file is damaged") from None
    lines = [(number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if torn_tail and lines:
        try:
            json.loads(lines[-1][1])
        except json.JSONDecodeError:
            lines.pop()
    rows = [_parse_row(path, number, line) for number, line in lines]
    if not rows and not allow_empty:
        raise WintrainError(f"{path}: no epochs recorded yet; wait for the first epoch to finish")
    return rows


def _parse_row(path: Path, number: int, line: str) -> dict[str, Any]:
    """One JSON object from line ``number`` of ``path``."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise WintrainError(f"{path}:{number}: not valid JSON ({error.msg}); the file is damaged") from None
    if not isinstance(row, dict):
        raise WintrainError(f"{path}:{number}: expected a JSON object per epoch, got {type(row).__name__}")
    return row
