"""Score from raw text like the CoNLL 2018 UD shared task: a tokenizer alone, or a tagger behind one.

The raw text is the gold file's own: its sentences' ``# text`` (or the text rebuilt from the FORMs), joined
into paragraphs as the tokenizer was trained on them (:func:`wintrain.data.ud.tokenizer_texts`).  The system
output is written as CoNLL-U (:func:`wintrain.evaluation.tagger.format_conllu`) and scored against the gold
file by :func:`wintrain.evaluation.ud_scores.score_ud`: tokens and sentences aligned by character offsets,
words inside multiword tokens by their LCS, as the official ``conll18_ud_eval.py`` aligns them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wintrain.data.ud import read_ud_file, tokenizer_texts
from wintrain.errors import WintrainError
from wintrain.evaluation.tagger import TaggedText, Tagger, format_conllu
from wintrain.evaluation.tokenizer import Tokenizer, words_and_ranges
from wintrain.evaluation.ud_scores import UDScore, parse_ud_document, read_ud_document, score_ud

TOKENIZER_METRICS = ("Tokens", "Sentences", "Words", "Multiword tokens")
FIELD_METRICS = {"upos": "UPOS", "xpos": "XPOS", "feats": "UFeats"}


def gold_texts(path: Path) -> list[str]:
    """The raw text of a gold CoNLL-U file, paragraph by paragraph."""
    return [paragraph.text for paragraph in tokenizer_texts(read_ud_file(path))]


def tokenized(tokenizer: Tokenizer, texts: list[str]) -> list[TaggedText]:
    """The texts split by ``tokenizer`` into sentences of words (no tags: ``_``)."""
    results = []
    for text, sentences in zip(texts, tokenizer.tokenize_texts(texts)):
        units, ranges = words_and_ranges(sentences)
        results.append(TaggedText(text, units, [["_"] * len(words) for words in units], ranges))
    return results


def score_raw_text(system: Sequence[TaggedText], gold: Path, field: str = "upos") -> dict[str, UDScore]:
    """The shared task's scores of ``system`` (tagged ``field``) against the gold CoNLL-U file."""
    return score_ud(read_ud_document(gold), parse_ud_document(format_conllu(system, field), "the system output"))


def evaluate_tokenizer(checkpoint: str | os.PathLike[str], data: str | os.PathLike[str],
                       kernels: str = "fast") -> dict[str, Any]:
    """``wintrain eval TOKENIZER --data GOLD.conllu``: Tokens, Sentences, Words and Multiword-token scores of
    the tokenizer on the gold file's raw text."""
    tokenizer = Tokenizer.load(Path(checkpoint), kernels)
    texts = gold_texts(Path(data))
    scores = score_raw_text(tokenized(tokenizer, texts), Path(data))
    return {"checkpoint": str(checkpoint), "data": str(data), "from_raw_text": True,
            "ud": {name: _json(scores[name]) for name in TOKENIZER_METRICS}}


def evaluate_from_raw_text(checkpoint: str | os.PathLike[str], data: str | os.PathLike[str],
                           tokenizer: str | os.PathLike[str], field: str | None = None, decode: str | None = None,
                           kernels: str = "fast") -> dict[str, Any]:
    """``wintrain eval TAGGER --data GOLD.conllu --tokenizer TOKENIZER``: the tagger behind the tokenizer on the
    gold file's raw text; the tag metric of its field (UPOS, XPOS or UFeats) over aligned words, besides the
    tokenizer's scores."""
    tagger = Tagger.load(Path(checkpoint), decode, kernels, tokenizer=Tokenizer.load(Path(tokenizer), kernels))
    chosen = tagger.conllu_field(field, default="upos")
    texts = gold_texts(Path(data))
    scores = score_raw_text(tagger.tag_texts(texts), Path(data), chosen)
    names = TOKENIZER_METRICS + ((FIELD_METRICS[chosen],) if chosen in FIELD_METRICS else ())
    return {"checkpoint": str(checkpoint), "tokenizer": str(tokenizer), "data": str(data), "from_raw_text": True,
            "field": chosen, "ud": {name: _json(scores[name]) for name in names}}


def _json(score: UDScore) -> dict[str, Any]:
    return {"precision": score.precision, "recall": score.recall, "f1": score.f1, "gold": score.gold,
            "system": score.system, "correct": score.correct, "aligned_accuracy": score.aligned_accuracy}


def evaluate_command(checkpoint: str | os.PathLike[str], data: str | os.PathLike[str],
                     output: str | os.PathLike[str] | None = None, decode: str | None = None, kernels: str = "fast",
                     tokenizer: str | os.PathLike[str] | None = None, field: str | None = None) -> dict[str, Any]:
    """``wintrain eval``: a tokenizer on a gold CoNLL-U file's raw text; a tagger behind ``tokenizer`` on it;
    or a tagger on the gold tokens (:func:`wintrain.evaluation.evaluate.evaluate_checkpoint`)."""
    from wintrain.checkpoint import load_checkpoint
    from wintrain.evaluation.evaluate import evaluate_checkpoint

    is_tokenizer = load_checkpoint(checkpoint).config.task == "tokenize"
    if is_tokenizer or tokenizer is not None:
        if not Path(data).name.removesuffix(".gz").endswith(".conllu"):
            raise WintrainError(f"{data}: scoring from raw text needs a gold CoNLL-U file (*.conllu, .gz too), "
                                "whose # text is the raw text")
        if output is not None:
            raise WintrainError("--output writes 'token gold predicted' lines of gold tokens: leave it out when "
                                "scoring from raw text (predict --format conllu writes the system output)")
    if is_tokenizer:
        if tokenizer is not None:
            raise WintrainError(f"{checkpoint} is a tokenizer: give a tagger's checkpoint with --tokenizer, or "
                                "drop --tokenizer to score the tokenizer")
        if field is not None:
            raise WintrainError("--field chooses a tagger's field: a tokenizer's scores (Tokens, Sentences, Words, "
                                "Multiword tokens) have none; leave it out")
        return evaluate_tokenizer(checkpoint, data, kernels)
    if tokenizer is not None:
        return evaluate_from_raw_text(checkpoint, data, tokenizer, field, decode, kernels)
    return evaluate_checkpoint(checkpoint, data, output, decode, kernels, field)
