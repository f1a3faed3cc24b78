"""Tagging speed through the public API: tokens/s of ``Tagger.tag_tokens`` on the CoNLL-2003 test text.

    python benchmarks/predict_speed.py [--threads 1,2] [--rounds 10] [--warmup 2] [--epochs 2]
                                       [--reference CKPT] [--chars CKPT] [--sll CKPT]
                                       [--shared DIR | --conll DIR --vectors FILE] [--baseline DIR]

What is timed is what a user runs to tag many pre-tokenised sentences once a checkpoint is
loaded: ``tagger = Tagger.load(checkpoint, decode)`` (not timed), then
``tagger.tag_tokens(sentences)`` — the 3,453 sentences of ``test.txt`` (46,435 tokens) as lists
of token strings in, one list of tag strings per sentence out: encoding (vocabulary, casing,
characters, windows), the model's forward pass, decoding and the tag strings.

Models (issue #13), trained here in a temporary folder for ``--epochs`` epochs unless given:

* reference: ``configs/conll2003_reference.yaml`` with ``features.casing=false`` — window 5,
  d = 50 (GloVe 6B), H = 200, tanh;
* chars: the same plus ``features.chars={dim: 25, filters: 50}``;
* sll: the same with ``loss.name=sll`` (learned transitions; Viterbi decoding).

Variants: reference greedy, reference constrained, chars greedy, sll viterbi.

Method.  BLAS threads are fixed when numpy loads, so each thread count (and, with
``--baseline``, each package) is one child process, started once; it loads the taggers and
runs ``--warmup`` uncounted calls of every variant, then waits for orders.  The parent
interleaves sample by sample: round r asks every child, in a rotating order, for one sample of
every variant, with a short pause between samples (an idle OpenBLAS thread spins for a moment
after a product).  So a burst of load from other users hits every child alike.  A sample is
``--repeat`` calls back to back, the last one timed: a stream of calls, as a user tagging many
texts makes, keeps caches and BLAS threads warm (about 10% faster than a call after a pause).
Medians of ``--rounds`` samples.  Afterwards every child times the stages of a call (encode /
scores / decode / tag strings) with its package's own functions, also interleaved.

``--baseline DIR`` adds children that import ``wintrain`` from another checkout (which then also trains the
models, so that both read the checkpoints; e.g.
``git archive HEAD wintrain | tar -x -C /tmp/base``) and checks that both give the same tags.

Targets (issue #13): greedy with the reference model ≥ 1.0 M tokens/s on 2 cores, ≥ 0.3 M with
character features; Viterbi reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

VARIANTS = [  # (name, model, decode)
    ("reference greedy", "reference", "greedy"),
    ("reference constrained", "reference", "constrained"),
    ("chars greedy", "chars", "greedy"),
    ("sll viterbi", "sll", "viterbi"),
]
NAMES = [name for name, _, _ in VARIANTS]
MODEL_SETTINGS = {
    "reference": [],
    "chars": ["features.chars={dim: 25, filters: 50}"],
    "sll": ["loss.name=sll"],
}
COMMON_SETTINGS = [  # spelled out, so that an edited config file cannot change what is measured
    "features.casing=false", "embeddings.dim=50", "model.window_size=5", "model.hidden=[200]",
    "model.activation=tanh", "model.dropout=0.0", "evaluation.decode=auto",
]
STAGES = ["encode", "scores", "decode", "tag_ids", "tag_tokens"]
GREEDY_TARGET = 1_000_000
CHARS_TARGET = 300_000


def log(message: str) -> None:
    """Progress goes to stderr, so stdout is only the report."""
    print(message, file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="BLAS thread counts, one child process each (default 1,2)")
    parser.add_argument("--rounds", type=int, default=10, help="counted calls per variant and child (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="uncounted calls per variant and child (default 2)")
    parser.add_argument("--stage-rounds", type=int, default=3, help="rounds of the stage timing (default 3)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="back-to-back calls per sample, the last one timed (default 2)")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between samples (default 0.1)")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs of the models trained here (default 2)")
    parser.add_argument("--reference", type=Path, help="checkpoint of the reference model (default: train one)")
    parser.add_argument("--chars", type=Path, help="checkpoint of the character-feature model (default: train one)")
    parser.add_argument("--sll", type=Path, help="checkpoint of the sll model (default: train one)")
    parser.add_argument("--shared", type=Path, default=_common.SHARED,
                        help="the shared folder with data/conll2003 and data/glove (default: ../shared)")
    parser.add_argument("--conll", type=Path, help="folder with CoNLL-2003 train.txt, dev.txt, test.txt")
    parser.add_argument("--vectors", type=Path, help="GloVe 50-d file (default: the filtered one in --shared)")
    parser.add_argument("--config", type=Path, default=_common.ROOT / "configs" / "conll2003_reference.yaml")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with (its wintrain is imported)")
    parser.add_argument("--keep", type=Path, help="train the models into this folder and keep them")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is None:
        args.conll = args.conll or args.shared / "data" / "conll2003"
        args.vectors = args.vectors or args.shared / "data" / "glove" / "glove.6B.50d.conll2003.txt"
        args.thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
        if min(args.rounds, args.stage_rounds, args.epochs, args.repeat) < 1 or args.warmup < 0 or args.pause < 0 \
                or not args.thread_counts or min(args.thread_counts) < 1:
            parser.error("need --rounds, --stage-rounds, --epochs, --repeat ≥ 1, --warmup, --pause ≥ 0 and "
                         "thread counts ≥ 1")
    return args


# ----------------------------------------------------------------------------- child process
def child(spec: dict) -> None:
    """One thread count and package: load the taggers, warm up, then answer the parent's orders
    (one JSON line each): ``tag NAME`` times one call, ``stages NAME`` the stages of one call."""
    _common.set_threads(spec["threads"])
    if spec["package"]:
        sys.path.insert(0, spec["package"])
    import numpy as np

    import wintrain
    from wintrain.data.reader import read_conll
    from wintrain.evaluation import decode as decoding
    from wintrain.evaluation import evaluate
    from wintrain.evaluation.tagger import Tagger

    sentences = read_conll(spec["test"]).sentences()
    taggers = {name: Tagger.load(spec["models"][model], decode) for name, model, decode in VARIANTS}
    digests: dict[str, set[str]] = {name: set() for name in NAMES}

    def tag(name: str) -> float:
        started = time.perf_counter()
        tags = taggers[name].tag_tokens(sentences)
        elapsed = time.perf_counter() - started
        digests[name].add(hashlib.sha1("\n".join(" ".join(row) for row in tags).encode()).hexdigest()[:12])
        return elapsed

    # this checkout: evaluate.model_scores; checkouts before the kernels (4942276 and older): evaluate.predict_scores
    score = getattr(evaluate, "model_scores", None) or getattr(evaluate, "predict_scores", None)

    def stages(name: str) -> dict[str, float]:
        tagger = taggers[name]
        encoder, model = tagger.checkpoint.encoder, tagger.model
        batch = tagger.checkpoint.config.train.eval_batch_size
        marks = [time.perf_counter()]
        encoded = encoder.encode_sentences(sentences)
        marks.append(time.perf_counter())
        scores = score(model, encoded.features, batch)
        marks.append(time.perf_counter())
        decode_only(decoding, tagger, scores, encoded.sentence_starts)
        marks.append(time.perf_counter())
        tagger.tag_ids(sentences)
        marks.append(time.perf_counter())
        tagger.tag_tokens(sentences)
        marks.append(time.perf_counter())
        return {key: b - a for key, a, b in zip(STAGES, marks[:-1], marks[1:])}

    for _ in range(spec["warmup"]):
        for name in NAMES:
            tag(name)
    print(json.dumps({"ready": True, "n_tokens": sum(len(s) for s in sentences), "n_sentences": len(sentences),
                      "wintrain": str(Path(wintrain.__file__).parent), "numpy": np.__version__}), flush=True)
    for line in sys.stdin:
        order, _, name = line.strip().partition(" ")
        if order == "tag":  # back to back: the last call is timed as in a stream of calls (warm caches and threads)
            times = [tag(name) for _ in range(spec["repeat"])]
            print(json.dumps({"seconds": times[-1]}), flush=True)
        elif order == "stages":
            print(json.dumps(stages(name)), flush=True)
        else:
            print(json.dumps({"digests": {key: sorted(value) for key, value in digests.items()}}), flush=True)
            return


def decode_only(decoding: Any, tagger: Any, scores: Any, starts: Any) -> Any:
    """The decoding step of ``predict_ids`` alone, on given scores (for the stage table)."""
    from wintrain.evaluation import evaluate

    if hasattr(evaluate, "decode_scores"):  # this checkout: the decoder resolved once by the Tagger
        tags = tagger.checkpoint.encoder.tagset.tags
        return evaluate.decode_scores(tagger.model, scores, starts, tagger.decode, tags, tagger.tag_scheme)
    from wintrain.data.tags import is_chunk_tagset  # the checkouts before the kernels
    from wintrain.nn.sll import SentenceLoss

    loss = tagger.model.loss
    sll = loss.sll if isinstance(loss, SentenceLoss) else None
    decode = tagger.decode
    if decode == "auto":
        decode = "viterbi" if sll is not None else "greedy"
    transitions = sll.transitions.value if sll is not None else None
    initial = sll.initial.value if sll is not None else None
    tags = tagger.checkpoint.encoder.tagset.tags
    if decode == "constrained" and is_chunk_tagset(tags):
        return decoding.constrained_decode(scores, starts, tags, tagger.scheme or "iob2", transitions, initial)
    if decode in ("viterbi", "constrained") and sll is not None:
        return decoding.decode_corpus(scores, starts, transitions, initial)
    return scores.argmax(axis=1)


# ----------------------------------------------------------------------------- parent process
class Child:
    """A running child process and its JSON-lines conversation."""

    def __init__(self, label: str, package: str | None, threads: int, spec: dict) -> None:
        self.label, self.threads = label, threads
        env = dict(os.environ)
        for variable in _common.THREAD_VARIABLES:
            env[variable] = str(threads)
        spec = dict(spec, threads=threads, package=package)
        self.errors = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: warnings cannot block the child
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                        text=True, env=env, cwd=_common.ROOT)
        self.info = self.receive()

    def ask(self, order: str) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(order + "\n")
        self.process.stdin.flush()
        return self.receive()

    def receive(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.errors.seek(0)
            error = self.errors.read()
            sys.exit(f"predict_speed.py: the child for {self.label}, {self.threads} thread(s) failed: "
                     f"{error.strip()[-800:]}")
        return json.loads(line)

    def finish(self) -> dict:
        answer = self.ask("quit")
        self.process.wait()
        self.errors.close()
        return answer


def train_model(kind: str, folder: Path) -> Path:
    """Train one model of issue #13 with the CLI (one BLAS thread, as ``wintrain train`` uses); with
    ``--baseline``, the baseline's CLI trains it, as a newer package still reads an older checkpoint."""
    settings = [f"data.train={(ARGS.conll / 'train.txt').resolve()}", f"data.dev={(ARGS.conll / 'dev.txt').resolve()}",
                "data.test=null", f"embeddings.path={ARGS.vectors.resolve()}", f"train.epochs={ARGS.epochs}",
                *COMMON_SETTINGS, *MODEL_SETTINGS[kind]]
    command = [sys.executable, "-m", "wintrain"]
    if ARGS.baseline is not None:  # the older package trains: its checkpoints are ones both packages read
        command = [sys.executable, "-c", "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
                   "runpy.run_module('wintrain', run_name='__main__', alter_sys=True)", str(ARGS.baseline.resolve())]
    command += ["train", str(ARGS.config), "--out", str(folder / kind), "--force"]
    for setting in settings:
        command += ["--set", setting]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=_common.ROOT)
    if done.returncode:
        sys.exit(f"predict_speed.py: training the {kind} model failed: {(done.stderr or done.stdout).strip()[-500:]}")
    log(f"trained the {kind} model in {time.perf_counter() - started:.1f} s")
    return folder / kind / "best.npz"


def check_inputs() -> None:
    needed = [ARGS.conll / "test.txt", ARGS.config]
    if not (ARGS.reference and ARGS.chars and ARGS.sll):
        needed += [ARGS.conll / "train.txt", ARGS.conll / "dev.txt", ARGS.vectors]
    needed += [path for path in (ARGS.reference, ARGS.chars, ARGS.sll) if path is not None]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        sys.exit(f"predict_speed.py: missing input file(s): {', '.join(missing)}\n"
                 "This benchmark needs CoNLL-2003 (../shared/data/conll2003/{train,dev,test}.txt beside the "
                 "repository) and the GloVe 50-d vectors of its words (../shared/data/glove/"
                 "glove.6B.50d.conll2003.txt); give other locations with --shared, or --conll and --vectors, "
                 "and trained models with --reference, --chars and --sll.")
    if ARGS.baseline is not None and not (ARGS.baseline / "wintrain" / "__init__.py").is_file():
        sys.exit(f"predict_speed.py: --baseline {ARGS.baseline} has no wintrain package")


def measure(models: dict[str, str]) -> tuple[list[Child], dict, dict, dict]:
    """Start the children, run the interleaved rounds; (children, call seconds, stage seconds, digests)."""
    packages: list[tuple[str, str | None]] = [("this checkout", None)]
    if ARGS.baseline is not None:
        packages.append(("baseline", str(ARGS.baseline.resolve())))
    spec = {"test": str((ARGS.conll / "test.txt").resolve()), "models": models, "warmup": ARGS.warmup,
            "repeat": ARGS.repeat}
    children = []
    for label, package in packages:
        for threads in ARGS.thread_counts:
            children.append(Child(label, package, threads, spec))
            log(f"started {label}, {threads} thread(s): {children[-1].info['wintrain']}")
    seconds: dict[tuple[str, int, str], list[float]] = {}
    stages: dict[tuple[str, int, str], dict[str, list[float]]] = {}
    started = time.perf_counter()
    for round_index in range(ARGS.rounds + ARGS.stage_rounds):
        timing_stages = round_index >= ARGS.rounds
        shift = round_index % len(children)
        for offset, name in enumerate(NAMES):
            turn = (shift + offset) % len(children)
            for one in children[turn:] + children[:turn]:
                time.sleep(ARGS.pause)
                key = (one.label, one.threads, name)
                if timing_stages:
                    for stage, value in one.ask(f"stages {name}").items():
                        stages.setdefault(key, {}).setdefault(stage, []).append(value)
                else:
                    seconds.setdefault(key, []).append(one.ask(f"tag {name}")["seconds"])
        if not timing_stages:
            latest = "; ".join(f"{one.label} {one.threads}t "
                               f"{1000 * seconds[(one.label, one.threads, NAMES[0])][-1]:.0f}" for one in children)
            log(f"round {round_index + 1}/{ARGS.rounds} ({time.perf_counter() - started:.0f} s), "
                f"{NAMES[0]} ms: {latest}")
    digests = {(one.label, one.threads): one.finish()["digests"] for one in children}
    return children, seconds, stages, digests


def main() -> int:
    check_inputs()
    print("benchmarks/predict_speed.py — tagging speed of Tagger.tag_tokens, CoNLL-2003 test text (issue #13)")
    print(_common.machine_report(",".join(map(str, ARGS.thread_counts)), [  # the children's thread counts
        f"children:  one process per thread count, with {'='.join(_common.THREAD_VARIABLES)}=N; "
        f"default for a user: all {os.cpu_count()} cores (numpy's OpenBLAS default for `Tagger` in Python, and "
        "`wintrain predict`/`eval`), unless those variables are set"]))

    with tempfile.TemporaryDirectory() as scratch:
        folder = ARGS.keep or Path(scratch)
        models = {kind: str((getattr(ARGS, kind) or train_model(kind, folder)).resolve())
                  for kind in ("reference", "chars", "sll")}
        print(f"data:      {ARGS.conll / 'test.txt'}")
        for kind, path in models.items():
            origin = "given" if getattr(ARGS, kind) else f"trained here, {ARGS.epochs} epochs"
            print(f"model:     {kind:9s} {path} ({origin})")
        children, seconds, stages, digests = measure(models)

    info = children[0].info
    n_tokens = info["n_tokens"]
    configs = [(one.label, one.threads) for one in children]
    print(f"method:    {len(children)} child processes, {ARGS.warmup} warm-up calls of every variant each; then "
          f"{ARGS.rounds} rounds, each one sample of every variant in every child, interleaved sample by sample in a "
          f"rotating order, {ARGS.pause:g} s apart; a sample = {ARGS.repeat} back-to-back calls, the last one timed "
          f"(as in a stream of calls); medians of {ARGS.rounds} samples")
    print(f"text:      {n_tokens:,} tokens in {info['n_sentences']:,} sentences; wintrain imported from "
          + "; ".join(sorted({f"{one.label}: {one.info['wintrain']}" for one in children})))

    speed = {key: n_tokens / _common.median(values) for key, values in seconds.items()}
    print(_common.section("tokens/s of tag_tokens (token lists in, tag strings out)"))
    rows = []
    for name in NAMES:
        for label, threads in configs:
            values = seconds[(label, threads, name)]
            row = [name, label, str(threads), f"{1000 * _common.median(values):.1f}", _common.spread(values, 1000, 1),
                   f"{speed[(label, threads, name)]:,.0f}", f"{n_tokens / min(values):,.0f}"]
            if ARGS.baseline is not None:
                row.append(f"{speed[(label, threads, name)] / speed[('baseline', threads, name)]:.2f}x")
            rows.append(row)
    header = ["variant", "package", "threads", "median ms", "min–max ms", "tokens/s", "fastest call"]
    print(_common.table(header + (["vs baseline"] if ARGS.baseline is not None else []), rows, left=2))
    print("tokens/s = tokens ÷ median call; fastest call = tokens ÷ quickest call (nearest to a quiet machine)"
          + ("; vs baseline = ratio of the medians, same thread count" if ARGS.baseline is not None else ""))

    print(_common.section(f"where the time goes (medians of {ARGS.stage_rounds}, ms)"))
    rows = []
    for name in NAMES:
        for label, threads in configs:
            stage = {key: 1000 * _common.median(values) for key, values in stages[(label, threads, name)].items()}
            rows.append([name, label, str(threads), *(f"{stage[key]:.1f}" for key in STAGES[:4]),
                         f"{stage['tag_tokens'] - stage['tag_ids']:.1f}", f"{stage['tag_tokens']:.1f}"])
    print(_common.table(["variant", "package", "threads", "encode", "scores", "decode", "tag_ids", "tag strings",
                         "tag_tokens"], rows, left=2))
    print("encode = Encoder.encode_sentences; scores = the model's logits as the package computes them; "
          "decode = argmax / constrained / Viterbi on them; tag_ids = the three in one call; "
          "tag strings = tag_tokens − tag_ids (ids → strings, split into sentences)")

    same = all(len({digest for one in digests.values() for digest in one[name]}) == 1 for name in NAMES)
    print(f"tags:      {'identical' if same else 'DIFFERENT'} across calls, thread counts"
          + (" and packages" if ARGS.baseline is not None else "") + " (SHA-1 of every variant's output)")

    print(_common.section("targets"))
    label = "this checkout"

    def best(name: str) -> tuple[float, int]:
        return max((speed[(label, threads, name)], threads) for threads in ARGS.thread_counts)

    def measured(name: str, threads: int, say_threads: bool) -> str:
        fastest = n_tokens / min(seconds[(label, threads, name)])
        where = f"{threads} thread{'s' if threads > 1 else ''}; " if say_threads else ""
        return f"{speed[(label, threads, name)]:,.0f} ({where}fastest call {fastest:,.0f})"

    default_threads = os.cpu_count() or 1
    rows = []
    for name, target, what in (("reference greedy", GREEDY_TARGET, "greedy, reference model"),
                               ("chars greedy", CHARS_TARGET, "greedy, character features")):
        value, threads = best(name)
        rows.append([f"{what}, best thread count", f"≥ {target / 1e6:.1f} M", measured(name, threads, True),
                     _common.verdict(value >= target)])
        if default_threads in ARGS.thread_counts and default_threads != threads:
            value = speed[(label, default_threads, name)]
            rows.append([f"{what}, default ({default_threads} threads)", f"≥ {target / 1e6:.1f} M",
                         measured(name, default_threads, False), _common.verdict(value >= target)])
    for name in ("reference constrained", "sll viterbi"):
        _, threads = best(name)
        rows.append([f"{name} (reported)", "—", measured(name, threads, True), _common.verdict(None)])
    print(_common.table(["target", "target", "measured tokens/s (median call)", "verdict"], rows, left=4))
    print(f"default = what `Tagger` in Python (numpy's OpenBLAS) and `wintrain predict` use: all {default_threads} "
          "cores, unless OPENBLAS_NUM_THREADS / WINTRAIN_THREADS say otherwise; verdicts on the median call")
    return 0


ARGS = parse_args()

if __name__ == "__main__":
    if ARGS.child is not None:
        child(json.loads(ARGS.child))
        sys.exit(0)
    sys.exit(main())
