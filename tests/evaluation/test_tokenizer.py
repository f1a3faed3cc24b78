"""A tokenizer trained from CoNLL-U: training, gradients, resume, the raw-text pipeline, scores, errors."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from wintrain.config import load_config
from wintrain.data.check import check_data, report_rows
from wintrain.data.reader import conll_from_text
from wintrain.data.segmentation import LABEL_TAGS, tokenizer_corpus
from wintrain.data.tokenize import Token
from wintrain.evaluation.raw_text import evaluate_command, gold_texts
from wintrain.evaluation.tagger import TaggedText, Tagger, format_conllu, format_text
from wintrain.evaluation.tokenizer import Tokenizer
from wintrain.evaluation.ud_scores import parse_ud_document, read_ud_document, score_ud
from wintrain.nn.gradcheck import check_config_gradients
from wintrain.report import build_report
from wintrain.report.runs import load_run, main_number
from wintrain.training.run import train

from conftest import REPO, SHARED, error_of, train_whole_and_interrupted

SEQUOIA = REPO / "data" / "ud_fr_sequoia"


def sentences_of(path: Path, first: int, count: int) -> str:
    """Sentences ``first`` to ``first + count`` of a CoNLL-U file, as CoNLL-U text."""
    blocks = gzip.open(path, "rt", encoding="utf-8").read().strip("\n").split("\n\n")
    return "\n\n".join(blocks[first:first + count]) + "\n\n"


@pytest.fixture(scope="module")
def french(tmp_path_factory) -> dict[str, Path]:
    """A tiny French tokenizer and POS tagger trained on 300 Sequoia sentences (dev: the next 60)."""
    folder = tmp_path_factory.mktemp("french")
    (folder / "train.conllu").write_text(sentences_of(SEQUOIA / "train.conllu.gz", 0, 300), encoding="utf-8")
    (folder / "dev.conllu").write_text(sentences_of(SEQUOIA / "train.conllu.gz", 300, 60), encoding="utf-8")
    (folder / "tokenizer.yaml").write_text(
        "seed: 1\ntask: tokenize\ndata: {train: train.conllu, dev: dev.conllu, lowercase: false}\n"
        "embeddings: {dim: 8}\nfeatures: {casing: true, category: true}\n"
        "model: {window_size: 9, hidden: [48], activation: relu, init: he_uniform}\n"
        "optimizer: {lr: 0.005}\ntrain: {epochs: 3, batch_size: 128}\n", encoding="utf-8")
    (folder / "pos.yaml").write_text(
        "seed: 1\ndata: {train: train.conllu, dev: dev.conllu}\nembeddings: {dim: 16}\n"
        "features: {suffixes: [2, 3], affix_min_count: 1}\nmodel: {window_size: 5, hidden: [48]}\n"
        "optimizer: {lr: 0.01}\ntrain: {epochs: 3, batch_size: 64}\n", encoding="utf-8")
    train(load_config(folder / "tokenizer.yaml"), folder / "tok")
    train(load_config(folder / "pos.yaml"), folder / "pos")
    return {"folder": folder, "tokenizer": folder / "tok" / "best.npz", "tagger": folder / "pos" / "best.npz",
            "dev": folder / "dev.conllu"}


def test_the_tokenizer_learns_tokens_sentences_and_multiword_tokens(french):
    summary = json.loads((french["folder"] / "tok" / "summary.json").read_text())
    dev = summary["dev"]
    assert summary["score"] == "segmentation_f1" and summary["tag_scheme"]["data"] == "segmentation"
    assert dev["tokens"]["f1"] > 0.97 and dev["multiword"]["f1"] > 0.7 and dev["sentences"]["f1"] > 0.5
    tokenizer = Tokenizer.load(french["tokenizer"])
    text = "Il parle du vin et de la bière au marché. C'est bon."
    sentences = tokenizer.tokenize(text)
    pieces = [piece for sentence in sentences for piece in sentence]
    assert all(text[p.start:p.end] == p.text for p in pieces)
    assert "".join(p.text for p in pieces) == "".join(text.split())  # every non-space character, once
    words = {p.text: p.words for p in pieces}
    assert words["du"] == ("de", "le") and words["au"] == ("à", "le")  # learned from train, case kept


def test_check_counts_a_tokenizers_paragraphs_and_characters(french):
    report = check_data(load_config(french["folder"] / "tokenizer.yaml"))
    rows = dict(report_rows(report))
    train = report.splits["train"]
    text = "".join(line[len("# text = "):] for line in (french["folder"] / "train.conllu").read_text().splitlines()
                   if line.startswith("# text = "))
    assert train.forms == len(set(text) | {" "}) and train.tokens >= len(text)
    counts = f"{train.sentences:,} paragraphs, {train.tokens:,} characters, {train.forms:,} distinct characters"
    assert counts in rows["train"]
    assert "train paragraph length" in rows and "sentences" not in rows["train"]
    assert rows["dev unseen in train"].endswith("of distinct characters")


def test_the_report_of_a_tokenizer_run_names_and_reads_its_segmentation_score(french):
    run = load_run(french["folder"] / "tok")
    summary = json.loads((french["folder"] / "tok" / "summary.json").read_text())
    assert run.score_name == "segmentation F1"
    assert main_number(summary["dev"]) == pytest.approx(summary["dev"]["segmentation"]["f1"])
    notes: list[str] = []
    page = build_report([french["folder"] / "tok"], note=notes.append)
    assert "<small>segmentation F1</small>" in page


def test_text_in_a_script_never_seen_is_still_tokenized(french):
    tokenizer = Tokenizer.load(french["tokenizer"])
    for text in ["Ελληνικά κείμενα εδώ.", "漢字かな交じり文です。", "مرحبا بالعالم", "🙂🙂 ok", "\u200b", ""]:
        pieces = [piece for sentence in tokenizer.tokenize(text) for piece in sentence]
        assert "".join(p.text for p in pieces) == "".join(text.split())


def test_gradients_of_the_character_window_model_match_finite_differences(french):
    config = load_config(french["folder"] / "tokenizer.yaml")
    results = check_config_gradients(config, batch_size=12, max_entries=60)
    assert {"embed.word", "embed.casing", "embed.category", "hidden1.W", "output.W"} <= {r.name for r in results}
    assert all(r.relative_error < 1e-6 for r in results), results


def test_tokenizer_training_resumes_bit_identically(french, tmp_path):
    options = ["train.epochs=2", "train.batch_size=2048", "train.diagnostics=true"]
    whole, cut = train_whole_and_interrupted(french["folder"] / "tokenizer.yaml", options, tmp_path)
    with np.load(whole / "last.npz") as a, np.load(cut / "last.npz") as b:
        keys = [key for key in a.files if key.startswith(("model/", "optimizer/", "tokenizer/"))]
        assert keys and all(np.array_equal(a[key], b[key]) for key in keys)


def test_eval_of_a_tokenizer_and_of_a_tagger_from_raw_text_on_gold_conllu(french):
    alone = evaluate_command(french["tokenizer"], french["dev"])
    assert set(alone["ud"]) == {"Tokens", "Sentences", "Words", "Multiword tokens"}
    behind = evaluate_command(french["tagger"], french["dev"], tokenizer=french["tokenizer"])
    assert behind["field"] == "upos" and behind["ud"]["Tokens"] == alone["ud"]["Tokens"]
    assert 0.8 < behind["ud"]["UPOS"]["f1"] <= behind["ud"]["Words"]["f1"]
    on_gold = evaluate_command(french["tagger"], french["dev"])  # the gold tokens: accuracy over its words
    assert on_gold["accuracy"] > behind["ud"]["UPOS"]["f1"] - 0.02


def test_a_field_that_is_no_tag_field_or_a_field_for_a_tokenizer_is_one_line(french):
    wrong = error_of(evaluate_command, french["tagger"], french["dev"], tokenizer=french["tokenizer"], field="lemma")
    assert wrong.startswith("--field lemma:") and "upos, xpos" in wrong
    assert "tokenizer's scores" in error_of(evaluate_command, french["tokenizer"], french["dev"], field="upos")
    result = subprocess.run([sys.executable, "-m", "wintrain", "predict", str(french["tagger"]), "--format", "conllu",
                             "--field", "lemma"], input="Il parle.\n", capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "--field lemma" in result.stderr


@pytest.mark.skipif(not (SHARED / "tools" / "conll18_ud_eval.py").exists(), reason="the official scorer is absent")
def test_the_pipelines_conllu_output_scores_the_same_with_the_official_script(french, tmp_path):
    spec = importlib.util.spec_from_file_location("conll18", SHARED / "tools" / "conll18_ud_eval.py")
    assert spec is not None and spec.loader is not None
    official = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(official)
    tagger = Tagger.load(french["tagger"], tokenizer=french["tokenizer"])
    system = format_conllu(tagger.tag_texts(gold_texts(french["dev"])), "upos")
    # the official script insists on a tree: placeholder heads (first word root, the others under it)
    lines = []
    for line in system.splitlines():
        fields = line.split("\t")
        if len(fields) == 10 and fields[0].isdigit():
            fields[6], fields[7] = ("0", "root") if fields[0] == "1" else ("1", "dep")
        lines.append("\t".join(fields))
    (tmp_path / "system.conllu").write_text("\n".join(lines) + "\n", encoding="utf-8")
    gold_lines = []
    for line in french["dev"].read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) == 10 and fields[0].isdigit():
            fields[6], fields[7] = ("0", "root") if fields[0] == "1" else ("1", "dep")
        gold_lines.append("\t".join(fields))
    (tmp_path / "gold.conllu").write_text("\n".join(gold_lines) + "\n", encoding="utf-8")
    theirs = official.evaluate(official.load_conllu_file(str(tmp_path / "gold.conllu")),
                               official.load_conllu_file(str(tmp_path / "system.conllu")))
    ours = score_ud(read_ud_document(french["dev"]), parse_ud_document(system, "system"))
    for metric in ("Tokens", "Sentences", "Words", "UPOS"):
        assert round(100 * ours[metric].f1, 2) == round(100 * theirs[metric].f1, 2), metric
    assert ours["Words"].f1 > 0.9


def test_the_tokenizer_and_the_tagger_refuse_each_others_checkpoints_in_one_line(french, tmp_path):
    assert "a tokenizer (task: tokenize), not a tagger" in error_of(Tagger.load, french["tokenizer"])
    assert "a tagger (task: tag), not a tokenizer" in error_of(Tokenizer.load, french["tagger"])
    result = subprocess.run([sys.executable, "-m", "wintrain", "predict", str(french["tokenizer"]), "-"],
                            input="Bonjour.\n", capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "not a tagger" in result.stderr
    result = subprocess.run([sys.executable, "-m", "wintrain", "eval", str(french["tagger"]), "--data",
                             str(french["dev"]), "--tokenizer", str(french["tagger"])], capture_output=True, text=True)
    assert result.returncode == 2 and "not a tokenizer" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_tokenizer_needs_text_or_space_after_to_learn_from(tmp_path):
    no_text = "\n".join(line for line in sentences_of(SEQUOIA / "train.conllu.gz", 0, 30).splitlines()
                        if not line.startswith("# text")) + "\n"
    no_text = no_text.replace("SpaceAfter=No", "_")
    (tmp_path / "bare.conllu").write_text(no_text, encoding="utf-8")
    (tmp_path / "tok.yaml").write_text("task: tokenize\ndata: {train: bare.conllu}\ntrain: {epochs: 1}\n")
    result = subprocess.run([sys.executable, "-m", "wintrain", "train", str(tmp_path / "tok.yaml"), "--out",
                             str(tmp_path / "run")], capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "bare.conllu" in result.stderr and "# text" in result.stderr


def test_a_label_only_dev_has_is_no_error(tmp_path):
    # train never ends a sentence with a multiword token; dev does ("Il va au", au = à le)
    train_text = sentences_of(SEQUOIA / "train.conllu.gz", 0, 60)
    dev = ("# text = Il va au\n1\tIl\til\tPRON\t_\t_\t_\t_\t_\t_\n2\tva\taller\tVERB\t_\t_\t_\t_\t_\t_\n"
           "3-4\tau\t_\t_\t_\t_\t_\t_\t_\t_\n3\tà\tà\tADP\t_\t_\t_\t_\t_\t_\n"
           "4\tle\tle\tDET\t_\t_\t_\t_\t_\t_\n\n")
    (tmp_path / "train.conllu").write_text(train_text, encoding="utf-8")
    (tmp_path / "dev.conllu").write_text(dev, encoding="utf-8")
    (tmp_path / "tok.yaml").write_text("task: tokenize\ndata: {train: train.conllu, dev: dev.conllu}\n"
                                       "embeddings: {dim: 8}\nmodel: {window_size: 5, hidden: [16]}\n"
                                       "train: {epochs: 1, batch_size: 256}\n")
    assert "multiword_sentence_end" not in tokenizer_corpus(tmp_path / "train.conllu").tags
    assert "multiword_sentence_end" in tokenizer_corpus(tmp_path / "dev.conllu").tags
    config = load_config(tmp_path / "tok.yaml")
    assert check_data(config).problems == []
    summary = train(config, tmp_path / "run")
    assert summary["dev"]["characters"] == len("Il va au")
    assert set(Tokenizer.load(tmp_path / "run" / "best.npz").checkpoint.encoder.tagset.tags) == set(LABEL_TAGS)


def test_a_tokenizer_learns_from_a_treebank_without_text_comments(tmp_path):
    # the text is rebuilt from the FORMs and SpaceAfter=No
    no_text = "\n".join(line for line in sentences_of(SEQUOIA / "train.conllu.gz", 0, 200).splitlines()
                        if not line.startswith("# text")) + "\n"
    (tmp_path / "train.conllu").write_text(no_text, encoding="utf-8")
    (tmp_path / "tok.yaml").write_text("task: tokenize\ndata: {train: train.conllu, dev: train.conllu}\n"
                                       "embeddings: {dim: 8}\nmodel: {window_size: 7, hidden: [32]}\n"
                                       "features: {category: true}\ntrain: {epochs: 2, batch_size: 256}\n")
    summary = train(load_config(tmp_path / "tok.yaml"), tmp_path / "run")
    assert summary["dev"]["tokens"]["f1"] > 0.85


def test_forms_with_spaces_train_evaluate_tag_and_round_trip(french, tmp_path):
    spaced = [block for block in sentences_of(SEQUOIA / "train.conllu.gz", 0, 2231).split("\n\n")
              if any(len(f) == 10 and " " in f[1] for f in (line.split("\t") for line in block.splitlines()))]
    assert len(spaced) >= 10  # Sequoia's FORMs with spaces (20 000)
    data = "\n\n".join(spaced) + "\n\n"
    (tmp_path / "spaced.conllu").write_text(data, encoding="utf-8")
    summary = train(load_config(french["folder"] / "pos.yaml", [f"data.train={tmp_path / 'spaced.conllu'}",
                                                                  f"data.dev={tmp_path / 'spaced.conllu'}"]),
                    tmp_path / "run")
    again = evaluate_command(tmp_path / "run" / "best.npz", tmp_path / "spaced.conllu")
    assert again["accuracy"] == summary["dev"]["accuracy"]
    # CoNLL-U in, CoNLL-U out: byte for byte but the predicted field
    result = subprocess.run([sys.executable, "-m", "wintrain", "predict", str(tmp_path / "run" / "best.npz"),
                             str(tmp_path / "spaced.conllu"), "--format", "conllu"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for mine, theirs in zip(result.stdout.splitlines(), data.splitlines()):
        a, b = mine.split("\t"), theirs.split("\t")
        assert len(a) == len(b) and (len(a) != 10 or a[:3] + a[4:] == b[:3] + b[4:])
    # the text format writes a spaced token with a TAB, which the column reader reads back
    tagger = Tagger.load(tmp_path / "run" / "best.npz")
    tags = tagger.tag_tokens([["20 000", "euros"]])
    text = format_text([TaggedText("20 000 euros", [[Token("20 000", 0, 6), Token("euros", 7, 12)]], tags)])
    assert text.startswith("20 000\t") and text.splitlines()[1] == f"euros {tags[0][1]}"
    corpus = conll_from_text(Path("t.txt"), text, 0, -1)
    assert corpus.tokens == ["20 000", "euros"] and corpus.tags == tags[0]


def test_a_model_trained_on_columns_is_scored_on_a_conllu_file_on_upos(tmp_path):
    import conftest

    conftest.write_conll(tmp_path / "train.txt", [[("Il", "PRON"), ("mange", "VERB"), (".", "PUNCT")]] * 30)
    gold = "# text = Il mange.\n1\tIl\t_\tPRON\t_\t_\t_\t_\t_\t_\n2\tmange\t_\tVERB\t_\t_\t_\t_\t_\tSpaceAfter=No\n" \
           "3\t.\t_\tPUNCT\t_\t_\t_\t_\t_\t_\n\n"
    (tmp_path / "test.conllu").write_text(gold, encoding="utf-8")
    (tmp_path / "c.yaml").write_text("data: {train: train.txt}\nembeddings: {dim: 8}\nmodel: {hidden: [8]}\n"
                                     "optimizer: {lr: 0.05}\ntrain: {epochs: 5, batch_size: 8}\n")
    train(load_config(tmp_path / "c.yaml"), tmp_path / "run")
    metrics = evaluate_command(tmp_path / "run" / "best.npz", tmp_path / "test.conllu")
    assert metrics["tokens"] == 3 and metrics["accuracy"] == 1.0
    with redirect_stdout(io.StringIO()):
        assert "--field names a CoNLL-U field" in error_of(evaluate_command, tmp_path / "run" / "best.npz",
                                                           tmp_path / "train.txt", field="upos")


def test_predict_with_a_tokenizer_streams_and_equals_worker_processes_and_a_dask_cluster(french):
    from wintrain.evaluation.stream import STDIN, OutputSpec, Pipeline, Task
    from wintrain.evaluation.workers import DaskExecutor, LocalExecutor, ProcessExecutor, TaggerSpec

    texts = gold_texts(french["dev"])
    data = "\n".join(texts * 3).encode()

    def tag_with(executor, output):
        buffer = io.StringIO()
        try:
            Pipeline(executor, chunk=11, stream=buffer, stdin=io.BytesIO(data)).run([Task(STDIN)])
        finally:
            executor.close()
        return buffer.getvalue()

    output = OutputSpec("conllu", "upos")
    tagger = Tagger.load(french["tagger"], tokenizer=french["tokenizer"])
    local = tag_with(LocalExecutor(tagger, output), output)
    whole = format_conllu(tagger.tag_texts(texts * 3), "upos")
    assert [line for line in local.splitlines() if not line.startswith("# sent_id")] == \
        [line for line in whole.splitlines() if not line.startswith("# sent_id")]  # chunks renumber sentences
    assert any("-" in line.split("\t")[0] for line in local.splitlines() if "\t" in line)  # multiword ranges
    spec = TaggerSpec(str(french["tagger"]), tokenizer=str(french["tokenizer"]))
    assert tag_with(ProcessExecutor(spec, output, jobs=2), output) == local
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        assert tag_with(DaskExecutor(client, spec, output, ship=True), output) == local
