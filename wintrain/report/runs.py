"""A run folder read for a report: every file optional but one, every field looked up defensively.

:func:`load_run` reads what :mod:`wintrain.runfolder` writes (``config.yaml``,
``environment.json``, ``metrics.jsonl``, ``summary.json``, whether ``best.npz`` exists) into a
:class:`RunData`.  Only a folder with neither ``config.yaml`` nor ``metrics.jsonl`` is refused:
a run that stopped before its summary, or one written before training recorded ``train_score``
and ``diagnostics``, still gives what it has.  A torn last line of ``metrics.jsonl`` (a write
cut short) is dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wintrain.errors import WintrainError
from wintrain.evaluation.evaluate import main_score
from wintrain.runfolder import BEST, CONFIG_FILE, ENVIRONMENT_FILE, METRICS_FILE, SUMMARY_FILE, read_metrics

SCORE_NAMES = {"entity_f1": "entity F1", "segmentation_f1": "segmentation F1", "accuracy": "accuracy"}


def number(value: Any) -> float | None:
    """``value`` as a finite float, else None (missing, null, text, NaN, a nested object)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class RunData:
    """One run folder's files as read (missing files give empty values).

    Attributes:
        path: the folder.
        name: how the report names it (unique among the runs of one report).
        config: the resolved config as a nested mapping (``{}`` without ``config.yaml``).
        environment: seed, versions, platform, start time (``{}`` without ``environment.json``).
        rows: the ``metrics.jsonl`` rows, one per finished epoch.
        summary: ``summary.json`` (None while the run has not finished).
        has_best: whether ``best.npz`` exists.
    """

    path: Path
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    has_best: bool = False

    def series(self, key: str) -> list[tuple[int, float]]:
        """``(epoch, value)`` of the rows with a finite number under ``key``."""
        points = []
        for index, row in enumerate(self.rows, start=1):
            value = number(row.get(key))
            epoch = number(row.get("epoch"))
            if value is not None:
                points.append((int(epoch) if epoch is not None else index, value))
        return points

    @property
    def status(self) -> str:
        """``finished``, ``stopped early`` or ``unfinished`` (no summary.json yet)."""
        if self.summary is None:
            return "unfinished"
        return "stopped early" if self.summary.get("stopped_early") else "finished"

    @property
    def score_name(self) -> str:
        """What ``dev_score`` measures: ``entity F1`` (chunk tag sets), ``segmentation F1`` (a tokenizer: the
        mean of token and sentence F1) or ``accuracy``."""
        stored = (self.summary or {}).get("score")
        if isinstance(stored, str):
            return SCORE_NAMES.get(stored, stored)
        if any("dev_tokens_f1" in row for row in self.rows):
            return SCORE_NAMES["segmentation_f1"]
        return "entity F1" if any("dev_f1" in row for row in self.rows) else "accuracy"

    @property
    def best_epoch(self) -> int | None:
        """The epoch ``best.npz`` holds: from the summary, else the epoch of the highest dev score."""
        stored = number((self.summary or {}).get("best_epoch"))
        if stored is not None and stored > 0:
            return int(stored)
        points = self.series("dev_score")
        return max(points, key=lambda point: point[1])[0] if points else None

    @property
    def best_dev_score(self) -> float | None:
        """The dev score of the best epoch, in [0, 1]."""
        stored = number((self.summary or {}).get("best_dev_score"))
        if stored is not None:
            return stored
        points = self.series("dev_score")
        return max(value for _, value in points) if points else None

    @property
    def dev_metrics(self) -> dict[str, Any] | None:
        """The best epoch's dev evaluation (``summary.json`` ``dev``), when the run finished with dev data."""
        dev = (self.summary or {}).get("dev")
        return dev if isinstance(dev, dict) else None

    @property
    def test_metrics(self) -> dict[str, Any] | None:
        """``best.npz`` on test (``summary.json`` ``test``), when the run finished with test data."""
        test = (self.summary or {}).get("test")
        return test if isinstance(test, dict) else None

    @property
    def test_score(self) -> float | None:
        """The test number that matches the dev score: entity F1 for chunk tag sets, else accuracy."""
        return main_number(self.test_metrics)

    @property
    def epochs_planned(self) -> int | None:
        train = self.config.get("train")
        value = number(train.get("epochs")) if isinstance(train, dict) else None
        return int(value) if value is not None else None

    @property
    def has_train_score(self) -> bool:
        return bool(self.series("train_score"))

    @property
    def diagnostics(self) -> list[tuple[int, dict[str, Any]]]:
        """``(epoch, diagnostics)`` of the rows that carry a ``diagnostics`` object."""
        found = []
        for index, row in enumerate(self.rows, start=1):
            value = row.get("diagnostics")
            epoch = number(row.get("epoch"))
            if isinstance(value, dict):
                found.append((int(epoch) if epoch is not None else index, value))
        return found

    @property
    def advice(self) -> list[dict[str, Any]]:
        """``summary.json`` ``advice`` entries (``epoch``, ``kind``, ``message``), when training gave any."""
        entries = (self.summary or {}).get("advice")
        return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []

    def version(self, package: str) -> str | None:
        """A package version from ``environment.json``, else from ``summary.json`` (``<package>_version``)."""
        value = self.environment.get(package) or (self.summary or {}).get(f"{package}_version")
        return str(value) if value else None


def main_number(metrics: dict[str, Any] | None) -> float | None:
    """The main score of an evaluation (:func:`~wintrain.evaluation.evaluate.main_score`: entity F1,
    a tokenizer's segmentation F1, else token accuracy); None when it is missing or malformed."""
    if not isinstance(metrics, dict) or not metrics:
        return None
    try:
        return number(main_score(metrics)[1])
    except (KeyError, TypeError, ValueError):
        return None


def load_run(path: Path, name: str | None = None) -> RunData:
    """Read the run folder at ``path`` (see :class:`RunData`).

    Raises:
        WintrainError: ``path`` is not a folder, holds neither ``config.yaml`` nor
            ``metrics.jsonl``, or one of its files is damaged (the message names the file).
    """
    path = Path(path)
    if not path.is_dir():
        raise WintrainError(f"{path}: no such folder; pass a run folder written by wintrain train")
    if not (path / CONFIG_FILE).is_file() and not (path / METRICS_FILE).is_file():
        raise WintrainError(
            f"{path}: not a run folder (no {CONFIG_FILE} or {METRICS_FILE}); pass a folder written by wintrain train"
        )
    config = _mapping(path / CONFIG_FILE, yaml_file=True)
    rows = read_metrics(path, allow_empty=True, torn_tail=True) if (path / METRICS_FILE).is_file() else []
    summary_file = path / SUMMARY_FILE
    return RunData(
        path=path,
        name=name or path.name,
        config=config,
        environment=_mapping(path / ENVIRONMENT_FILE),
        rows=rows,
        summary=_mapping(summary_file) if summary_file.is_file() else None,
        has_best=(path / BEST).is_file(),
    )


def _mapping(path: Path, yaml_file: bool = False) -> dict[str, Any]:
    """The object a JSON (or YAML) file holds; ``{}`` when the file is missing."""
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        value = yaml.safe_load(text) if yaml_file else json.loads(text)
    except UnicodeDecodeError:
        raise WintrainError(f"{path}: not UTF-8 text; the file is damaged") from None
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "not valid YAML"
        raise WintrainError(f"{path}: {reason}; the file is damaged") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WintrainError(f"{path}: expected a mapping, got {type(value).__name__}; the file is damaged")
    return value


def run_names(paths: Sequence[Path]) -> list[str]:
    """Short unique names: each folder's name, with as many parent folders as it takes to tell
    runs of the same name apart (``a/run``, ``b/run``)."""
    resolved = [Path(path).resolve() for path in paths]
    parts = [path.parts[1:] or (str(path),) for path in resolved]  # without the root
    depth = 1
    while True:
        names = ["/".join(part[-depth:]) for part in parts]
        if len(set(names)) == len(set(resolved)) or depth >= max(len(part) for part in parts):
            break
        depth += 1
    counts: dict[str, int] = {}
    unique = []
    for name in names:  # the same folder given twice
        counts[name] = counts.get(name, 0) + 1
        unique.append(name if counts[name] == 1 else f"{name} ({counts[name]})")
    return unique


def load_runs(paths: Sequence[Path]) -> list[RunData]:
    """:func:`load_run` for each folder, named by :func:`run_names`."""
    if not paths:
        raise WintrainError("no run folder given; pass one or more folders written by wintrain train")
    return [load_run(path, name) for path, name in zip(paths, run_names(paths))]
