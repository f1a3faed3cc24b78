"""The shipped configs train as the README says (CoNLL-2003 only where ../shared is present), and
no shipped config points outside the repository."""

import json

import pytest

from wintrain.config import load_config
from wintrain.evaluation.evaluate import evaluate_checkpoint
from wintrain.training.run import train

from conftest import REPO, shared_or_skip

pytestmark = pytest.mark.slow  # trains on real data or runs whole commands


def test_quickstart_learns_parts_of_speech_from_the_shipped_ud_data(tmp_path):
    config = load_config(REPO / "configs" / "quickstart.yaml", ["train.epochs=1"])
    summary = train(config, tmp_path / "run")
    assert summary["score"] == "accuracy"
    assert summary["dev"]["accuracy"] > 0.9 and summary["test"]["accuracy"] > 0.9
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == summary


def test_toolbox_config_learns_the_synthetic_corpus(tmp_path):
    config = load_config(REPO / "configs" / "toolbox.yaml", ["train.epochs=3"])
    summary = train(config, tmp_path / "run")
    assert summary["dev"]["entity"]["f1"] > 0.8


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_no_shipped_config_points_outside_the_repository(name):
    config = load_config(REPO / "configs" / name)
    paths = [config.data.train, config.data.dev, config.data.test, config.embeddings.path]
    for path in filter(None, paths):
        assert path.resolve().is_relative_to(REPO), path


def test_conll2003_configs_say_where_the_data_comes_from_when_it_is_missing():
    from conftest import error_of

    for name in ("conll2003.yaml", "conll2003_novectors.yaml", "conll2003_reference.yaml"):
        config = load_config(REPO / "configs" / name)
        if config.data.train.exists():
            pytest.skip("data/conll2003 is present in this checkout")
        message = error_of(train, config)
        assert "conll2003/train.txt: no such file; CoNLL-2003 (research licence, not shipped" in message
        assert "--set data.train=PATH" in message


def test_shipped_ud_data_is_the_shared_copy():
    from wintrain.data.reader import read_conll

    shared = shared_or_skip("data", "ud_en_ewt")
    for split in ("train", "dev", "test"):
        shipped = read_conll(REPO / "data" / "ud_en_ewt" / f"{split}.txt.gz")
        original = read_conll(shared / f"{split}.txt")
        assert shipped.tokens == original.tokens and shipped.tags == original.tags


def test_conll2003_reference_model_after_two_epochs(tmp_path):
    conll = shared_or_skip("data", "conll2003")
    glove = shared_or_skip("data", "glove", "glove.6B.50d.conll2003.txt")
    config = load_config(REPO / "configs" / "conll2003_reference.yaml", [
        f"data.train={conll / 'train.txt'}", f"data.dev={conll / 'dev.txt'}", "data.test=null",
        f"embeddings.path={glove}", "train.epochs=2",
    ])
    summary = train(config, tmp_path / "run")
    assert summary["dev"]["entity"]["f1"] > 0.80
    again = evaluate_checkpoint(tmp_path / "run" / "best.npz", conll / "dev.txt")
    assert again["entity"]["f1"] == summary["dev"]["entity"]["f1"]


@pytest.mark.parametrize("kernels", ["fast", "textbook"])
@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_every_shipped_config_builds_every_choice_as_training_would(name, kernels):
    from wintrain.training.trainer import check_choices

    check_choices(load_config(REPO / "configs" / name, [f"train.kernels={kernels}"]))  # raises on a bad choice


def test_ud_pos_config_learns_parts_of_speech(tmp_path):
    # one epoch: without the moving average, which after one epoch still remembers the first steps
    config = load_config(REPO / "configs" / "ud_en_ewt_pos.yaml",
                         ["train.epochs=1", "data.test=null", "optimizer.ema_decay=null"])
    summary = train(config, tmp_path / "run")
    assert summary["score"] == "accuracy" and summary["dev"]["accuracy"] > 0.9


@pytest.mark.parametrize("extra", [[], ["features.chars={dim: 8, filters: 16}", "loss.name=sll"],
                                   ["model.activation=relu", "optimizer.name=adagrad", "optimizer.lr=0.05"]],
                         ids=["plain", "chars-sll", "relu-adagrad"])
def test_the_textbook_kernels_train_to_the_scores_of_the_fast_ones(tmp_path, extra):
    """The same run on either set of kernels: the fast kernels reorder sums, so the two runs part by float
    rounding at the first step and the difference grows a little with every step; the curves stay within
    1 %, the best dev scores within a point (an epoch's within two: the dev set is small)."""
    rows = {}
    for kernels in ("fast", "textbook"):
        config = load_config(REPO / "tests" / "configs" / "synthetic.yaml",
                             ["train.epochs=2", "train.diagnostics=false", f"train.kernels={kernels}", *extra])
        train(config, tmp_path / kernels)
        lines = (tmp_path / kernels / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
        rows[kernels] = [json.loads(line) for line in lines]
    for fast, textbook in zip(rows["fast"], rows["textbook"], strict=True):
        assert textbook["train_loss"] == pytest.approx(fast["train_loss"], rel=1e-2)
        assert textbook["dev_score"] == pytest.approx(fast["dev_score"], abs=0.02)
    best = {kernels: max(row["dev_score"] for row in rows[kernels]) for kernels in rows}
    assert best["textbook"] == pytest.approx(best["fast"], abs=0.01)
