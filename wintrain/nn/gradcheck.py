"""Check analytic gradients against centred finite differences.

For each checked entry θ_i:  g_num = (J(θ_i + h) − J(θ_i − h)) / 2h.  The error of a
parameter is the relative error of the checked entries as vectors,
‖g_analytic − g_num‖ / max(‖g_analytic‖, ‖g_num‖), which is scale-free and not thrown off
by entries whose true gradient is ~0.  Run it on a float64 model with dropout off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wintrain.config import Config
from wintrain.data.chars import CharVocab
from wintrain.data.dataset import Encoded, Encoder, FeatureBatch
from wintrain.data.load import load_encoder_and_vectors, read_training_corpus, to_model_tags, training_scheme
from wintrain.data.vocab import TagSet, Vocab
from wintrain.nn.build import build_model
from wintrain.nn.ensemble import Model


@dataclass(frozen=True)
class GradCheck:
    name: str
    shape: tuple[int, ...]
    checked: int
    relative_error: float

    def passed(self, tolerance: float = 1e-6) -> bool:
        return self.relative_error < tolerance


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(analytic - numeric) / scale)


def objective(
    model: Model, feature_ids: Sequence[FeatureBatch], targets: np.ndarray,
    lengths: np.ndarray | None = None,
) -> float:
    """J = data loss + λ·Σθ² for the batch (deterministic: dropout off)."""
    return model.data_loss(list(feature_ids), targets, lengths) + model.l2.forward()


def check_gradients(
    model: Model,
    feature_ids: Sequence[FeatureBatch],
    targets: np.ndarray,
    h: float = 1e-6,
    max_entries: int = 300,
    rng: np.random.Generator | None = None,
    lengths: np.ndarray | None = None,
) -> list[GradCheck]:
    """Compare every parameter's gradient with finite differences on one batch.

    feature_ids: one (B, w) id array per feature (a CharBatch for characters); targets: (B,);
    lengths: (S,) the whole sentences the batch holds (sll models).  Sparse embedding tables
    are checked on the rows the batch uses only.  At most ``max_entries`` entries per
    parameter are checked (a random sample; all of them for small parameters).
    """
    rng = rng or np.random.default_rng(0)
    feature_ids = list(feature_ids)
    model.loss_and_grads(feature_ids, targets, train=False, lengths=lengths)
    results = []
    for param in model.parameters():
        if param.sparse:
            rows = param.rows
            assert rows is not None
            analytic_full = np.zeros_like(param.value)
            analytic_full[rows] = param.grad
            candidates = (rows[:, None] * param.value.shape[1] + np.arange(param.value.shape[1])).ravel()
        else:
            analytic_full = param.grad.copy()
            candidates = np.arange(param.value.size)
        if candidates.size > max_entries:
            candidates = np.sort(rng.choice(candidates, size=max_entries, replace=False))
        flat = param.value.reshape(-1)
        analytic = analytic_full.reshape(-1)[candidates]
        numeric = np.empty_like(analytic)
        for k, index in enumerate(candidates):
            original = flat[index]
            flat[index] = original + h
            plus = objective(model, feature_ids, targets, lengths)
            flat[index] = original - h
            minus = objective(model, feature_ids, targets, lengths)
            flat[index] = original
            numeric[k] = (plus - minus) / (2.0 * h)
        results.append(GradCheck(param.name, tuple(param.value.shape), int(candidates.size),
                                 relative_error(analytic, numeric)))
    return results


def synthetic_encoder(config: Config, n_words: int = 40) -> Encoder:
    """A made-up vocabulary and tag set shaped like the config's, for checks without data."""
    words = [f"Word{i}" for i in range(n_words)]
    tags = list(config.data.tags) if config.data.tags else ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    chars = config.features.chars
    return Encoder(Vocab.build(word.lower() for word in words), TagSet(tags), config.model.window_size,
                   config.data.lowercase, config.features.casing,
                   chars=CharVocab.build(words) if chars else None,
                   char_max_length=chars.max_length if chars else 20, char_width=chars.width if chars else 3,
                   category=config.features.category)


def check_config_gradients(
    config: Config, synthetic: bool = False, batch_size: int = 8, seed: int = 0, max_entries: int = 200
) -> list[GradCheck]:
    """Build the configured model in float64 (dropout off) and check it on a small random batch
    of windows from the training data (or made-up windows with ``synthetic``)."""
    config = config.model_copy(deep=True)
    config.model.dropout = 0.0
    rng = np.random.default_rng(seed)
    if synthetic:
        encoder, vectors = synthetic_encoder(config), None
        starts = np.array([0, batch_size // 2, batch_size], dtype=np.int64)  # two made-up sentences
        words = [f"Word{i}" for i in range(40)]
        tokens = [words[i] for i in rng.integers(0, len(words), batch_size)]
        encoded = Encoded(encoder.encode_tokens(tokens, starts),
                          rng.integers(0, len(encoder.tagset), batch_size).astype(np.int32), starts)
        rows = np.arange(batch_size)
    else:
        corpus = read_training_corpus(config.data.train, config)
        scheme = training_scheme(config, corpus)
        train = to_model_tags(corpus, scheme)
        encoder, vectors = load_encoder_and_vectors(config, train, scheme)
        encoded = encoder.encode(train)
        rows = _whole_sentences(encoded.sentence_starts, batch_size, rng)
    features, gold = encoded.batch(rows)
    assert gold is not None
    lengths = encoded.sentence_lengths(rows) if config.loss.name == "sll" else None
    model, _ = build_model(config, encoder, rng, vectors, dtype=np.float64)
    return check_gradients(model, features, gold, max_entries=max_entries, rng=rng, lengths=lengths)


def _whole_sentences(starts: np.ndarray, tokens: int, rng: np.random.Generator) -> np.ndarray:
    """Token indices of random whole sentences, about ``tokens`` of them (at least one sentence)."""
    rows: list[np.ndarray] = []
    for sentence in rng.permutation(len(starts) - 1):
        rows.append(np.arange(starts[sentence], starts[sentence + 1]))
        if sum(len(r) for r in rows) >= tokens:
            break
    return np.concatenate(rows)
