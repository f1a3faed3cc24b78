"""Checkpoints: a saved model rebuilds alone, writes are atomic, damaged or foreign files are one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wintrain.checkpoint import FORMAT_VERSION, READABLE_VERSIONS, load_checkpoint, restore_parameters, save_checkpoint
from wintrain.config import load_config
from wintrain.data.tags import TagScheme
from wintrain.evaluation.evaluate import model_scores
from wintrain.training.trainer import prepare

from conftest import error_of


@pytest.fixture
def prepared(tiny_data):
    return prepare(load_config(tiny_data["config"], ["features.prefixes=[2]"]))


def test_round_trip_rebuilds_the_same_model_and_predictions(prepared, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "model.npz"
    save_checkpoint(path, prepared.config, prepared.encoder, prepared.scheme, prepared.model,
                    optimizer_arrays={"steps": np.array(3)}, trainer_arrays={"state": np.array("{}")})
    saved = load_checkpoint(path)
    assert saved.encoder.vocab.words == prepared.encoder.vocab.words
    assert saved.encoder.tagset.tags == prepared.encoder.tagset.tags
    assert list(saved.encoder.affixes) == ["prefix2"]
    assert saved.config.to_dict() == prepared.config.to_dict()
    assert int(saved.optimizer_arrays["steps"]) == 3 and "state" in saved.trainer_arrays
    assert saved.scheme == prepared.scheme and saved.scheme.data == "iob2"
    features = prepared.datasets["dev"].features
    np.testing.assert_array_equal(model_scores(saved.build(), features), model_scores(prepared.model, features))
    # the textbook kernels read the same checkpoint and give the same scores, to float rounding
    np.testing.assert_allclose(model_scores(saved.build("textbook"), features, kernels="textbook"),
                               model_scores(prepared.model, features), rtol=1e-5, atol=1e-5)
    assert [p.name for p in folder.iterdir()] == ["model.npz"]  # no temporary file left behind


def test_a_checkpoint_from_before_format_5_takes_its_scheme_from_its_config(prepared, tmp_path):
    save_checkpoint(tmp_path / "new.npz", prepared.config, prepared.encoder, prepared.scheme, prepared.model)
    with np.load(tmp_path / "new.npz") as data:
        arrays = {key: data[key] for key in data.files if key != "tag_scheme"}
    config = json.loads(str(arrays["config"]))
    config["data"]["scheme"] = "iob1"  # format 4 wrote the resolved scheme into the config
    arrays["config"], arrays["format_version"] = np.array(json.dumps(config)), np.array(4)
    np.savez(tmp_path / "old.npz", **arrays)
    assert load_checkpoint(tmp_path / "old.npz").scheme == TagScheme("iob1", "iob1")


def test_restore_parameters_copies_only_the_weights(prepared, tmp_path):
    path = tmp_path / "best.npz"
    save_checkpoint(path, prepared.config, prepared.encoder, prepared.scheme, prepared.model)
    saved = {name: value.copy() for name, value in prepared.model.state().items()}
    for value in prepared.model.state().values():
        value += 1.0
    restore_parameters(path, prepared.model)
    for name, value in prepared.model.state().items():
        np.testing.assert_array_equal(value, saved[name])


def test_a_failed_write_keeps_the_previous_file(prepared, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "last.npz"
    save_checkpoint(path, prepared.config, prepared.encoder, prepared.scheme, prepared.model)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError):
        save_checkpoint(path, prepared.config, prepared.encoder, prepared.scheme, prepared.model)
    assert path.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["last.npz"]


def test_damaged_foreign_and_other_version_files_are_one_line_errors(prepared, tmp_path):
    assert "checkpoint not found" in error_of(load_checkpoint, tmp_path / "none.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    assert "not a readable checkpoint" in error_of(load_checkpoint, tmp_path / "text.npz")
    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3))
    assert "not a wintrain checkpoint" in error_of(load_checkpoint, tmp_path / "foreign.npz")
    path = tmp_path / "model.npz"
    save_checkpoint(path, prepared.config, prepared.encoder, prepared.scheme, prepared.model)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["format_version"] = np.array(min(READABLE_VERSIONS) - 1)
    np.savez(tmp_path / "old.npz", **arrays)
    assert f"format version {min(READABLE_VERSIONS) - 1}" in error_of(load_checkpoint, tmp_path / "old.npz")
    config = json.loads(str(arrays["config"]))
    config["model"]["hidden"] = [5]
    arrays["format_version"] = np.array(FORMAT_VERSION)
    arrays["config"] = np.array(json.dumps(config))
    np.savez(tmp_path / "mismatch.npz", **arrays)
    assert "does not match its config" in error_of(load_checkpoint(tmp_path / "mismatch.npz").build)
