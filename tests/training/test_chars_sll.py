"""Training with the character feature and the sentence-level log-likelihood, end to end."""

from __future__ import annotations

import numpy as np
import pytest

from wintrain.checkpoint import load_checkpoint
from wintrain.config import load_config
from wintrain.evaluation.evaluate import evaluate_checkpoint
from wintrain.evaluation.tagger import Tagger
from wintrain.nn.gradcheck import check_config_gradients
from wintrain.training.run import train
from wintrain.training.trainer import Trainer, prepare

from conftest import train_whole_and_interrupted

CHARS = "features.chars={dim: 6, filters: 10, width: 3, max_length: 8}"


def test_sll_batches_are_whole_sentences_of_about_batch_size_tokens(tiny_data):
    prepared = prepare(load_config(tiny_data["config"], ["loss.name=sll", "train.batch_size=20"]))
    trainer = Trainer(prepared)
    batches = trainer.epoch_batches()
    data = prepared.datasets["train"]
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(len(data)))  # every token once
    starts = set(data.sentence_starts.tolist())
    for index in batches:
        assert int(index[0]) in starts  # a batch begins with a sentence...
        lengths = data.sentence_lengths(index)
        assert lengths.sum() == len(index) and len(index) < 20 + lengths.max()  # ...holds whole ones, ≈ 20 tokens
        cuts = np.concatenate(([0], np.cumsum(lengths)))[:-1]
        assert all(int(index[c]) in starts for c in cuts)


@pytest.mark.parametrize("options", [[CHARS], ["loss.name=sll"], [CHARS, "loss.name=sll"]],
                         ids=["chars", "sll", "chars+sll"])
def test_train_evaluate_and_tag_with_characters_and_sll(tiny_data, tmp_path, options):
    config = load_config(tiny_data["config"], [*options, "train.epochs=4"])
    summary = train(config, tmp_path / "run")
    assert summary["dev"]["entity"]["f1"] > 0.9
    again = evaluate_checkpoint(tmp_path / "run" / "best.npz", tiny_data["dev"])
    assert again["entity"]["f1"] == summary["dev"]["entity"]["f1"]
    assert again["decode"] == ("viterbi" if "loss.name=sll" in options else "greedy")
    saved = load_checkpoint(tmp_path / "run" / "best.npz")
    assert ("encoder/chars" in saved.model_arrays or saved.encoder.chars is not None) == (CHARS in options)
    assert ("sll.transitions" in saved.model_arrays) == ("loss.name=sll" in options)
    tagged = Tagger.load(tmp_path / "run" / "best.npz").tag("Zelda visited Paris.")
    assert [t["tag"] for t in tagged["tokens"]][1:] == ["O", "B-LOC", "O"]


def test_config_gradcheck_covers_characters_and_transitions(tiny_data):
    for synthetic in (False, True):
        config = load_config(tiny_data["config"], [CHARS, "loss.name=sll", "loss.l2=0.01", "model.activation=gelu"])
        results = check_config_gradients(config, synthetic=synthetic, batch_size=10, max_entries=80)
        names = {r.name for r in results}
        assert {"embed.chars", "chars.W", "chars.b", "sll.transitions", "sll.initial", "embed.word"} <= names
        assert all(r.relative_error < 1e-6 for r in results), results


def test_resume_inside_an_epoch_is_bit_identical_with_characters_and_sll(tiny_data, tmp_path):
    options = [CHARS, "loss.name=sll", "train.epochs=3", "train.batch_size=12", "model.dropout=0.2",
               "train.word_dropout=0.5"]
    whole_run, cut_run = train_whole_and_interrupted(tiny_data["config"], options, tmp_path)
    whole = load_checkpoint(whole_run / "last.npz")
    cut = load_checkpoint(cut_run / "last.npz")
    assert set(whole.model_arrays) == set(cut.model_arrays)
    for name, value in whole.model_arrays.items():
        assert np.array_equal(value, cut.model_arrays[name]), name


def test_profile_and_range_test_take_whole_sentences_with_sll(tiny_data):
    from wintrain.sweep import range_test
    from wintrain.training.profile import profile_steps

    config = load_config(tiny_data["config"], [CHARS, "loss.name=sll", "train.batch_size=12"])
    profile = profile_steps(prepare(config), steps=15)
    names = {t.name for t in profile.times}
    assert any(name.startswith("characters") for name in names)
    assert any(name.startswith("sentence log-likelihood") for name in names)
    assert 0 < profile.measured_seconds <= profile.wall_seconds
    result = range_test(config, 1e-4, 1.0, steps=20)
    assert len(result.rates) >= 5 and np.isfinite(result.losses[0])
