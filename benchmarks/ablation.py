"""Feature ablation of the window model on CoNLL-2003 NER (with and without pretrained vectors)
and UD English-EWT POS (GloVe 6B 50-d).

Starting from the plain reference model (no casing feature, lowercased GloVe lookup,
window 5, one hidden layer of 200 tanh units, (sparse) Adam 1e-3, batch 256, 10 epochs),
each row adds ONE change on top of the last row that is not a branch; the row marked
"= configs/…" trains the delivered tuned config file (configs/conll2003.yaml,
configs/conll2003_novectors.yaml or configs/ud_en_ewt_pos.yaml) as it is, and "(branch)" rows
try one change that is not kept for the rows below (characters and the sentence-level loss
each alone, before the row with both; features that did not make the cut).  The table without
pretrained vectors starts from the tuned word model of the CoNLL table with
``embeddings.path: null``.  Every row is trained with each seed and reported as the MEDIAN
over the seeds of dev and test score (entity F1 for CoNLL, token accuracy for UD; both in %)
and of training seconds (summed epoch times, evaluation excluded), plus the min–max of the
test score.

    python benchmarks/ablation.py --corpus both --seeds 1,2,3 --jobs 2

Trials run in ``--jobs`` worker processes, each with one BLAS thread (the variables are set
before numpy is imported anywhere).  The data is expected beside the repository in
``../shared/data`` (CoNLL-2003, UD-EWT, per-corpus GloVe files); when it is absent the script
says so and exits with status 0.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "WINTRAIN_THREADS"):
    os.environ[_variable] = "1"  # before numpy is imported, here and in the (spawned) workers

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the repository root
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's wintrain

CORPORA: dict[str, dict[str, Any]] = {
    "conll2003": {
        "title": "CoNLL-2003 English NER (entity F1, %)",
        "metric": "F1",
        "data": DATA / "conll2003",
        "vectors": DATA / "glove" / "glove.6B.50d.conll2003.txt",
        "best_config": ROOT / "configs" / "conll2003.yaml",
    },
    "conll2003_novectors": {
        "title": "CoNLL-2003 English NER without pretrained vectors (entity F1, %)",
        "metric": "F1",
        "data": DATA / "conll2003",
        "vectors": None,
        "best_config": ROOT / "configs" / "conll2003_novectors.yaml",
    },
    "ud_en_ewt": {
        "title": "UD English-EWT UPOS (token accuracy, %)",
        "metric": "acc",
        "data": DATA / "ud_en_ewt",
        "vectors": DATA / "glove" / "glove.6B.50d.ud_en_ewt.txt",
        "best_config": ROOT / "configs" / "ud_en_ewt_pos.yaml",
    },
}
GROUPS = {"conll2003": ["conll2003", "conll2003_novectors"], "ud_en_ewt": ["ud_en_ewt"],
          "both": ["conll2003", "conll2003_novectors", "ud_en_ewt"]}


def reference(corpus: str) -> dict[str, Any]:
    """The plain reference model as a raw config mapping (absolute paths)."""
    spec = CORPORA[corpus]
    vectors = spec["vectors"]
    return {
        "seed": 1,
        "data": {"train": str(spec["data"] / "train.txt"), "dev": str(spec["data"] / "dev.txt"),
                 "test": str(spec["data"] / "test.txt"), "lowercase": True, "digits": False},
        "embeddings": {"path": None if vectors is None else str(vectors), "dim": 50, "trainable": True,
                       "extend_vocab": False},
        "features": {"casing": False},
        "model": {"window_size": 5, "hidden": [200], "activation": "tanh", "dropout": 0.0},
        "loss": {"l2": 0.0},
        "optimizer": {"name": "sparse_adam", "lr": 0.001},
        "schedule": {"name": "constant"},
        "train": {"epochs": 10, "batch_size": 256, "word_dropout": 0.0},
        "evaluation": {"decode": "greedy"},
    }


CHARS = {"features.chars": {"dim": 25, "filters": 50, "width": 3}}
SLL = {"loss.name": "sll"}
SLL_VITERBI = {"loss.name": "sll", "evaluation.decode": "auto"}  # auto: Viterbi with the learned transitions
AFFIXES = {"features.prefixes": [1, 2, 3], "features.suffixes": [1, 2, 3, 4]}
ENSEMBLE = {"model.ensemble": 3}  # three networks from different initialisations, their scores averaged
PLATEAU = {"schedule.name": "plateau", "schedule.patience": 1, "train.epochs": 30, "train.patience": 8}
IOBES = {"data.model_scheme": "iobes"}  # chunk tags re-encoded B-/I-/E-/S- for the model, scored as the data's
NER_WORD_MODEL = {"features.casing": True, "train.word_dropout": 0.25, "data.digits": True,
                  "evaluation.decode": "constrained", "model.window_size": 7, "model.hidden": [300],
                  "model.activation": "relu", "model.init": "he_uniform", "model.dropout": 0.4, "train.epochs": 20,
                  "train.patience": 5}

# Each row: (label, changes, kind).  kind "add": the changes stay for the rows below;
# "file": the changes complete the tuned config, and the row trains that config FILE (the
# script checks that the cumulative settings equal the file); "branch": one more change on
# top of the last non-branch row, reported but not kept (an alternative, or a feature that did
# not make the final config).  The dev delta in brackets is against the last non-branch row.
ROWS: dict[str, list[tuple[str, dict[str, Any], str]]] = {
    "conll2003": [
        ("reference (no casing)", {}, "add"),
        ("+ casing feature", {"features.casing": True}, "add"),
        ("+ extend_vocab (GloVe rows for unseen words)", {"embeddings.extend_vocab": True}, "add"),
        ("+ word dropout α=0.25", {"train.word_dropout": 0.25}, "add"),
        ("+ digits → 0", {"data.digits": True}, "add"),
        ("+ constrained (Viterbi) decoding", {"evaluation.decode": "constrained"}, "add"),
        ("+ window 7, H=300, ReLU, dropout 0.4, 20 ep (patience 5) (the word model)",
         {"model.window_size": 7, "model.hidden": [300], "model.activation": "relu", "model.init": "he_uniform",
          "model.dropout": 0.4, "train.epochs": 20, "train.patience": 5}, "add"),
        ("(branch) + characters (CharWNN, 50 filters)", CHARS, "branch"),
        ("(branch) + sentence-level loss (SLL)", SLL, "branch"),
        ("+ characters + SLL", {**CHARS, **SLL}, "add"),
        ("(branch) + weight averaging (EMA 0.999)", {"optimizer.ema_decay": 0.999}, "branch"),
        ("(branch) + prefixes [1,2,3] / suffixes [1,2,3,4]", AFFIXES, "branch"),
        ("+ the model learns IOBES tags = configs/conll2003.yaml", IOBES, "file"),
        ("(branch) + an ensemble of 3 networks", ENSEMBLE, "branch"),
    ],
    "conll2003_novectors": [
        ("the word model of the table above, no pretrained vectors", NER_WORD_MODEL, "add"),
        ("(branch) + characters (CharWNN, 50 filters)", CHARS, "branch"),
        ("(branch) + sentence-level loss (SLL)", SLL, "branch"),
        ("+ characters + SLL", {**CHARS, **SLL}, "add"),
        ("+ prefixes [1,2,3] / suffixes [1,2,3,4]", AFFIXES, "add"),
        ("+ the model learns IOBES tags", IOBES, "add"),
        ("(branch) + learning rate 5e-4", {"optimizer.lr": 0.0005}, "branch"),
        ("(branch) + learning rate halved when dev F1 stalls (plateau), 30 ep (patience 8)", PLATEAU, "branch"),
        ("+ an ensemble of 3 networks = configs/conll2003_novectors.yaml", ENSEMBLE, "file"),
    ],
    "ud_en_ewt": [
        ("reference (no casing)", {}, "add"),
        ("+ casing feature", {"features.casing": True}, "add"),
        ("+ extend_vocab (GloVe rows for unseen words)", {"embeddings.extend_vocab": True}, "add"),
        ("+ word dropout α=0.25", {"train.word_dropout": 0.25}, "add"),
        ("+ digits → 0", {"data.digits": True}, "add"),
        ("+ prefixes [1,2,3] / suffixes [1,2,3,4]", AFFIXES, "add"),
        ("+ H=300, ReLU, dropout 0.4, 20 ep (patience 4)",
         {"model.hidden": [300], "model.activation": "relu", "model.init": "he_uniform", "model.dropout": 0.4,
          "train.epochs": 20, "train.patience": 4}, "add"),
        ("(branch) + characters (CharWNN, 50 filters)", CHARS, "branch"),
        ("(branch) + sentence-level loss (SLL, Viterbi decoding)", SLL_VITERBI, "branch"),
        ("+ characters + SLL + weight averaging (EMA 0.999), 30 ep (patience 5) = configs/ud_en_ewt_pos.yaml",
         {**CHARS, **SLL_VITERBI, "optimizer.ema_decay": 0.999, "train.epochs": 30, "train.patience": 5}, "file"),
        ("(branch) the same without weight averaging", {"optimizer.ema_decay": None}, "branch"),
    ],
}


def set_key(raw: dict[str, Any], dotted: str, value: Any) -> None:
    node = raw
    keys = dotted.split(".")
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {} if child is None else {"name": child}
            node[key] = child
        node = child
    node[keys[-1]] = value


def comparable(config: Any) -> dict[str, Any]:
    """The settings of a config that the rows change: not the seed, output, file paths or hints."""
    settings = config.to_dict()
    for key in ("seed", "output"):
        settings.pop(key, None)
    for section, keys in (("data", ("train", "dev", "test", "obtain", "tag_column", "scheme")),
                          ("embeddings", ("path", "obtain"))):
        for key in keys:
            settings.get(section, {}).pop(key, None)
    return settings


def file_overrides(corpus: str) -> list[str]:
    """``--set`` values that point a shipped config at the data this script uses: the CoNLL-2003
    configs name data/conll2003/… inside the repository, which is not shipped."""
    spec = CORPORA[corpus]
    settings = [f"data.{split}={spec['data'] / (split + '.txt')}" for split in ("train", "dev", "test")]
    if spec["vectors"] is not None:
        settings.append(f"embeddings.path={spec['vectors']}")
    return settings


def row_configs(corpus: str) -> list[tuple[str, dict[str, Any] | None]]:
    """(label, raw config) per row; None = train the tuned config file."""
    from wintrain.config import config_from_dict, load_config

    raw = reference(corpus)
    rows: list[tuple[str, dict[str, Any] | None]] = []
    for label, changes, kind in ROWS[corpus]:
        target = json.loads(json.dumps(raw)) if kind == "branch" else raw
        for key, value in changes.items():
            set_key(target, key, value)
        if kind == "file":
            path = CORPORA[corpus]["best_config"]
            if comparable(load_config(path, file_overrides(corpus))) != comparable(config_from_dict(raw)):
                wanted = comparable(config_from_dict(raw))
                found = comparable(load_config(path, file_overrides(corpus)))
                diff = sorted(f"{section}.{key}" for section in wanted for key in wanted[section]
                              if isinstance(wanted[section], dict)
                              and wanted[section].get(key) != found.get(section, {}).get(key))
                print(f"note: {path.name} differs from the cumulative row settings in {', '.join(diff)}; "
                      "the row trains the file")
            rows.append((label, None))
        else:
            rows.append((label, json.loads(json.dumps(target))))
    return rows


def run_trial(corpus: str, raw: dict[str, Any] | None, seed: int, run_dir: str) -> dict[str, Any]:
    """Train one (row, seed) in this worker process; return the scores in %."""
    from wintrain.config import config_from_dict, load_config
    from wintrain.training.run import train

    if raw is None:
        config = load_config(CORPORA[corpus]["best_config"], [*file_overrides(corpus), f"seed={seed}"])
    else:
        raw = json.loads(json.dumps(raw))
        raw["seed"] = seed
        config = config_from_dict(raw)
    started = time.perf_counter()
    summary = train(config, Path(run_dir), force=True)
    wall = time.perf_counter() - started

    def score(metrics: dict[str, Any]) -> float:
        return 100.0 * (metrics["entity"]["f1"] if "entity" in metrics else metrics["accuracy"])

    return {"dev": score(summary["dev"]), "test": score(summary["test"]), "train_seconds": summary["train_seconds"],
            "wall_seconds": wall, "best_epoch": summary["best_epoch"], "epochs": summary["epochs"]}


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def markdown_table(corpus: str, labels: list[str], results: dict[int, list[dict[str, Any]]]) -> str:
    metric = CORPORA[corpus]["metric"]
    lines = [f"### {CORPORA[corpus]['title']}", "",
             f"| row | dev {metric} | test {metric} | test min–max | train s | best epoch / run |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    kinds = [kind for _, _, kind in ROWS[corpus]]
    base = None  # dev of the last non-branch row: what each row's change is measured against
    for index, label in enumerate(labels):
        trials = results.get(index, [])
        if not trials:
            lines.append(f"| {label} | – | – | – | – | – |")
            continue
        dev, test = median([t["dev"] for t in trials]), median([t["test"] for t in trials])
        delta = f" ({dev - base:+.2f})" if base is not None else ""
        if kinds[index] != "branch":
            base = dev
        tests = [t["test"] for t in trials]
        epochs = ", ".join(f"{t['best_epoch']}/{t['epochs']}" for t in trials)
        lines.append(f"| {label} | {dev:.2f}{delta} | {test:.2f} | {min(tests):.2f}–{max(tests):.2f} | "
                     f"{median([t['train_seconds'] for t in trials]):.1f} | {epochs} |")
    return "\n".join(lines)


def parse_rows(text: str, corpora: list[str]) -> set[tuple[str, int]]:
    """``--rows`` → the (corpus, row) pairs to run: ``7`` is row 7 of every table, ``conll2003:13``
    row 13 of that table only."""
    rows: set[tuple[str, int]] = set()
    for item in (part.strip() for part in text.split(",") if part.strip()):
        corpus, _, number = item.rpartition(":")
        if corpus and corpus not in corpora:
            raise SystemExit(f"--rows {item}: {corpus} is not one of {', '.join(corpora)}")
        rows |= {(name, int(number)) for name in corpora if not corpus or name == corpus}
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=sorted(GROUPS), default="both",
                        help="conll2003 (with and without vectors), ud_en_ewt, or both")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds; each row reports the median")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (one BLAS thread each)")
    parser.add_argument("--rows", default=None,
                        help="comma-separated rows to run: N (0-based, in every table) or CORPUS:N (default all)")
    parser.add_argument("--out", default=None, help="folder for the run folders (default: a temporary folder)")
    parser.add_argument("--json", default=None, help="also append every trial result to this JSONL file")
    args = parser.parse_args(argv)

    corpora = GROUPS[args.corpus]
    missing = [str(path) for corpus in corpora
               for path in (CORPORA[corpus]["data"] / "train.txt", CORPORA[corpus]["vectors"])
               if path is not None and not path.is_file()]
    if missing:
        print(f"ablation skipped: shared data not found ({missing[0]}{' …' if len(missing) > 1 else ''}); "
              f"expected the corpora and GloVe files under {DATA}")
        return 0
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    wanted = None if args.rows is None else parse_rows(args.rows, corpora)

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="wintrain-ablation-"))
    try:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "unknown"
    print(f"date {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {os.cpu_count()} CPUs; "
          f"load average before {load}; {args.jobs} jobs × 1 BLAS thread; seeds {seeds}; runs in {out}")

    started = time.perf_counter()
    tables = []
    jobs: list[tuple[str, int, int, Any]] = []
    labels: dict[str, list[str]] = {}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for corpus in corpora:
            rows = row_configs(corpus)
            labels[corpus] = [label for label, _ in rows]
            for index, (_label, raw) in enumerate(rows):
                if wanted is not None and (corpus, index) not in wanted:
                    continue
                for seed in seeds:
                    run_dir = out / corpus / f"row{index}-seed{seed}"
                    jobs.append((corpus, index, seed, pool.submit(run_trial, corpus, raw, seed, str(run_dir))))
        results: dict[str, dict[int, list[dict[str, Any]]]] = {corpus: {} for corpus in corpora}
        for corpus, index, seed, future in jobs:
            try:
                record = future.result()
            except Exception as error:  # a failed trial is reported, not fatal
                print(f"  {corpus} row {index} seed {seed}: FAILED ({type(error).__name__}: {error})", flush=True)
                continue
            results[corpus].setdefault(index, []).append(record)
            print(f"  {corpus} row {index} seed {seed}: dev {record['dev']:.2f} test {record['test']:.2f} "
                  f"train {record['train_seconds']:.1f}s wall {record['wall_seconds']:.1f}s "
                  f"best epoch {record['best_epoch']}/{record['epochs']}", flush=True)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as stream:
                    stream.write(json.dumps({"corpus": corpus, "row": index, "label": labels[corpus][index],
                                             "seed": seed, **record}) + "\n")
    for corpus in corpora:
        tables.append(markdown_table(corpus, labels[corpus], results[corpus]))
    try:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "unknown"
    print()
    print("\n\n".join(tables))
    print(f"\nMedian of seeds {','.join(map(str, seeds))}; rows are cumulative (each adds its change to the last "
          f"row that is not a branch); dev delta vs that row in brackets. Whole ablation "
          f"{time.perf_counter() - started:.0f} s wall clock; load average after {load}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
