"""Run folders for the report's tests: a real tiny run, the same run with the diagnostics that
training will record, and hand-made folders written field by field.

(A module imported by the tests rather than a second ``conftest.py``: the suite's modules import
``conftest`` by name.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC_CONFIG = REPO / "tests" / "configs" / "synthetic.yaml"
SATURATING = ("tanh", "sigmoid", "hardtanh")

_trained: dict[str, Path] = {}


def train_synthetic(folder: Path, diagnostics: bool = False) -> Path:
    """Train ``tests/configs/synthetic.yaml`` for 2 epochs into ``folder`` (NER tags, IOB2); without
    diagnostics it is a run folder as earlier releases wrote them."""
    from wintrain.config import load_config
    from wintrain.training.run import train

    train(load_config(SYNTHETIC_CONFIG, ["train.epochs=2", f"train.diagnostics={str(diagnostics).lower()}"]), folder)
    return folder


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory) -> Path:
    """A real run folder of the synthetic corpus, trained once per session (do not modify it)."""
    if "synthetic" not in _trained:
        _trained["synthetic"] = train_synthetic(tmp_path_factory.mktemp("report-runs") / "synthetic")
    return _trained["synthetic"]


@pytest.fixture
def diagnosed_run(synthetic_run, tmp_path) -> Path:
    """A copy of the real run with train scores, diagnostics and advice added (:func:`add_diagnostics`)."""
    folder = shutil.copytree(synthetic_run, tmp_path / "diagnosed", ignore=shutil.ignore_patterns("last.npz", ".lock"))
    add_diagnostics(folder)
    return folder


def add_diagnostics(run_dir: Path) -> None:
    """Rewrite a run folder as training writes it once it records diagnostics: each metrics row gets
    ``train_score`` and ``diagnostics`` (per hidden layer of its config, per parameter group), and
    ``summary.json`` gets ``advice``.  The numbers are made up, in the ranges the fields have."""
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    activation = config["model"]["activation"]["name"]
    hidden = config["model"]["hidden"]
    saturating = activation in SATURATING
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    for row in rows:
        epoch = row["epoch"]
        row["train_score"] = min(1.0, row["dev_score"] + 0.01 * epoch)
        layers: dict[str, Any] = {}
        params: dict[str, Any] = {"embed.word": _param(0.5 / epoch, 40.0 + epoch, 2e-4)}
        for number in range(1, len(hidden) + 1):
            share = min(1.0, 0.1 * epoch + 0.05 * number)
            layers[f"hidden{number}"] = {
                "activation": activation, "pre_mean": 0.02 * epoch, "pre_std": 0.8 + 0.1 * epoch,
                "act_mean": 0.01 * epoch, "act_std": 0.5 + 0.05 * epoch,
                "saturated": share if saturating else None, "dead": None if saturating else share,
            }
            params[f"hidden{number}.W"] = _param(1.0 / epoch, 10.0 + epoch, 1e-3 / epoch)
            params[f"hidden{number}.b"] = _param(0.1 / epoch, 0.5 + 0.1 * epoch, 5e-3 / epoch)
        params["output.W"] = _param(2.0 / epoch, 5.0 + epoch, 3e-3 / epoch)
        params["output.b"] = _param(0.2 / epoch, 0.3 + 0.1 * epoch, 1e-2 / epoch)
        row["diagnostics"] = {"layers": layers, "params": params}
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    summary["advice"] = [{"epoch": 1, "kind": "saturated_units" if saturating else "dead_units",
                          "message": f"62 % of hidden units are {'saturated' if saturating else 'dead'} "
                                     f"<{activation}> & stay so; try a smaller lr"}]
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _param(grad_norm: float, weight_norm: float, update_ratio: float) -> dict[str, float]:
    return {"grad_norm": grad_norm, "weight_norm": weight_norm, "update_ratio": update_ratio}


def write_run(
    folder: Path,
    config: dict[str, Any] | None = None,
    rows: list[dict[str, Any]] | None = None,
    summary: dict[str, Any] | None = None,
    environment: dict[str, Any] | None = None,
    torn_tail: str = "",
) -> Path:
    """A hand-made run folder with the given files (None: the file is absent)."""
    folder.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    if rows is not None:
        text = "".join(json.dumps(row) + "\n" for row in rows) + torn_tail
        (folder / "metrics.jsonl").write_text(text, encoding="utf-8")
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if environment is not None:
        (folder / "environment.json").write_text(json.dumps(environment), encoding="utf-8")
    return folder


def ner_rows(epochs: int, lr: float = 0.01) -> list[dict[str, Any]]:
    """Metrics rows of a chunk-tag run as training writes them today (no train score, no diagnostics)."""
    return [{"epoch": e, "lr": lr, "train_loss": 1.0 / e, "epoch_seconds": 0.5, "tokens_per_second": 1000.0,
             "skipped_batches": 0, "dev_accuracy": 0.9 + 0.01 * e, "dev_precision": 0.6 + 0.05 * e,
             "dev_recall": 0.6 + 0.04 * e, "dev_f1": 0.6 + 0.045 * e, "dev_score": 0.6 + 0.045 * e}
            for e in range(1, epochs + 1)]


def ner_summary(best_epoch: int, score: float) -> dict[str, Any]:
    per_type = {"PER": {"precision": 0.8, "recall": 0.7, "f1": 0.7467, "found": 10, "correct": 8, "gold": 11},
                "LOC": {"precision": 0.5, "recall": 0.6, "f1": 0.5455, "found": 6, "correct": 3, "gold": 5}}
    dev = {"accuracy": 0.93, "tokens": 100,
           "entity": {"precision": 0.6875, "recall": 0.6875, "f1": score, "found": 16, "correct": 11, "gold": 16,
                      "per_type": per_type}}
    return {"best_epoch": best_epoch, "best_dev_score": score, "score": "entity_f1", "dev": dev, "test": None,
            "epochs": best_epoch, "stopped_early": False, "train_seconds": 1.5, "wintrain_version": "0.1.0",
            "numpy_version": "2.0.0", "seed": 0}
