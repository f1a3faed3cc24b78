"""The report page from hand-made run folders and predictions: escaping, config differences,
old run folders, several runs, the error list and its cap, and what is said when parts are missing."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

from wintrain.errors import WintrainError
from wintrain.report import DevPredictions, build_report

from conftest import error_of
from report_fixtures import ner_rows, ner_summary, write_run

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
CONFIG = {"seed": 0, "data": {"train": "/d/train.txt", "dev": "/d/dev.txt", "scheme": "iob2"},
          "model": {"hidden": [100], "activation": {"name": "tanh"}}, "optimizer": {"name": "adam", "lr": 0.01},
          "train": {"epochs": 3}}


class Elements(HTMLParser):
    """Start tags with their attributes, and the page's text, of a parsed page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def section(page: str, key: str) -> str:
    start = page.index(f'id="{key}"')
    return page[start:page.index("</section>", start)]


def given(tokens, gold, predicted, scheme="iob2"):
    def source(run_dir: Path) -> DevPredictions:
        return DevPredictions(tokens, gold, predicted, scheme, "dev.txt")

    return source


def unavailable(run_dir: Path) -> DevPredictions:
    raise WintrainError(f"{run_dir.name}: the run has no dev data (data.dev is not set)")


NER = given(
    [["Alice", "met", "Bob"], ["Rome", "is", "old"], ["Yes"]],
    [["B-PER", "O", "B-PER"], ["B-LOC", "O", "O"], ["O"]],
    [["B-PER", "O", "B-LOC"], ["O", "O", "B-LOC"], ["O"]],
)


def report(*folders: Path, predictions=NER, **options) -> str:
    return build_report(list(folders), predictions, generated=WHEN, **options)


def test_every_text_from_a_run_is_escaped(tmp_path):
    config = {**CONFIG, "data": {**CONFIG["data"], "train": "</td><script>alert(1)</script>"}}
    summary = {**ner_summary(2, 0.7), "advice": [{"epoch": 1, "kind": "<k>", "message": "<img src=x> & \"more\""}]}
    folder = write_run(tmp_path / "run <b>&", config, ner_rows(2), summary)
    tokens = [["<script>", "&amp;", '"quoted"', "it's", "</div>"]]
    gold = [["B-<X>", "O", "B-PER", "I-PER", "O"]]
    predicted = [["O", "O", "B-PER", "O", "B-&"]]
    page = report(folder, predictions=given(tokens, gold, predicted))
    parsed = Elements(page)
    assert len(parsed.named("script")) == 1 and parsed.named("img") == [] and len(parsed.named("table")) >= 3
    for raw in ("<script>alert", "<img src=x>", "run <b>&", "<k>", "B-<X>", '"quoted"</'):
        assert raw not in page
    assert "&amp;amp;" in page  # the token "&amp;" itself
    text = "".join(parsed.text)
    for shown in ("</td><script>alert(1)</script>", "<img src=x> & \"more\"", "run <b>&", "<script>", "&amp;",
                  '"quoted"', "it's", "</div>", "<X>"):
        assert shown in text
    errors = [json.loads(attrs["data-errors"]) for attrs in parsed.named("div") if "data-errors" in attrs]
    assert errors == [[["missed", ["<X>"]], ["wrong_span", ["PER"]], ["spurious", ["&"]]]]
    assert '<option value="&lt;X&gt;">' in page


def test_the_page_needs_no_network(tmp_path):
    page = report(write_run(tmp_path / "run", CONFIG, ner_rows(2), ner_summary(2, 0.7)))
    (policy,) = [attrs["content"] for attrs in Elements(page).named("meta")
                 if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policy is not None and policy.startswith("default-src 'none';")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page


def test_one_run_shows_its_config_grouped_and_its_scores(tmp_path):
    page = report(write_run(tmp_path / "run", CONFIG, ner_rows(3), ner_summary(2, 0.7),
                            {"wintrain": "0.1.0", "numpy": "2.0", "python": "3.11", "started": "2026-01-01T10:00:00"}))
    header = page[page.index('id="runs"'):page.index("</header>")]
    assert "2026-01-01T10:00:00" in header and "70.00" in header and "entity F1" in header
    assert "wintrain 0.1.0, numpy 2.0, python 3.11" in header and "3 of 3" in header
    config = section(page, "config")
    assert "<th colspan=2>optimizer</th>" in config and "<th>lr</th><td>0.01</td>" in config
    assert "class=diff" not in config
    scores = section(page, "eval-0")
    assert "<th>PER</th>" in scores and "74.67" in scores and "all chunks" in scores
    assert "<th>LOC</th>" in Elements(scores).text or "LOC" in scores


def test_differing_config_keys_are_highlighted(tmp_path):
    first = write_run(tmp_path / "a", CONFIG, ner_rows(2), ner_summary(2, 0.7))
    changed = {**CONFIG, "optimizer": {"name": "adam", "lr": 0.003}, "model": {**CONFIG["model"], "hidden": [50, 50]},
               "loss": {"l2": 1e-5}}
    second = write_run(tmp_path / "b", changed, ner_rows(3), ner_summary(3, 0.75))
    config = section(report(first, second), "config")
    differing = set(re.findall(r"<tr class=diff><th>([^<]+)</th>", config))
    assert differing == {"optimizer.lr", "model.hidden", "loss.l2"}
    assert "<th>optimizer.name</th><td>adam</td><td>adam</td>" in config
    assert "<td>[100]</td><td>[50, 50]</td>" in config
    assert "<th>loss.l2</th><td>0</td><td>1e-05</td>" in config  # a default filled in is no difference
    assert "only the 3 differing keys" in config
    without = write_run(tmp_path / "c", rows=ner_rows(1))  # no config.yaml: every key differs
    config = section(report(first, without), "config")
    assert "<tr class=diff><th>optimizer.lr</th><td>0.01</td><td><i>absent</i></td></tr>" in config


def test_a_run_folder_from_before_diagnostics_gets_a_report_without_them(tmp_path):
    page = report(write_run(tmp_path / "old", CONFIG, ner_rows(3), ner_summary(3, 0.73)))
    curves = section(page, "curves")
    assert curves.count("<svg") == 3 and "No train score recorded" in curves
    assert "stroke-dasharray" not in curves  # no dashed train-score line
    diagnostics = section(page, "diagnostics")
    assert "No diagnostics recorded" in diagnostics and "<svg" not in diagnostics
    assert 'class="sent"' in section(page, "errors-0")


def test_diagnostics_train_score_and_advice_are_drawn_when_present(tmp_path):
    rows = ner_rows(2)
    for row in rows:
        row["train_score"] = row["dev_score"] + 0.05
        row["diagnostics"] = {
            "layers": {"hidden1": {"activation": "relu", "pre_mean": 0.1, "pre_std": 1.0, "act_mean": 0.3,
                                   "act_std": 0.6, "saturated": None, "dead": 0.2 * row["epoch"]}},
            "params": {"hidden1.W": {"grad_norm": 0.5, "weight_norm": 9.0, "update_ratio": 1e-3},
                       "output.W": {"grad_norm": 0.1, "weight_norm": 3.0, "update_ratio": 2e-4}},
        }
    summary = {**ner_summary(2, 0.7), "advice": [{"epoch": 2, "kind": "dead_units", "message": "40 % are dead"}]}
    page = report(write_run(tmp_path / "new", CONFIG, rows, summary))
    curves = section(page, "curves")
    assert "train score (dashed)" in curves and "stroke-dasharray" in curves
    diagnostics = section(page, "diagnostics")
    assert diagnostics.count("<svg") == 6
    assert "hidden1 (relu) dead" in diagnostics and "saturated</text>" not in diagnostics
    assert "hidden1.W" in diagnostics and "output.W" in diagnostics and "1e-3" in diagnostics
    assert "<b>epoch 2</b> <code>dead_units</code> 40 % are dead" in diagnostics


def test_several_runs_are_overlaid_and_each_gets_its_scores_and_errors(tmp_path):
    first = write_run(tmp_path / "x" / "run", CONFIG, ner_rows(2), ner_summary(2, 0.7))
    second = write_run(tmp_path / "y" / "run", CONFIG, ner_rows(4), ner_summary(4, 0.78))
    page = report(first, second)
    assert "<title>wintrain report: x/run, y/run</title>" in page
    legend = re.findall(r'<text class="legend"[^>]*>([^<]+)</text>', section(page, "curves"))
    assert legend == ["x/run", "y/run", "x/run dev", "y/run dev", "x/run", "y/run"]
    for key in ("eval-0", "eval-1", "errors-0", "errors-1"):
        assert "run" in section(page, key)
    assert "Dev errors: x/run" in page and "Dev errors: y/run" in page
    assert "The runs' configs are the same." in section(page, "config")


def test_the_error_list_counts_and_caps(tmp_path):
    folder = write_run(tmp_path / "run", CONFIG, ner_rows(2), ner_summary(2, 0.7))
    errors = section(report(folder), "errors-0")
    assert "2 of 3 dev sentences (7 tokens) have errors; 3 errors" in errors
    assert 'data-kind="missed" checked> missed (1)' in errors and 'data-kind="wrong_type"' in errors
    assert 'data-kind="wrong_span"' not in errors  # no such error: no checkbox
    assert '<option value="LOC">LOC (3)</option><option value="PER">PER (1)</option>' in errors
    assert errors.count('class="sent"') == 2 and "more are not" not in errors
    capped = section(report(folder, max_sentences=1), "errors-0")
    assert capped.count('class="sent"') == 1 and "The first 1 are listed; 1 more are not" in capped
    assert "sentence 1:" in capped and "sentence 2:" not in capped


def test_flat_tag_sets_list_wrong_tags(tmp_path):
    config = {**CONFIG, "data": {"train": "t", "dev": "d", "scheme": "auto"}}
    summary = {"best_epoch": 1, "best_dev_score": 0.8, "score": "accuracy",
               "dev": {"accuracy": 0.8, "tokens": 5, "macro_f1": 0.5,
                       "per_class": {"NOUN": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "gold": 2, "found": 1}}}}
    flat = given([["the", "cat", "sat"], ["ok"]], [["DET", "NOUN", "VERB"], ["X"]], [["DET", "VERB", "VERB"], ["X"]],
                 "flat")
    page = report(write_run(tmp_path / "pos", config, ner_rows(1), summary), predictions=flat)
    errors = section(page, "errors-0")
    assert "1 of 2 dev sentences (4 tokens) have errors; 1 errors (tokens compared)" in errors
    assert '<span class="ch wrong_tag">cat<sub>NOUN</sub></span>' in errors
    assert '<span class="ch wrong_tag">cat<sub>VERB</sub></span>' in errors
    assert "wrong tag: NOUN → VERB" in errors
    scores = section(page, "eval-0")
    assert "<th>tag</th>" in scores and "macro F1 50.00 %" in scores


def test_the_confusion_matrix_counts_tokens_by_gold_row(tmp_path):
    page = report(write_run(tmp_path / "run", CONFIG, ner_rows(2), ner_summary(2, 0.7)))
    matrix = section(page, "eval-0")
    rows = re.findall(r"<tr><th>([^<]+)</th>(.*?)</tr>", matrix[matrix.index('class="confusion'):])
    labels = [label for label, _ in rows]
    assert labels == ["O", "B-LOC", "B-PER"]
    totals = {label: int(re.findall(r"<td class=total>(\d+)</td>", cells)[0]) for label, cells in rows}
    assert totals == {"O": 4, "B-LOC": 1, "B-PER": 2}
    assert 'title="gold B-PER → predicted B-LOC: 1 (50.0 % of gold B-PER)"' in matrix


def test_a_run_without_predictions_says_why(tmp_path):
    folder = write_run(tmp_path / "run", CONFIG, ner_rows(2), ner_summary(2, 0.7))
    notes: list[str] = []
    page = build_report([folder], unavailable, generated=WHEN, note=notes.append)
    assert "No error list: run: the run has no dev data (data.dev is not set)." in section(page, "errors-0")
    assert "No confusion matrix: run: the run has no dev data" in section(page, "eval-0")
    assert "74.67" in section(page, "eval-0")  # the scores of summary.json are still there
    assert notes == ["run: no dev predictions (run: the run has no dev data (data.dev is not set))"]
    page = build_report([folder], None, generated=WHEN)
    assert "dev predictions were not computed" in section(page, "errors-0")


def test_an_unfinished_run_is_scored_from_its_predictions(tmp_path):
    page = report(write_run(tmp_path / "run", CONFIG, ner_rows(2)))
    scores = section(page, "eval-0")
    assert "best.npz on dev, scored for this report" in scores
    assert "unfinished" in page[:page.index("</header>")]
    # PER: 2 gold, 1 found and right; LOC: 1 gold, 2 found, none right
    assert re.search(r"<th>PER</th><td[^>]*>100\.00</td><td[^>]*>50\.00</td><td[^>]*>66\.67</td>", scores)


def test_not_a_run_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "nothing").mkdir()
    assert "not a run folder" in error_of(build_report, [tmp_path / "nothing"])


def test_a_large_tag_set_gets_a_dense_confusion_matrix(tmp_path):
    tags = [f"T{i:02d}" for i in range(25)]
    flat = given([["w"] * 25], [tags], [tags[1:] + tags[:1]], "flat")
    page = report(write_run(tmp_path / "run", CONFIG, ner_rows(1)), predictions=flat)
    matrix = section(page, "eval-0")
    assert '<table class="confusion dense">' in matrix and matrix.count('<th class="col">') == 26
    small = section(report(write_run(tmp_path / "small", CONFIG, ner_rows(1))), "eval-0")
    assert '<table class="confusion">' in small
