"""The shipped configs train as the README says (CoNLL-2003 only where ../shared is present)."""

import json

import pytest

from wintrain.config import load_config
from wintrain.evaluation.evaluate import evaluate_checkpoint
from wintrain.training.run import train

from conftest import REPO, shared_or_skip

pytestmark = pytest.mark.slow  # trains on real data or runs whole commands


def test_quickstart_learns_the_synthetic_corpus(tmp_path):
    config = load_config(REPO / "configs" / "quickstart.yaml", ["train.epochs=4"])
    summary = train(config, tmp_path / "run")
    assert summary["dev"]["entity"]["f1"] > 0.85
    assert summary["test"]["entity"]["f1"] > 0.8
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == summary


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


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_every_shipped_config_is_valid(name):
    from wintrain.nn.activations import ACTIVATIONS
    from wintrain.nn.init import INITIALIZERS
    from wintrain.training.optimizers import OPTIMIZERS
    from wintrain.training.schedules import SCHEDULES

    config = load_config(REPO / "configs" / name)
    OPTIMIZERS.check_params(config.optimizer.name, config.optimizer.params)
    SCHEDULES.check_params(config.schedule.name, config.schedule.params)
    ACTIVATIONS.check_params(config.model.activation.name, config.model.activation.params)
    for choice in (config.model.init, config.model.bias_init, config.embeddings.unknown_init):
        INITIALIZERS.check_params(choice.name, choice.params)


def test_ud_pos_config_learns_parts_of_speech(tmp_path):
    shared_or_skip("data", "ud_en_ewt")
    config = load_config(REPO / "configs" / "ud_en_ewt_pos.yaml", ["train.epochs=1", "data.test=null"])
    summary = train(config, tmp_path / "run")
    assert summary["score"] == "accuracy" and summary["dev"]["accuracy"] > 0.9
