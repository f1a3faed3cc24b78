"""Tagging speed: tokens per second of `wintrain predict` / `eval` on the CoNLL-2003 test text.

Measures, for a checkpoint of the reference model, the time to tag the whole test text
(46,435 tokens) from token lists to tag strings — encoding (vocabulary, casing, windows),
the forward pass in large batches, and the argmax or constrained decoding — after the
checkpoint is loaded.  Each thread count runs in a fresh process (BLAS threads are fixed when
numpy loads).  Target: ≥ 1,000,000 tokens/s.

    python benchmarks/predict_speed.py [--checkpoint runs/x/best.npz] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TEST = SHARED / "data" / "conll2003" / "test.txt"

CHILD = r"""
import json, sys, time
import numpy as np
from wintrain.data.reader import read_conll
from wintrain.evaluation.evaluate import predict_ids
from wintrain.evaluation.tagger import Tagger

checkpoint, data, decode, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tagger = Tagger.load(checkpoint)
corpus = read_conll(data)
sentences = corpus.sentences()
encoder, model = tagger.checkpoint.encoder, tagger.model
scheme = tagger.checkpoint.config.data.scheme
times = {"encode": [], "model": [], "total": []}
for _ in range(7):
    started = time.perf_counter()
    encoded = encoder.encode_sentences(sentences)
    encoded_at = time.perf_counter()
    ids = predict_ids(model, encoder, encoded, corpus.sentence_starts, batch, decode, scheme)
    tags = [encoder.tagset.tags[i] for i in ids.tolist()]
    finished = time.perf_counter()
    times["encode"].append(encoded_at - started)
    times["model"].append(finished - encoded_at)
    times["total"].append(finished - started)
print(json.dumps({k: float(np.median(v[1:])) for k, v in times.items()} | {"tokens": corpus.n_tokens}))
"""


def train_checkpoint(folder: Path) -> Path:
    glove = SHARED / "data" / "glove" / "glove.6B.50d.conll2003.txt"
    conll = SHARED / "data" / "conll2003"
    subprocess.run([sys.executable, "-m", "wintrain", "train", str(REPO / "configs" / "conll2003_reference.yaml"),
                    "--set", f"data.train={conll / 'train.txt'}", "--set", f"data.dev={conll / 'dev.txt'}",
                    "--set", "data.test=null", "--set", f"embeddings.path={glove}", "--set", "train.epochs=2",
                    "--out", str(folder), "--force"], check=True, stdout=subprocess.DEVNULL)
    return folder / "best.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="default: train the reference model for 2 epochs")
    parser.add_argument("--threads", default="1,2", help="BLAS thread counts to measure (default 1,2)")
    parser.add_argument("--batch", type=int, default=8192, help="windows per forward batch (default 8192)")
    args = parser.parse_args()
    if not TEST.exists():
        sys.exit(f"{TEST} not found: this benchmark needs ../shared beside the checkout")
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = args.checkpoint or train_checkpoint(Path(scratch) / "run")
        print(f"tagging {TEST} with {checkpoint}; medians of 6 runs after a warm-up; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'threads':>7}  {'decode':<11}  {'encode ms':>9}  {'model ms':>8}  {'total ms':>8}  {'tokens/s':>10}")
        for threads in args.threads.split(","):
            for decode in ("greedy", "constrained"):
                env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
                child = subprocess.run([sys.executable, "-c", CHILD, str(checkpoint), str(TEST), decode,
                                        str(args.batch)], env=env, capture_output=True, text=True)
                if child.returncode:
                    sys.exit(child.stderr.strip().splitlines()[-1])
                r = json.loads(child.stdout)
                print(f"{threads:>7}  {decode:<11}  {1000 * r['encode']:9.1f}  {1000 * r['model']:8.1f}  "
                      f"{1000 * r['total']:8.1f}  {r['tokens'] / r['total']:10,.0f}")
    print("target: ≥ 1,000,000 tokens/s (greedy)")


if __name__ == "__main__":
    main()
