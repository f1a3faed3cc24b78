"""``wintrain report`` as a user runs it: where it writes, what it refuses, one-line errors."""

from __future__ import annotations

import pytest

from wintrain.cli import main

from report_fixtures import ner_rows, ner_summary, write_run

pytest_plugins = ["report_fixtures"]  # its fixtures: synthetic_run, diagnosed_run

CONFIG = {"seed": 0, "data": {"train": "train.txt"}, "train": {"epochs": 2}}


def run_main(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_one_run_is_reported_inside_its_folder_and_a_missing_dev_set_is_noted(tmp_path, capsys):
    folder = write_run(tmp_path / "run", CONFIG, ner_rows(2), ner_summary(2, 0.7))
    code, out, err = run_main(capsys, "report", folder)
    assert code == 0 and out.strip() == f"wrote {folder / 'report.html'}"
    assert err.strip() == "note: run: no dev predictions (" + str(folder) + ": the run has no dev data (data.dev " \
                          "is not set))"
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "No error list:" in page


def test_several_runs_go_to_the_current_folder(tmp_path, capsys, monkeypatch):
    first = write_run(tmp_path / "a", CONFIG, ner_rows(2))
    second = write_run(tmp_path / "b", CONFIG, ner_rows(3))
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_main(capsys, "report", first, second)
    assert code == 0 and out.strip() == "wrote report.html"
    assert "wintrain report: a, b" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_an_earlier_report_is_replaced_but_another_file_needs_force(tmp_path, capsys):
    folder = write_run(tmp_path / "run", CONFIG, ner_rows(2))
    target = tmp_path / "out.html"
    assert run_main(capsys, "report", folder, "--out", target)[0] == 0
    assert run_main(capsys, "report", folder, "--out", target)[0] == 0  # its own report: replaced
    notes = tmp_path / "notes.html"
    notes.write_text("my notes", encoding="utf-8")
    code, out, err = run_main(capsys, "report", folder, "--out", notes)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "notes.html: exists and is not a wintrain report; choose another --out or pass --force" in err
    assert notes.read_text(encoding="utf-8") == "my notes"
    assert run_main(capsys, "report", folder, "--out", notes, "--force")[0] == 0
    assert "wintrain report" in notes.read_text(encoding="utf-8")
    code, _, err = run_main(capsys, "report", folder, "--out", tmp_path)
    assert code == 2 and "is a folder; give a file name such as" in err


def test_not_a_run_folder_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_main(capsys, "report", tmp_path / "empty")
    assert code == 2 and err.count("\n") == 1 and "not a run folder" in err
    code, _, err = run_main(capsys, "report")
    assert code == 2 and "Missing argument" in err


@pytest.mark.slow
def test_a_real_run_gets_its_error_list(synthetic_run, tmp_path, capsys):
    target = tmp_path / "real.html"
    code, out, err = run_main(capsys, "report", synthetic_run, "--out", target, "--max-sentences", "3")
    assert code == 0 and err == "" and out.strip() == f"wrote {target}"
    page = target.read_text(encoding="utf-8")
    assert page.count('class="sent"') == 3 and "more are not" in page
