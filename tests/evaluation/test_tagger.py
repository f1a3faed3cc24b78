"""Own text in, annotations out: CoNLL-U training data, the Tagger, and every format of predict."""

from __future__ import annotations

import io
import json
import threading

import pytest

from wintrain.config import load_config
from wintrain.data.conllu import conllu_forms
from wintrain.evaluation.tagger import Tagger, predict_source
from wintrain.training.run import train

from conftest import error_of

CONLLU = """# newdoc id = weblog-1
# sent_id = 1
# text = Alice doesn't visit Paris.
1	Alice	Alice	PROPN	NNP	Number=Sing	3	nsubj	3:nsubj	_
2-3	doesn't	_	_	_	_	_	_	_	_
2	does	do	AUX	VBZ	Mood=Ind	4	aux	4:aux	_
3	n't	not	PART	RB	_	4	advmod	4:advmod	_
4	visit	visit	VERB	VB	VerbForm=Inf	0	root	0:root	_
5	Paris	Paris	PROPN	NNP	Number=Sing	4	obj	4:obj	SpaceAfter=No
5.1	visited	visit	VERB	VBD	_	_	_	4:conj	_
6	.	.	PUNCT	.	_	4	punct	4:punct	_

# sent_id = 2
# text = Bob left Rome.
1	Bob	Bob	PROPN	NNP	Number=Sing	2	nsubj	2:nsubj	_
2	left	leave	VERB	VBD	Tense=Past	0	root	0:root	_
3	Rome	Rome	PROPN	NNP	Number=Sing	2	obj	2:obj	SpaceAfter=No
4	.	.	PUNCT	.	_	2	punct	2:punct	_

"""


@pytest.fixture(scope="module")
def pos_model(tmp_path_factory):
    """A tiny POS model trained on a CoNLL-U file (format chosen by the file name)."""
    folder = tmp_path_factory.mktemp("pos")
    (folder / "train.conllu").write_text(CONLLU * 20, encoding="utf-8")
    (folder / "pos.yaml").write_text(
        "seed: 1\ndata: {train: train.conllu, dev: train.conllu}\nembeddings: {dim: 8}\n"
        "model: {window_size: 3, hidden: [16]}\noptimizer: {lr: 0.02}\ntrain: {epochs: 8, batch_size: 8}\n",
        encoding="utf-8")
    summary = train(load_config(folder / "pos.yaml"), folder / "run")
    return folder, summary


@pytest.fixture(scope="module")
def ner_model(tmp_path_factory):
    import conftest

    folder = tmp_path_factory.mktemp("ner")
    return conftest.tiny_ner_checkpoint(folder, epochs=6)


def test_training_on_conllu_uses_syntactic_words_and_upos(pos_model):
    folder, summary = pos_model
    assert summary["dev"]["tokens"] == 10 * 20  # 6 + 4 syntactic words per copy, no range, no empty node
    tagger = Tagger.load(folder / "run" / "best.npz")
    assert set(tagger.tags) == {"PROPN", "AUX", "PART", "VERB", "PUNCT"}
    assert summary["dev"]["accuracy"] > 0.9


def test_tag_column_by_name_and_format_by_key(tmp_path):
    (tmp_path / "words.txt").write_text(CONLLU, encoding="utf-8")  # CoNLL-U under another name
    (tmp_path / "c.yaml").write_text("data: {train: words.txt, format: conllu, tag_column: xpos}\n"
                                     "embeddings: {dim: 4}\nmodel: {window_size: 1, hidden: [4]}\n"
                                     "train: {epochs: 1}\n", encoding="utf-8")
    from wintrain.data.load import load_corpora

    corpus = load_corpora(load_config(tmp_path / "c.yaml"))["train"]
    assert corpus.tags == ["NNP", "VBZ", "RB", "VB", "NNP", ".", "NNP", "VBD", "NNP", "."]


def test_a_plain_file_that_looks_like_conllu_is_refused_with_a_hint(tmp_path):
    (tmp_path / "train.txt").write_text(CONLLU, encoding="utf-8")
    (tmp_path / "c.yaml").write_text("data: {train: train.txt}\n", encoding="utf-8")
    message = error_of(train, load_config(tmp_path / "c.yaml"), tmp_path / "run")
    assert "train.txt looks like CoNLL-U" in message and "data.format: conllu" in message
    number = error_of(train, load_config(tmp_path / "c.yaml", ["data.format=conllu", "data.tag_column=3"]))
    assert "set data.tag_column to one of upos, xpos" in number
    name = error_of(train, load_config(tmp_path / "c.yaml", ["data.format=conll", "data.tag_column=upos"]))
    assert "'upos' names a CoNLL-U field" in name


def test_predict_conllu_round_trip_changes_only_the_predicted_field(pos_model, tmp_path):
    folder, _ = pos_model
    source = tmp_path / "in.conllu"
    original = CONLLU.replace("\n", "\r\n", 3)  # some CRLF line ends must survive too
    source.write_bytes(original.encode("utf-8"))
    written = predict_source(folder / "run" / "best.npz", str(source), "conllu")
    old_lines, new_lines = original.split("\n"), written.split("\n")
    assert len(old_lines) == len(new_lines)
    tagger = Tagger.load(folder / "run" / "best.npz")
    expected = iter(tag for row in tagger.tag_tokens(conllu_forms(original)) for tag in row)
    for old, new in zip(old_lines, new_lines):
        fields = old.rstrip("\r").split("\t")
        if len(fields) == 10 and fields[0].isdigit():
            fields[3] = next(expected)
            assert new == "\t".join(fields) + ("\r" if old.endswith("\r") else "")
        else:
            assert new == old  # comments, ranges, empty nodes, blank lines: byte for byte
    assert predict_source(folder / "run" / "best.npz", str(source), "conllu", field="upos") == written


def test_tagger_results_equal_predict_json(ner_model):
    lines = ["Alice visited Paris.", "  yesterday Bob saw Oslo . ", "Carol liked Rome, and Dave left Vienna!"]
    stdin = io.BytesIO("\n".join(lines + [""]).encode())
    printed = [json.loads(line) for line in predict_source(ner_model, "-", "json", stdin=stdin).splitlines()]
    tagger = Tagger.load(ner_model)
    assert printed == tagger.tag_batch(lines) == [tagger.tag(line) for line in lines]
    first = printed[0]
    assert [t["text"] for t in first["tokens"]] == ["Alice", "visited", "Paris", "."]
    assert all(first["text"][t["start"]:t["end"]] == t["text"] for t in first["tokens"])
    assert {"text": "Alice", "type": "PER", "start": 0, "end": 5} in first["entities"]


def test_the_tagger_is_safe_from_several_threads(ner_model):
    tagger = Tagger.load(ner_model)
    texts = [f"{name} visited {place}." for name in ("Alice", "Bob", "Erin") for place in ("Paris", "Oslo", "Rome")]
    expected = tagger.tag_batch(texts)
    results: dict[int, list] = {}

    def work(index: int) -> None:
        results[index] = [tagger.tag(text) for text in texts for _ in range(5)][::5]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())


def test_text_conll_conllu_and_pretokenized_formats(ner_model):
    def run(fmt: str, text: str, **options) -> str:
        return predict_source(ner_model, "-", fmt, stdin=io.BytesIO(text.encode()), **options)

    text = run("text", "Alice visited Paris.\n\nBob left.\n")
    assert text.split("\n\n")[0].splitlines() == ["Alice B-PER", "visited O", "Paris B-LOC", ". O"]
    assert text.endswith("left O\n. O\n\n") and text.count("\n\n") == 2  # a blank line after each text
    conll = run("conll", "Alice visited Paris. Bob left Rome.\n")
    assert conll.count("\n\n") == 2 and conll.splitlines()[0] == "Alice\tB-PER"  # two sentences of one line
    pre = run("text", "Alice visited Paris.\n", pretokenized=True)
    assert [line.split()[0] for line in pre.splitlines() if line] == ["Alice", "visited", "Paris."]  # whitespace only
    conllu = run("conllu", "Alice visited Paris.\n", field="misc")
    assert conllu.splitlines()[:3] == ["# sent_id = 1", "# text = Alice visited Paris.",
                                       "1\tAlice\t_\t_\t_\t_\t_\t_\t_\tTag=B-PER"]
    assert conllu.splitlines()[4].endswith("Tag=B-LOC|SpaceAfter=No")
    assert "choose the field its tags go into with --field" in error_of(run, "conllu", "Alice left.\n")
