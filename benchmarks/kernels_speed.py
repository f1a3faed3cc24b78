"""What vectorisation and the fast kernels buy: the lecture's %timeit lesson on the real model.

    python benchmarks/kernels_speed.py [--threads 1] [--rounds 3] [--baseline CHECKOUT]

On CoNLL-2003 (``--conll``, GloVe rows ``--vectors``), the reference model (window 5, d = 50,
H = 200, tanh, fine-tuned embeddings, sparse_adam, batch 256), in one process:

* **training**, epoch time (median of ``--rounds`` epochs after one warm-up epoch; variants
  interleaved epoch by epoch in a rotating order): the per-example loop of
  ``wintrain/nn/per_example.py`` (timed on ``--per-example-windows`` windows and extrapolated),
  the textbook kernels (``train.kernels: textbook``) and the fast ones, for the plain model, with
  character features and with the sentence-level loss;
* **tagging**, ``Tagger.tag_tokens`` on the CoNLL-2003 test text (46,435 tokens) with both kernel
  sets, for models trained one epoch by the fast kernels (the same checkpoint for both).

With ``--baseline CHECKOUT`` (another checkout of wintrain, e.g. a ``git worktree`` of an older
commit), the fast kernels of this checkout are compared with that checkout: each runs in its
own child process (one BLAS thread), the two take turns epoch by epoch and call by call, and
the ratio of the medians is reported against the no-regression target (≤ 1.03).  Each child
trains its own copy of the model (training is deterministic, so they are the same model).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common

DEFAULT_CONLL = _common.SHARED / "data" / "conll2003"
DEFAULT_VECTORS = _common.SHARED / "data" / "glove" / "glove.6B.50d.conll2003.txt"
VARIANTS = {"plain": [], "chars": ["features.chars={dim: 25, filters: 50, width: 3, max_length: 20}"],
            "sll": ["loss.name=sll"]}
REGRESSION = 1.03  # this checkout / baseline, at most


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="measured epochs / calls per variant (default 3)")
    parser.add_argument("--conll", type=Path, default=DEFAULT_CONLL, help="folder with CoNLL-2003 train/test.txt")
    parser.add_argument("--vectors", type=Path, default=DEFAULT_VECTORS, help="GloVe 50-d text file")
    parser.add_argument("--per-example-windows", type=int, default=2048, help="windows timed of the loop")
    parser.add_argument("--variants", default="plain,chars,sll", help="training variants (default plain,chars,sll)")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare the fast kernels with")
    parser.add_argument("--baseline-rounds", type=int, default=7, help="epochs and calls per checkout (default 7)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


ARGS = parse_args()
_common.set_threads(ARGS.threads)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def overrides(variant: str, kernels: str | None) -> list[str]:
    """The reference model, spelled out, plus the variant's feature and the kernel set."""
    base = [f"data.train={(ARGS.conll / 'train.txt').resolve()}", "data.dev=null", "data.test=null",
            f"embeddings.path={ARGS.vectors.resolve()}", "embeddings.dim=50", "embeddings.extend_vocab=false",
            "features.casing=false", "model.window_size=5", "model.hidden=[200]", "model.activation=tanh",
            "model.dropout=0.0", "optimizer.name=sparse_adam", "optimizer.lr=0.001", "train.batch_size=256",
            "train.word_dropout=0.0", "evaluation.decode=auto"]
    return base + VARIANTS[variant] + ([f"train.kernels={kernels}"] if kernels else [])


# ----------------------------------------------------------------------------- one process
class Training:
    """One epoch at a time of one variant with one kernel set."""

    def __init__(self, variant: str, kernels: str) -> None:
        from wintrain.config import load_config
        from wintrain.training.trainer import Trainer, prepare

        self.name = f"{variant}, {kernels}"
        self.prepared = prepare(load_config(_common.ROOT / "configs" / "conll2003_reference.yaml",
                                            overrides(variant, kernels)))
        self.trainer = Trainer(self.prepared)
        self.epoch_number = 0

    def epoch(self) -> float:
        self.epoch_number += 1
        started = time.perf_counter()
        for _ in self.trainer.train_epoch(self.epoch_number, progress_every=10**9):
            pass
        self.trainer.state.end_epoch(self.epoch_number)
        return time.perf_counter() - started


def per_example_seconds(training: Training, windows: int) -> float:
    """Seconds per epoch of the per-example loop (one lazy-Adam update per batch of 256), extrapolated."""
    import numpy as np

    from wintrain.nn.per_example import PerExampleTrainer, lecture_arrays

    data = training.prepared.datasets["train"]
    loop = PerExampleTrainer(*lecture_arrays(training.prepared.model), lr=1e-3, update="batch")
    order = np.random.default_rng(3).permutation(len(data))[:windows]
    started = time.perf_counter()
    for start in range(0, len(order), 256):
        index = order[start:start + 256]
        loop.step(data.features[0][index], data.targets[index])
    return (time.perf_counter() - started) / len(order) * len(data)


def one_process() -> None:
    import numpy as np

    from wintrain.data.reader import read_conll
    from wintrain.evaluation.tagger import Tagger
    from wintrain.training.run import train

    variants = [v for v in ARGS.variants.split(",") if v]
    runs = [Training(variant, kernels) for variant in variants for kernels in ("textbook", "fast")]
    log(f"warm-up epoch of {len(runs)} variants")
    for run in runs:
        run.epoch()
    times: dict[str, list[float]] = {run.name: [] for run in runs}
    loop_seconds: list[float] = []
    plain = next((run for run in runs if run.name == "plain, fast"), None)
    for round_index in range(ARGS.rounds):
        log(f"round {round_index + 1}/{ARGS.rounds}")
        order = runs[round_index % len(runs):] + runs[:round_index % len(runs)]
        for run in order:
            times[run.name].append(run.epoch())
        if plain is not None:
            loop_seconds.append(per_example_seconds(plain, ARGS.per_example_windows))
    n_tokens = len(runs[0].prepared.datasets["train"])
    print(_common.section("training: epoch of CoNLL-2003 train, batch 256 (median s)"))
    rows = []
    if loop_seconds:
        loop = _common.median(loop_seconds)
        fast = _common.median(times["plain, fast"])
        rows.append(["plain", "per-example loop (extrapolated)", f"{loop:.2f}", f"{n_tokens / loop:,.0f}",
                     f"{loop / fast:.1f}x"])
    for variant in variants:
        textbook, fast = _common.median(times[f"{variant}, textbook"]), _common.median(times[f"{variant}, fast"])
        rows.append([variant, "textbook kernels", f"{textbook:.2f}", f"{n_tokens / textbook:,.0f}",
                     f"{textbook / fast:.2f}x"])
        rows.append([variant, "fast kernels", f"{fast:.2f}", f"{n_tokens / fast:,.0f}", "1.00x"])
    print(_common.table(["model", "implementation", "epoch s", "tokens/s", "vs fast"], rows, left=2))

    log("tagging")
    sentences = read_conll(ARGS.conll / "test.txt").sentences()
    folder = Path(_common.ROOT / "runs" / "kernels_speed")
    rows = []
    for variant in variants:
        from wintrain.config import load_config

        config = load_config(_common.ROOT / "configs" / "conll2003_reference.yaml", overrides(variant, "fast")
                             + ["train.epochs=1"])
        train(config, folder / variant, force=True)
        taggers = {kernels: Tagger.load(folder / variant / "best.npz", kernels=kernels)
                   for kernels in ("textbook", "fast")}
        seconds: dict[str, list[float]] = {kernels: [] for kernels in taggers}
        tags: dict[str, Any] = {}
        for _ in range(ARGS.rounds + 1):
            for kernels, tagger in taggers.items():
                started = time.perf_counter()
                tags[kernels] = tagger.tag_tokens(sentences)
                seconds[kernels].append(time.perf_counter() - started)
        agree = np.mean([a == b for x, y in zip(tags["fast"], tags["textbook"]) for a, b in zip(x, y)])
        count = sum(len(s) for s in sentences)
        for kernels in ("textbook", "fast"):
            value = _common.median(seconds[kernels][1:])
            rows.append([variant, kernels, f"{1000 * value:.1f}", f"{count / value:,.0f}",
                         f"{value / _common.median(seconds['fast'][1:]):.2f}x",
                         f"{100 * agree:.3f}" if kernels == "textbook" else ""])
    print(_common.section("tagging: Tagger.tag_tokens on the CoNLL-2003 test text (median ms)"))
    print(_common.table(["model", "kernels", "ms", "tokens/s", "vs fast", "same tags %"], rows, left=2))


# ----------------------------------------------------------------------------- this checkout vs a baseline
def child(spec: dict[str, Any]) -> None:
    """One checkout: train the plain model one epoch (warm-up), keep it as a tagger, then answer
    ``epoch`` and ``tag`` orders (one JSON line each) until stdin closes."""
    sys.path.insert(0, spec["package"])
    for name in [name for name in sys.modules if name == "wintrain" or name.startswith("wintrain.")]:
        del sys.modules[name]
    import wintrain
    from wintrain.config import load_config
    from wintrain.data.reader import read_conll
    from wintrain.evaluation.tagger import Tagger
    from wintrain.training.run import train

    config = load_config(Path(spec["package"]) / "configs" / "conll2003_reference.yaml",
                         overrides("plain", None) + ["train.epochs=1"])
    train(config, Path(spec["run"]), force=True)
    tagger = Tagger.load(Path(spec["run"]) / "best.npz")
    sentences = read_conll(ARGS.conll / "test.txt").sentences()
    training = Training.__new__(Training)
    from wintrain.training.trainer import Trainer, prepare

    training.prepared = prepare(load_config(Path(spec["package"]) / "configs" / "conll2003_reference.yaml",
                                            overrides("plain", None)))
    training.trainer, training.epoch_number, training.name = Trainer(training.prepared), 0, spec["package"]
    training.epoch()  # warm-up
    tagger.tag_tokens(sentences)
    print(json.dumps({"ready": str(Path(wintrain.__file__).parent)}), flush=True)
    for line in sys.stdin:
        order = line.strip()
        if order == "epoch":
            print(json.dumps({"seconds": training.epoch()}), flush=True)
        elif order == "tag":
            started = time.perf_counter()
            tags = tagger.tag_tokens(sentences)
            digest = hashlib.sha1(" ".join(tag for row in tags for tag in row).encode()).hexdigest()
            print(json.dumps({"seconds": time.perf_counter() - started, "digest": digest}), flush=True)


def versus_baseline() -> None:
    packages = {"this checkout": str(_common.ROOT), "baseline": str(ARGS.baseline.resolve())}
    children = {}
    for label, package in packages.items():
        spec = {"package": package, "run": str(_common.ROOT / "runs" / "kernels_speed" / label.replace(" ", "_"))}
        children[label] = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec),
                                            "--threads", str(ARGS.threads), "--conll", str(ARGS.conll),
                                            "--vectors", str(ARGS.vectors)],
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for label, process in children.items():
        assert process.stdout is not None
        log(f"{label}: {json.loads(process.stdout.readline())['ready']}")
    results: dict[str, dict[str, list[float]]] = {label: {"epoch": [], "tag": []} for label in children}
    digests: dict[str, set[str]] = {label: set() for label in children}
    labels = list(children)
    for round_index in range(ARGS.baseline_rounds):
        log(f"baseline round {round_index + 1}/{ARGS.baseline_rounds}")
        for order in ("epoch", "tag"):
            for label in labels[round_index % 2:] + labels[:round_index % 2]:
                process = children[label]
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write(order + "\n")
                process.stdin.flush()
                answer = json.loads(process.stdout.readline())
                results[label][order].append(answer["seconds"])
                if "digest" in answer:
                    digests[label].add(answer["digest"])
    for process in children.values():
        assert process.stdin is not None
        process.stdin.close()
        process.wait()
    print(_common.section(f"fast kernels: this checkout vs {ARGS.baseline} (medians, interleaved)"))
    rows = []
    for order, what in (("epoch", "training epoch, batch 256"), ("tag", "tag_tokens, CoNLL-2003 test")):
        ours, theirs = _common.median(results["this checkout"][order]), _common.median(results["baseline"][order])
        ratio = ours / theirs
        rows.append([what, f"{ours:.3f}", _common.spread(results["this checkout"][order]), f"{theirs:.3f}",
                     _common.spread(results["baseline"][order]), f"{ratio:.3f}",
                     f"≤ {REGRESSION:.2f}", _common.verdict(ratio <= REGRESSION)])
    print(_common.table(["measure", "this s", "min–max", "baseline s", "min–max", "this/baseline", "target",
                         "verdict"], rows))
    print(f"tags identical across checkouts: {digests['this checkout'] == digests['baseline']}")


def main() -> int:
    if ARGS.child:
        child(json.loads(ARGS.child))
        return 0
    for path in (ARGS.conll / "train.txt", ARGS.conll / "test.txt", ARGS.vectors):
        if not path.exists():
            print(f"missing {path}: pass --conll and --vectors", file=sys.stderr)
            return 2
    print("benchmarks/kernels_speed.py — per-example loop, textbook kernels, fast kernels")
    print(_common.machine_report(ARGS.threads))
    if ARGS.baseline is not None:
        versus_baseline()
    one_process()
    return 0


if __name__ == "__main__":
    sys.exit(main())
