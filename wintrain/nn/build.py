"""Build a :class:`~wintrain.nn.model.WindowClassifier` (or an :class:`~wintrain.nn.ensemble.Ensemble`
of them) from a config and an encoder."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from wintrain.config import Config
from wintrain.data.dataset import Encoder
from wintrain.data.vectors import Vectors
from wintrain.data.vocab import Vocab
from wintrain.errors import WintrainError
from wintrain.kernels import pick
from wintrain.nn.chars import CharCNN
from wintrain.nn.ensemble import Ensemble, Model, member_prefix
from wintrain.nn.init import INITIALIZERS
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier


@dataclass(frozen=True)
class TableCoverage:
    """How many vocabulary words got a pretrained vector."""

    words: int
    pretrained: int

    @property
    def fraction(self) -> float:
        return self.pretrained / self.words if self.words else 0.0


def word_table(
    vocab: Vocab, vectors: Vectors | None, dim: int, config: Config, rng: np.random.Generator
) -> tuple[np.ndarray, TableCoverage]:
    """The (V, d) word table: pretrained rows where the word has a vector, the configured
    ``embeddings.unknown_init`` elsewhere, and zeros for ``<pad>``."""
    init = INITIALIZERS.build(config.embeddings.unknown_init.name, config.embeddings.unknown_init.params,
                              config.where("embeddings.unknown_init"))
    table = init((len(vocab), dim), rng, np.float32)
    pretrained = 0
    if vectors is not None:
        if vectors.dim != dim:
            raise WintrainError(
                f"{config.where('embeddings.dim')} is {dim} but {config.embeddings.path} has {vectors.dim}-d vectors; "
                f"set embeddings.dim: {vectors.dim}"
            )
        # the row of each vector's word in our vocabulary (-1: not in it); no second word index
        ours = np.fromiter((vocab.index.get(w, -1) for w in vectors.words), dtype=np.int64, count=len(vectors.words))
        known = np.flatnonzero(ours >= 0)
        for start in range(0, len(known), 65536):  # in chunks: no full-size copy of the vectors
            chunk = known[start:start + 65536]
            table[ours[chunk]] = vectors.matrix[chunk]
        pretrained = len(known)
    table[vocab.pad_id] = 0.0
    return table, TableCoverage(len(vocab) - 2, pretrained)


def model_spec(config: Config, n_classes: int) -> ModelSpec:
    model = config.model
    return ModelSpec(
        window_size=model.window_size,
        n_classes=n_classes,
        hidden=list(model.hidden),
        activation=model.activation.name,
        activation_params=model.activation.params,
        init=model.init.name,
        init_params=model.init.params,
        bias_init=model.bias_init.name,
        bias_init_params=model.bias_init.params,
        dropout=model.dropout,
        l2=config.loss.l2,
        l2_embeddings=config.loss.l2_embeddings,
        loss=config.loss.name,
    )


def char_cnn(config: Config, encoder: Encoder, rng: np.random.Generator, dtype: DTypeLike,
             kernels: str = "fast") -> CharCNN | None:
    """The character convolution of ``features.chars`` (None when off): character embeddings
    U(−0.1, 0.1) (the ``<pad>`` row zero), filters W (width·dim, filters) initialised like the
    model's weights (``model.init``, fan-in width·dim), biases zero."""
    settings = config.features.chars
    if settings is None or encoder.chars is None:
        return None
    table = INITIALIZERS.build("uniform", {}, "")((len(encoder.chars), settings.dim), rng, dtype)
    weight_init = INITIALIZERS.build(config.model.init.name, config.model.init.params, config.where("model.init"))
    weight = weight_init((settings.width * settings.dim, settings.filters), rng, dtype)
    bias = np.zeros(settings.filters, dtype=dtype)
    return pick(CharCNN, kernels)(table, weight, bias, settings.width)


def build_model(
    config: Config,
    encoder: Encoder,
    rng: np.random.Generator,
    vectors: Vectors | None = None,
    dtype: np.dtype | type = np.float32,
    kernels: str | None = None,
) -> tuple[Model, TableCoverage]:
    """The configured model with freshly initialised parameters (pretrained word vectors copied in):
    one network, or with ``model.ensemble: K`` an ensemble of K networks initialised one after
    the other from ``rng``.  ``kernels`` (default ``train.kernels``) picks the textbook nodes or
    their fast twins."""
    kernels = kernels or config.train.kernels
    count = config.model.ensemble
    members: list[WindowClassifier] = []
    for index in range(count):
        prefix = member_prefix(index) if count > 1 else ""
        member, coverage = build_network(config, encoder, rng, vectors, dtype, kernels, prefix)
        members.append(member)
    return (members[0] if len(members) == 1 else Ensemble(members)), coverage


def build_network(
    config: Config, encoder: Encoder, rng: np.random.Generator, vectors: Vectors | None, dtype: np.dtype | type,
    kernels: str = "fast", prefix: str = "",
) -> tuple[WindowClassifier, TableCoverage]:
    """One window network of the config, freshly initialised from ``rng``, its parameter names
    starting with ``prefix``."""
    words, coverage = word_table(encoder.vocab, vectors, config.embeddings.dim, config, rng)
    dense = config.embeddings.dense_updates
    features = [FeatureTable("word", words, config.embeddings.trainable, dense)]
    small_tables = INITIALIZERS.build("uniform", {}, "")
    dims = {"casing": config.features.casing_dim, "category": config.features.category_dim}
    for name, size in zip(encoder.feature_names[1:], encoder.feature_sizes[1:]):
        if name == "chars":
            continue
        table = small_tables((size, dims.get(name, config.features.affix_dim)), rng, np.float32)
        table[0] = 0.0  # <pad>
        features.append(FeatureTable(name, table, True, dense))
    chars = char_cnn(config, encoder, rng, dtype, kernels)
    try:
        model = WindowClassifier(model_spec(config, len(encoder.tagset)), features, rng, dtype, chars, kernels,
                                 prefix)
    except WintrainError as error:
        raise WintrainError(f"{config.source or 'config'}: {error}") from None
    return model, coverage
