"""Shared fixtures: tiny data sets written in the test, and the path to ../shared when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wintrain.config import load_config
from wintrain.data.casing import CASING_CLASSES
from wintrain.data.chars import CharVocab
from wintrain.data.dataset import Encoder
from wintrain.data.vocab import TagSet, Vocab
from wintrain.nn.chars import CharCNN
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier
from wintrain.nn.sll import pad_sentences, unpad
from wintrain.nn.sll import viterbi as padded_viterbi
from wintrain.training.run import train

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

PEOPLE = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank"]
PLACES = ["Paris", "Berlin", "Rome", "Madrid", "Oslo", "Vienna"]
VERBS = ["visited", "left", "saw", "liked"]


def tiny_sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    """Sentences like "Alice visited Paris ." with PER/LOC tags: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(n):
        person, place, verb = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(VERBS)
        sentence = [(person, "B-PER"), (verb, "O"), (place, "B-LOC")]
        if rng.random() < 0.5:
            sentence = [("yesterday", "O")] + sentence
        sentences.append(sentence + [(".", "O")])
    return sentences


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    path.write_text("\n\n".join("\n".join(f"{t} {g}" for t, g in s) for s in sentences) + "\n", encoding="utf-8")
    return path


def tiny_ner_checkpoint(folder: Path, epochs: int) -> Path:
    """Train a small NER model on 80 tiny sentences in `folder` (seed 3) and return its best.npz."""
    write_conll(folder / "train.txt", tiny_sentences(80, 0))
    (folder / "ner.yaml").write_text(
        "seed: 3\ndata: {train: train.txt, dev: train.txt}\nembeddings: {dim: 8}\n"
        "model: {window_size: 3, hidden: [16]}\noptimizer: {lr: 0.02}\n"
        f"train: {{epochs: {epochs}, batch_size: 16}}\n",
        encoding="utf-8")
    train(load_config(folder / "ner.yaml"), folder / "run")
    return folder / "run" / "best.npz"


@pytest.fixture
def tiny_data(tmp_path: Path) -> dict[str, Path]:
    """train/dev/test CoNLL files plus a 10-d GloVe-style vector file, and a config using them."""
    paths = {
        "train": write_conll(tmp_path / "train.txt", tiny_sentences(60, 0)),
        "dev": write_conll(tmp_path / "dev.txt", tiny_sentences(20, 1)),
        "test": write_conll(tmp_path / "test.txt", tiny_sentences(20, 2)),
    }
    rng = np.random.default_rng(3)
    words = [w.lower() for w in PEOPLE + PLACES + VERBS] + ["yesterday", "."]
    lines = [w + " " + " ".join(f"{x:.4f}" for x in rng.normal(size=10)) for w in words]
    paths["vectors"] = tmp_path / "vectors.txt"
    paths["vectors"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths["config"] = tmp_path / "tiny.yaml"
    paths["config"].write_text(
        "seed: 3\n"
        "data: {train: train.txt, dev: dev.txt, test: test.txt}\n"
        "embeddings: {path: vectors.txt, dim: 10}\n"
        "model: {window_size: 3, hidden: [16]}\n"
        "optimizer: {name: sparse_adam, lr: 0.01}\n"
        "train: {epochs: 3, batch_size: 16}\n",
        encoding="utf-8",
    )
    return paths


def error_of(call, *args, **kwargs) -> str:
    """The message of the WintrainError ``call`` raises; asserts it is one line."""
    from wintrain.errors import WintrainError

    with pytest.raises(WintrainError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    return message


def shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (../shared is only beside a development checkout)")
    return path


def train_whole_and_interrupted(config_file: Path, options: list[str], folder: Path,
                                cut_epoch: int = 2, cut_step: int = 3) -> tuple[Path, Path]:
    """Train ``config_file`` with ``options`` twice: once straight through (``folder/whole``) and
    once stopped by SIGINT after step ``cut_step`` of epoch ``cut_epoch``, then resumed (``folder/cut``);
    the run folders."""
    import signal

    from wintrain.config import load_config
    from wintrain.training.events import RunDone, RunInterrupted, StepDone
    from wintrain.training.run import StopRequest, resume, run, train

    train(load_config(config_file, options), folder / "whole")
    stop = StopRequest()
    events = []
    for event in run(load_config(config_file, options), folder / "cut", stop=stop):
        events.append(event)
        if isinstance(event, StepDone) and event.epoch == cut_epoch and event.step == cut_step:
            stop(signal.SIGINT)
    assert isinstance(events[-1], RunInterrupted) and events[-1].step > 0
    assert isinstance(list(resume(folder / "cut"))[-1], RunDone)
    return folder / "whole", folder / "cut"


# --------------------------------------------------------------------------- tagging helpers
WORDS = ["Alice", "visited", "Paris", ".", "NATO", "iPhone", "1996", "3.5", "F16", "--", "the", "The", "über"]


def random_sentences(rng: np.random.Generator, count: int, longest: int = 12) -> list[list[str]]:
    """Sentences of known words, unseen words (new strings, digits, characters outside the
    vocabularies) and repeats, with an empty sentence, a one-token one and a long one."""
    unseen = ["Zorp", "qq", "2024-01-02", "ÆØÅ", "x" * 30, "a"]
    pool = WORDS + unseen
    sentences = [[str(rng.choice(pool)) for _ in range(int(rng.integers(1, longest)))] for _ in range(count)]
    return sentences[:2] + [[], ["Paris"], [str(rng.choice(pool)) for _ in range(600)]] + sentences[2:]


def tagging_model(activation: str, hidden: list[int], chars: bool,
                  sll: bool = False) -> tuple[Encoder, WindowClassifier]:
    """An encoder with every feature kind and a randomly initialised model over it (float32, fast kernels)."""
    rng = np.random.default_rng(7)
    vocab = Vocab(["<pad>", "<unk>"] + sorted({w.lower() for w in WORDS}))
    suffixes = Vocab(["<pad>", "<unk>", "s", "e", "."])
    char_vocab = CharVocab.build(WORDS) if chars else None
    encoder = Encoder(vocab, TagSet(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), 5, lowercase=True, casing=True,
                      digits=True, affixes={"suffix1": suffixes}, chars=char_vocab, char_max_length=6, char_width=3)
    spec = ModelSpec(window_size=5, n_classes=5, hidden=hidden, activation=activation,
                     loss="sll" if sll else "cross_entropy")
    tables = [FeatureTable("word", rng.normal(size=(len(vocab), 6)).astype(np.float32)),
              FeatureTable("casing", rng.normal(size=(len(CASING_CLASSES), 3)).astype(np.float32)),
              FeatureTable("suffix1", rng.normal(size=(len(suffixes), 2)).astype(np.float32))]
    cnn = None
    if char_vocab is not None:
        cnn = CharCNN(rng.normal(size=(len(char_vocab), 4)).astype(np.float32),
                      rng.normal(size=(12, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32), 3)
    return encoder, WindowClassifier(spec, tables, np.random.default_rng(3), np.float32, cnn)


def decoding_problem(rng: np.random.Generator, trial: int) -> tuple:
    """A random corpus to decode: (scores, starts, transitions, initial, final).

    Up to 40 sentences of 0-8 words and 1-5 tags; every third trial has small integer scores (many ties, the
    first best must win), others float32 or float64 scores; odd trials forbid some moves, starts and ends,
    so that some sentences have no allowed path at all.
    """
    n_tags = int(rng.integers(1, 6))
    lengths = rng.integers(0, 9, int(rng.integers(0, 40)))
    starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    n = int(starts[-1])
    if trial % 3 == 0:
        scores = rng.integers(-2, 3, (n, n_tags)).astype(np.float32)
        transitions = rng.integers(-1, 2, (n_tags, n_tags)).astype(np.float32)
    else:
        scores = rng.normal(size=(n, n_tags)).astype(np.float32 if trial % 3 == 1 else np.float64)
        transitions = rng.normal(size=(n_tags, n_tags))
    initial = rng.normal(size=n_tags).astype(transitions.dtype)
    final = None
    if trial % 2:
        transitions[rng.random((n_tags, n_tags)) < 0.4] = -np.inf
        initial[rng.random(n_tags) < 0.3] = -np.inf
        final = np.where(rng.random(n_tags) < 0.3, -np.inf, 0.0)
    return scores, starts, transitions, initial, final


def padded_reference(scores, starts, transitions, initial, final=None) -> np.ndarray:
    """The padded Viterbi of nn.sll, one sentence at a time."""
    path = np.zeros(len(scores), dtype=np.int64)
    for begin, end in zip(starts[:-1].tolist(), starts[1:].tolist()):
        if end > begin:
            padded, lengths = pad_sentences(scores, np.array([begin, end]))
            path[begin:end] = unpad(padded_viterbi(padded, lengths, transitions, initial, final), lengths)
    return path
