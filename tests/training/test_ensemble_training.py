"""Training, checkpoints, resume, evaluation and tagging with ``model.ensemble: K``."""

from __future__ import annotations

import numpy as np
import pytest

from wintrain.checkpoint import load_checkpoint
from wintrain.config import load_config
from wintrain.evaluation.evaluate import evaluate_checkpoint, model_scores
from wintrain.evaluation.tagger import Tagger
from wintrain.nn.build import build_model
from wintrain.nn.ensemble import Ensemble
from wintrain.nn.gradcheck import check_config_gradients
from wintrain.nn.graph import describe
from wintrain.nn.model import WindowClassifier, predict_scores
from wintrain.training.run import train
from wintrain.training.trainer import prepare

from conftest import train_whole_and_interrupted

CHARS = "features.chars={dim: 6, filters: 10, width: 3, max_length: 8}"


def test_member_one_starts_as_the_single_model_would(tiny_data):
    single = prepare(load_config(tiny_data["config"], [CHARS]))
    double = prepare(load_config(tiny_data["config"], [CHARS, "model.ensemble=2"]))
    assert isinstance(single.model, WindowClassifier) and isinstance(double.model, Ensemble)
    first, second = double.model.members
    for name, value in single.model.state().items():
        assert np.array_equal(first.state()[f"member1.{name}"], value), name
    assert not np.array_equal(second.state()["member2.hidden1.W"], single.model.state()["hidden1.W"])
    assert len(double.optimizer.blocks) == 2 * len(single.optimizer.blocks)


@pytest.mark.parametrize("options", [["loss.name=sll", CHARS], []], ids=["chars+sll", "cross-entropy"])
def test_train_evaluate_and_tag_an_ensemble(tiny_data, tmp_path, options):
    config = load_config(tiny_data["config"], [*options, "model.ensemble=3", "train.epochs=4"])
    summary = train(config, tmp_path / "run")
    assert summary["dev"]["entity"]["f1"] > 0.9
    again = evaluate_checkpoint(tmp_path / "run" / "best.npz", tiny_data["dev"])
    assert again["entity"]["f1"] == summary["dev"]["entity"]["f1"]
    saved = load_checkpoint(tmp_path / "run" / "best.npz")
    assert {"member1.hidden1.W", "member3.output.b"} <= set(saved.model_arrays)
    assert ("member2.sll.transitions" in saved.model_arrays) == ("loss.name=sll" in options)
    model = saved.build()
    assert isinstance(model, Ensemble) and len(model.members) == 3
    encoded = saved.encoder.encode_sentences([["Zelda", "visited", "Paris", "."]])
    members = [predict_scores(member, encoded.features) for member in model.members]
    assert np.allclose(model_scores(model, encoded.features), np.mean(members, axis=0), rtol=1e-5, atol=1e-6)
    tagged = Tagger.load(tmp_path / "run" / "best.npz").tag("Zelda visited Paris.")
    assert [t["tag"] for t in tagged["tokens"]][1:] == ["O", "B-LOC", "O"]


def test_an_ensemble_resumes_bit_identically(tiny_data, tmp_path):
    options = [CHARS, "loss.name=sll", "model.ensemble=2", "train.epochs=3", "train.batch_size=12",
               "model.dropout=0.2", "train.word_dropout=0.5"]
    whole_run, cut_run = train_whole_and_interrupted(tiny_data["config"], options, tmp_path)
    whole, cut = load_checkpoint(whole_run / "last.npz"), load_checkpoint(cut_run / "last.npz")
    assert set(whole.model_arrays) == set(cut.model_arrays)
    for name, value in whole.model_arrays.items():
        assert np.array_equal(value, cut.model_arrays[name]), name
    for name, value in whole.optimizer_arrays.items():
        assert np.array_equal(value, cut.optimizer_arrays[name]), name


def test_config_gradcheck_and_graph_cover_every_member(tiny_data):
    config = load_config(tiny_data["config"], [CHARS, "loss.name=sll", "loss.l2=0.01", "model.ensemble=2"])
    results = check_config_gradients(config, batch_size=10, max_entries=60)
    names = {r.name for r in results}
    assert {"member1.chars.W", "member2.chars.W", "member2.sll.transitions", "member1.embed.word"} <= names
    assert all(r.relative_error < 1e-6 for r in results), results
    model, _ = build_model(config, prepare(config).encoder, np.random.default_rng(0))
    nodes = describe(model, 8)
    assert len({node.name for node in nodes}) == len(nodes)
    assert nodes[0].name.startswith("member1.") and nodes[-1].name.startswith("member2.")
    assert sum(node.parameters for node in nodes) == model.count_parameters()


def test_profile_times_each_member_on_its_own(tiny_data):
    from wintrain.training.profile import profile_steps

    config = load_config(tiny_data["config"], [CHARS, "loss.name=sll", "model.ensemble=2", "train.batch_size=12"])
    profile = profile_steps(prepare(config), steps=10)
    names = [t.name for t in profile.times]
    assert any(name.startswith("member1.characters") for name in names)
    assert any(name.startswith("member2.characters") for name in names)
    assert all(t.forward_seconds >= 0 and t.backward_seconds >= 0 for t in profile.times)
    assert 0 < profile.measured_seconds <= profile.wall_seconds


def test_clip_norm_clips_each_member_where_it_would_clip_alone(tiny_data):
    from wintrain.training.trainer import Trainer

    options = ["optimizer.clip_norm=0.05", "optimizer.name=sgd", "train.word_dropout=0"]
    single = Trainer(prepare(load_config(tiny_data["config"], options)))
    double = Trainer(prepare(load_config(tiny_data["config"], [*options, "model.ensemble=2"])))
    batch = single.epoch_batches()[0]
    assert np.array_equal(batch, double.epoch_batches()[0])
    single.step(batch, lr=0.0)
    double.step(batch, lr=0.0)
    alone = {p.name: p.dense_grad() for p in single.prepared.model.parameters()}
    assert np.sqrt(sum(float(np.vdot(g, g)) for g in alone.values())) == pytest.approx(0.05, rel=1e-5)  # clipped
    assert isinstance(double.prepared.model, Ensemble)
    for member_index, member in enumerate(double.prepared.model.members, start=1):
        grads = {p.name.removeprefix(f"member{member_index}."): 2 * p.dense_grad() for p in member.parameters()}
        norm = np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
        assert norm == pytest.approx(0.05, rel=1e-5)  # each member's own gradient, clipped at clip_norm
        if member_index == 1:  # member 1 is the single model: the same clipped gradient
            for name, grad in alone.items():
                assert np.allclose(grads[name], grad, rtol=1e-5, atol=1e-8), name
