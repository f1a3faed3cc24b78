"""Training speed of the reference CoNLL-2003 window model: epoch time, tokens/s, GEMM floor.

    python benchmarks/train_speed.py [--threads 1] [--epochs 3] [--batch-sizes 64,256,1024]
                                     [--per-example] [--vs-torch] [--no-features] [--end-to-end]

The reference model: window 5, d = 50 (GloVe 6B), H = 200, tanh, fine-tuned embeddings, no
casing feature, sparse_adam lr 1e-3, built through wintrain's own API
(``load_config`` → ``prepare`` → ``Trainer.train_epoch``) on CoNLL-2003 train.

For each batch size it reports

* wintrain's epoch time (median of ``--epochs`` epochs after ``--warmup`` warm-up epochs) and
  tokens/s;
* the achieved GFLOP/s of the model's matrix products (FLOPs per token from
  ``wintrain.nn.graph.describe``) and the *GEMM-only floor*: the six float32 matrix products
  of one step (x·W1, h·W2, dW2 = hᵀ·dz, dh = dz·W2ᵀ, dW1 = xᵀ·dh, dx = dh·W1ᵀ) timed in a
  tight loop, × the steps of an epoch;
* with ``--per-example``: a per-example Python-loop implementation of the same step
  (wintrain/nn/per_example.py; forward/backward per example, ONE lazy-Adam update per batch;
  also shown: an update after every example) timed on a subset and extrapolated to an epoch;
* with ``--vs-torch``: the same model in PyTorch (CPU, float32, same initial weights, same
  shuffled order, same batch size and thread count) in three variants — dense
  nn.Embedding + Adam; + Adam(fused=True); nn.Embedding(sparse=True) + SparseAdam for the
  table and Adam for the rest;
* at batch 256 (unless ``--no-features``): the same wintrain model with character features
  (``features.chars`` dim 25, 50 filters, width 3 — the defaults) and with the sentence-level
  loss (``loss.name=sll``; its batches are whole sentences of about 256 tokens), as ratios to
  the plain model's epoch;
* with ``--end-to-end``: after the rounds, ``wintrain train configs/conll2003.yaml`` on
  CoNLL-2003 (train, dev and test from ``--conll``, vectors from ``--vectors``) in a
  subprocess, its wall time against 60 epochs of the best PyTorch variant at batch 256.

All variants are interleaved epoch by epoch (round r runs one epoch of every variant at
every batch size, in a rotating order), so the noise of a shared machine hits all of them.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import _common

DEFAULT_CONLL = _common.SHARED / "data" / "conll2003"
DEFAULT_VECTORS = _common.SHARED / "data" / "glove" / "glove.6B.50d.conll2003.txt"
TORCH_INSTALL = "pip install torch==2.13.0"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP/torch threads for every variant (default 1)")
    parser.add_argument("--batch-sizes", default="64,256,1024", help="comma-separated (default 64,256,1024)")
    parser.add_argument("--epochs", type=int, default=3, help="measured epochs per variant (median; default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up epochs per variant, not counted (default 1)")
    parser.add_argument("--config", type=Path, default=_common.ROOT / "configs" / "conll2003_reference.yaml")
    parser.add_argument("--conll", type=Path, default=DEFAULT_CONLL,
                        help="folder with CoNLL-2003 train.txt (and dev.txt, test.txt for --end-to-end)")
    parser.add_argument("--vectors", type=Path, default=DEFAULT_VECTORS, help="GloVe 50-d text file")
    parser.add_argument("--per-example", action="store_true", help="also time a per-example Python loop")
    parser.add_argument("--per-example-windows", type=int, default=2048,
                        help="windows per per-example timing sample (default 2048)")
    parser.add_argument("--vs-torch", action="store_true", help="also train the same model in PyTorch")
    parser.add_argument("--no-features", action="store_true",
                        help="skip the character-feature and sentence-level-loss variants at batch 256")
    parser.add_argument("--end-to-end", action="store_true",
                        help="also time `wintrain train configs/conll2003.yaml` end to end (about 1.5 min)")
    args = parser.parse_args()
    args.train = args.conll / "train.txt"
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    if args.epochs < 1 or args.warmup < 0 or args.threads < 1 or not args.batch_sizes:
        parser.error("need --epochs ≥ 1, --warmup ≥ 0, --threads ≥ 1 and at least one batch size")
    return args


ARGS = parse_args()
_common.set_threads(ARGS.threads)

import numpy as np  # noqa: E402  (after the thread variables are set)

from wintrain.config import load_config  # noqa: E402
from wintrain.errors import WintrainError  # noqa: E402
from wintrain.nn.graph import describe  # noqa: E402
from wintrain.nn.per_example import PerExampleTrainer, lecture_arrays  # noqa: E402
from wintrain.training.trainer import Prepared, Trainer, prepare  # noqa: E402


def log(message: str) -> None:
    """Progress goes to stderr, so stdout is only the report."""
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- wintrain
def overrides(batch_size: int) -> list[str]:
    """The reference model, spelled out (so a changed config file cannot change the benchmark)."""
    return [
        f"data.train={ARGS.train.resolve()}", "data.dev=null", "data.test=null",
        f"embeddings.path={ARGS.vectors.resolve()}", "embeddings.dim=50", "embeddings.trainable=true",
        "embeddings.extend_vocab=false", "embeddings.dense_updates=false",
        "features.casing=false", "model.window_size=5", "model.hidden=[200]", "model.activation=tanh",
        "model.dropout=0.0", "loss.l2=0.0", "optimizer.name=sparse_adam", "optimizer.lr=0.001",
        "schedule.name=constant", "train.shuffle=true", f"train.batch_size={batch_size}",
    ]


FEATURES = {
    "wintrain + chars": ["features.chars={dim: 25, filters: 50, width: 3, max_length: 20}"],
    "wintrain + sll": ["loss.name=sll"],
}


class WintrainVariant:
    name = "wintrain (NumPy, sparse_adam)"

    def __init__(self, prepared: Prepared, name: str | None = None) -> None:
        self.trainer = Trainer(prepared)
        self.epoch_number = 0
        if name is not None:
            self.name = name

    def epoch(self) -> tuple[float, float]:
        """Run one epoch; (seconds, mean training loss)."""
        self.epoch_number += 1
        started = time.perf_counter()
        last = None
        for event in self.trainer.train_epoch(self.epoch_number, progress_every=10**9):
            last = event
        seconds = time.perf_counter() - started
        self.close_epoch()
        return seconds, last.loss

    def close_epoch(self) -> None:
        """What wintrain's run loop does between epochs (Run.finish_epoch): mark the epoch done
        and reset the per-epoch counters, so that the next train_epoch starts at step 0."""
        self.trainer.state.end_epoch(self.epoch_number)


def initial_arrays(prepared: Prepared) -> list[np.ndarray]:
    """[table, W1, b1, W2, b2] of the freshly built model (copies)."""
    model = prepared.model
    return lecture_arrays(model)


def shuffle_rng(prepared: Prepared) -> np.random.Generator:
    """A copy of wintrain's shuffle generator (taken before any epoch): the same permutations."""
    return copy.deepcopy(prepared.shuffle_rng)


# ----------------------------------------------------------------------------- GEMM floor
class GemmStep:
    """The six float32 matrix products of one training step, with preallocated outputs."""

    def __init__(self, batch: int, n_in: int, hidden: int, classes: int) -> None:
        rng = np.random.default_rng(0)
        f32 = np.float32

        def r(*shape):
            return rng.standard_normal(shape).astype(f32)

        self.x, self.w1, self.h, self.w2 = r(batch, n_in), r(n_in, hidden), r(batch, hidden), r(hidden, classes)
        self.dz, self.dh = r(batch, classes), r(batch, hidden)
        self.a, self.z = np.empty((batch, hidden), f32), np.empty((batch, classes), f32)
        self.g_w2, self.dh_out = np.empty((hidden, classes), f32), np.empty((batch, hidden), f32)
        self.g_w1, self.dx = np.empty((n_in, hidden), f32), np.empty((batch, n_in), f32)
        self.count = 1
        self.calibrate()

    def run(self, count: int) -> None:
        mm = np.matmul
        x, w1, h, w2, dz, dh = self.x, self.w1, self.h, self.w2, self.dz, self.dh
        for _ in range(count):
            mm(x, w1, out=self.a)          # forward: x (B, 250) @ W1 (250, 200)
            mm(h, w2, out=self.z)          # forward: h (B, 200) @ W2 (200, 9)
            mm(h.T, dz, out=self.g_w2)     # dW2 = hᵀ dz
            mm(dz, w2.T, out=self.dh_out)  # dh = dz W2ᵀ
            mm(x.T, dh, out=self.g_w1)     # dW1 = xᵀ dh
            mm(dh, w1.T, out=self.dx)      # dx = dh W1ᵀ

    def calibrate(self, target: float = 0.05) -> None:
        count = 1
        while True:
            started = time.perf_counter()
            self.run(count)
            elapsed = time.perf_counter() - started
            if elapsed >= target / 4:
                self.count = max(1, int(count * target / elapsed))
                return
            count *= 4

    def samples(self, n: int = 5) -> list[float]:
        """``n`` samples of seconds per step."""
        out = []
        for _ in range(n):
            started = time.perf_counter()
            self.run(self.count)
            out.append((time.perf_counter() - started) / self.count)
        return out


# ----------------------------------------------------------------------------- per-example loop
class PerExampleProbe:
    """Times the per-example loop on a subset; extrapolates seconds per epoch."""

    def __init__(self, prepared: Prepared, start: list[np.ndarray], batch: int, windows: int, update: str) -> None:
        data = prepared.datasets["train"]
        self.ids, self.targets = data.features[0], data.targets
        self.order = np.random.default_rng(3).permutation(len(data))
        self.batch = batch
        self.batches = max(1, windows // batch)
        self.position = 0
        self.trainer = PerExampleTrainer(*start, lr=prepared.config.optimizer.lr, update=update)

    def seconds_per_window(self) -> float:
        """Train ``self.batches`` batches of the shuffled data; seconds per window."""
        elapsed, windows = 0.0, 0
        for _ in range(self.batches):
            if self.position + self.batch > len(self.order):
                self.position = 0
            index = self.order[self.position:self.position + self.batch]
            self.position += self.batch
            ids, targets = self.ids[index], self.targets[index]
            started = time.perf_counter()
            self.trainer.step(ids, targets)
            elapsed += time.perf_counter() - started
            windows += len(index)
        return elapsed / windows


# ----------------------------------------------------------------------------- PyTorch
def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(ARGS.threads)
    try:
        torch.set_num_interop_threads(ARGS.threads)
    except RuntimeError:
        pass
    return torch


def fused_adam_status(torch) -> str | None:
    """None when Adam(fused=True) works on CPU tensors, else the reason."""
    try:
        param = torch.nn.Parameter(torch.zeros(4))
        optimizer = torch.optim.Adam([param], lr=1e-3, fused=True)
        param.grad = torch.ones(4)
        optimizer.step()
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


class TorchVariant:
    """The reference model in PyTorch, one of three optimizer set-ups."""

    LABELS = {
        "adam": "torch: Embedding + Adam",
        "fused": "torch: Embedding + Adam(fused=True)",
        "sparse": "torch: Embedding(sparse) + SparseAdam/Adam",
    }

    def __init__(self, torch, kind: str, prepared: Prepared, start: list[np.ndarray]) -> None:
        nn = torch.nn
        self.torch, self.kind, self.name = torch, kind, self.LABELS[kind]
        table, w1, b1, w2, b2 = start
        data = prepared.datasets["train"]
        self.ids = torch.from_numpy(data.features[0].astype(np.int64))
        self.targets = torch.from_numpy(data.targets.astype(np.int64))
        self.batch = prepared.config.train.batch_size
        self.rng = shuffle_rng(prepared)
        lr = prepared.config.optimizer.lr

        self.embed = nn.Embedding(table.shape[0], table.shape[1], sparse=(kind == "sparse"))
        self.hidden = nn.Linear(w1.shape[0], w1.shape[1])
        self.output = nn.Linear(w2.shape[0], w2.shape[1])
        with torch.no_grad():
            self.embed.weight.copy_(torch.from_numpy(table))
            self.hidden.weight.copy_(torch.from_numpy(np.ascontiguousarray(w1.T)))
            self.hidden.bias.copy_(torch.from_numpy(b1))
            self.output.weight.copy_(torch.from_numpy(np.ascontiguousarray(w2.T)))
            self.output.bias.copy_(torch.from_numpy(b2))
        dense = [*self.hidden.parameters(), *self.output.parameters()]
        if kind == "adam":
            self.optimizers = [torch.optim.Adam([self.embed.weight, *dense], lr=lr)]
        elif kind == "fused":
            self.optimizers = [torch.optim.Adam([self.embed.weight, *dense], lr=lr, fused=True)]
        else:
            self.optimizers = [torch.optim.SparseAdam([self.embed.weight], lr=lr), torch.optim.Adam(dense, lr=lr)]

    def epoch(self) -> tuple[float, float]:
        torch = self.torch
        F = torch.nn.functional
        embed, hidden, output, optimizers = self.embed, self.hidden, self.output, self.optimizers
        n = len(self.targets)
        steps = math.ceil(n / self.batch)
        started = time.perf_counter()
        order = torch.from_numpy(self.rng.permutation(n))
        total = 0.0
        for step in range(steps):
            index = order[step * self.batch:(step + 1) * self.batch]
            ids, targets = self.ids[index], self.targets[index]
            x = embed(ids).reshape(ids.shape[0], -1)
            loss = F.cross_entropy(output(torch.tanh(hidden(x))), targets)
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
            total += loss.item() * len(index)
        return time.perf_counter() - started, total / n


# ----------------------------------------------------------------------------- main
def check_inputs() -> None:
    needed = [ARGS.train, ARGS.vectors, ARGS.config]
    if ARGS.end_to_end:
        needed += [ARGS.conll / "dev.txt", ARGS.conll / "test.txt", END_TO_END_CONFIG]
    missing = [path for path in needed if not path.is_file()]
    if missing:
        names = ", ".join(str(path) for path in missing)
        sys.exit(f"train_speed.py: missing input file(s): {names}\n"
                 "This benchmark needs CoNLL-2003 (../shared/data/conll2003/train.txt beside the repository) and "
                 "the GloVe 50-d vectors of its words (../shared/data/glove/glove.6B.50d.conll2003.txt); "
                 "give other locations with --conll and --vectors.")


END_TO_END_CONFIG = _common.ROOT / "configs" / "conll2003.yaml"


def end_to_end() -> tuple[float, str]:
    """Wall seconds of ``wintrain train configs/conll2003.yaml`` (a fresh process, run folder in
    a temporary directory) and a one-line summary of its result."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "run"
        command = [sys.executable, "-m", "wintrain", "train", str(END_TO_END_CONFIG),
                   "--set", f"data.train={ARGS.train.resolve()}",
                   "--set", f"data.dev={(ARGS.conll / 'dev.txt').resolve()}",
                   "--set", f"data.test={(ARGS.conll / 'test.txt').resolve()}",
                   "--set", f"embeddings.path={ARGS.vectors.resolve()}", "--out", str(folder)]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode:
            sys.exit(f"train_speed.py: the end-to-end run failed: {(done.stderr or done.stdout).strip()[-500:]}")
        summary = json.loads((folder / "summary.json").read_text())
    dev, test = summary["dev"]["entity"]["f1"], summary["test"]["entity"]["f1"]
    result = (f"{summary['epochs']} epochs (best {summary['best_epoch']}), dev F1 {100 * dev:.2f}, "
              f"test F1 {100 * test:.2f}, training {summary['train_seconds']:.1f} s of the wall time")
    return seconds, result


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.2f}x"


def main() -> int:
    check_inputs()
    torch = None
    torch_note = "PyTorch comparison: not requested (--vs-torch)"
    fused_problem = None
    if ARGS.vs_torch:
        torch = torch_or_none()
        if torch is None:
            torch_note = ("PyTorch comparison: torch is not installed; install it for this comparison only: "
                          f"{TORCH_INSTALL}")
        else:
            fused_problem = fused_adam_status(torch)
            torch_note = (f"torch {torch.__version__}: {torch.get_num_threads()} intra-op / "
                          f"{torch.get_num_interop_threads()} inter-op threads; Adam(fused=True) on CPU: "
                          + ("available" if fused_problem is None else f"UNAVAILABLE ({fused_problem})"))

    print("benchmarks/train_speed.py — wintrain training speed, CoNLL-2003 reference window model")
    print(_common.machine_report(ARGS.threads, [f"torch:     {torch_note}"]))

    # Set-up: one prepared model per batch size (same seed: same initial weights and order).
    setups = {}
    for batch in ARGS.batch_sizes:
        try:
            config = load_config(ARGS.config, overrides(batch))
            started = time.perf_counter()
            prepared = prepare(config)
            load_seconds = time.perf_counter() - started
        except WintrainError as error:
            sys.exit(f"train_speed.py: wintrain could not set up the reference model: {error}")
        start = initial_arrays(prepared)  # before any training changes them in place
        variants = [WintrainVariant(prepared)]
        if batch == 256 and not ARGS.no_features:
            for label, extra in FEATURES.items():
                variants.append(WintrainVariant(prepare(load_config(ARGS.config, overrides(batch) + extra)), label))
        if torch is not None:
            variants += [TorchVariant(torch, "adam", prepared, start)]
            if fused_problem is None:
                variants += [TorchVariant(torch, "fused", prepared, start)]
            variants += [TorchVariant(torch, "sparse", prepared, start)]
        _, w1, _, w2, _ = start
        (n_in, hidden), classes = w1.shape, w2.shape[1]
        probes = []
        if ARGS.per_example:
            probes.append(PerExampleProbe(prepared, start, batch, ARGS.per_example_windows, "batch"))
        setups[batch] = {
            "prepared": prepared, "variants": variants, "gemm": GemmStep(batch, n_in, hidden, classes),
            "probes": probes, "load_seconds": load_seconds, "shapes": (n_in, hidden, classes),
        }
    first = setups[ARGS.batch_sizes[0]]["prepared"]
    example_probe = None
    if ARGS.per_example:
        example_probe = PerExampleProbe(first, initial_arrays(first), min(ARGS.per_example_windows, 512), 512,
                                        "example")

    nodes = describe(first.model)
    forward_flops = sum(node.forward_flops for node in nodes)
    backward_flops = sum(node.backward_flops for node in nodes)
    flops = forward_flops + backward_flops
    n_tokens = len(first.datasets["train"])
    n_in, hidden, classes = setups[ARGS.batch_sizes[0]]["shapes"]
    print(f"data:      {ARGS.train} ({n_tokens:,} tokens = windows), vectors {ARGS.vectors}; "
          f"vocabulary {len(first.encoder.vocab):,}; "
          f"set-up (prepare) {setups[ARGS.batch_sizes[0]]['load_seconds']:.2f} s")
    print(f"model:     window {first.config.model.window_size}, d = {first.model.features[0].dim}, "
          f"input {n_in}, H = {hidden} tanh, C = {classes}, no casing, fine-tuned embeddings, sparse_adam lr "
          f"{first.config.optimizer.lr:g}; {first.model.count_parameters():,} parameters")
    print(f"FLOPs:     {flops:,} per token = forward {forward_flops:,} + backward {backward_flops:,} "
          "(matrix products only; wintrain.nn.graph.describe)")
    print(f"method:    {ARGS.warmup} warm-up + {ARGS.epochs} measured epochs per variant, interleaved epoch by epoch "
          "(rotating order); medians")

    # The rounds.
    times: dict[tuple[int, str], list[float]] = {}
    losses: dict[tuple[int, str], float] = {}
    gemm: dict[int, list[float]] = {batch: [] for batch in ARGS.batch_sizes}
    per_example: dict[int, list[float]] = {batch: [] for batch in ARGS.batch_sizes}
    per_example_update: list[float] = []
    rounds = ARGS.warmup + ARGS.epochs
    run_started = time.perf_counter()
    for round_index in range(rounds):
        measured = round_index >= ARGS.warmup
        tag = f"round {round_index + 1}/{rounds}" + ("" if measured else " (warm-up)")
        for batch in ARGS.batch_sizes:
            setup = setups[batch]
            variants = setup["variants"]
            shift = round_index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                seconds, loss = variant.epoch()
                log(f"{tag}: batch {batch:5d}  {variant.name:45s} {seconds:7.3f} s  loss {loss:.4f}")
                if measured:
                    times.setdefault((batch, variant.name), []).append(seconds)
                    losses[(batch, variant.name)] = loss
            samples = setup["gemm"].samples()
            for probe in setup["probes"]:
                per_window = probe.seconds_per_window()
                if measured:
                    per_example[batch].append(per_window)
            if measured:
                gemm[batch] += samples
        if example_probe is not None:
            per_window = example_probe.seconds_per_window()
            if measured:
                per_example_update.append(per_window)
    log(f"all rounds: {time.perf_counter() - run_started:.0f} s")
    end_to_end_result = None
    if ARGS.end_to_end:
        log("end to end: wintrain train configs/conll2003.yaml ...")
        end_to_end_result = end_to_end()
        log(f"end to end: {end_to_end_result[0]:.1f} s; {end_to_end_result[1]}")

    wintrain_name = WintrainVariant.name
    median = {key: _common.median(values) for key, values in times.items()}

    # Epoch times.
    print(_common.section("epoch time and tokens/s"))
    rows = []
    best_torch: dict[int, tuple[str, float]] = {}
    for batch in ARGS.batch_sizes:
        steps = math.ceil(n_tokens / batch)
        ours = median[(batch, wintrain_name)]
        for variant in setups[batch]["variants"]:
            key = (batch, variant.name)
            value = median[key]
            if isinstance(variant, TorchVariant) and (batch not in best_torch or value < best_torch[batch][1]):
                best_torch[batch] = (variant.name, value)
            rows.append([str(batch), str(steps), variant.name, f"{value:.3f}", _common.spread(times[key]),
                         f"{n_tokens / value:,.0f}", f"{losses[key]:.4f}",
                         fmt_ratio(ours / value) if isinstance(variant, TorchVariant) else ""])
        if ARGS.vs_torch and torch is not None and fused_problem is not None:
            rows.append([str(batch), str(steps), TorchVariant.LABELS["fused"], "unavailable", "", "", "", ""])
    print(_common.table(["batch", "steps", "variant", "epoch s", "min–max s", "tokens/s", "loss", "wintrain/this"],
                        rows, left=3))
    print("loss = mean training loss of the last measured epoch (the variants train the same model from the same "
          "weights in the same order); wintrain/this < 1 means wintrain is faster")
    if not ARGS.vs_torch:
        print(f"(PyTorch: run with --vs-torch; needs torch, for this comparison only: {TORCH_INSTALL})")
    elif torch is None:
        print(f"(PyTorch: not installed; for this comparison only: {TORCH_INSTALL})")

    # GEMM floor.
    print(_common.section("matrix products: achieved vs GEMM-only floor"))
    rows = []
    floor_ratio: dict[int, float] = {}
    for batch in ARGS.batch_sizes:
        steps = math.ceil(n_tokens / batch)
        step_seconds = _common.median(gemm[batch])
        floor = steps * step_seconds
        ours = median[(batch, wintrain_name)]
        floor_ratio[batch] = ours / floor
        rows.append([str(batch), f"{step_seconds * 1e6:,.1f}", f"{flops * batch / step_seconds / 1e9:.1f}",
                     f"{floor:.3f}", f"{ours:.3f}", f"{flops * n_tokens / ours / 1e9:.1f}", f"{ours / floor:.2f}x"])
    print(_common.table(["batch", "GEMM µs/step", "GEMM GFLOP/s", "floor s/epoch", "wintrain s/epoch",
                         "achieved GFLOP/s", "epoch/floor"], rows))
    print(f"GEMM: the 6 float32 products of one step — x(B,{n_in})·W1({n_in},{hidden}), "
          f"h(B,{hidden})·W2({hidden},{classes}), "
          f"dW2 = hᵀ·dz, dh = dz·W2ᵀ, dW1 = xᵀ·dh, dx = dh·W1ᵀ — in a tight loop with preallocated outputs, "
          "median over all rounds; floor = steps × GEMM time per full-size step")

    # Per-example loop.
    speedup: dict[int, float] = {}
    if ARGS.per_example:
        print(_common.section("per-example Python loop (extrapolated to an epoch)"))
        rows = []
        for batch in ARGS.batch_sizes:
            per_window = _common.median(per_example[batch])
            epoch = per_window * n_tokens
            ours = median[(batch, wintrain_name)]
            speedup[batch] = epoch / ours
            rows.append([f"loop, 1 update per batch of {batch}", f"{per_window * 1e6:.1f}",
                         _common.spread(per_example[batch], 1e6, 1), f"{epoch:,.1f}", f"{ours:.3f}",
                         f"{epoch / ours:,.1f}x"])
        per_window = _common.median(per_example_update)
        epoch = per_window * n_tokens
        reference_batch = 256 if 256 in ARGS.batch_sizes else ARGS.batch_sizes[0]
        reference = median[(reference_batch, wintrain_name)]
        reference_batch = 256 if 256 in ARGS.batch_sizes else ARGS.batch_sizes[0]
        rows.append(["loop, 1 update per example (B = 1)", f"{per_window * 1e6:.1f}",
                     _common.spread(per_example_update, 1e6, 1), f"{epoch:,.1f}",
                     f"{reference:.3f} (B={reference_batch})", f"{epoch / reference:,.1f}x"])
        print(_common.table(["implementation", "µs/window", "min–max µs", "epoch s (extrap.)", "wintrain epoch s",
                             "wintrain speed-up"], rows))
        print(f"loop = wintrain/nn/per_example.py: forward + backward per window with NumPy vector-matrix products; "
              f"{ARGS.per_example_windows} windows per sample (per-example-update row: 512), one sample per round; "
              "'update per batch' is the same computation as wintrain's step (mean gradient, one lazy-Adam update)")

    # Targets.
    print(_common.section("targets"))
    rows = []

    def vs_torch(batch: int, limit: float) -> tuple[str, str, bool | None]:
        if batch not in ARGS.batch_sizes:
            return "not measured", "", None
        if batch not in best_torch:
            return "run with --vs-torch" if not ARGS.vs_torch else "torch missing", "", None
        name, value = best_torch[batch]
        ratio = median[(batch, wintrain_name)] / value
        return f"{ratio:.2f}x ({median[(batch, wintrain_name)]:.3f} s vs {value:.3f} s, {name})", "", ratio <= limit

    measured, _, ok = vs_torch(256, 0.5)
    rows.append(["batch 256 epoch vs best PyTorch variant", "≤ 0.5x", measured, _common.verdict(ok)])
    if 256 in floor_ratio:
        rows.append(["batch 256 epoch vs GEMM-only floor", "≤ 2.0x", f"{floor_ratio[256]:.2f}x",
                     _common.verdict(floor_ratio[256] <= 2.0)])
    else:
        rows.append(["batch 256 epoch vs GEMM-only floor", "≤ 2.0x", "not measured", "n/a"])
    for batch, limit in ((64, 0.4), (1024, 0.8)):
        measured, _, ok = vs_torch(batch, limit)
        rows.append([f"batch {batch} epoch vs best PyTorch variant", f"≤ {limit}x", measured, _common.verdict(ok)])
    for label, limit in (("wintrain + chars", 1.6), ("wintrain + sll", 1.3)):
        key = (256, label)
        if key in median:
            plain = median[(256, wintrain_name)]
            ratio = median[key] / plain
            rows.append([f"batch 256 epoch: {label[len('wintrain + '):]} vs plain model", f"≤ {limit}x",
                         f"{ratio:.2f}x ({median[key]:.3f} s vs {plain:.3f} s)", _common.verdict(ratio <= limit)])
        else:
            rows.append([f"batch 256 epoch: {label[len('wintrain + '):]} vs plain model", f"≤ {limit}x",
                         "not measured (--no-features or no batch 256)", "n/a"])
    if end_to_end_result is None:
        rows.append(["conll2003.yaml end to end vs 60 PyTorch epochs", "≤ 60 epochs", "run with --end-to-end", "n/a"])
    else:
        seconds, result = end_to_end_result
        if 256 in best_torch:
            epochs = seconds / best_torch[256][1]
            rows.append(["conll2003.yaml end to end vs 60 PyTorch epochs", "≤ 60 epochs",
                         f"{seconds:.1f} s = {epochs:.1f} epochs of {best_torch[256][1]:.3f} s",
                         _common.verdict(epochs <= 60)])
        else:
            rows.append(["conll2003.yaml end to end vs 60 PyTorch epochs", "≤ 60 epochs",
                         f"{seconds:.1f} s (run with --vs-torch for the budget)", "n/a"])
    if 256 in speedup:
        rows.append(["batch 256 speed-up over per-example loop", "≥ 100x", f"{speedup[256]:,.1f}x",
                     _common.verdict(speedup[256] >= 100.0)])
    print(_common.table(["target", "target", "measured", "verdict"], rows, left=4))
    if end_to_end_result is not None:
        print(f"end to end: configs/conll2003.yaml — {end_to_end_result[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
