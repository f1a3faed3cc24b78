"""Tests for wintrain.data.check on tiny corpora written here."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from wintrain.config import config_from_dict, load_config
from wintrain.data.check import check_data, report_rows
from wintrain.data.dataset import Encoder
from wintrain.data.load import load_corpora, make_encoder, training_scheme
from wintrain.data.tags import count_entity_starts
from wintrain.errors import WintrainError

from conftest import shared_or_skip, write_conll

TRAIN = [
    [("Alice", "B-PER"), ("visited", "O"), ("Paris", "B-LOC"), (".", "O")],
    [("Bob", "B-PER"), ("Smith", "I-PER"), ("left", "O"), ("Rome", "B-LOC"), (".", "O")],
    [("Carol", "B-PER"), ("slept", "O"), (".", "O")],
]
DEV = [
    [("Bob", "B-PER"), ("Smith", "I-PER"), ("left", "O"), ("Rome", "B-LOC"), (".", "O")],  # also in train
    [("Zed", "B-ORG"), ("won", "O")],  # ORG never occurs in train
]


def make_config(tmp_path: Path, train=TRAIN, dev=DEV, vectors: tuple[str, ...] | None = ("alice", "paris", "."),
                **data):
    raw: dict = {"data": {"train": str(write_conll(tmp_path / "train.txt", train)), **data}}
    if dev is not None:
        raw["data"]["dev"] = str(write_conll(tmp_path / "dev.txt", dev))
    if vectors is not None:
        (tmp_path / "vec.txt").write_text("".join(f"{word} 0.1 0.2\n" for word in vectors), encoding="utf-8")
        raw["embeddings"] = {"path": str(tmp_path / "vec.txt"), "dim": 2}
    return config_from_dict(raw, base=tmp_path)


def test_counts_lengths_and_tags(tmp_path):
    report = check_data(make_config(tmp_path))
    train, dev = report.splits["train"], report.splits["dev"]
    assert list(report.splits) == ["train", "dev"]
    assert (train.sentences, train.tokens, train.forms) == (3, 12, 10)
    assert (train.lengths.min, train.lengths.median, train.lengths.max) == (3, 4.0, 5)
    assert train.lengths.mean == pytest.approx(4.0)
    assert train.lengths.p95 == pytest.approx(4.9)
    assert train.tag_counts == {"O": 6, "B-PER": 3, "B-LOC": 2, "I-PER": 1}
    assert report.tags == ["O", "B-LOC", "B-PER", "I-PER"]
    assert report.tags_from == "train"
    assert report.scheme == "iob2"
    assert dev.tag_counts["B-ORG"] == 1


def test_tags_only_in_dev_are_blocking_without_data_tags(tmp_path):
    report = check_data(make_config(tmp_path))
    assert report.splits["dev"].unknown_tags == ["B-ORG"]
    assert not report.ok
    assert len(report.problems) == 1 and "B-ORG" in report.problems[0] and "dev.txt" in report.problems[0]
    # ... because encoding them fails at training time:
    config = make_config(tmp_path)
    corpora = load_corpora(config)
    encoder: Encoder = make_encoder(config, corpora["train"], training_scheme(config, corpora["train"]))
    with pytest.raises(WintrainError, match="B-ORG"):
        encoder.encode_tags(corpora["dev"])


def test_data_tags_fix_the_problem_and_warn_about_unlearnable_tags(tmp_path):
    report = check_data(make_config(tmp_path, tags=["O", "B-PER", "I-PER", "B-LOC", "B-ORG", "I-LOC"]))
    assert report.ok
    assert report.tags_from == "data.tags"
    assert any("never occur in train: B-ORG, I-LOC" in w for w in report.warnings)
    missing = check_data(make_config(tmp_path, tags=["O", "B-PER", "B-LOC", "B-ORG"]))
    assert "I-PER" in missing.problems[0] and "train.txt" in missing.problems[0]


def test_oov_against_vectors_and_train(tmp_path):
    report = check_data(make_config(tmp_path))
    train, dev = report.splits["train"], report.splits["dev"]
    # vectors hold alice, paris, "." (lowercased lookup): train tokens 12, found 1 + 1 + 3 dots.
    assert report.vectors_found == 3
    assert train.oov_vectors_tokens == pytest.approx(7 / 12)
    assert train.oov_vectors_forms == pytest.approx(7 / 10)
    assert train.oov_train_tokens is None and train.overlap_with_train is None
    # dev forms: bob smith left rome . zed won; unseen in train: zed, won.
    assert dev.oov_train_tokens == pytest.approx(2 / 7)
    assert dev.oov_train_forms == pytest.approx(2 / 7)
    assert dev.overlap_with_train == 1
    assert any("dev.txt: 1 of 2 sentences also occur in train" in w for w in report.warnings)
    assert any("train.txt: 58.3% of tokens have no pretrained vector" in w for w in report.warnings)


def test_case_sensitive_lookup_and_empty_coverage(tmp_path):
    report = check_data(make_config(tmp_path, vectors=("nothing", "none"), lowercase=False))
    assert report.vectors_found == 0
    assert any("no word of the data has a vector" in w and "data.lowercase: true" in w for w in report.warnings)
    cased = check_data(make_config(tmp_path, lowercase=False))
    assert cased.vectors_found == 1  # only "." matches: Alice and Paris are capitalised


def test_warnings_rare_tags_missing_splits_long_sentences_and_iob1(tmp_path):
    long_sentence = [(f"w{i}", "O") for i in range(300)]
    iob1 = [[("Alice", "I-PER"), ("Smith", "I-PER"), ("met", "O"), ("Bob", "I-PER")], long_sentence]
    report = check_data(make_config(tmp_path, train=iob1, dev=None, vectors=None))
    text = "\n".join(report.warnings)
    assert "no data.dev" in text and "no data.test" in text
    assert "tags with fewer than 5 training tokens" in text
    assert "1 sentences longer than 250 tokens (longest 300)" in text
    assert report.scheme == "iob1"
    assert report.splits["train"].i_starts == 2 and report.splits["train"].b_starts == 0
    assert report.vectors_path is None and report.splits["train"].oov_vectors_tokens is None


def test_count_entity_starts():
    assert count_entity_starts([["I-X", "I-X", "B-X", "O", "I-Y", "I-X"]]) == (3, 0)
    assert count_entity_starts([["B-X", "I-X", "B-X", "B-Y", "O", "B-Y"], ["I-Y"]]) == (1, 3)


def test_missing_file_propagates(tmp_path):
    config = make_config(tmp_path)
    config.data.dev = tmp_path / "nope.txt"
    with pytest.raises(WintrainError, match="nope.txt: no such file"):
        check_data(config)


def test_report_rows_are_strings(tmp_path):
    rows = report_rows(check_data(make_config(tmp_path)))
    names = [name for name, _ in rows]
    assert {"tags", "vectors", "train", "dev", "dev unseen in train", "dev sentences in train"} <= set(names)
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in rows)
    assert dict(rows)["dev sentences in train"] == "1 (50.0%)"


def test_tokens_with_spaces_from_tab_lines_and_conllu_forms_are_checked(tmp_path):
    (tmp_path / "train.txt").write_text("New York\tB-LOC\nis\tO\nbig\tO\n\nParis\tB-LOC\n", encoding="utf-8")
    (tmp_path / "dev.conllu").write_text(
        "# text = New York 20 000\n"
        "1\tNew York\tNew York\tPROPN\t_\t_\t0\troot\t_\t_\n"
        "2\t20 000\t20 000\tNUM\t_\t_\t1\tnummod\t_\t_\n\n",
        encoding="utf-8",
    )
    (tmp_path / "vec.txt").write_text("paris 0.1 0.2\nis 0.3 0.4\n", encoding="utf-8")
    config = config_from_dict(
        {"data": {"train": str(tmp_path / "train.txt"), "dev": str(tmp_path / "dev.conllu"), "lowercase": True},
         "embeddings": {"path": str(tmp_path / "vec.txt"), "dim": 2}},
        base=tmp_path,
    )
    report = check_data(config)
    train, dev = report.splits["train"], report.splits["dev"]
    assert (train.sentences, train.tokens, train.forms) == (2, 4, 4)
    assert train.tag_counts == {"O": 2, "B-LOC": 2}
    assert train.oov_vectors_tokens == pytest.approx(2 / 4)  # 'new york' and 'big' have no vector
    assert (dev.tokens, dev.tag_counts) == (2, {"PROPN": 1, "NUM": 1})
    assert dev.oov_train_tokens == pytest.approx(1 / 2)  # 'new york' is a training word, '20 000' is not
    assert report.vectors_found == 2
    rows = dict(report_rows(report))
    assert rows["train"].endswith("2 sentences, 4 tokens, 4 lowercased word forms")


def test_conll2003_is_checked_quickly():
    conll = shared_or_skip("data", "conll2003")
    glove = shared_or_skip("data", "glove", "glove.6B.50d.conll2003.txt")
    started = time.perf_counter()
    overrides = [f"data.{split}={conll / (split + '.txt')}" for split in ("train", "dev", "test")]
    config = load_config(Path(__file__).resolve().parents[2] / "configs" / "conll2003.yaml",
                         [*overrides, f"embeddings.path={glove}"])
    report = check_data(config)
    assert time.perf_counter() - started < 5
    assert report.ok
    assert report.splits["train"].sentences == 14041
    assert report.scheme == "iob2"


@pytest.mark.parametrize(
    "choices, message",
    [
        ({}, None),
        ({"model": {"activation": {"name": "prelu", "alpha": 0.1}, "init": "orthogonal"},
          "features": {"chars": {"dim": 4}}, "loss": {"name": "sll"},
          "optimizer": {"name": "adamw", "weight_decay": 0.1}, "schedule": {"name": "cosine", "warmup_epochs": 1}},
         None),
        ({"model": {"activation": "relux"}}, "cfg.yaml: model.activation: unknown activation 'relux' — did you mean"),
        ({"embeddings": {"unknown_init": {"name": "uniform", "r": 0}}}, "cfg.yaml: embeddings.unknown_init: r must"),
        ({"features": {"chars": {"dim": 4}}, "model": {"init": {"name": "normal", "std": -1}}},
         "cfg.yaml: model.init: std must be > 0, got -1.0"),
        ({"optimizer": {"name": "rmsprop", "rho": 1}}, "cfg.yaml: optimizer: rho must be in [0, 1), got 1.0"),
        ({"schedule": {"name": "plateau", "factor": 2}}, "cfg.yaml: schedule: factor must be in (0, 1), got 2.0"),
    ],
)
def test_the_choices_half_of_wintrain_check_reads_no_file(tmp_path, choices, message):
    """``wintrain check`` builds every registry choice as training would before it reads the data;
    that part needs neither the data nor the vectors (here: none of them exists)."""
    from wintrain.training.trainer import check_choices

    raw = {"data": {"train": "gone/train.txt", "dev": "gone/dev.txt"}, "embeddings": {"path": "gone/v.txt"}, **choices}
    config = config_from_dict(raw, base=tmp_path, source=Path("cfg.yaml"))
    if message is None:
        check_choices(config)
    else:
        with pytest.raises(WintrainError) as caught:
            check_choices(config)
        assert str(caught.value).startswith(message)


def test_a_dev_split_that_shares_almost_no_forms_with_train_is_warned_about(tmp_path):
    german = [[("Der", "O"), ("Hund", "O"), ("läuft", "O"), ("schnell", "O"), (".", "O")]]  # 4 of 5 forms unseen
    foreign = check_data(make_config(tmp_path, dev=german, vectors=None))
    assert foreign.splits["dev"].oov_train_forms == pytest.approx(0.8)
    assert not any("never occur in train" in w for w in foreign.warnings)  # 80 % is not above the threshold
    german[0].append(("Katze", "O"))
    foreign = check_data(make_config(tmp_path, dev=german, vectors=None))
    line = [w for w in foreign.warnings if "never occur in train" in w]
    assert len(line) == 1 and line[0].startswith(str(tmp_path / "dev.txt")) and "83% of its word forms" in line[0]
    assert not any("never occur in train" in w for w in check_data(make_config(tmp_path, vectors=None)).warnings)
