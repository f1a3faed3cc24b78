"""The command line as a user runs it: exit codes, one-line errors, outputs."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # trains on real data or runs whole commands


def wintrain(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "wintrain", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def assert_one_line_error(result, *needles):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_version_and_help():
    assert wintrain("--version").stdout.startswith("wintrain ")
    help_text = wintrain("--help").stdout
    assert "train" in help_text and "eval" in help_text


def test_misspelled_key_exits_2_with_a_suggestion(tiny_data):
    config = tiny_data["config"]
    config.write_text(config.read_text() + "optimzer: {lr: 0.1}\n")
    assert_one_line_error(wintrain("train", config), "optimzer", "did you mean 'optimizer'", str(config.name))


def test_unknown_optimizer_lists_the_valid_names(tiny_data):
    result = wintrain("train", tiny_data["config"], "--set", "optimizer.name=adamm")
    assert_one_line_error(result, "adamm", "did you mean 'adam'", "sgd")


def test_malformed_data_line_names_file_and_line(tiny_data):
    tiny_data["train"].write_text("Alice B-PER\nvisited\n")
    assert_one_line_error(wintrain("train", tiny_data["config"]), "train.txt:2")


def test_embedding_dimension_mismatch(tiny_data):
    assert_one_line_error(wintrain("train", tiny_data["config"], "--set", "embeddings.dim=20"), "vectors.txt", "20")


def test_debug_shows_the_traceback(tiny_data):
    result = wintrain("--debug", "train", tiny_data["config"], "--set", "optimizer.name=adamm")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_train_then_eval_json_and_output_file(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    result = wintrain("train", tiny_data["config"], "--out", run_dir)
    assert result.returncode == 0, result.stderr
    assert "epoch 3" in result.stdout and str(run_dir) in result.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    out = tmp_path / "pred.txt"
    result = wintrain("eval", run_dir / "best.npz", "--data", tiny_data["dev"], "--json", "--output", out)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["entity"]["f1"] == pytest.approx(summary["dev"]["entity"]["f1"])
    first = out.read_text().splitlines()[0].split()
    assert len(first) == 3
    report = wintrain("eval", run_dir / "best.npz", "--data", tiny_data["dev"])
    assert "phrases; found:" in report.stdout


def test_eval_of_a_corrupt_checkpoint(tmp_path, tiny_data):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert_one_line_error(wintrain("eval", bad, "--data", tiny_data["dev"]), "bad.npz")


def test_dev_tag_outside_the_tag_set_names_file_and_line(tiny_data):
    tiny_data["dev"].write_text("Alice B-PER\nran O\nfast B-ADV\n")
    assert_one_line_error(wintrain("train", tiny_data["config"]), "dev.txt:3", "B-ADV")


def test_predict_from_stdin_and_file_as_text_and_json(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    assert wintrain("train", tiny_data["config"], "--out", run_dir).returncode == 0
    result = subprocess.run([sys.executable, "-m", "wintrain", "predict", str(run_dir / "best.npz")],
                            input="Alice visited Paris .\n\nBob left Rome .\n", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.strip().split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].splitlines() == ["Alice B-PER", "visited O", "Paris B-LOC", ". O"]
    text = tmp_path / "text.txt"
    text.write_text("Carol saw Oslo .\n")
    as_json = wintrain("predict", run_dir / "best.npz", text, "--json")
    tokens = json.loads(as_json.stdout)["tokens"]
    assert [(t["text"], t["start"], t["end"], t["tag"]) for t in tokens] == [
        ("Carol", 0, 5, "B-PER"), ("saw", 6, 9, "O"), ("Oslo", 10, 14, "B-LOC"), (".", 15, 16, "O")]


def test_init_config_and_schema(tmp_path):
    out = tmp_path / "new.yaml"
    assert wintrain("init-config", out).returncode == 0 and "train:" in out.read_text()
    assert_one_line_error(wintrain("init-config", out), "already exists")
    assert json.loads(wintrain("schema").stdout)["title"] == "wintrain experiment config"


def test_check_reports_and_blocks_on_unknown_dev_tags(tiny_data):
    good = wintrain("check", tiny_data["config"])
    assert good.returncode == 0, good.stderr
    assert "ready to train" in good.stdout and "train" in good.stdout
    report = json.loads(wintrain("check", tiny_data["config"], "--json").stdout)
    assert report["splits"]["train"]["tokens"] == sum(1 for line in tiny_data["train"].read_text().splitlines() if line)
    tiny_data["dev"].write_text("Alice B-XYZ\n")
    bad = wintrain("check", tiny_data["config"])
    assert bad.returncode == 2 and "B-XYZ" in bad.stdout


def test_plot_draws_terminal_charts_and_training_writes_metrics_csv(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    assert wintrain("train", tiny_data["config"], "--out", run_dir).returncode == 0
    csv_rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert csv_rows[0].startswith("epoch,lr,train_loss") and len(csv_rows) == 4
    charts = wintrain("plot", run_dir)
    assert charts.returncode == 0 and "train loss" in charts.stdout and "learning rate" in charts.stdout


def test_eval_constrained_decoding_and_confusion_matrix(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    assert wintrain("train", tiny_data["config"], "--out", run_dir).returncode == 0
    result = json.loads(wintrain("eval", run_dir / "best.npz", "--data", tiny_data["dev"], "--json",
                                 "--decode", "constrained").stdout)
    assert result["decode"] == "constrained"
    matrix = result["confusion"]
    assert result["labels"] == ["O", "B-LOC", "B-PER"] and sum(map(sum, matrix)) == result["tokens"]
    assert sum(matrix[i][i] for i in range(3)) == round(result["accuracy"] * result["tokens"])


def test_predict_follows_the_configured_decoding(tiny_data, tmp_path):
    config = tiny_data["config"]
    config.write_text(config.read_text() + "evaluation: {decode: constrained}\n")
    run_dir = tmp_path / "run"
    assert wintrain("train", config, "--out", run_dir).returncode == 0
    text = tmp_path / "t.txt"
    text.write_text("Alice visited Paris .\n")
    for decode in ([], ["--decode", "greedy"], ["--decode", "constrained"]):
        result = wintrain("predict", run_dir / "best.npz", text, *decode)
        assert result.returncode == 0 and result.stdout.split()[1] == "B-PER", result.stderr
    assert_one_line_error(wintrain("predict", run_dir / "best.npz", text, "--decode", "viterbi"), "greedy")


def test_piped_output_is_not_cut_to_80_columns():
    script = "from wintrain.cli import stdout, stderr; print(stdout.width, stderr.width)"
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    piped = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert piped.stdout.split() == ["200", "200"]
    narrow = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**env, "COLUMNS": "90"})
    assert narrow.stdout.split() == ["90", "90"]  # the user's COLUMNS still wins


def test_a_closed_pipe_stops_quietly_with_141(monkeypatch):
    import typer

    from wintrain import cli

    class ClosedPipe:
        def main(self, **kwargs):
            raise BrokenPipeError

    redirected = []
    monkeypatch.setattr(typer.main, "get_command", lambda app: ClosedPipe())
    monkeypatch.setattr(cli.os, "dup2", lambda fd, fd2: redirected.append(fd2))
    with pytest.raises(SystemExit) as stopped:
        cli.main(["eval", "x.npz", "--data", "y.txt"])
    assert stopped.value.code == 141 and redirected == [sys.stdout.fileno()]
