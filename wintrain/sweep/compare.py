"""Put runs side by side: training runs' folders and sweeps' trials, with the settings that differ.

:func:`load_runs` reads run folders (``config.yaml``, ``metrics.jsonl``, ``summary.json``) and
sweep folders (``sweep.jsonl``: one entry per trial, each with its config and per-epoch
scores); :func:`differing_settings` keeps the config keys whose values are not the same for
all of them, so a table shows what was varied and nothing else.  Both kinds of config are
first brought to one form (:func:`normalised`): every default filled in, ``data.tag_column`` and the
chunk scheme resolved, so a key left to its default on one side and written out on the other does not
count as a difference.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wintrain.config import validate_config
from wintrain.data.load import corpus_format
from wintrain.errors import WintrainError, listed
from wintrain.runfolder import CONFIG_FILE, METRICS_FILE, SUMMARY_FILE, read_metrics
from wintrain.sweep.runner import SWEEP_FILE, read_records

IGNORED_KEYS = ("output.dir",)


@dataclass(frozen=True)
class RunView:
    """One run (or sweep trial) to compare.

    Attributes:
        name: the run folder's name, or ``<sweep folder>/trial-N``.
        config: its config as a nested mapping.
        rows: per-epoch rows (``epoch``, ``train_loss``, ``dev_*`` ...).
        test: the test score of its best checkpoint, when it has one.
        seconds: training time.
        status: ``""`` (finished), ``running``/``stopped`` (run folder without a summary),
            ``pruned``, ``diverged`` or ``failed`` (sweep trials).
    """

    name: str
    config: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    test: float | None = None
    seconds: float | None = None
    status: str = ""

    def series(self, metric: str) -> list[float]:
        """``metric`` per epoch (NaN where a row lacks it)."""
        return [float(row[metric]) if isinstance(row.get(metric), (int, float)) else math.nan for row in self.rows]

    def best(self, metric: str) -> tuple[int | None, float | None]:
        """(best epoch, its value) of ``metric``: the lowest for a loss, the highest otherwise."""
        values = [(row["epoch"], value) for row, value in zip(self.rows, self.series(metric)) if not math.isnan(value)]
        if not values:
            return None, None
        pick = min if metric.endswith("loss") else max
        return pick(values, key=lambda pair: pair[1])


def load_runs(paths: Sequence[Path]) -> list[RunView]:
    """The runs of run folders and sweep folders (a sweep expands to its trials)."""
    runs: list[RunView] = []
    for path in paths:
        path = Path(path)
        if (path / SWEEP_FILE).is_file():
            runs += _sweep_trials(path)
        elif (path / METRICS_FILE).is_file() or (path / CONFIG_FILE).is_file():
            runs.append(_run_folder(path))
        else:
            raise WintrainError(f"{path}: neither a run folder (metrics.jsonl) nor a sweep folder (sweep.jsonl)")
    if not runs:
        raise WintrainError(f"nothing to compare in {listed([str(p) for p in paths])}")
    return runs


def _run_folder(path: Path) -> RunView:
    config = yaml.safe_load((path / CONFIG_FILE).read_text(encoding="utf-8")) if (path / CONFIG_FILE).is_file() else {}
    rows = read_metrics(path, allow_empty=True) if (path / METRICS_FILE).is_file() else []
    summary_path = path / SUMMARY_FILE
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        test = summary.get("test")
        score = None
        if test:
            score = test["entity"]["f1"] if "entity" in test else test.get("accuracy")
        return RunView(path.name, with_scheme(config or {}, summary.get("tag_scheme")), rows, score,
                       summary.get("train_seconds"))
    seconds = sum(row.get("epoch_seconds", 0.0) for row in rows)
    return RunView(path.name, config or {}, rows, None, seconds, "unfinished")


def _sweep_trials(path: Path) -> list[RunView]:
    latest: dict[str, dict[str, Any]] = {}
    for record in read_records(path / SWEEP_FILE):  # a rerun trial replaces its failed attempt
        latest[json.dumps([record["overrides"], record.get("setup", "")], sort_keys=True)] = record
    views: list[RunView] = []
    for record in sorted(latest.values(), key=lambda r: (r.get("setup", ""), r.get("trial", 0))):
        status = ("failed" if record.get("error") else "diverged" if record.get("diverged")
                  else "pruned" if record.get("pruned") else "")
        config = with_scheme(record.get("config") or _apply(record["overrides"]), record.get("tag_scheme"))
        rows = record.get("epochs") or []
        views.append(RunView(f"{path.name}/trial-{record.get('trial', len(views))}", config, rows, None,
                             record.get("seconds"), status))
    return views


def _apply(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides as a nested mapping (for records written before trials stored their config)."""
    nested: dict[str, Any] = {}
    for dotted, value in overrides.items():
        node = nested
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


def with_scheme(config: dict[str, Any], tag_scheme: dict[str, str] | None) -> dict[str, Any]:
    """``config`` with ``data.scheme: auto`` replaced by the chunk scheme training resolved (kept in the run's
    summary or the trial's record), as run folders written before the scheme was saved on its own had it."""
    data = config.get("data")
    if isinstance(data, dict) and data.get("scheme", "auto") == "auto" and tag_scheme \
            and tag_scheme.get("data") not in (None, "flat"):
        return {**config, "data": {**data, "scheme": tag_scheme["data"]}}
    return config


def normalised(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config in the form a run folder's ``config.yaml`` has: defaults filled in and a
    ``data.tag_column`` of null resolved to the column or field that is read (-1, the last column,
    or ``upos`` for CoNLL-U), as run folders written before it stayed null had it.  ``data.scheme: auto``
    needs the data to resolve (:func:`with_scheme`) and stays as stored.  A config that no longer
    validates is kept as it is."""
    if not config or "data" not in config:
        return config
    try:
        parsed = validate_config(json.loads(json.dumps(config)))
    except WintrainError:
        return config
    data = parsed.data
    if data.tag_column is None:
        data.tag_column = "upos" if corpus_format(data.train, data) == "conllu" else -1
    return parsed.to_dict()


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"hidden": [200]}}`` → ``{"model.hidden": [200]}`` (lists stay values)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def differing_settings(runs: Sequence[RunView]) -> list[dict[str, Any]]:
    """Per run, the flattened config keys whose values differ between the runs (in config order)."""
    flats = [flatten(normalised(run.config)) for run in runs]
    keys = list(dict.fromkeys(key for flat in flats for key in flat))
    differing = [key for key in keys if key not in IGNORED_KEYS
                 and len({json.dumps(flat.get(key), sort_keys=True, default=str) for flat in flats}) > 1]
    return [{key: flat.get(key) for key in differing} for flat in flats]


def setting_text(settings: dict[str, Any]) -> str:
    """``key=value`` pairs: ``model.hidden=[200, 100] loss.l2=1e-05 model.activation=relu``."""
    return " ".join(f"{key}={show_value(value)}" for key, value in settings.items())


def show_value(value: Any) -> str:
    """A config value as short text: floats to 4 significant digits, lists in brackets, None as null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {show_value(item)}" for key, item in value.items()) + "}"
    return "null" if value is None else str(value)


@dataclass(frozen=True)
class Comparison:
    """The runs in table order (best first by ``metric``) and their differing settings."""

    runs: list[RunView]
    settings: list[dict[str, Any]]
    metric: str

    def rows(self) -> list[dict[str, Any]]:
        """JSON-ready rows: name, settings, best_epoch, best (``metric`` at it), test, epochs, seconds, status."""
        table = []
        for run, settings in zip(self.runs, self.settings):
            epoch, value = run.best(self.metric)
            table.append({"name": run.name, "settings": settings, "best_epoch": epoch, "best": value,
                          "metric": self.metric, "test": run.test, "epochs": len(run.rows),
                          "seconds": run.seconds, "status": run.status, "per_epoch": run.rows})
        return table


def compare(paths: Sequence[Path], metric: str = "dev_score") -> Comparison:
    """Load the runs of ``paths`` and order them by the best ``metric`` (runs without it last)."""
    runs = load_runs(paths)
    if not any(metric in row for run in runs for row in run.rows):
        known = sorted({key for run in runs for row in run.rows for key in row if key != "epoch"})
        raise WintrainError(f"--metric {metric}: no run records it; choose one of {listed(known, limit=10)}")
    lower_first = metric.endswith("loss")

    def order(run: RunView) -> tuple[bool, float]:
        value = run.best(metric)[1]
        return value is None, (value if lower_first else -value) if value is not None else 0.0

    runs = sorted(runs, key=order)
    return Comparison(runs, differing_settings(runs), metric)
