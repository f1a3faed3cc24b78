"""Reading run folders for a report: optional files and fields, torn lines, damaged files, names."""

from __future__ import annotations

from pathlib import Path

from wintrain.report.runs import load_run, load_runs, main_number, run_names

from conftest import error_of
from report_fixtures import ner_rows, ner_summary, write_run


def test_a_finished_run_gives_its_scores_versions_and_status(tmp_path):
    folder = write_run(tmp_path / "run", {"seed": 4, "train": {"epochs": 3}}, ner_rows(3), ner_summary(2, 0.69),
                       {"wintrain": "9.9", "numpy": "1.26", "started": "2026-01-02T03:04:05"})
    run = load_run(folder)
    assert run.name == "run" and run.status == "finished" and run.score_name == "entity F1"
    assert run.best_epoch == 2 and run.best_dev_score == 0.69 and run.epochs_planned == 3
    assert run.version("wintrain") == "9.9" and run.version("python") is None
    assert run.series("train_loss") == [(1, 1.0), (2, 0.5), (3, 1 / 3)]
    assert run.dev_metrics is not None and run.test_metrics is None and run.test_score is None
    assert not run.has_train_score and run.diagnostics == [] and run.advice == [] and not run.has_best


def test_an_unfinished_run_without_summary_takes_its_best_epoch_from_the_rows(tmp_path):
    rows = ner_rows(3)
    rows[1]["dev_score"] = 0.99
    run = load_run(write_run(tmp_path / "run", rows=rows))
    assert run.status == "unfinished" and run.config == {} and run.environment == {}
    assert run.best_epoch == 2 and run.best_dev_score == 0.99 and run.score_name == "entity F1"
    assert run.version("numpy") is None


def test_a_torn_last_line_is_dropped(tmp_path):
    run = load_run(write_run(tmp_path / "run", {"seed": 0}, ner_rows(2), torn_tail='{"epoch": 3, "lr'))
    assert [row["epoch"] for row in run.rows] == [1, 2]


def test_odd_values_are_left_out_of_series(tmp_path):
    rows = ner_rows(3)
    rows[0]["train_loss"] = None
    rows[1]["train_loss"] = "n/a"
    rows[2]["diagnostics"] = "broken"
    run = load_run(write_run(tmp_path / "run", rows=rows))
    assert run.series("train_loss") == [(3, 1 / 3)] and run.diagnostics == []


def test_train_score_diagnostics_and_advice_are_read_when_present(tmp_path):
    rows = ner_rows(2)
    rows[1]["train_score"] = 0.8
    rows[1]["diagnostics"] = {"layers": {}, "params": {}}
    summary = {**ner_summary(2, 0.69), "advice": [{"epoch": 1, "kind": "k", "message": "m"}, "junk"]}
    run = load_run(write_run(tmp_path / "run", rows=rows, summary=summary))
    assert run.has_train_score and run.series("train_score") == [(2, 0.8)]
    assert run.diagnostics == [(2, {"layers": {}, "params": {}})]
    assert run.advice == [{"epoch": 1, "kind": "k", "message": "m"}]


def test_a_folder_that_is_not_a_run_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "not a run folder" in error_of(load_run, tmp_path / "empty")
    assert "no such folder" in error_of(load_run, tmp_path / "missing")
    assert "no run folder given" in error_of(load_runs, [])


def test_damaged_files_name_the_file(tmp_path):
    folder = write_run(tmp_path / "run", {"seed": 0}, ner_rows(1))
    (folder / "summary.json").write_text("{not json", encoding="utf-8")
    assert "summary.json" in error_of(load_run, folder)
    (folder / "summary.json").write_text("[1, 2]", encoding="utf-8")
    assert "expected a mapping" in error_of(load_run, folder)
    (folder / "summary.json").unlink()
    (folder / "config.yaml").write_text("a: [1,", encoding="utf-8")
    assert "config.yaml: not valid YAML" in error_of(load_run, folder)


def test_run_names_tell_runs_of_the_same_name_apart():
    assert run_names([Path("/x/a/run"), Path("/x/b/run"), Path("/x/c/other")]) == ["a/run", "b/run", "c/other"]
    assert run_names([Path("/x/run"), Path("/x/run")]) == ["run", "run (2)"]


def test_main_number_is_entity_f1_or_accuracy():
    assert main_number({"accuracy": 0.9, "entity": {"f1": 0.7}}) == 0.7
    assert main_number({"accuracy": 0.9, "per_class": {}}) == 0.9
    assert main_number(None) is None
