"""Reports of real run folders: today's format, the same run with diagnostics, a flat tag set, two runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from wintrain.data.tags import chunk_spans
from wintrain.report import build_report, dev_predictions

from conftest import tiny_sentences, write_conll

pytest_plugins = ["report_fixtures"]  # its fixtures: synthetic_run, diagnosed_run

pytestmark = pytest.mark.slow

POS = {"yesterday": "ADV", "visited": "VERB", "left": "VERB", "saw": "VERB", "liked": "VERB", ".": "PUNCT"}


def section(page: str, key: str) -> str:
    start = page.index(f'id="{key}"')
    return page[start:page.index("</section>", start)]


def test_a_run_folder_without_diagnostics_gets_a_full_report(synthetic_run):
    found = dev_predictions(synthetic_run)
    page = build_report([synthetic_run], lambda _: found, max_sentences=10_000)
    assert "No diagnostics recorded" in section(page, "diagnostics")
    assert "No train score recorded" in section(page, "curves")
    wrong = [i for i, (g, p) in enumerate(zip(found.gold, found.predicted))
             if chunk_spans(g, "iob2") != chunk_spans(p, "iob2")]
    errors = section(page, "errors-0")
    assert f"{len(wrong):,} of {len(found.tokens):,} dev sentences" in errors
    assert [int(n) - 1 for n in re.findall(r'<div class="meta">sentence (\d+):', errors)] == wrong
    summary = json.loads((synthetic_run / "summary.json").read_text(encoding="utf-8"))
    assert f"{100 * summary['best_dev_score']:.2f}" in page[:page.index("</header>")]


def test_the_diagnostics_training_will_record_are_drawn(diagnosed_run):
    page = build_report([diagnosed_run])
    diagnostics = section(page, "diagnostics")
    assert diagnostics.count("<svg") == 6
    for name in ("hidden1 (tanh) saturated", "hidden1 mean", "hidden1 std", "embed.word", "hidden1.W", "output.b"):
        assert f">{name}</text>" in diagnostics
    assert "saturated &lt;tanh&gt; &amp; stay so" in diagnostics
    assert "train score (dashed)" in section(page, "curves")


def test_the_diagnostics_a_real_run_recorded_are_drawn(tmp_path):
    from report_fixtures import train_synthetic

    folder = train_synthetic(tmp_path / "real", diagnostics=True)
    diagnostics = section(build_report([folder], lambda _: dev_predictions(folder)), "diagnostics")
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    layers = rows[-1]["diagnostics"]["layers"]
    assert layers and "No diagnostics recorded" not in diagnostics
    for name in layers:
        assert f">{name} (" in diagnostics  # a saturation or dead-unit curve per hidden layer


def test_a_flat_tag_set_lists_wrong_tags(tiny_data, tmp_path):
    from wintrain.config import load_config
    from wintrain.training.run import train

    for split, seed in (("train", 0), ("dev", 1), ("test", 2)):
        sentences = [[(word, POS.get(word, "PROPN")) for word, _ in sentence]
                     for sentence in tiny_sentences(60 if split == "train" else 20, seed)]
        write_conll(tiny_data[split], sentences)
    folder = tmp_path / "pos"
    train(load_config(tiny_data["config"], ["train.epochs=1", "model.hidden=[4]"]), folder)
    found = dev_predictions(folder)
    assert found.scheme == "flat"
    page = build_report([folder], lambda _: found)
    assert "<th>tag</th>" in section(page, "eval-0")
    wrong = sum(g != p for gold, predicted in zip(found.gold, found.predicted) for g, p in zip(gold, predicted))
    errors = section(page, "errors-0")
    assert f"; {wrong:,} errors (tokens compared)" in errors
    assert errors.count("wrong tag:") == wrong if wrong else "Nothing to list" in errors


def test_two_real_runs_overlaid(synthetic_run, diagnosed_run):
    page = build_report([synthetic_run, diagnosed_run], lambda _: dev_predictions(synthetic_run))
    assert "wintrain report: synthetic, diagnosed" in page
    legend = re.findall(r'<text class="legend"[^>]*>([^<]+)</text>', section(page, "curves"))
    assert legend[:2] == ["synthetic", "diagnosed"] and "diagnosed train" in legend
    assert "<h3>synthetic</h3><p class=\"empty\">No per-epoch diagnostics in this run.</p>" in page
    assert section(page, "errors-0").count('class="sent"') == section(page, "errors-1").count('class="sent"') > 0
    assert Path(synthetic_run / "report.html").exists() is False  # building writes nothing
