"""Running a sweep: trials in this process, in local worker processes or on a Dask cluster.

:func:`run_sweep` asks a proposer (:mod:`.space`) for trials, keeps ``jobs`` of them running,
appends each finished trial's record to ``out/sweep.jsonl`` and yields events for the caller
to render.  Rerunning the same command resumes: trials already in ``sweep.jsonl`` (same
overrides, same set-up) are not run again, failed ones are.  Each trial uses one BLAS thread,
so results do not depend on where it ran.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wintrain.config import Config
from wintrain.errors import WintrainError
from wintrain.runfolder import FolderLock
from wintrain.sweep.space import FixedTrials, Proposer
from wintrain.sweep.trials import MedianRule, best_trial, check_trials, run_trial

SWEEP_FILE = "sweep.jsonl"


@dataclass(frozen=True)
class SweepStarted:
    total: int
    already_done: int
    out: Path


@dataclass(frozen=True)
class TrialDone:
    index: int
    record: dict[str, Any]
    done: int
    total: int


@dataclass(frozen=True)
class SweepDone:
    records: list[dict[str, Any]]
    best: dict[str, Any] | None


SweepEvent = SweepStarted | TrialDone | SweepDone


def trial_key(overrides: dict[str, Any], setup: str = "") -> str:
    """What identifies a trial in ``sweep.jsonl``: its overrides and its set-up."""
    return json.dumps([overrides, setup], sort_keys=True)


def setup_hash(base: dict[str, Any], epochs: int | None, steps: int | None, search: Any = None) -> str:
    """Identifies what a trial's result depends on besides its overrides (config, length, search)."""
    parts = [base, epochs, steps] if search is None else [base, epochs, steps, search]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a ``sweep.jsonl``, in file order."""
    records: list[dict[str, Any]] = []
    if not path.exists():
        return records
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record["overrides"]  # noqa: B018 - every record has its overrides
        except (ValueError, KeyError, TypeError):
            raise WintrainError(f"{path}:{number}: not a sweep record; move the file away to start afresh") from None
        records.append(record)
    return records


def read_finished(path: Path) -> dict[str, dict[str, Any]]:
    """Records already in sweep.jsonl without an error, by :func:`trial_key` (to skip them on resume)."""
    return {trial_key(r["overrides"], r.get("setup", "")): r for r in read_records(path) if r.get("error") is None}


Submit = Callable[..., Any]


WaitAny = Callable[[set[Any]], set[Any]]


def _executor(jobs: int, scheduler: str | None) -> tuple[Submit | None, WaitAny, Callable[[], Any]]:
    """(submit(fn, *args) -> future, wait_any(futures) -> the finished ones, close()) for the chosen
    executor; submit is None to run trials in this process."""
    if scheduler:
        try:
            from dask.distributed import Client
            from dask.distributed import wait as dask_wait
        except ImportError:
            raise WintrainError('--scheduler needs dask.distributed: pip install "wintrain[distributed]"') from None
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as error:
            raise WintrainError(f"--scheduler {scheduler}: cannot connect ({error})") from None

        def dask_any(futures: set[Any]) -> set[Any]:
            return set(dask_wait(list(futures), return_when="FIRST_COMPLETED").done)

        return (lambda fn, *args: client.submit(fn, *args, pure=False)), dask_any, client.close
    if jobs > 1:
        import multiprocessing

        # fork on Linux: workers start without re-importing (BLAS threads are already fixed at 1);
        # spawn elsewhere, where forking a process with loaded libraries is not safe
        method = "fork" if sys.platform == "linux" else "spawn"
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method))
        return pool.submit, lambda futures: set(wait(futures, return_when=FIRST_COMPLETED).done), \
            lambda: pool.shutdown(cancel_futures=True)
    return None, lambda futures: futures, lambda: None


def run_sweep(
    config: Config,
    trials: list[dict[str, Any]] | Proposer,
    out: Path,
    epochs: int | None = None,
    steps: int | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    fail_fast: bool = False,
    prefer_key: str | None = None,
    prune: bool = False,
    search: Any = None,
) -> Iterator[SweepEvent]:
    """Run every trial not yet in ``out/sweep.jsonl``; yield progress; pick the best.

    ``trials`` is a list of overrides (a grid) or a proposer (random or TPE search; ``search``
    describes it and becomes part of the set-up).  With ``prune`` a trial stops after an epoch
    whose dev score is below the median of earlier trials at that epoch (:class:`MedianRule`).
    ``out`` is locked while the sweep runs (a second sweep on it is refused with one line)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WintrainError(f"{out}: cannot create the sweep folder ({error.strerror})") from None
    lock = FolderLock(out).acquire().announce()
    try:
        proposer = FixedTrials(list(trials)) if isinstance(trials, list) else trials
        yield from _run(config, proposer, out, epochs, steps, jobs, scheduler, fail_fast, prefer_key, prune, search)
    finally:
        lock.release()


def _run(
    config: Config,
    proposer: Proposer,
    out: Path,
    epochs: int | None,
    steps: int | None,
    jobs: int,
    scheduler: str | None,
    fail_fast: bool,
    prefer_key: str | None,
    prune: bool,
    search: Any,
) -> Iterator[SweepEvent]:
    if isinstance(proposer, FixedTrials):
        check_trials(config, proposer.trials)
    log_path = out / SWEEP_FILE
    base, source = config.to_dict(), str(config.source) if config.source else None
    setup = setup_hash(base, epochs, steps, search)
    finished = read_finished(log_path)
    if isinstance(proposer, FixedTrials):  # a grid or random draws: run those not finished yet
        positions = {trial_key(t, setup): i for i, t in enumerate(proposer.trials)}
        done_before = [{**finished[key], "trial": positions[key]} for key in positions if key in finished]
        proposer.trials = [t for t in proposer.trials if trial_key(t, setup) not in finished]
    else:  # an adaptive search learns what earlier runs of it found, and numbers its trials on
        done_before = [r for r in finished.values() if r.get("setup") == setup][:proposer.total]
        positions = {}
    proposed = [len(done_before)]  # the number the next proposed trial gets (adaptive searches)

    def index_of(overrides: dict[str, Any]) -> int:
        key = trial_key(overrides, setup)
        if key in positions:
            return positions[key]
        proposed[0] += 1
        return proposed[0] - 1

    for record in done_before:
        proposer.tell(record["overrides"], record)
    total = len(done_before) + (proposer.total - len(done_before) if not isinstance(proposer, FixedTrials)
                                else len(proposer.trials))
    yield SweepStarted(total, len(done_before), out)
    results: list[dict[str, Any]] = list(done_before)

    def record_done(index: int, overrides: dict[str, Any], record: dict[str, Any]) -> TrialDone:
        record = {"trial": index, "setup": setup, **record}
        results.append(record)
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        proposer.tell(overrides, record)
        return TrialDone(record["trial"], record, len(results), total)

    def rule() -> MedianRule | None:
        return MedianRule.from_records(results) if prune else None

    submit, wait_any, close = _executor(jobs, scheduler)
    try:
        if submit is None:
            while batch := proposer.propose(1, results):
                index = index_of(batch[0])
                event = record_done(index, batch[0], run_trial(base, source, batch[0], epochs, steps, rule()))
                yield event
                if fail_fast and event.record["error"]:
                    break
        else:
            running: dict[Any, tuple[int, dict[str, Any]]] = {}
            stopping = False
            while True:
                if not stopping:
                    for overrides in proposer.propose(jobs - len(running), results):
                        future = submit(run_trial, base, source, overrides, epochs, steps, rule())
                        running[future] = (index_of(overrides), overrides)
                if not running:
                    break
                for future in wait_any(set(running)):
                    index, overrides = running.pop(future)
                    event = record_done(index, overrides, future.result())
                    yield event
                    if fail_fast and event.record["error"]:
                        stopping = True
                if stopping:
                    for other in running:
                        other.cancel()
                    break
    finally:
        close()
    ordered = sorted(results, key=lambda r: r.get("trial", 0))
    yield SweepDone(ordered, best_trial(ordered, prefer_key))


def check_some_trial_ran(done: SweepDone | None) -> None:
    """Raise when every trial of a finished sweep failed with an error (a missing data file, a bad
    setting), as opposed to diverging: one line naming the first trial's error."""
    if done is not None and done.records and all(r["error"] for r in done.records):
        raise WintrainError(f"every trial failed; the first: {done.records[0]['error']}")


def default_jobs() -> int:
    return os.cpu_count() or 1


