"""Search spaces and the trials they propose: a grid, random search, or TPE (Optuna).

A space maps config keys to distributions, written as on the command line::

    --space optimizer.lr='loguniform(1e-4,1e-2)' --space model.hidden='choice([100],[200,100])'
    --space model.dropout='uniform(0,0.5)'       --space train.batch_size='int(32,512)'

``loguniform(a, b)`` (0 < a < b): log x uniform between log a and log b; ``uniform(a, b)``
(a < b); ``int(a, b)``: an integer from a to b, both included; ``choice(v1, v2, ...)``: one of
the values, each read as YAML (so lists work).  Floats are rounded to 4 significant digits,
so tables stay readable and a trial's overrides are exactly what it ran with.

A *proposer* hands out trials: :class:`FixedTrials` (a grid, or a random search: every trial
drawn up front from the seed, so ``--jobs`` never changes them) or :class:`TPETrials`, which
asks an Optuna study (Tree-structured Parzen Estimator) for the next settings given the results
so far.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from wintrain.config import Config, parse_override
from wintrain.errors import WintrainError
from wintrain.sweep.trials import check_trials

_DISTRIBUTION = re.compile(r"^\s*(loguniform|uniform|int|choice)\s*\((.*)\)\s*$", re.S)
KINDS = ("loguniform", "uniform", "int", "choice")
MAX_DRAWS = 100  # attempts to find a setting not drawn before


def split_values(raw: str) -> list[str]:
    """Split ``V1,V2,…`` at the commas outside brackets and quotes: ``[50],[20,10]`` → ["[50]", "[20,10]"]."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in raw:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts]


def parse_grid(specs: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """``["loss.l2=0,1e-5", "model.activation=tanh,relu"]`` → [(key, [values…]), …] (values as YAML)."""
    axes = []
    for spec in specs:
        key, sep, raw = spec.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise WintrainError(f"--grid {spec!r}: expected KEY=V1,V2,..., e.g. --grid loss.l2=0,1e-5,1e-4")
        values = [parse_override(f"{key}={part}")[1] for part in split_values(raw)]
        axes.append((key.strip(), values))
    return axes


def grid(axes: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """The cartesian product of the axes, as override mappings in a stable order."""
    keys = [key for key, _ in axes]
    return [dict(zip(keys, combination)) for combination in itertools.product(*(values for _, values in axes))]


@dataclass(frozen=True)
class Distribution:
    """One key's distribution: ``kind`` is loguniform, uniform, int or choice; ``low``/``high``
    bound the numeric kinds, ``choices`` lists the values of ``choice``."""

    key: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple[Any, ...] = ()

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn from the distribution."""
        if self.kind == "choice":
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.kind == "int":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.kind == "loguniform":
            return round_float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return round_float(rng.uniform(self.low, self.high))

    @property
    def size(self) -> float:
        """How many distinct values it has (infinite for the continuous kinds)."""
        if self.kind == "choice":
            return len(self.choices)
        return self.high - self.low + 1 if self.kind == "int" else math.inf


def round_float(value: float) -> float:
    """``value`` to 4 significant digits."""
    return float(f"{value:.4g}")


def parse_space(specs: Sequence[str]) -> list[Distribution]:
    """``["optimizer.lr=loguniform(1e-4,1e-2)", ...]`` → distributions; a bad one is a one-line error."""
    space, seen = [], set()
    for spec in specs:
        key, sep, text = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise WintrainError(
                f"--space {spec!r}: expected KEY=DIST, e.g. --space optimizer.lr='loguniform(1e-4,1e-2)'"
            )
        if key in seen:
            raise WintrainError(f"--space {spec!r}: {key} has a distribution already")
        seen.add(key)
        space.append(parse_distribution(key, text, spec))
    if not space:
        raise WintrainError("--search needs at least one --space KEY=DIST")
    return space


def parse_distribution(key: str, text: str, spec: str) -> Distribution:
    """One ``DIST`` of a ``--space`` (see the module docstring)."""
    match = _DISTRIBUTION.match(text)
    if match is None:
        raise WintrainError(f"--space {spec!r}: expected one of {', '.join(f'{k}(...)' for k in KINDS)}")
    kind, arguments = match.group(1), match.group(2)
    parts = split_values(arguments) if arguments.strip() else []
    if kind == "choice":
        if not parts:
            raise WintrainError(f"--space {spec!r}: choice() needs at least one value")
        return Distribution(key, kind, choices=tuple(parse_override(f"{key}={part}")[1] for part in parts))
    numbers = [parse_override(f"{key}={part}")[1] for part in parts]
    if len(numbers) != 2 or not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
        raise WintrainError(f"--space {spec!r}: {kind}(a,b) needs two numbers")
    low, high = float(numbers[0]), float(numbers[1])
    if kind == "loguniform" and not 0 < low < high:
        raise WintrainError(f"--space {spec!r}: loguniform(a,b) needs 0 < a < b (a log scale has no 0)")
    if kind == "uniform" and not low < high:
        raise WintrainError(f"--space {spec!r}: uniform(a,b) needs a < b")
    if kind == "int" and (low != int(low) or high != int(high) or low > high):
        raise WintrainError(f"--space {spec!r}: int(a,b) needs whole numbers a ≤ b")
    return Distribution(key, kind, low, high)


def examples(space: Sequence[Distribution]) -> list[dict[str, Any]]:
    """A trial per key setting it to a value of its distribution (to check keys before any trial runs)."""
    rng = np.random.default_rng(0)
    return [{d.key: d.sample(rng) for d in space}]


class Proposer(Protocol):
    """Hands out a sweep's trials: ``total`` of them in all."""

    total: int

    def propose(self, count: int, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Up to ``count`` new trials (overrides), given the records finished so far; [] when done."""
        ...

    def tell(self, overrides: dict[str, Any], record: dict[str, Any]) -> None:
        """Learn the result of a trial this proposer handed out (or found finished on resume)."""
        ...


class FixedTrials:
    """A list of trials known in advance (a grid, or a random search's draws), handed out in order."""

    def __init__(self, trials: list[dict[str, Any]]) -> None:
        self.trials = trials
        self.total = len(trials)
        self.next = 0

    def propose(self, count: int, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        batch = self.trials[self.next:self.next + count]
        self.next += len(batch)
        return batch

    def tell(self, overrides: dict[str, Any], record: dict[str, Any]) -> None:
        pass


def random_trials(space: Sequence[Distribution], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` distinct settings drawn from ``space`` with ``numpy.random.default_rng(seed)``, in order.

    Raises:
        WintrainError: the space has fewer than ``count`` distinct settings.
    """
    distinct = math.prod(d.size for d in space)
    if distinct < count:
        raise WintrainError(
            f"--trials {count}: the space has only {int(distinct)} distinct settings; ask for at most that many "
            "or use --grid"
        )
    rng = np.random.default_rng(seed)
    trials: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(trials) < count:
        for _ in range(MAX_DRAWS):
            trial = {d.key: d.sample(rng) for d in space}
            if repr(trial) not in seen:
                break
        else:
            raise WintrainError(f"--trials {count}: found only {len(trials)} distinct settings in {MAX_DRAWS} draws; "
                                "widen the space or ask for fewer trials")
        seen.add(repr(trial))
        trials.append(trial)
    return trials


class TPETrials:
    """Trials proposed by Optuna's TPE sampler; the study learns every finished trial's per-epoch
    dev scores, so its MedianPruner and sampler see pruned trials too."""

    def __init__(self, space: Sequence[Distribution], count: int, seed: int) -> None:
        try:
            import optuna
        except ImportError:
            raise WintrainError('--search tpe needs Optuna: pip install "wintrain[search]"') from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.space = list(space)
        self.total = count
        self.distributions = {d.key: self._distribution(d) for d in self.space}
        self.study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
        )
        self.pending: dict[str, Any] = {}
        self.told = 0

    def _distribution(self, d: Distribution) -> Any:
        dists = self.optuna.distributions
        if d.kind == "choice":
            return dists.CategoricalDistribution(list(range(len(d.choices))))  # indices: values may be lists
        if d.kind == "int":
            return dists.IntDistribution(int(d.low), int(d.high))
        return dists.FloatDistribution(d.low, d.high, log=d.kind == "loguniform")

    def _overrides(self, params: dict[str, Any]) -> dict[str, Any]:
        values = {}
        for d in self.space:
            value = params[d.key]
            values[d.key] = d.choices[value] if d.kind == "choice" else (
                int(value) if d.kind == "int" else round_float(value))
        return values

    def _params(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return {d.key: d.choices.index(overrides[d.key]) if d.kind == "choice" else overrides[d.key]
                for d in self.space}

    def propose(self, count: int, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        while len(batch) < count and self.told + len(self.pending) < self.total:
            trial = self.study.ask(self.distributions)
            overrides = self._overrides(trial.params)
            self.pending[repr(overrides)] = trial
            batch.append(overrides)
        return batch

    def tell(self, overrides: dict[str, Any], record: dict[str, Any]) -> None:
        """Report a finished trial: its per-epoch dev scores and its state (complete, pruned, failed)."""
        State = self.optuna.trial.TrialState
        scores = {int(row["epoch"]): row["dev_score"] for row in record.get("epochs") or []
                  if row.get("dev_score") is not None}
        if record.get("error") or record.get("diverged") or record.get("dev_score") is None:
            state, value = State.FAIL, None
        elif record.get("pruned"):
            state, value = State.PRUNED, None
        else:
            state, value = State.COMPLETE, float(record["dev_score"])
        trial = self.pending.pop(repr(overrides), None)
        self.told += 1
        if trial is None:  # a trial finished in an earlier run of this sweep
            self.study.add_trial(self.optuna.trial.create_trial(
                params=self._params(overrides), distributions=self.distributions, value=value,
                intermediate_values=scores, state=state))
            return
        for epoch, score in scores.items():
            trial.report(score, epoch)
        self.study.tell(trial, value if state == State.COMPLETE else None, state=state)


def sweep_plan(
    config: Config, grid_specs: Sequence[str], search: str | None, space_specs: Sequence[str],
    trials: int | None, seed: int,
) -> tuple[list[dict[str, Any]] | Proposer, Any]:
    """What ``wintrain sweep`` runs: the trials of a ``--grid``, or a random / TPE proposer over a
    ``--space``, and a description of the search for the sweep's set-up (None for a grid).
    Every mistake (no or both modes, a bad distribution, an unknown key) is a one-line error
    before any trial runs."""
    if grid_specs and search:
        raise WintrainError("choose --grid or --search, not both")
    if search is None:
        if space_specs or trials is not None:
            raise WintrainError("--space and --trials go with --search random|tpe (a --grid runs every combination)")
        if not grid_specs:
            raise WintrainError("sweep needs --grid KEY=V1,V2 or --search random|tpe with --space KEY=DIST")
        return grid(parse_grid(grid_specs)), None
    if trials is None:
        raise WintrainError(f"--search {search} needs --trials N")
    space = parse_space(space_specs)
    check_trials(config, examples(space))
    # not the number of trials: asking for more later goes on from the trials already run
    description = {"search": search, "space": list(space_specs), "seed": seed}
    if search == "random":
        return random_trials(space, trials, seed), description
    return TPETrials(space, trials, seed), description
