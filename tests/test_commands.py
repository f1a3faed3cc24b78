"""graph, gradcheck and sweep as a user runs them (in this process, through the entry point)."""

from __future__ import annotations

import json

import pytest

from wintrain import cli
from wintrain.cli import main


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Tables as wide as they need (captured output is not a terminal: 80 columns by default)."""
    monkeypatch.setattr(cli.stdout, "width", 200)


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_graph_lists_every_node_and_profiles(tiny_data, capsys):
    code, out, _ = run_main(capsys, "graph", tiny_data["config"])
    assert code == 0
    for node in ("lookup embed.word", "lookup embed.casing", "concat window", "affine hidden1", "tanh hidden1",
                 "affine output", "softmax cross-entropy", "total"):
        assert node in out
    code, out, _ = run_main(capsys, "graph", tiny_data["config"], "--profile", "--steps", "20")
    assert code == 0 and "optimizer step" in out and "ms per step" in out and "% of the time" in out


def test_gradcheck_passes_and_reports_each_parameter(tiny_data, capsys):
    code, out, _ = run_main(capsys, "gradcheck", tiny_data["config"], "--set", "model.activation=gelu")
    assert code == 0
    assert "embed.word" in out and "hidden1.W" in out and "output.b" in out
    assert "parameters within 1e-06" in out


def test_gradcheck_fails_with_exit_1_when_the_tolerance_cannot_be_met(tiny_data, capsys):
    code, out, _ = run_main(capsys, "gradcheck", tiny_data["config"], "--tolerance", "0")
    assert code == 1 and "FAIL" in out


def test_sweep_runs_the_grid_and_resumes(tiny_data, tmp_path, capsys):
    args = ["sweep", tiny_data["config"], "--grid", "model.hidden=[4],[8]", "--epochs", "1", "--jobs", "1",
            "--out", tmp_path / "sweep"]
    code, out, _ = run_main(capsys, *args)
    assert code == 0 and "2 trials" in out and "best: model.hidden=" in out
    rows = [json.loads(line) for line in (tmp_path / "sweep" / "sweep.jsonl").read_text().splitlines()]
    assert sorted(row["overrides"]["model.hidden"] for row in rows) == [[4], [8]]
    code, out, _ = run_main(capsys, *args)
    assert code == 0 and "(2 already done)" in out


def test_bad_choice_is_one_line(tiny_data, capsys):
    code, _, err = run_main(capsys, "sweep-lr", tiny_data["config"], "--mode", "binary")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: Invalid value for '--mode'")
    assert "see wintrain sweep-lr --help" in err
