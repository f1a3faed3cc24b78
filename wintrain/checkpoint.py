"""Checkpoints: one ``.npz`` that rebuilds the model on its own — no pickle anywhere.

Layout (every entry a plain array; text as numpy unicode arrays):

    format_version          ()   int
    config                  ()   str, the resolved config as JSON
    tag_scheme              ()   str, the resolved TagScheme as JSON (version 5)
    tokenizer/multiword_lexicon ()   str, a tokenizer's multiword lexicon as JSON (task: tokenize)
    encoder/vocab  UTF-8 bytes, words joined by newlines    encoder/tags (C,) str
    encoder/settings (4,) int, (5,) with the category flag
    encoder/affix/<name>  UTF-8 bytes (one vocabulary per affix feature)
    encoder/chars  UTF-8 bytes (the character vocabulary)    encoder/char_settings (2,) int  (version 4)
    model/<parameter name>  the parameter arrays (embedding tables even when frozen)
    optimizer/<param>/<slot>, optimizer/steps     optimizer state, when saved for resuming
    trainer/<name>          loop state (epoch, best metric, …), when saved for resuming

Writes are atomic: a temporary file in the same folder, flushed and fsynced, then
``os.replace`` — a crash at any moment leaves the previous file readable.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wintrain.config import Config, config_from_dict
from wintrain.data.dataset import Encoder
from wintrain.data.tags import FLAT, TagScheme, is_chunk_tagset, resolve_scheme
from wintrain.data.ud import MultiwordLexicon
from wintrain.errors import WintrainError
from wintrain.nn.build import build_model
from wintrain.nn.ensemble import Model

FORMAT_VERSION = 5
READABLE_VERSIONS = (3, 4, 5)  # 4 added the character vocabulary, 5 the tag scheme (read from the config before)


@dataclass
class Checkpoint:
    config: Config
    encoder: Encoder
    scheme: TagScheme
    model_arrays: dict[str, np.ndarray]
    optimizer_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    trainer_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None
    lexicon: MultiwordLexicon | None = None  # a tokenizer's multiword tokens → words

    def build(self, kernels: str | None = None) -> Model:
        """The model with the saved parameters, on the ``kernels`` given (default: the config's
        ``train.kernels``; either set reads any checkpoint)."""
        model, _ = build_model(self.config, self.encoder, np.random.default_rng(0), kernels=kernels)
        try:
            model.load_state({k: v for k, v in self.model_arrays.items()})
        except (KeyError, ValueError) as error:
            raise WintrainError(f"{self.path}: checkpoint does not match its config ({error})") from None
        return model


def save_checkpoint(
    path: Path,
    config: Config,
    encoder: Encoder,
    scheme: TagScheme,
    model: Model,
    optimizer_arrays: dict[str, np.ndarray] | None = None,
    trainer_arrays: dict[str, np.ndarray] | None = None,
    lexicon: MultiwordLexicon | None = None,
) -> None:
    """Write a checkpoint atomically (temporary file + fsync + rename)."""
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "config": np.array(json.dumps(config.to_dict())),
        "tag_scheme": np.array(scheme.to_json()),
    }
    arrays.update(encoder.to_arrays())
    arrays.update({f"model/{name}": value for name, value in model.state().items()})
    arrays.update({f"optimizer/{name}": value for name, value in (optimizer_arrays or {}).items()})
    arrays.update({f"trainer/{name}": value for name, value in (trainer_arrays or {}).items()})
    if lexicon is not None:
        arrays.update({f"tokenizer/{name}": value for name, value in lexicon.to_arrays().items()})
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open with mode 0o666 lets the umask decide the file's permissions, as for any new file
    # (tempfile.mkstemp would make checkpoints 0600, unreadable to the rest of a group)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]  # (numpy stubs mistype **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def saved_scheme(config: Config, model_tags: list[str]) -> TagScheme:
    """The tag scheme of a checkpoint written before version 5, which kept it in its config: training
    wrote the resolved ``data.scheme`` there for chunk tag sets (flat ones kept ``auto``)."""
    data = config.data
    if not is_chunk_tagset(model_tags):
        return FLAT
    scheme = "iob2" if data.scheme == "auto" else data.scheme
    return resolve_scheme(scheme, data.model_scheme, model_tags)


def _split(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {key[len(prefix):]: value for key, value in arrays.items() if key.startswith(prefix)}


def restore_parameters(path: str | os.PathLike[str], model: Model) -> None:
    """Copy a checkpoint's parameters into ``model`` one array at a time, without reading the
    vocabulary or optimizer state (used to score the best checkpoint after training)."""
    targets = model.state()
    try:
        with np.load(path, allow_pickle=False) as data:
            for name, value in targets.items():
                value[...] = data[f"model/{name}"]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise WintrainError(f"{path}: cannot restore the parameters ({error})") from None


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint; a missing, truncated, corrupt or foreign file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise WintrainError(f"{path}: checkpoint not found (expected a .npz written by wintrain train)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise WintrainError(f"{path}: not a readable checkpoint ({error}); it may be truncated or corrupt") from None
    if "format_version" not in arrays or "config" not in arrays:
        raise WintrainError(f"{path}: not a wintrain checkpoint (no format_version/config entries)")
    version = int(arrays["format_version"])
    if version not in READABLE_VERSIONS:
        raise WintrainError(
            f"{path}: checkpoint format version {version}, this wintrain reads version {FORMAT_VERSION}; "
            "use the wintrain version that wrote it"
        )
    try:
        raw = json.loads(str(arrays["config"]))
        config = config_from_dict(raw, source=path)
        encoder = Encoder.from_arrays(arrays)
        scheme = (TagScheme.from_json(str(arrays["tag_scheme"])) if "tag_scheme" in arrays
                  else saved_scheme(config, encoder.tagset.tags))
        tokenizer = _split(arrays, "tokenizer/")
        lexicon = MultiwordLexicon.from_arrays(tokenizer) if tokenizer else None
    except (KeyError, ValueError) as error:
        raise WintrainError(f"{path}: damaged checkpoint ({error})") from None
    return Checkpoint(
        config=config,
        encoder=encoder,
        scheme=scheme,
        model_arrays=_split(arrays, "model/"),
        optimizer_arrays=_split(arrays, "optimizer/"),
        trainer_arrays=_split(arrays, "trainer/"),
        path=path,
        lexicon=lexicon,
    )
