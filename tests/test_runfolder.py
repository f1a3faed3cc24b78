"""Tests for wintrain.runfolder: creating a run folder, appending and reading metrics rows."""

from __future__ import annotations

import csv
import json
import os

import pytest

from wintrain.config import config_from_dict
from wintrain.errors import WintrainError
from wintrain.runfolder import METRICS_COLUMNS, RunFolder, dev_columns, read_metrics

from conftest import error_of

ROWS = [
    {"epoch": 1, "lr": 0.01, "train_loss": 0.9, "skipped_batches": 0, "dev_accuracy": 0.7, "dev_f1": 0.5},
    {"epoch": 2, "lr": 0.005, "train_loss": 0.4, "skipped_batches": 0, "dev_accuracy": 0.8, "dev_f1": 0.6},
    {"epoch": 3, "lr": 0.001, "train_loss": 0.3, "skipped_batches": 2, "dev_accuracy": 0.85, "dev_f1": 0.7},
]


def write_jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def read_csv(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_read_metrics_from_run_dir_or_file(tmp_path):
    write_jsonl(tmp_path / "metrics.jsonl", ROWS)
    assert read_metrics(tmp_path) == ROWS
    assert read_metrics(tmp_path / "metrics.jsonl") == ROWS


def test_missing_file_names_it(tmp_path):
    with pytest.raises(WintrainError, match=r"metrics\.jsonl: no such file"):
        read_metrics(tmp_path)


def test_corrupt_line_names_file_and_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + '{"epoch": 2, "lr"\n', encoding="utf-8")
    with pytest.raises(WintrainError, match=r"metrics\.jsonl:2: not valid JSON"):
        read_metrics(tmp_path)
    path.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(WintrainError, match=r"metrics\.jsonl:1: expected a JSON object"):
        read_metrics(tmp_path)
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(WintrainError, match="no epochs"):
        read_metrics(tmp_path)
    assert read_metrics(tmp_path, allow_empty=True) == []


def test_appended_rows_read_back_as_jsonl_and_csv(tmp_path):
    folder = RunFolder.create(tmp_path / "run")
    for row in ROWS:
        folder.append_metrics(row)
    assert read_metrics(folder.path) == ROWS
    table = read_csv(folder.path / "metrics.csv")
    assert list(table[0]) == list(ROWS[0])
    assert [float(row["train_loss"]) for row in table] == [0.9, 0.4, 0.3]
    assert [int(row["skipped_batches"]) for row in table] == [0, 0, 2]


def test_keep_epochs_drops_later_rows_from_both_files(tmp_path):
    folder = RunFolder.create(tmp_path / "run")
    for row in ROWS:
        folder.append_metrics(row)
    folder.keep_epochs(2)
    assert [row["epoch"] for row in read_metrics(folder.path)] == [1, 2]
    assert [row["epoch"] for row in read_csv(folder.path / "metrics.csv")] == ["1", "2"]


def test_create_refuses_a_used_folder_unless_forced(tmp_path):
    folder = RunFolder.create(tmp_path / "run")
    folder.append_metrics(ROWS[0])
    folder.release()
    with pytest.raises(WintrainError, match="already holds a run; resume it with --resume"):
        RunFolder.create(tmp_path / "run")
    RunFolder.create(tmp_path / "run", force=True).release()
    assert not (tmp_path / "run" / "metrics.jsonl").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(WintrainError, match="not a folder"):
        RunFolder.create(tmp_path / "file")


def test_a_locked_folder_is_refused_even_with_force_and_free_again_after_release(tmp_path):
    holder = RunFolder.create(tmp_path / "run")
    message = error_of(RunFolder.create, tmp_path / "run", force=True)
    assert message.startswith(f"{tmp_path / 'run'}: in use by process {os.getpid()} (")
    assert "wait for it to finish or stop it" in message
    (tmp_path / "run" / "config.yaml").write_text("")
    (tmp_path / "run" / "last.npz").write_text("")
    assert "in use by process" in error_of(RunFolder.existing, tmp_path / "run")
    holder.release()
    RunFolder.existing(tmp_path / "run").release()


def test_a_torn_last_metrics_line_is_dropped_on_resume(tmp_path):
    folder = RunFolder.create(tmp_path / "run")
    folder.append_metrics(ROWS[0])
    with open(folder.metrics_file, "a") as stream:
        stream.write('{"epoch": 2, "lr": 0.0')  # a write cut short by a full disk
    folder.keep_epochs(1)
    assert read_metrics(folder.path) == [ROWS[0]]


def test_existing_needs_config_and_last_checkpoint(tmp_path):
    with pytest.raises(WintrainError, match="not a run folder"):
        RunFolder.existing(tmp_path)
    (tmp_path / "config.yaml").write_text("")
    with pytest.raises(WintrainError, match="no last.npz"):
        RunFolder.existing(tmp_path)


def test_start_writes_config_and_environment(tmp_path):
    config = config_from_dict({"data": {"train": "train.txt"}, "seed": 5})
    folder = RunFolder.create(tmp_path / "run")
    folder.start(config)
    assert "seed: 5" in (folder.path / "config.yaml").read_text()
    assert json.loads((folder.path / "environment.json").read_text())["seed"] == 5


def test_dev_columns_for_chunk_and_flat_tag_sets():
    entity = {"accuracy": 0.9, "entity": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3}}
    assert dev_columns(entity, 1 / 3) == {"dev_accuracy": 0.9, "dev_precision": 0.5, "dev_recall": 0.25,
                                          "dev_f1": 1 / 3, "dev_score": 1 / 3}
    assert dev_columns({"accuracy": 0.8, "macro_f1": 0.6}, 0.8) == {"dev_accuracy": 0.8, "dev_macro_f1": 0.6,
                                                                    "dev_score": 0.8}


def test_every_column_a_run_writes_is_in_the_schema(tiny_data, tmp_path):
    from wintrain.config import load_config
    from wintrain.training.run import train

    train(load_config(tiny_data["config"], ["train.epochs=2"]), tmp_path / "run")
    rows = read_metrics(tmp_path / "run")
    assert [row["epoch"] for row in rows] == [1, 2]
    assert all(set(row) <= set(METRICS_COLUMNS) for row in rows)
    assert {"dev_f1", "dev_score", "skipped_batches"} <= set(rows[0])
