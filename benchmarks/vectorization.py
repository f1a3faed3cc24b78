"""Why vectorise: the CS224n lecture's loop-vs-matrix comparison, and the same for a training step.

    python benchmarks/vectorization.py [--threads 1] [--repeat 7]

Part 1 reproduces the lecture notes: N = 500 windows, d = 300, C = 5; a list of N column
vectors multiplied one by one, ``[W.dot(x_i) for x_i in wordvectors_list]``, against one
matrix product ``W.dot(wordvectors_one_matrix)`` (float64 as in the notes, and float32).
The notes measured 639 µs vs 53.8 µs.

Part 2 does the same for a *full training step* (forward, backward, lazy-Adam update) of
wintrain's reference window model (window 5, d = 50, H = 200, tanh, C = 9, fine-tuned
embeddings): a per-example Python loop (wintrain/nn/per_example.py, one update per batch)
against wintrain's vectorised step on one batch of 500 windows.  Both start from the same
parameters, and the script first checks that one step of each gives the same parameters.

Numbers are timeit medians in µs per call; the variants are interleaved (round by round)
so that machine noise hits them alike.
"""

from __future__ import annotations

import argparse
import sys
import timeit

import _common


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads (default 1, as wintrain's CLI)")
    parser.add_argument("--repeat", type=int, default=7, help="timing rounds per variant (median reported; default 7)")
    parser.add_argument("--vocab", type=int, default=20_000, help="embedding rows of the step benchmark's model")
    return parser.parse_args()


ARGS = parse_args()
_common.set_threads(ARGS.threads)

import numpy as np  # noqa: E402  (after the thread variables are set)

from wintrain.kernels.optimizers import FusedSparseAdam as SparseAdam  # noqa: E402  (the fast twin)
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier  # noqa: E402
from wintrain.nn.per_example import PerExampleTrainer, lecture_arrays  # noqa: E402

N, D, C = 500, 300, 5
LECTURE_LOOP_US, LECTURE_MATRIX_US = 639.0, 53.8


def calls_per_sample(function, target_seconds: float = 0.05) -> int:
    """How many calls make one timing sample of about ``target_seconds``."""
    number = 1
    while True:
        elapsed = timeit.timeit(function, number=number)
        if elapsed >= target_seconds or number >= 1 << 20:
            return max(1, int(number * target_seconds / max(elapsed, 1e-9)))
        number *= 4


def interleaved(functions: dict[str, object], repeat: int) -> dict[str, list[float]]:
    """Seconds per call of each function: ``repeat`` samples each, taken round by round."""
    numbers = {name: calls_per_sample(function) for name, function in functions.items()}
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            samples[name].append(timeit.timeit(function, number=numbers[name]) / numbers[name])
    return samples


def lecture(repeat: int) -> str:
    rng = np.random.default_rng(0)
    functions = {}
    for dtype in (np.float64, np.float32):
        W = rng.random((C, D)).astype(dtype)
        wordvectors_list = [rng.random((D, 1)).astype(dtype) for _ in range(N)]
        wordvectors_one_matrix = rng.random((D, N)).astype(dtype)
        name = np.dtype(dtype).name
        functions[f"loop {name}"] = (lambda W=W, xs=wordvectors_list: [W.dot(x_i) for x_i in xs])
        functions[f"matrix {name}"] = (lambda W=W, X=wordvectors_one_matrix: W.dot(X))
    samples = interleaved(functions, repeat)
    rows = []
    for dtype in ("float64", "float32"):
        loop, matrix = _common.median(samples[f"loop {dtype}"]), _common.median(samples[f"matrix {dtype}"])
        rows.append(["[W.dot(x_i) for x_i in wordvectors_list]", dtype, f"{loop * 1e6:,.1f}",
                     _common.spread(samples[f"loop {dtype}"], 1e6, 1), ""])
        rows.append(["W.dot(wordvectors_one_matrix)", dtype, f"{matrix * 1e6:,.1f}",
                     _common.spread(samples[f"matrix {dtype}"], 1e6, 1), f"{loop / matrix:,.1f}x faster"])
    rows.append(["lecture notes (float64)", "float64", f"{LECTURE_LOOP_US:,.1f} / {LECTURE_MATRIX_US:,.1f}", "",
                 f"{LECTURE_LOOP_US / LECTURE_MATRIX_US:,.1f}x faster"])
    return _common.table(["variant", "dtype", "median µs", "min–max µs", "matrix vs loop"], rows, left=2)


def reference_model(vocab: int, seed: int = 1) -> WindowClassifier:
    rng = np.random.default_rng(seed)
    table = rng.uniform(-0.1, 0.1, (vocab, 50)).astype(np.float32)
    spec = ModelSpec(window_size=5, n_classes=9, hidden=[200], activation="tanh", init="xavier_uniform")
    return WindowClassifier(spec, [FeatureTable("word", table)], rng, np.float32)


def snapshot(model: WindowClassifier) -> list[np.ndarray]:
    """[table, W1, b1, W2, b2] copies."""
    return lecture_arrays(model)


def training_step(repeat: int, vocab: int) -> str:
    rng = np.random.default_rng(2)
    zipf = 1.0 / np.arange(1, vocab + 1)  # word frequencies roughly as in text (Zipf)
    ids = rng.choice(vocab, size=(N, 5), p=zipf / zipf.sum()).astype(np.int64)
    targets = rng.integers(0, 9, N)
    lr = 1e-3

    # Same start, one step each: the loop implementation must give wintrain's parameters.
    model = reference_model(vocab)
    start = snapshot(model)
    optimizer = SparseAdam(model.parameters())
    loss_vectorised, _ = model.loss_and_grads([ids], targets, train=True)
    optimizer.step(lr)
    loop = PerExampleTrainer(*start, lr=lr, update="batch")
    loss_loop = loop.step(ids, targets)
    deviation = max(float(np.max(np.abs(a - b))) for a, b in zip(snapshot(model), loop.parameters))

    model = reference_model(vocab)
    optimizer = SparseAdam(model.parameters())
    loop_batch = PerExampleTrainer(*snapshot(model), lr=lr, update="batch")
    loop_example = PerExampleTrainer(*snapshot(model), lr=lr, update="example")

    def vectorised():
        model.loss_and_grads([ids], targets, train=True)
        optimizer.step(lr)

    functions = {
        "vectorised": vectorised,
        "loop, update per batch": lambda: loop_batch.step(ids, targets),
        "loop, update per example": lambda: loop_example.step(ids, targets),
    }
    samples = interleaved(functions, repeat)
    fast = _common.median(samples["vectorised"])
    labels = {
        "vectorised": "wintrain: loss_and_grads + SparseAdam.step, one batch of 500",
        "loop, update per batch": "per-example loop, 1 lazy-Adam update per batch (same step)",
        "loop, update per example": "per-example loop, 1 lazy-Adam update per example (B = 1)",
    }
    rows = []
    for name, values in samples.items():
        value = _common.median(values)
        rows.append([labels[name], f"{value * 1e6:,.0f}", _common.spread(values, 1e6, 0),
                     f"{value / N * 1e6:,.2f}", "" if name == "vectorised" else f"{value / fast:,.1f}x"])
    lines = [
        f"model: window 5, d = 50, H = 200, tanh, C = 9, {vocab:,}-row table (ids drawn Zipf-like: "
        f"{len(np.unique(ids)):,} distinct rows in the batch), float32",
        f"check: one step from the same start, loop vs wintrain: losses {loss_loop:.6f} / {loss_vectorised:.6f}, "
        f"max |Δθ| = {deviation:.2e}",
        "",
        _common.table(["training step on 500 windows", "median µs", "min–max µs", "µs/window", "vs vectorised"], rows),
    ]
    return "\n".join(lines)


def main() -> int:
    print("benchmarks/vectorization.py — per-example loop vs one matrix product (CS224n lecture 3-4)")
    print(_common.machine_report(ARGS.threads))
    print(_common.section(f"lecture comparison: N = {N} windows, d = {D}, C = {C}; W (C, d), x_i (d, 1), X (d, N)"))
    print(f"timeit, {ARGS.repeat} interleaved rounds, median µs per call")
    print(lecture(ARGS.repeat))
    print(_common.section("full training step of wintrain's model: loop vs vectorised (B = 500)"))
    print(training_step(ARGS.repeat, ARGS.vocab))
    return 0


if __name__ == "__main__":
    sys.exit(main())
