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


BAD_CHOICES = [
    "model.activation=relux",
    "optimizer.lrr=0.1",
    "schedule={name: step, every: 0}",
    "optimizer={name: sgd, momentum: 1.5}",
    "model.init={name: uniform, r: -1}",
    "model.bias_init={name: normal, std: 0}",
    "schedule={name: cyclic, mode: bogus}",
    "embeddings.unknown_init={name: nope}",
    "model.activation={name: leaky_relu, bogus: 1}",
]


@pytest.mark.parametrize("override", BAD_CHOICES)
def test_check_refuses_every_choice_that_train_refuses_with_the_same_line(override, tiny_data, tmp_path, capsys):
    code, out, check_err = run_main(capsys, "check", tiny_data["config"], "--set", override)
    assert code == 2 and "ready to train" not in out
    assert check_err.count("\n") == 1 and check_err.startswith(f"error: {tiny_data['config']}: ")
    code, _, train_err = run_main(capsys, "train", tiny_data["config"], "--set", override, "--out", tmp_path / "run")
    assert code == 2 and train_err == check_err


def test_check_passes_good_choices(tiny_data, capsys):
    code, out, err = run_main(capsys, "check", tiny_data["config"],
                              "--set", "model.activation={name: prelu, alpha: 0.1}",
                              "--set", "schedule={name: cyclic, mode: triangular2}",
                              "--set", "features.chars={dim: 4}")
    assert code == 0 and "ready to train" in out and err == ""


def test_inspect_help_examples_name_shipped_configs_and_check_runs_as_written(capsys, monkeypatch):
    import re
    from pathlib import Path

    from wintrain.cli import inspect as commands
    from wintrain.config import load_config

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    examples = {}
    for command in (commands.check, commands.graph, commands.gradcheck):
        found = re.search(r"Example: wintrain (\S+) (\S+\.yaml)(.*)", command.__doc__ or "")
        assert found, command.__name__
        examples[found[1]] = [found[2], *found[3].split()]
    for argv in examples.values():
        config = load_config(argv[0])
        for path in (config.data.train, config.data.dev, config.data.test, config.embeddings.path):
            assert path is None or path.exists(), (argv, path)
    code, out, err = run_main(capsys, "check", *examples["check"])
    assert code == 0 and "ready to train" in out, err
