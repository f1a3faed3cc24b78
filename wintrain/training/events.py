"""What a training run tells its caller, as it happens.

:func:`wintrain.training.run.run` yields these events; the caller shows them (rich bars,
plain log lines, or nothing) — the loop itself never prints.  :class:`StopRequest` goes the
other way: a signal handler sets it and the loop stops cleanly after the current batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wintrain.config import Config
from wintrain.nn.build import TableCoverage
from wintrain.runfolder import MetricsRow


@dataclass(frozen=True)
class RunStarted:
    run_dir: Path
    config: Config
    train_tokens: int
    dev_tokens: int
    test_tokens: int
    vocab_size: int
    tags: list[str]
    parameters: int
    coverage: TableCoverage | None  # None when resuming (vectors come from the checkpoint)
    epochs: int
    steps_per_epoch: int
    load_seconds: float
    resumed_at: tuple[int, int] | None = None  # (epoch, step) a resumed run continues after


@dataclass(frozen=True)
class EpochStarted:
    epoch: int  # 1-based
    epochs: int
    steps: int
    lr: float
    first_step: int = 0  # > 0 when a resumed run continues inside this epoch


@dataclass(frozen=True)
class StepDone:
    epoch: int
    step: int  # steps done in this epoch
    steps: int
    loss: float  # running mean of J over the epoch so far
    lr: float
    tokens_per_second: float


@dataclass(frozen=True)
class EpochDone:
    record: MetricsRow  # the metrics.jsonl row
    is_best: bool
    advice: list[str] = field(default_factory=list)  # the diagnostics' new advice lines


@dataclass(frozen=True)
class RunDone:
    run_dir: Path
    summary: dict[str, Any]


@dataclass(frozen=True)
class RunInterrupted:
    run_dir: Path
    signal: int
    epoch: int
    step: int


Event = RunStarted | EpochStarted | StepDone | EpochDone | RunDone | RunInterrupted


class StopRequest:
    """Set by a signal handler (``signal.signal(SIGINT, stop)``); the loop finishes the current
    batch, writes ``last.npz`` and yields :class:`RunInterrupted`."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, frame: Any = None) -> None:
        self.signal = signum

    @property
    def requested(self) -> bool:
        return self.signal is not None
