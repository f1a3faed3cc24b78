"""End-to-end training on tiny data written by the test."""

import json

import numpy as np
import pytest

from wintrain.checkpoint import load_checkpoint
from wintrain.config import load_config
from wintrain.data.tags import FLAT, TagScheme
from wintrain.errors import TrainingDiverged, WintrainError
from wintrain.evaluation.evaluate import evaluate_checkpoint
from wintrain.training.events import EpochDone, RunDone, RunStarted, StepDone
from wintrain.training.run import run, train


def test_training_learns_and_writes_the_run_folder(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=6"])
    events = list(run(config, tmp_path / "run"))
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunDone)
    assert any(isinstance(e, StepDone) for e in events)
    records = [e.record for e in events if isinstance(e, EpochDone)]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[-1]["train_loss"] < 0.5 * records[0]["train_loss"]
    assert records[-1]["dev_f1"] > 0.9
    folder = tmp_path / "run"
    for name in ("config.yaml", "metrics.jsonl", "last.npz", "best.npz", "summary.json"):
        assert (folder / name).is_file(), name
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert rows == records
    for key in ("epoch", "lr", "train_loss", "epoch_seconds", "tokens_per_second", "dev_f1", "dev_accuracy"):
        assert key in rows[0]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["best_epoch"] == max(rows, key=lambda r: r["dev_score"])["epoch"]
    assert summary["test"]["entity"]["f1"] > 0.9


def test_eval_on_best_checkpoint_reproduces_the_reported_dev_score(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=2", "optimizer.lr=0.003"])
    summary = train(config, tmp_path / "run")
    metrics = evaluate_checkpoint(tmp_path / "run" / "best.npz", tiny_data["dev"])
    assert metrics["entity"]["f1"] == summary["dev"]["entity"]["f1"]
    assert metrics["accuracy"] == summary["dev"]["accuracy"]


def test_checkpoint_holds_everything_and_no_pickle(tiny_data, tmp_path):
    train(load_config(tiny_data["config"], ["train.epochs=1"]), tmp_path / "run")
    with np.load(tmp_path / "run" / "last.npz", allow_pickle=False) as data:
        assert "format_version" in data.files and "config" in data.files
        assert "model/embed.word" in data.files and "encoder/vocab" in data.files
    saved = load_checkpoint(tmp_path / "run" / "last.npz")
    assert saved.encoder.tagset.tags == ["O", "B-LOC", "B-PER"]
    assert saved.build().count_parameters() > 0


def test_same_seed_gives_identical_parameters(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=2"])
    train(config, tmp_path / "a")
    train(config, tmp_path / "b")
    a = load_checkpoint(tmp_path / "a" / "last.npz").model_arrays
    b = load_checkpoint(tmp_path / "b" / "last.npz").model_arrays
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_existing_run_folder_is_not_overwritten(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=1"])
    train(config, tmp_path / "run")
    before = (tmp_path / "run" / "best.npz").read_bytes()
    with pytest.raises(WintrainError, match="--force"):
        train(config, tmp_path / "run")
    assert (tmp_path / "run" / "best.npz").read_bytes() == before
    train(config, tmp_path / "run", force=True)


def test_diverging_loss_is_a_clear_error(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["optimizer.name=sgd", "optimizer.lr=1e38", "model.activation=relu",
                                               "train.epochs=2"])
    with pytest.raises(WintrainError, match="lower optimizer.lr") as stopped:
        train(config, tmp_path / "run")
    assert str(stopped.value).endswith("(no checkpoint was written yet)")
    assert not (tmp_path / "run" / "last.npz").exists()


def test_divergence_after_a_good_epoch_names_the_checkpoints_that_hold_it(tiny_data, tmp_path, monkeypatch):
    from wintrain.training.trainer import Trainer

    config = load_config(tiny_data["config"], ["train.epochs=3"])
    original = Trainer.step

    def diverge_in_epoch_two(self, index, lr):
        result = original(self, index, lr)
        if self.state.epoch == 1 and self.state.step == 2:
            raise TrainingDiverged("training diverged: the loss is nan at epoch 2, step 3 (lr 0.01)")
        return result

    monkeypatch.setattr(Trainer, "step", diverge_in_epoch_two)
    with pytest.raises(TrainingDiverged) as stopped:
        train(config, tmp_path / "run")
    assert str(stopped.value).endswith("(last.npz holds epoch 1, best.npz epoch 1)")
    assert (tmp_path / "run" / "best.npz").exists()


def test_pos_style_tags_report_accuracy_and_macro_f1(tiny_data, tmp_path):
    for split in ("train", "dev", "test"):
        path = tiny_data[split]
        path.write_text(path.read_text().replace("B-PER", "NOUN").replace("B-LOC", "PROPN").replace(" O\n", " X\n"))
    summary = train(load_config(tiny_data["config"], ["train.epochs=3"]), tmp_path / "run")
    assert summary["score"] == "accuracy"
    assert "entity" not in summary["dev"] and summary["dev"]["accuracy"] > 0.8


def test_affix_features_word_dropout_and_digits_train_and_round_trip(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["features.prefixes=[2]", "features.suffixes=[2, 3]",
                                               "features.affix_min_count=1", "data.digits=true",
                                               "train.word_dropout=0.5", "train.epochs=4"])
    summary = train(config, tmp_path / "run")
    assert summary["dev"]["entity"]["f1"] > 0.9
    saved = load_checkpoint(tmp_path / "run" / "best.npz")
    assert saved.encoder.feature_names == ["word", "casing", "prefix2", "suffix2", "suffix3"]
    metrics = evaluate_checkpoint(tmp_path / "run" / "best.npz", tiny_data["dev"])
    assert metrics["entity"]["f1"] == summary["dev"]["entity"]["f1"]


def test_word_dropout_replaces_rare_words_more_often(tiny_data):
    from wintrain.training.trainer import Trainer, prepare

    prepared = prepare(load_config(tiny_data["config"], ["train.word_dropout=1.0"]))
    trainer = Trainer(prepared)
    table = trainer.unk_probability
    counts = np.bincount(prepared.datasets["train"].features[0][:, 1], minlength=len(table))
    word = int(np.argmax(counts))
    assert table[word] == pytest.approx(1.0 / (1.0 + counts[word]))
    assert table[0] == table[1] == 0.0
    ids = np.full((1000, 3), word)
    trainer.drop_words(ids)
    assert abs((ids == 1).mean() - table[word]) < 0.03


def test_python_api_trains_and_evaluates(tiny_data, tmp_path):
    import subprocess
    import sys

    import wintrain

    summary = wintrain.train(wintrain.load_config(tiny_data["config"], ["train.epochs=2"]), tmp_path / "run")
    again = wintrain.evaluate(tmp_path / "run" / "best.npz", tiny_data["dev"])
    assert again["entity"]["f1"] == summary["dev"]["entity"]["f1"]
    # importing the package does not load numpy (so the CLI can fix BLAS threads first)
    check = subprocess.run([sys.executable, "-c", "import sys, wintrain, wintrain.cli; print('numpy' in sys.modules)"],
                           capture_output=True, text=True)
    assert check.stdout.strip() == "False"


def test_digit_lookup_finds_vectors_and_the_vector_cache_is_used(tiny_data, tmp_path):
    from wintrain.data.load import load_corpora, load_encoder_and_vectors, training_scheme

    tiny_data["train"].write_text(tiny_data["train"].read_text() + "\nAlice B-PER\nleft O\nin O\n1996 O\n")
    with open(tiny_data["vectors"], "a") as vectors:
        vectors.write("1996 " + " ".join(["0.5"] * 10) + "\n2003 " + " ".join(["0.7"] * 10) + "\n")
    cache = tmp_path / "cache"
    config = load_config(tiny_data["config"], ["data.digits=true", f"embeddings.cache_dir={cache}"])
    train_corpus = load_corpora(config)["train"]
    encoder, vectors = load_encoder_and_vectors(config, train_corpus, training_scheme(config, train_corpus))
    assert "0000" in encoder.vocab.index
    row = vectors.words.index("0000")
    assert vectors.matrix[row].tolist() == [0.5] * 10  # the first word of the form keeps its vector
    assert any(cache.iterdir())


def as_pos_tags(tiny_data) -> None:
    """Rewrite the tiny data's tags as a flat (POS-style) tag set."""
    for split in ("train", "dev", "test"):
        path = tiny_data[split]
        path.write_text(path.read_text().replace("B-PER", "NOUN").replace("B-LOC", "PROPN").replace(" O\n", " X\n"))


def test_the_scheme_is_resolved_once_saved_beside_the_config_and_a_flat_tag_set_trains_the_same(tiny_data,
                                                                                                 tmp_path):
    import yaml

    chunks = train(load_config(tiny_data["config"], ["train.epochs=1"]), tmp_path / "chunks")
    assert yaml.safe_load((tmp_path / "chunks" / "config.yaml").read_text())["data"]["scheme"] == "auto"  # as written
    assert chunks["tag_scheme"] == {"data": "iob2", "model": "iob2"}
    assert load_checkpoint(tmp_path / "chunks" / "best.npz").scheme == TagScheme("iob2", "iob2")
    as_pos_tags(tiny_data)
    summary = train(load_config(tiny_data["config"], ["train.epochs=2"]), tmp_path / "run")
    assert summary["tag_scheme"] == {"data": "flat", "model": "flat"}
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["data"]["scheme"] == "auto" and saved["data"]["tag_column"] is None
    best, last = load_checkpoint(tmp_path / "run" / "best.npz"), load_checkpoint(tmp_path / "run" / "last.npz")
    assert best.config.data.scheme == last.config.data.scheme == "auto" and best.scheme == last.scheme == FLAT
    evaluated = evaluate_checkpoint(tmp_path / "run" / "best.npz", tiny_data["dev"])
    assert evaluated["accuracy"] == summary["dev"]["accuracy"] and evaluated["macro_f1"] == summary["dev"]["macro_f1"]
    # the saved config trains again to the same model; a scheme named outright changes nothing for flat tags
    again = train(load_config(tmp_path / "run" / "config.yaml"), tmp_path / "again")
    named = train(load_config(tiny_data["config"], ["train.epochs=2", "data.scheme=iob2"]), tmp_path / "named")
    assert again["dev"] == named["dev"] == summary["dev"]
    for other in ("again", "named"):
        arrays = load_checkpoint(tmp_path / other / "best.npz").model_arrays
        assert arrays.keys() == best.model_arrays.keys()
        assert all(np.array_equal(arrays[key], best.model_arrays[key]) for key in arrays)
    assert load_checkpoint(tmp_path / "named" / "best.npz").config.data.scheme == "iob2"  # as the user wrote it


def iob1_sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    """IOB1 sentences with two-word names and places, and two touching PER chunks (B-PER)."""
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(n):
        first, last = str(rng.choice(["Alice", "Bob", "Carol"])), str(rng.choice(["Smith", "Jones"]))
        place = [("New", "I-LOC"), ("York", "I-LOC")] if rng.random() < 0.5 else [("Rome", "I-LOC")]
        sentence = [(first, "I-PER"), (last, "I-PER"), ("visited", "O"), *place, (".", "O")]
        if rng.random() < 0.3:
            sentence = [("Dave", "I-PER"), ("Erin", "B-PER"), ("left", "O"), (".", "O")]
        sentences.append(sentence)
    return sentences


@pytest.mark.parametrize("decode", ["greedy", "constrained"])
def test_a_model_that_learns_iobes_is_scored_and_tags_in_the_data_scheme(tiny_data, tmp_path, decode):
    from wintrain.evaluation.metrics import evaluate_tags
    from wintrain.evaluation.tagger import Tagger

    from conftest import write_conll

    for split, seed in (("train", 0), ("dev", 1), ("test", 2)):
        write_conll(tiny_data[split], iob1_sentences(40, seed))
    config = load_config(tiny_data["config"], ["data.model_scheme=iobes", f"evaluation.decode={decode}",
                                               "train.epochs=4", "embeddings.path=null"])
    summary = train(config, tmp_path / "run")
    best = load_checkpoint(tmp_path / "run" / "best.npz")
    assert best.scheme == TagScheme("iob1", "iobes") and summary["tag_scheme"] == {"data": "iob1", "model": "iobes"}
    assert {"S-PER", "E-PER", "B-LOC", "S-LOC"} <= set(best.encoder.tagset.tags)  # it learned IOBES
    # eval reproduces training's dev score, and writes IOB1 tags that conlleval's rules score the same
    metrics = evaluate_checkpoint(tmp_path / "run" / "best.npz", tiny_data["dev"], tmp_path / "pred.txt")
    assert metrics["entity"]["f1"] == summary["dev"]["entity"]["f1"] and metrics["entity"]["f1"] > 0.5
    rows = [line.split() for line in (tmp_path / "pred.txt").read_text().splitlines()]
    sentences = [[]]
    for row in rows:
        sentences[-1].append(row) if row else sentences.append([])
    sentences = [s for s in sentences if s]
    rescored = evaluate_tags([[r[1] for r in s] for s in sentences], [[r[2] for r in s] for s in sentences])
    assert rescored["entity"]["f1"] == metrics["entity"]["f1"]
    assert {r[2] for r in rows if r} <= {"O", "I-PER", "B-PER", "I-LOC", "B-LOC"}
    assert metrics["labels"] == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    # the tagger returns the data's tags too
    tagger = Tagger.load(tmp_path / "run" / "best.npz", decode)
    assert tagger.tags == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    tagged = tagger.tag_tokens([["Carol", "Jones", "visited", "New", "York", "."]])
    assert set(tagged[0]) <= set(tagger.tags)
    assert [e["text"] for e in tagger.tag("Carol Jones visited New York.")["entities"]] == ["Carol Jones", "New York"]


def test_a_given_tag_set_follows_the_model_scheme(tiny_data):
    from wintrain.training.trainer import prepare

    options = ["data.model_scheme=iobes", "data.tags=[O, B-PER, B-LOC, B-ORG]"]
    prepared = prepare(load_config(tiny_data["config"], options))
    assert prepared.encoder.tagset.tags == ["O", "B-LOC", "E-LOC", "I-LOC", "S-LOC", "B-ORG", "E-ORG", "I-ORG",
                                            "S-ORG", "B-PER", "E-PER", "I-PER", "S-PER"]
    assert prepared.scheme == TagScheme("iob2", "iobes") and prepared.config.data.scheme == "auto"  # not mutated
