"""Raw text in, UD out (issue 21): the shipped tokenizers and the taggers behind them, scored like the
CoNLL 2018 shared task on the raw text of the test files, and their speed.

    python benchmarks/ud_raw_text.py [--seeds 1,2,3] [--treebanks en_ewt,fr_sequoia]
                                     [--tagger-en CKPT] [--tagger-fr CKPT] [--rounds 5]

For each treebank, ``configs/<treebank>_tokenizer.yaml`` is trained with each seed (one BLAS thread,
in a temporary folder); each tokenizer is scored on the gold test file's own raw text (its
``# text``: Tokens, Sentences, Words and Multiword-token F1) and, behind it, the tagger (UPOS F1 over
the aligned words).  The tagger is ``--tagger-en`` / ``--tagger-fr`` when given, else
``configs/ud_en_ewt_pos.yaml`` / ``configs/ud_fr_sequoia_pos.yaml`` trained once (seed as
configured).  Reported: the median over the seeds (min–max beside it) and the tokenizer's training
seconds (summed epoch times, dev scoring included).

Speed, after loading, one process (the BLAS threads of ``--threads``): ``Tokenizer.tokenize_texts``
on the test file's raw text (characters/s) and ``Tagger(tokenizer=...).tag_texts`` from raw text to
tags (words/s), medians of ``--rounds`` calls after a warm-up call, with the tokenizer of the first
seed.  UDPipe 2's published scores (UD 2.15 models, raw text) are printed beside for scale.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import _common

TARGETS = {  # (Tokens, Words, Sentences, UPOS) F1 and training seconds, issue 21
    "en_ewt": {"Tokens": 99.0, "Words": 98.8, "Sentences": 80.0, "UPOS": 94.5, "seconds": 180.0},
    "fr_sequoia": {"Tokens": 99.5, "Words": 99.0, "Sentences": 85.0, "UPOS": 97.0, "seconds": 180.0},
}
UDPIPE2 = {"en_ewt": {"Words": 99.01, "Sentences": 87.55, "UPOS": 96.57},
           "fr_sequoia": {"Words": 99.12, "Sentences": 88.77, "UPOS": 98.38}}
GOLD = {"en_ewt": _common.ROOT / "data" / "ud_en_ewt" / "conllu" / "test.conllu.gz",
        "fr_sequoia": _common.ROOT / "data" / "ud_fr_sequoia" / "test.conllu.gz"}
TAGGER_CONFIG = {"en_ewt": "ud_en_ewt_pos.yaml", "fr_sequoia": "ud_fr_sequoia_pos.yaml"}
SPEED_TARGETS = {"chars/s": 500_000.0, "words/s": 100_000.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--treebanks", default="en_ewt,fr_sequoia")
    parser.add_argument("--tagger-en", default=None)
    parser.add_argument("--tagger-fr", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    _common.set_threads(args.threads)
    print(_common.machine_report(args.threads, ["method:    tokenizers trained per seed; scores medians over "
                                                "seeds; speed medians of --rounds calls after a warm-up"]))
    seeds = [int(seed) for seed in args.seeds.split(",")]
    given = {"en_ewt": args.tagger_en, "fr_sequoia": args.tagger_fr}
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="wintrain-ud-") as folder:
        for treebank in args.treebanks.split(","):
            verdicts += run_treebank(treebank, seeds, given[treebank], folder, args.rounds)
    print(_common.section("targets"))
    print(_common.table(["target", "measured", "verdict"], verdicts))


def run_treebank(treebank: str, seeds: list[int], tagger_path: str | None, folder: str,
                 rounds: int) -> list[list[str]]:
    from wintrain.config import load_config
    from wintrain.evaluation.raw_text import evaluate_from_raw_text
    from wintrain.training.run import train

    root = Path(folder) / treebank
    if tagger_path is None:
        config = load_config(_common.ROOT / "configs" / TAGGER_CONFIG[treebank])
        started = time.perf_counter()
        train(config, root / "tagger")
        tagger_path = str(root / "tagger" / "best.npz")
        print(f"{treebank}: trained {TAGGER_CONFIG[treebank]} in {time.perf_counter() - started:.0f} s")
    rows: dict[str, list[float]] = {}
    tokenizers = []
    for seed in seeds:
        config = load_config(_common.ROOT / "configs" / f"ud_{treebank}_tokenizer.yaml", [f"seed={seed}"])
        out = root / f"tokenizer{seed}"
        summary = train(config, out)
        tokenizers.append(out / "best.npz")
        scores = evaluate_from_raw_text(tagger_path, GOLD[treebank], out / "best.npz")["ud"]
        for name, score in scores.items():
            rows.setdefault(name, []).append(100 * score["f1"])
        rows.setdefault("seconds", []).append(float(summary["train_seconds"]))
        print(f"{treebank} seed {seed}: " + json.dumps({name: round(100 * s["f1"], 2) for name, s in scores.items()})
              + f", tokenizer trained in {summary['train_seconds']:.0f} s", flush=True)
    print(_common.section(f"{treebank}: test file's raw text in (median of seeds {seeds})"))
    table = []
    for name, values in rows.items():
        unit = " s" if name == "seconds" else ""
        udpipe = UDPIPE2[treebank].get(name)
        table.append([name if name != "seconds" else "tokenizer training", f"{_common.median(values):.2f}{unit}",
                      _common.spread(values, digits=2), f"{udpipe:.2f}" if udpipe else "—"])
    print(_common.table(["metric", "median", "min–max", "UDPipe 2"], table))
    speed = measure_speed(tagger_path, tokenizers[0], GOLD[treebank], rounds)
    print(f"speed: tokenizing {speed['chars/s']:,.0f} characters/s, raw text → tags {speed['words/s']:,.0f} words/s")
    verdicts = []
    for name, limit in TARGETS[treebank].items():
        value = _common.median(rows[name])
        ok = value <= limit if name == "seconds" else value >= limit
        shown = f"{value:.0f} s" if name == "seconds" else f"{value:.2f}"
        bound = f"≤ {limit:.0f} s" if name == "seconds" else f"≥ {limit}"
        verdicts.append([f"{treebank} {name if name != 'seconds' else 'tokenizer training'} {bound}", shown,
                         _common.verdict(ok)])
    for name, limit in SPEED_TARGETS.items():
        verdicts.append([f"{treebank} {name} ≥ {limit:,.0f}", f"{speed[name]:,.0f}",
                         _common.verdict(speed[name] >= limit)])
    return verdicts


def measure_speed(tagger_path: str, tokenizer_path: Path, gold: Path, rounds: int) -> dict[str, float]:
    from wintrain import Tagger, Tokenizer
    from wintrain.evaluation.raw_text import gold_texts

    texts = gold_texts(gold)
    characters = sum(map(len, texts))
    tokenizer = Tokenizer.load(tokenizer_path)
    tagger = Tagger.load(tagger_path, tokenizer=tokenizer)
    words = sum(len(sentence) for result in tagger.tag_texts(texts) for sentence in result.sentences)
    tokenize_times, tag_times = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        tokenizer.tokenize_texts(texts)
        tokenize_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        tagger.tag_texts(texts)
        tag_times.append(time.perf_counter() - started)
    return {"chars/s": characters / _common.median(tokenize_times), "words/s": words / _common.median(tag_times)}


if __name__ == "__main__":
    sys.exit(main())
