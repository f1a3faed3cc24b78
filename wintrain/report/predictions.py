"""The dev predictions of a run's ``best.npz``: the one place the report runs a model.

:func:`dev_predictions` tags the dev file named in the run's ``config.yaml`` through the public
:func:`~wintrain.evaluation.evaluate.evaluate_checkpoint`, which writes ``token gold predicted``
lines into a temporary file, and reads that file back.  The report builder receives it as a
parameter (:data:`PredictionsSource`), so tests hand it predictions directly and it can later be
wired to a direct API without touching the rest of the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wintrain.config import load_config
from wintrain.data.reader import split_at
from wintrain.errors import WintrainError
from wintrain.evaluation.evaluate import tag_corpus
from wintrain.runfolder import BEST, CONFIG_FILE


@dataclass(frozen=True)
class DevPredictions:
    """Dev sentences with gold and predicted tags, aligned token for token.

    Attributes:
        tokens: per sentence, its tokens.
        gold: per sentence, the gold tags.
        predicted: per sentence, the tags ``best.npz`` predicted.
        scheme: ``iob1``, ``iob2`` or ``iobes`` for chunk tag sets, ``flat`` for others (POS).
        source: where the sentences came from (shown in the report).
    """

    tokens: list[list[str]]
    gold: list[list[str]]
    predicted: list[list[str]]
    scheme: str
    source: str = ""


PredictionsSource = Callable[[Path], DevPredictions]
"""Gives a run folder's :class:`DevPredictions`; raises WintrainError (its message says why) when it cannot."""


def dev_predictions(run_dir: Path) -> DevPredictions:
    """Tag the run's dev data (``data.dev`` of its ``config.yaml``) with its ``best.npz``.

    Raises:
        WintrainError: no ``config.yaml``, no dev data in it, no ``best.npz``, or the dev file
            cannot be read; the message says which.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise WintrainError(f"{run_dir}: no {CONFIG_FILE}, so the dev data is unknown")
    config = load_config(run_dir / CONFIG_FILE)
    if config.data.dev is None:
        raise WintrainError(f"{run_dir}: the run has no dev data (data.dev is not set)")
    if not (run_dir / BEST).is_file():
        raise WintrainError(f"{run_dir}: no {BEST} (the run has not finished an epoch with dev data)")
    if config.task != "tag":
        raise WintrainError(
            f"{run_dir}: a tokenizer run has no tag errors to list; score it with "
            f"wintrain eval {run_dir / BEST} --data GOLD.conllu")
    tagged = tag_corpus(run_dir / BEST, config.data.dev)
    corpus = tagged.corpus
    predicted = split_at(tagged.predicted, corpus.sentence_starts)
    return DevPredictions(corpus.sentences(), corpus.tag_sentences(), predicted, tagged.scheme.data,
                          str(config.data.dev))


def read_predictions(path: Path) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Tokens, gold tags and predicted tags per sentence of a ``token gold predicted`` file
    (a blank line after each sentence; a token may itself hold spaces)."""
    tokens: list[list[str]] = [[]]
    gold: list[list[str]] = [[]]
    predicted: list[list[str]] = [[]]
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            if tokens[-1]:
                tokens.append([])
                gold.append([])
                predicted.append([])
            continue
        fields = line.rsplit(" ", 2)
        if len(fields) != 3:
            raise WintrainError(f"{path}:{number}: expected 'token gold predicted', got {line[:60]!r}")
        tokens[-1].append(fields[0])
        gold[-1].append(fields[1])
        predicted[-1].append(fields[2])
    if not tokens[-1]:
        tokens.pop()
        gold.pop()
        predicted.pop()
    return tokens, gold, predicted
