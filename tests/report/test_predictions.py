"""Dev predictions of a run folder: the file evaluation writes, read back; why there are none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wintrain.evaluation.metrics import evaluate_tags
from wintrain.report.predictions import dev_predictions, read_predictions

from conftest import error_of
from report_fixtures import write_run

pytest_plugins = ["report_fixtures"]  # its fixtures: synthetic_run, diagnosed_run


def test_read_predictions_splits_sentences_at_blank_lines_and_keeps_spaces_in_tokens(tmp_path):
    path = tmp_path / "pred.txt"
    path.write_text("Alice B-PER B-PER\nNew York B-LOC O\n\n\n. O O\n\n", encoding="utf-8")
    tokens, gold, predicted = read_predictions(path)
    assert tokens == [["Alice", "New York"], ["."]]
    assert gold == [["B-PER", "B-LOC"], ["O"]] and predicted == [["B-PER", "O"], ["O"]]


def test_a_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "pred.txt"
    path.write_text("a O O\nb O\n", encoding="utf-8")
    assert "pred.txt:2" in error_of(read_predictions, path)


def test_a_run_without_dev_data_or_best_checkpoint_says_so(tmp_path):
    (tmp_path / "train.txt").write_text("a O\n", encoding="utf-8")
    no_dev = write_run(tmp_path / "no-dev", {"data": {"train": str(tmp_path / "train.txt")}})
    assert "has no dev data" in error_of(dev_predictions, no_dev)
    no_best = write_run(tmp_path / "no-best", {"data": {"train": str(tmp_path / "train.txt"), "dev": "dev.txt"}})
    assert "no best.npz" in error_of(dev_predictions, no_best)
    (tmp_path / "nothing").mkdir()
    assert "no config.yaml" in error_of(dev_predictions, tmp_path / "nothing")


@pytest.mark.slow
def test_dev_predictions_of_a_real_run_match_its_evaluation(synthetic_run):
    found = dev_predictions(synthetic_run)
    assert found.scheme == "iob2" and found.source.endswith("dev.txt")
    blocks = Path(found.source).read_text(encoding="utf-8").strip().split("\n\n")
    assert [len(sentence) for sentence in found.tokens] == [len(block.splitlines()) for block in blocks]
    assert found.tokens[0] == [line.split()[0] for line in blocks[0].splitlines()]
    assert found.gold[0] == [line.split()[-1] for line in blocks[0].splitlines()]
    right = sum(g == p for gold, predicted in zip(found.gold, found.predicted) for g, p in zip(gold, predicted))
    summary = json.loads((synthetic_run / "summary.json").read_text(encoding="utf-8"))
    assert right / sum(map(len, found.gold)) == pytest.approx(summary["dev"]["accuracy"])
    assert evaluate_tags(found.gold, found.predicted)["entity"]["f1"] == pytest.approx(summary["best_dev_score"])
