"""Load what a config's ``data`` and ``embeddings`` sections name: corpora, encoder, vectors."""

from __future__ import annotations

from wintrain.config import Config
from wintrain.data.dataset import Encoder
from wintrain.data.reader import Corpus, read_conll
from wintrain.data.vectors import Vectors, load_vectors
from wintrain.data.vocab import TagSet, Vocab

SPLITS = ("train", "dev", "test")


def load_corpora(config: Config) -> dict[str, Corpus]:
    """The configured splits (``train`` always; ``dev`` and ``test`` when given)."""
    data = config.data
    return {
        split: read_conll(getattr(data, split), data.token_column, data.tag_column)
        for split in SPLITS
        if getattr(data, split) is not None
    }


def make_encoder(config: Config, train: Corpus, vectors: Vectors | None = None) -> Encoder:
    """Vocabulary from the training words (lowercased when configured), extended by the words of
    ``vectors`` when given; tags from the config or the training data."""
    words = [t.lower() for t in train.tokens] if config.data.lowercase else train.tokens
    vocab = Vocab.build(words)
    if vectors is not None:
        vocab = vocab.extended(vectors.words)
    tagset = TagSet(list(config.data.tags)) if config.data.tags else TagSet.from_tags(train.tags)
    return Encoder(vocab, tagset, config.model.window_size, config.data.lowercase, config.features.casing)


def load_encoder_and_vectors(config: Config, train: Corpus) -> tuple[Encoder, Vectors | None]:
    """The encoder and the pretrained vectors its table needs.

    ``embeddings.extend_vocab: false``: the vocabulary is the training words and only their
    vector lines are parsed.  ``true``: every word of the vector file joins the vocabulary, so
    a word never seen in training still has its pretrained vector at test time.
    """
    path = config.embeddings.path
    if path is None:
        return make_encoder(config, train), None
    if config.embeddings.extend_vocab:
        vectors = load_vectors(path, dim=config.embeddings.dim)
        return make_encoder(config, train, vectors), vectors
    encoder = make_encoder(config, train)
    return encoder, load_vectors(path, dim=config.embeddings.dim, keep=set(encoder.vocab.words))
