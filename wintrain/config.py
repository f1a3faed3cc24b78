"""The experiment config: one YAML file, one validated schema.

Loading a config (:func:`load_config`) reads the YAML, applies ``--set key=value``
overrides, validates every key and value against :class:`Config`, and resolves input paths
relative to the config file (paths given with ``--set`` are relative to the current
directory, as anything typed on a command line is).  Any problem is a one-line
:class:`~wintrain.errors.WintrainError` naming the file and the key.

Choices looked up in a registry (activation, initializers, optimizer, schedule) are written
either as a name (``activation: tanh``) or as a mapping with ``name`` and that entry's own
parameters (``schedule: {name: step, every: 2, gamma: 0.5}``); the parameters are checked
against the registry when the model and trainer are built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wintrain.errors import WintrainError, listed, shown
from wintrain.registry import did_you_mean


class Section(BaseModel):
    """A config section: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class Choice(BaseModel):
    """A registry choice: ``name`` plus that entry's parameters (checked by the registry)."""

    model_config = ConfigDict(extra="allow")
    name: str

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @property
    def params(self) -> dict[str, Any]:
        """The entry's parameters: every key the section does not declare itself (see :attr:`declared_keys`)."""
        return dict(self.model_extra or {})

    @property
    def declared_keys(self) -> list[str]:
        """The section's own keys besides ``name`` (the optimizer's ``lr``, ``clip_norm``, ``ema_decay``):
        the registry offers them too when a parameter is mistyped (``optimizer.lrr`` → ``lr``)."""
        return [key for key in type(self).model_fields if key != "name"]


TAG_FIELDS = ("upos", "xpos", "feats", "deprel", "misc")


class DataConfig(Section):
    train: Path = Field(
        description="training data: CoNLL columns (token first, tag last, blank line between sentences) or "
        "CoNLL-U; .gz too"
    )
    dev: Path | None = Field(None, description="development data: scored every epoch, picks best.npz")
    test: Path | None = Field(None, description="test data: scored once with best.npz")
    format: Literal["auto", "conll", "conllu"] = Field(
        "auto", description="auto: CoNLL-U for *.conllu(.gz) files, else CoNLL columns"
    )
    token_column: int = Field(0, description="CoNLL columns: column of the token (0 = first)")
    tag_column: int | str | None = Field(
        None,
        description="the tag: a column number for CoNLL columns (default -1, the last), a field name for "
        "CoNLL-U: upos (default), xpos, feats, deprel, misc",
    )
    lowercase: bool = Field(True, description="look words up lowercased (GloVe is lowercased)")
    digits: bool = Field(False, description="look words up with every digit as 0 (1996 → 0000)")
    tags: list[str] | None = Field(None, description="tag set; default: the tags of the training data")
    scheme: Literal["auto", "iob1", "iob2", "iobes"] = Field(
        "auto", description="chunk tagging scheme of B-X/I-X tags (auto: guessed from the training tags)"
    )
    model_scheme: Literal["same", "iobes"] = Field(
        "same",
        description="the scheme the model learns and predicts chunk tags in: the data's (same), or iobes "
        "(chunks re-encoded B-/I-/E-/S-, so the model learns where a chunk ends and which are one word); "
        "predictions go back to the data's scheme for scores and output",
    )
    obtain: str | None = Field(
        None, description="where to get this data and how to point the config at it (shown when a file is missing)"
    )

    @field_validator("tag_column", mode="before")
    @classmethod
    def _column_or_field(cls, value: Any) -> Any:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if value in TAG_FIELDS:
            return value
        raise ValueError(
            f"expected a column number (CoNLL columns) or a CoNLL-U field: {', '.join(TAG_FIELDS)}"
            f"{did_you_mean(str(value), TAG_FIELDS)}"
        )

    @field_validator("tags")
    @classmethod
    def _distinct_tags(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            repeated = sorted({tag for tag in value if value.count(tag) > 1})
            raise ValueError(f"tags must be distinct; listed more than once: {listed(repeated)}")
        return value


class EmbeddingsConfig(Section):
    path: Path | None = Field(None, description="GloVe / word2vec text file (.gz too); null: random vectors")
    obtain: str | None = Field(
        None, description="where to get the vectors and how to point the config at them (shown when missing)"
    )
    dim: int = Field(50, gt=0, description="word vector size (must match the vector file)")
    cache_dir: Path | None = Field(
        None, description="keep a parsed .npy copy of the vectors here; reused while the file's size and mtime match"
    )
    trainable: bool = Field(True, description="fine-tune the word vectors")
    extend_vocab: bool = Field(
        False,
        description="add every word of the vector file to the vocabulary, so words unseen in training "
        "keep their pretrained vector instead of becoming <unk>",
    )
    unknown_init: Choice = Field(
        default_factory=lambda: Choice(name="uniform"),
        description="initializer for words without a pretrained vector",
    )
    dense_updates: bool = Field(
        False,
        description="false: the table's gradient covers only the rows in the batch (sparse); "
        "true: a full-table gradient, so every optimizer sees it as a dense parameter",
    )


class CharsConfig(Section):
    dim: int = Field(25, gt=0, description="size of each character's embedding")
    filters: int = Field(50, gt=0, description="convolution filters: the size of a word's character vector")
    width: int = Field(3, description="characters per convolution window, odd (3 = one each side)")
    max_length: int = Field(20, gt=0, description="characters of a word the convolution sees (the rest are cut)")
    min_count: int = Field(1, ge=1, description="characters seen fewer times in training share the <unk> row")

    @field_validator("width")
    @classmethod
    def _odd_width(cls, value: int) -> int:
        if value < 1 or value % 2 == 0:
            raise ValueError("must be a positive odd number (the centre character plus some each side)")
        return value


class FeaturesConfig(Section):
    casing: bool = Field(True, description="a small trainable embedding of each word's casing class")
    casing_dim: int = Field(4, gt=0, description="size of the casing embedding")
    category: bool = Field(
        False, description="a small trainable embedding of the Unicode category of each token's first character "
        "(letter, digit, punctuation, space, …): for tokenizers, whose tokens are characters"
    )
    category_dim: int = Field(8, gt=0, description="size of the category embedding")
    prefixes: list[int] = Field(default_factory=list, description="prefix lengths to embed, e.g. [2, 3]")
    suffixes: list[int] = Field(default_factory=list, description="suffix lengths to embed, e.g. [2, 3]")
    affix_dim: int = Field(8, gt=0, description="size of each prefix/suffix embedding")
    affix_min_count: int = Field(2, ge=1, description="affixes seen fewer times in training map to <unk>")
    chars: CharsConfig | None = Field(
        None, description="a convolution over each word's characters, max-pooled into one vector per word "
        "(CharWNN); null: off"
    )

    @field_validator("prefixes", "suffixes")
    @classmethod
    def _affix_lengths(cls, value: list[int]) -> list[int]:
        if any(length < 1 for length in value) or len(set(value)) != len(value):
            raise ValueError("affix lengths must be distinct positive integers")
        return value


class ModelConfig(Section):
    window_size: int = Field(5, description="total words in the window, odd: 5 = 2 each side")
    hidden: list[int] = Field(default_factory=lambda: [200], description="sizes of the hidden layers")
    activation: Choice = Field(
        default_factory=lambda: Choice(name="tanh"),
        description="sigmoid tanh hardtanh relu leaky_relu prelu elu gelu swish",
    )
    init: Choice = Field(
        default_factory=lambda: Choice(name="xavier_uniform"),
        description="weights: zeros constant uniform normal xavier_uniform xavier_normal he_uniform he_normal "
        "orthogonal",
    )
    bias_init: Choice = Field(default_factory=lambda: Choice(name="zeros"), description="biases (same names)")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="inverted dropout on the window and hidden layers")
    ensemble: int = Field(
        1, ge=1, le=16,
        description="K networks trained side by side from different initialisations, their scores averaged",
    )

    @field_validator("window_size")
    @classmethod
    def _odd_window(cls, value: int) -> int:
        if value < 1 or value % 2 == 0:
            raise ValueError("must be a positive odd number (the centre word plus m words each side)")
        return value

    @field_validator("hidden")
    @classmethod
    def _positive_sizes(cls, value: list[int]) -> list[int]:
        if any(size <= 0 for size in value):
            raise ValueError("hidden layer sizes must be positive")
        return value


class LossConfig(Section):
    name: Literal["cross_entropy", "sll"] = Field(
        "cross_entropy",
        description="cross_entropy: per window; sll: sentence-level log-likelihood with learned tag transitions "
        "(batches are whole sentences, train.batch_size counts tokens)",
    )
    l2: float = Field(0.0, ge=0.0, description="λ in J = mean cross-entropy + λ·Σθ² over the weight matrices")
    l2_embeddings: bool = Field(
        False, description="include the embedding tables in the L2 term (applied to the rows in each batch)"
    )


class OptimizerConfig(Choice):
    name: str = Field("sparse_adam", description="sgd adagrad rmsprop adam adamw sparse_adam")
    lr: float = Field(0.001, gt=0.0, allow_inf_nan=False, description="learning rate (the schedule's lr0)")
    clip_norm: float | None = Field(None, gt=0.0, description="clip the global gradient norm to this value")
    ema_decay: float | None = Field(
        None, gt=0.0, lt=1.0,
        description="keep an exponential moving average of the parameters with this decay (e.g. 0.999, about the "
        "last 1000 steps) and use it for dev/test scores and best.npz; null: off",
    )


class ScheduleConfig(Choice):
    name: str = Field("constant", description="constant step exponential cyclic cosine plateau")


class TrainConfig(Section):
    epochs: int = Field(10, gt=0, description="passes over the training data")
    batch_size: int = Field(256, gt=0, description="windows per mini-batch")
    shuffle: bool = Field(True, description="reshuffle the training windows every epoch (seeded)")
    eval_batch_size: int = Field(8192, gt=0, description="windows per batch when scoring dev/test")
    word_dropout: float = Field(
        0.0, ge=0.0,
        description="α: each training word occurrence becomes <unk> with probability α/(α + count(word)), "
        "so the <unk> vector learns what unseen words look like (0 = off)",
    )
    patience: int | None = Field(None, ge=1, description="stop after this many epochs without a better dev score")
    min_delta: float = Field(0.0, ge=0.0, description="how much the dev score must rise to count as better")
    checkpoint_every_steps: int | None = Field(
        None, ge=1, description="also write last.npz every N batches, so a resumed run loses at most N batches"
    )
    on_nonfinite: Literal["stop", "skip_batch"] = Field(
        "stop", description="a non-finite loss or gradient: stop the run, or skip that batch's update"
    )
    diagnostics: bool = Field(
        True,
        description="measure every epoch, on fixed samples: hidden layers' activations (saturated, dead units), "
        "update/weight ratios, the training score; give the lecture's advice when they cross a threshold",
    )
    kernels: Literal["fast", "textbook"] = Field(
        "fast",
        description="fast: the vectorised kernels; textbook: the lecture's plain forms of every node, optimizer "
        "and decoder (same maths, slower; see wintrain/kernels)",
    )


class EvaluationConfig(Section):
    decode: Literal["auto", "greedy", "viterbi", "constrained"] = Field(
        "auto",
        description="greedy: the best tag per word; viterbi: the best tag sequence under the learned transitions "
        "(loss sll); constrained: the best sequence without invalid chunk transitions (e.g. no O → I-X in IOB2), "
        "with the learned transitions when there are; auto: viterbi for sll models, else greedy",
    )


class OutputConfig(Section):
    dir: Path | None = Field(None, description="run folder; default: runs/<config name>-<date>-<time>")


class Config(Section):
    seed: int = Field(0, ge=0, description="seeds initialisation, shuffling and dropout")
    task: Literal["tag", "tokenize"] = Field(
        "tag",
        description="tag: a window classifier over words (POS, NER, …); tokenize: over the characters of the raw "
        "text of CoNLL-U files, deciding where tokens, multiword tokens and sentences end",
    )
    data: DataConfig
    embeddings: EmbeddingsConfig = Field(default_factory=EmbeddingsConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    source: Path | None = Field(None, exclude=True, description="the file this config was read from")

    @model_validator(mode="after")
    def _patience_needs_dev(self) -> Config:
        if self.train.patience is not None and self.data.dev is None:
            raise ValueError("train.patience stops on the dev score: set data.dev, or remove train.patience")
        if self.evaluation.decode == "viterbi" and self.loss.name != "sll":
            raise ValueError("evaluation.decode: viterbi uses the transitions an sll model learns: set loss.name: sll, "
                             "or decode greedy or constrained")
        if self.task == "tokenize":
            if self.embeddings.path is not None:
                raise ValueError("task: tokenize learns its character embeddings from the text: set embeddings.path: "
                                 "null")
            if self.features.chars is not None or self.features.prefixes or self.features.suffixes:
                raise ValueError("task: tokenize classifies single characters: remove features.chars, "
                                 "features.prefixes and features.suffixes (features.category describes a character)")
            if self.data.format == "conll":
                raise ValueError("task: tokenize learns from CoNLL-U files (their # text and SpaceAfter=No): set "
                                 "data.format: conllu or auto")
        return self

    def where(self, key: str) -> str:
        """``"<config file>: key"``, the prefix of an error about ``key``."""
        return f"{self.source or 'config'}: {key}"

    def to_dict(self) -> dict[str, Any]:
        """Plain, YAML/JSON-ready values (paths as strings)."""
        return self.model_dump(mode="json", exclude={"source"})


INPUT_PATH_KEYS = ("data.train", "data.dev", "data.test", "embeddings.path", "embeddings.cache_dir")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"optimizer.lr=0.01"`` into (["optimizer", "lr"], 0.01); the value is parsed as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise WintrainError(f"--set {text!r}: expected KEY=VALUE, e.g. --set optimizer.lr=0.01")
    return key.strip().split("."), parse_value(raw)


def parse_value(raw: str) -> Any:
    """A command-line value as YAML, except that numbers such as ``1e-5`` (a string to
    YAML 1.1, which wants ``1.0e-5``) are numbers."""
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        return raw
    if isinstance(value, str):
        try:
            return float(value) if value.strip().lower() not in ("nan", "inf", "-inf", "infinity") else value
        except ValueError:
            return value
    return value


def _paths_from(cwd: Path, keys: list[str], value: Any) -> Any:
    """``value`` of ``--set KEYS=VALUE`` with its input paths made absolute from ``cwd``, whether
    the key is a path (``data.train=x``) or a section holding some (``data={train: x}``)."""
    for dotted in INPUT_PATH_KEYS:
        parts = dotted.split(".")
        if parts[: len(keys)] != keys:
            continue
        rest = parts[len(keys):]
        if not rest:
            return str((cwd / Path(value).expanduser()).resolve()) if isinstance(value, str) else value
        node = value
        for key in rest[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(rest[-1]), str):
            node[rest[-1]] = str((cwd / Path(node[rest[-1]]).expanduser()).resolve())
    return value


def apply_overrides(raw: dict[str, Any], overrides: list[str], cwd: Path) -> dict[str, Any]:
    """Apply ``--set`` overrides to the raw YAML mapping (in place) and return it."""
    for text in overrides:
        keys, value = parse_override(text)
        value = _paths_from(cwd, keys, value)
        node = raw
        for depth, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None or isinstance(child, str):  # a choice written as a bare name
                child = {} if child is None else {"name": child}
                node[key] = child
            if not isinstance(child, dict):
                raise WintrainError(f"--set {text!r}: {'.'.join(keys[: depth + 1])} is not a section")
            node = child
        node[keys[-1]] = value
    return raw


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; syntax errors name the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WintrainError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise WintrainError(f"{path}: is a folder, expected a YAML config file") from None
    except UnicodeDecodeError as error:
        raise WintrainError(f"{path}: not UTF-8 text (byte {error.start}); save the config as UTF-8") from None
    except OSError as error:
        raise WintrainError(f"{path}: cannot read the config ({error.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        position = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise WintrainError(f"{path}{position}: invalid YAML: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise WintrainError(f"{path}: the config must be a YAML mapping of sections (data:, model:, ...)")
    return raw


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section that ``loc`` points into (for did-you-mean)."""
    model: Any = Config
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = field.annotation
    return [name for name in getattr(model, "model_fields", {}) if name != "source"]


def describe_validation_error(error: pydantic.ValidationError, path: Path | str) -> str:
    """One line for the first problem pydantic found: the file, the dotted key and what to do.

    The line ends with the offending value, ``(got …)``, so a validator's message says only what
    is wanted and leaves the value out (else it shows twice)."""
    first = error.errors()[0]
    loc = tuple(first["loc"])
    key = ".".join(str(part) for part in loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{path}: unknown key '{key}'{did_you_mean(str(loc[-1]), _known_keys(loc))}"
    if first["type"] == "missing":
        return f"{path}: missing required key '{key}'"
    message = first["msg"].removeprefix("Value error, ")
    if not loc:  # a rule across sections
        return f"{path}: {message}"
    return f"{path}: {key}: {message} (got {shown(first.get('input'))})"


def validate_config(raw: dict[str, Any], source: Path | None = None) -> Config:
    """Validate a raw mapping into a :class:`Config` (paths not resolved)."""
    try:
        config = Config.model_validate(raw)
    except pydantic.ValidationError as error:
        raise WintrainError(describe_validation_error(error, source or "config")) from None
    config.source = source
    return config


def resolve_paths(config: Config, base: Path) -> Config:
    """Make the input paths absolute, relative to ``base`` (the config file's folder)."""
    for dotted in INPUT_PATH_KEYS:
        section_name, key = dotted.split(".")
        section = getattr(config, section_name)
        value = getattr(section, key)
        if value is not None:
            setattr(section, key, (base / Path(value).expanduser()).resolve())
    return config


def load_config(path: str | os.PathLike[str], overrides: list[str] | None = None) -> Config:
    """Read, override, validate and resolve the config at ``path``."""
    path = Path(path)
    raw = read_yaml(path)
    apply_overrides(raw, list(overrides or []), Path.cwd())
    config = validate_config(raw, source=path)
    return resolve_paths(config, path.resolve().parent)


def config_from_dict(raw: dict[str, Any], base: Path | None = None, source: Path | None = None) -> Config:
    """Build a config from a mapping (e.g. one stored in a checkpoint or written in a test)."""
    config = validate_config(raw, source=source)
    return resolve_paths(config, base or Path.cwd())


def dump_config(config: Config) -> str:
    """The resolved config as YAML, as written into each run folder."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def write_config_text(path: Path, text: str, force: bool = False) -> None:
    """Write a config file the user named; an existing file needs ``force``."""
    if path.exists() and not force:
        raise WintrainError(f"{path}: already exists; choose another file or pass --force")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise WintrainError(f"{path}: cannot write ({error.strerror})") from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file, for editors (``wintrain schema``)."""
    schema = Config.model_json_schema()
    schema["properties"].pop("source", None)
    schema["title"] = "wintrain experiment config"
    return schema


def _yaml_value(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=200).strip().removesuffix("...").strip()


def default_config_text() -> str:
    """A complete config with every key at its default and its description as a comment
    (``wintrain init-config``); only ``data.train`` and ``data.dev`` need filling in."""
    example = Config(data=DataConfig(train=Path("train.txt"), dev=Path("dev.txt")))
    values = example.to_dict()
    lines = ["# wintrain experiment config: every key with its default. Input paths are relative to this file.",
             "# Full reference: wintrain schema;  train with: wintrain train THIS_FILE", ""]
    for name, field in Config.model_fields.items():
        if name == "source":
            continue
        value = values[name]
        if not isinstance(value, dict):
            lines.append(f"{f'{name}: {_yaml_value(value)}':<40} # {field.description}")
            continue
        section = getattr(Config.model_fields[name].annotation, "model_fields", {})
        lines.append(f"{name}:")
        for key, item in value.items():
            description = section[key].description if key in section and section[key].description else ""
            text = f"  {key}: {_yaml_value(item)}"
            lines.append(f"{text:<40} # {description}" if description else text)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
