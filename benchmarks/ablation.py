"""Feature ablation of the window model on CoNLL-2003 NER and UD English-EWT POS (GloVe 6B 50-d).

Starting from the plain reference model (no casing feature, lowercased GloVe lookup,
window 5, one hidden layer of 200 tanh units, (sparse) Adam 1e-3, batch 256, 10 epochs),
each row adds ONE change on top of the previous row; the row marked "= configs/…" trains the
delivered tuned config file (configs/conll2003.yaml or configs/ud_en_ewt_pos.yaml) as
it is, and "(branch)" rows try one more change on top of it that did not make the cut.
Every row is trained with each seed and reported as the MEDIAN over the seeds of dev and
test score (entity F1 for CoNLL, token accuracy for UD; both in %) and of training seconds
(summed epoch times, evaluation excluded), plus the min–max of the test score.

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
    "ud_en_ewt": {
        "title": "UD English-EWT UPOS (token accuracy, %)",
        "metric": "acc",
        "data": DATA / "ud_en_ewt",
        "vectors": DATA / "glove" / "glove.6B.50d.ud_en_ewt.txt",
        "best_config": ROOT / "configs" / "ud_en_ewt_pos.yaml",
    },
}


def reference(corpus: str) -> dict[str, Any]:
    """The plain reference model as a raw config mapping (absolute paths)."""
    spec = CORPORA[corpus]
    return {
        "seed": 1,
        "data": {"train": str(spec["data"] / "train.txt"), "dev": str(spec["data"] / "dev.txt"),
                 "test": str(spec["data"] / "test.txt"), "lowercase": True, "digits": False},
        "embeddings": {"path": str(spec["vectors"]), "dim": 50, "trainable": True, "extend_vocab": False},
        "features": {"casing": False},
        "model": {"window_size": 5, "hidden": [200], "activation": "tanh", "dropout": 0.0},
        "loss": {"l2": 0.0},
        "optimizer": {"name": "sparse_adam", "lr": 0.001},
        "schedule": {"name": "constant"},
        "train": {"epochs": 10, "batch_size": 256, "word_dropout": 0.0},
        "evaluation": {"decode": "greedy"},
    }


# Each row: (label, changes, kind).  kind "add": the changes stay for the rows below;
# "file": the changes complete the tuned config, and the row trains that config FILE (the
# script checks that the cumulative settings equal the file); "branch": one more change on
# top of the row above, reported but not kept (a feature that did not make the final config).
ROWS: dict[str, list[tuple[str, dict[str, Any], str]]] = {
    "conll2003": [
        ("reference (no casing)", {}, "add"),
        ("+ casing feature", {"features.casing": True}, "add"),
        ("+ extend_vocab (GloVe rows for unseen words)", {"embeddings.extend_vocab": True}, "add"),
        ("+ word dropout α=0.25", {"train.word_dropout": 0.25}, "add"),
        ("+ digits → 0", {"data.digits": True}, "add"),
        ("+ constrained (Viterbi) decoding", {"evaluation.decode": "constrained"}, "add"),
        ("+ window 7, H=300, ReLU, dropout 0.4, 20 ep (patience 5) = configs/conll2003.yaml",
         {"model.window_size": 7, "model.hidden": [300], "model.activation": "relu", "model.init": "he_uniform",
          "model.dropout": 0.4, "train.epochs": 20, "train.patience": 5}, "file"),
        ("(branch) best + prefixes [1,2,3] / suffixes [1,2,3,4]",
         {"features.prefixes": [1, 2, 3], "features.suffixes": [1, 2, 3, 4]}, "branch"),
    ],
    "ud_en_ewt": [
        ("reference (no casing)", {}, "add"),
        ("+ casing feature", {"features.casing": True}, "add"),
        ("+ extend_vocab (GloVe rows for unseen words)", {"embeddings.extend_vocab": True}, "add"),
        ("+ word dropout α=0.25", {"train.word_dropout": 0.25}, "add"),
        ("+ digits → 0", {"data.digits": True}, "add"),
        ("+ prefixes [1,2,3] / suffixes [1,2,3,4]",
         {"features.prefixes": [1, 2, 3], "features.suffixes": [1, 2, 3, 4]}, "add"),
        ("+ H=300, ReLU, dropout 0.4, 20 ep (patience 4) = configs/ud_en_ewt_pos.yaml",
         {"model.hidden": [300], "model.activation": "relu", "model.init": "he_uniform", "model.dropout": 0.4,
          "train.epochs": 20, "train.patience": 4}, "file"),
        ("(branch) best + window 7", {"model.window_size": 7}, "branch"),
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
    settings = config.to_dict()
    for key in ("seed", "output"):
        settings.pop(key, None)
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
            if comparable(load_config(path)) != comparable(config_from_dict(raw)):
                wanted, found = comparable(config_from_dict(raw)), comparable(load_config(path))
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
        config = load_config(CORPORA[corpus]["best_config"], [f"seed={seed}"])
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
    previous = None
    for index, label in enumerate(labels):
        trials = results.get(index, [])
        if not trials:
            lines.append(f"| {label} | – | – | – | – | – |")
            continue
        dev, test = median([t["dev"] for t in trials]), median([t["test"] for t in trials])
        delta = f" ({dev - previous:+.2f})" if previous is not None else ""
        previous = dev
        tests = [t["test"] for t in trials]
        epochs = ", ".join(f"{t['best_epoch']}/{t['epochs']}" for t in trials)
        lines.append(f"| {label} | {dev:.2f}{delta} | {test:.2f} | {min(tests):.2f}–{max(tests):.2f} | "
                     f"{median([t['train_seconds'] for t in trials]):.1f} | {epochs} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=["conll2003", "ud_en_ewt", "both"], default="both")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds; each row reports the median")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (one BLAS thread each)")
    parser.add_argument("--rows", default=None, help="comma-separated row numbers to run (0-based; default all)")
    parser.add_argument("--out", default=None, help="folder for the run folders (default: a temporary folder)")
    parser.add_argument("--json", default=None, help="also append every trial result to this JSONL file")
    args = parser.parse_args(argv)

    corpora = ["conll2003", "ud_en_ewt"] if args.corpus == "both" else [args.corpus]
    missing = [str(path) for corpus in corpora
               for path in (CORPORA[corpus]["data"] / "train.txt", CORPORA[corpus]["vectors"]) if not path.is_file()]
    if missing:
        print(f"ablation skipped: shared data not found ({missing[0]}{' …' if len(missing) > 1 else ''}); "
              f"expected the corpora and GloVe files under {DATA}")
        return 0
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    wanted = None if args.rows is None else {int(r) for r in args.rows.split(",")}

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
                if wanted is not None and index not in wanted:
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
    print(f"\nMedian of seeds {','.join(map(str, seeds))}; rows are cumulative (each adds one change to the row "
          f"above); dev delta vs the row above in brackets. Whole ablation {time.perf_counter() - started:.0f} s "
          f"wall clock; load average after {load}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
