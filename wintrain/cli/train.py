"""``wintrain train``: train as a config says, or resume a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wintrain.cli import SetOption, app, stdout, use_blas_threads
from wintrain.errors import WintrainError


@app.command()
def train(
    config: Annotated[Path | None, typer.Argument(help="YAML experiment config, e.g. configs/quickstart.yaml.")] = None,
    set_: SetOption = [],  # noqa: B006 - typer reads the default, never mutates it
    out: Annotated[Path | None, typer.Option("--out", help="Run folder (overrides output.dir).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing run folder.")] = False,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the run in this folder.")] = None,
) -> None:
    """Train a window classifier as CONFIG says; writes a run folder with checkpoints and metrics.

    Ctrl-C (or SIGTERM) finishes the current batch, writes last.npz and tells how to resume.

    Examples:
      wintrain train configs/quickstart.yaml --set train.epochs=3
      wintrain train --resume runs/quickstart
    """
    use_blas_threads(1)
    import signal

    from wintrain.config import load_config
    from wintrain.render import render
    from wintrain.training.events import StopRequest
    from wintrain.training.run import resume as resume_run
    from wintrain.training.run import run

    stop = StopRequest()
    if resume is not None:
        if config is not None or set_ or out is not None:
            raise WintrainError("--resume RUN_DIR takes no config, --set or --out: the run folder has its config")
        events = resume_run(resume, stop)
    elif config is None:
        raise WintrainError("train needs a CONFIG file (or --resume RUN_DIR); see wintrain train --help")
    else:
        events = run(load_config(config, set_), out, force, stop)
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = render(events, stdout)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if stop.signal is not None and outcome.get("interrupted"):
        raise typer.Exit(128 + stop.signal)
