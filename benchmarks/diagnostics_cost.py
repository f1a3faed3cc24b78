"""What the per-epoch diagnostics cost (issue 23): the same run with ``train.diagnostics`` on and off.

    python benchmarks/diagnostics_cost.py [--epochs 4] [--configs quickstart,conll2003] [--threads 1]

For each config, two runs of the same seed -- diagnostics on, diagnostics off -- are stepped side by side,
one epoch of each in turn (the order rotating every round), so the load of a shared machine falls on both.
An epoch's wall time is from the start of its training to its ``EpochDone`` event: training, dev scoring,
the diagnostics and the checkpoints.  Two measures of the cost:

* direct: the seconds spent inside the diagnostics (the probes around 8 optimizer steps, the layer
  statistics and the training score at the end of the epoch), timed by wrapping the methods of
  :class:`wintrain.training.diagnostics.Diagnostics`, as a share of the epoch with diagnostics off;
* difference: median epoch with diagnostics on over median epoch with them off, minus one (noisy at
  the level of a few percent on a busy machine; the direct share is the one the target is read from).

The first epoch of each run is a warm-up and not counted.  ``conll2003`` needs ``../shared`` (skipped
without it).  Target: the diagnostics cost ≤ 3 % of an epoch on both configs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import _common

CONFIGS = {"quickstart": _common.ROOT / "configs" / "quickstart.yaml",
           "conll2003": _common.ROOT / "configs" / "conll2003.yaml"}
CONLL = _common.SHARED / "data" / "conll2003"
DATA = {"conll2003": [*(f"data.{split}={CONLL / f'{split}.txt'}" for split in ("train", "dev", "test")),
                      f"embeddings.path={_common.SHARED / 'data' / 'glove' / 'glove.6B.50d.conll2003.txt'}"]}
TARGET = 0.03


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run, the first one a warm-up")
    parser.add_argument("--configs", default="quickstart,conll2003")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    _common.set_threads(args.threads)
    print(_common.machine_report(args.threads, ["method:    diagnostics on and off stepped epoch by epoch in a "
                                                "rotating order; medians over the epochs after the first"]))
    verdicts = []
    for name in args.configs.split(","):
        if name == "conll2003" and not (_common.SHARED / "data" / "conll2003").exists():
            print(f"{name}: ../shared/data/conll2003 is absent; skipped")
            continue
        share = measure(name, args.epochs)
        verdicts.append([f"diagnostics ≤ 3 % of an epoch, {name}", f"{100 * share:.2f} %",
                         _common.verdict(share <= TARGET)])
    print(_common.section("targets"))
    print(_common.table(["target", "measured (direct)", "verdict"], verdicts))


def measure(name: str, epochs: int) -> float:
    from wintrain.config import load_config
    from wintrain.training import diagnostics
    from wintrain.training.events import EpochDone
    from wintrain.training.run import run

    spent = [0.0]

    def timed(method):  # noqa: ANN001, ANN202 (a wrapper of any Diagnostics method)
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started
        return wrapper

    for method in ("before_update", "after_update", "layers", "measure"):
        setattr(diagnostics.Diagnostics, method, timed(getattr(diagnostics.Diagnostics, method)))
    with tempfile.TemporaryDirectory(prefix="wintrain-diagnostics-") as folder:
        runs = {}
        for switch in ("on", "off"):
            overrides = [f"train.epochs={epochs}", f"train.diagnostics={str(switch == 'on').lower()}",
                         "train.patience=null", *DATA.get(name, [])]
            config = load_config(CONFIGS[name], overrides)
            runs[switch] = run(config, Path(folder) / switch)
        seconds: dict[str, list[float]] = {"on": [], "off": []}
        inside: list[float] = []
        for epoch in range(epochs):
            order = ["on", "off"] if epoch % 2 == 0 else ["off", "on"]
            for switch in order:
                spent[0] = 0.0
                started = time.perf_counter()
                for event in runs[switch]:
                    if isinstance(event, EpochDone):
                        break
                if epoch > 0:
                    seconds[switch].append(time.perf_counter() - started)
                    if switch == "on":
                        inside.append(spent[0])
        for generator in runs.values():
            for _ in generator:  # the end of each run: summary, locks released
                pass
    on, off, direct = _common.median(seconds["on"]), _common.median(seconds["off"]), _common.median(inside)
    print(_common.section(f"{name}: {epochs - 1} epochs counted"))
    print(_common.table(["diagnostics", "median epoch s", "min–max s", "inside the diagnostics s"], [
        ["on", f"{on:.2f}", _common.spread(seconds["on"], digits=2), f"{direct:.3f}"],
        ["off", f"{off:.2f}", _common.spread(seconds["off"], digits=2), "—"]]))
    print(f"cost: direct {100 * direct / off:.2f} % of an epoch without diagnostics; "
          f"difference of medians {100 * (on / off - 1):+.2f} %")
    return direct / off


if __name__ == "__main__":
    sys.exit(main())
