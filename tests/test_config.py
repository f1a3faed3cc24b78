from pathlib import Path

import pytest

from wintrain.config import load_config
from wintrain.errors import WintrainError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = "data: {train: train.txt}\n"


def error_of(path: Path, overrides=()) -> str:
    with pytest.raises(WintrainError) as caught:
        load_config(path, list(overrides))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_and_paths_relative_to_the_config_file(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert config.data.train == (tmp_path / "train.txt").resolve()
    assert config.model.window_size == 5 and config.model.hidden == [200]
    assert config.optimizer.name == "sparse_adam" and config.optimizer.lr == 0.001
    assert config.features.casing is True


def test_misspelled_section_suggests_the_right_key(tmp_path):
    message = error_of(write(tmp_path, BASE + "optimzer: {lr: 0.1}\n"))
    assert "exp.yaml" in message and "'optimzer'" in message and "did you mean 'optimizer'" in message


def test_misspelled_nested_key(tmp_path):
    message = error_of(write(tmp_path, BASE + "train: {epocs: 3}\n"))
    assert "train.epocs" in message and "did you mean 'epochs'" in message


@pytest.mark.parametrize(
    "text, key",
    [
        ("model: {window_size: 4}\n", "model.window_size"),
        ("optimizer: {lr: 0}\n", "optimizer.lr"),
        ("train: {batch_size: 0}\n", "train.batch_size"),
        ("train: {epochs: many}\n", "train.epochs"),
        ("model: {hidden: [0]}\n", "model.hidden"),
        ("model: {dropout: 1.0}\n", "model.dropout"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, key):
    message = error_of(write(tmp_path, BASE + text))
    assert key in message and "exp.yaml" in message


def test_missing_train_path_is_reported(tmp_path):
    assert "data" in error_of(write(tmp_path, "model: {window_size: 3}\n"))


def test_invalid_yaml_names_line_and_column(tmp_path):
    message = error_of(write(tmp_path, BASE + "model: {window_size: 3\n"))
    assert "exp.yaml:" in message and "invalid YAML" in message


def test_missing_config_file(tmp_path):
    assert "not found" in error_of(tmp_path / "nope.yaml")


def test_overrides_parse_yaml_values_and_create_sections(tmp_path):
    path = write(tmp_path, BASE + "schedule: constant\n")
    config = load_config(path, ["optimizer.lr=0.05", "model.hidden=[10, 20]", "schedule.name=step",
                                "schedule.every=3", "model.activation=relu"])
    assert config.optimizer.lr == 0.05
    assert config.model.hidden == [10, 20]
    assert config.schedule.name == "step" and config.schedule.params == {"every": 3}
    assert config.model.activation.name == "relu"


def test_override_paths_are_relative_to_the_current_directory(tmp_path, monkeypatch):
    path = write(tmp_path, BASE)
    monkeypatch.chdir(tmp_path.parent)
    config = load_config(path, ["data.dev=somewhere/dev.txt"])
    assert config.data.dev == (tmp_path.parent / "somewhere" / "dev.txt").resolve()
    whole = load_config(path, ["data={train: a/train.txt, dev: a/dev.txt}", "embeddings={path: v.txt, dim: 50}"])
    assert whole.data.train == (tmp_path.parent / "a" / "train.txt").resolve()  # a section given whole, too
    assert whole.data.dev == (tmp_path.parent / "a" / "dev.txt").resolve()
    assert whole.embeddings.path == (tmp_path.parent / "v.txt").resolve()


def test_bad_override_syntax(tmp_path):
    assert "KEY=VALUE" in error_of(write(tmp_path, BASE), ["optimizer.lr"])


def test_init_config_writes_a_valid_complete_config(tmp_path):
    from wintrain.config import Config, default_config_text

    path = tmp_path / "default.yaml"
    path.write_text(default_config_text())
    config = load_config(path)
    assert config.to_dict() == Config(data={"train": tmp_path / "train.txt", "dev": tmp_path / "dev.txt"}).to_dict()


def test_choice_descriptions_list_exactly_the_registered_names():
    from wintrain.config import ModelConfig, OptimizerConfig, ScheduleConfig
    from wintrain.nn.activations import ACTIVATIONS
    from wintrain.nn.init import INITIALIZERS
    from wintrain.training.optimizers import OPTIMIZERS
    from wintrain.training.schedules import SCHEDULES

    fields = ModelConfig.model_fields
    assert fields["activation"].description.split() == ACTIVATIONS.names()
    assert fields["init"].description.split()[1:] == INITIALIZERS.names()
    assert OptimizerConfig.model_fields["name"].description.split() == OPTIMIZERS.names()
    assert ScheduleConfig.model_fields["name"].description.split() == SCHEDULES.names()


def test_json_schema_describes_every_section():
    from wintrain.config import json_schema

    schema = json_schema()
    assert {"data", "model", "optimizer", "schedule", "train"} <= set(schema["properties"])
    assert "source" not in schema["properties"]


@pytest.mark.parametrize(
    "override, expected",
    [
        ("model.window_size=4", "model.window_size: must be a positive odd number (the centre word plus m words each "
                                "side) (got 4)"),
        ("model.hidden=[0, 2]", "model.hidden: hidden layer sizes must be positive (got [0, 2])"),
        ("features.chars={width: 2}", "features.chars.width: must be a positive odd number (the centre character "
                                      "plus some each side) (got 2)"),
        ("features.prefixes=[2, 2]", "features.prefixes: affix lengths must be distinct positive integers "
                                     "(got [2, 2])"),
    ],
)
def test_a_rejected_value_is_shown_once(tmp_path, override, expected):
    message = error_of(write(tmp_path, BASE), [override])
    assert message == f"{tmp_path / 'exp.yaml'}: {expected}"
    assert message.count("got ") == 1


def test_choice_params_remember_the_keys_their_section_declares(tmp_path):
    config = load_config(write(tmp_path, BASE + "optimizer: {name: adam, lr: 0.1, beta1: 0.8}\n"
                                                "model: {activation: {name: leaky_relu, alpha: 0.2}}\n"))
    assert config.optimizer.params == {"beta1": 0.8}
    assert config.optimizer.declared_keys == ["lr", "clip_norm", "ema_decay"]
    assert config.model.activation.params == {"alpha": 0.2} and config.model.activation.declared_keys == []
    assert config.schedule.declared_keys == []
