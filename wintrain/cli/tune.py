"""``wintrain sweep-lr`` and ``wintrain sweep``: choose the learning rate and other settings."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from wintrain.cli import ConfigArg, SetOption, app, stdout, use_blas_threads
from wintrain.errors import WintrainError

JobsOption = Annotated[int, typer.Option("--jobs", help="Local processes for trials (default: number of cores).")]
SchedulerOption = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address for the trials.")]


class LrMode(str, Enum):
    grid = "grid"
    range = "range"


@app.command("sweep-lr")
def sweep_lr(
    config: ConfigArg,
    set_: SetOption = [],  # noqa: B006
    mode: Annotated[LrMode, typer.Option("--mode", help="grid: short runs per rate; range: Smith's LR range test.")]
    = LrMode.grid,
    low: Annotated[float | None, typer.Option("--min", help="Smallest rate (grid 1e-4, range 1e-7).")] = None,
    high: Annotated[float | None, typer.Option("--max", help="Largest rate (grid 1, range 10).")] = None,
    per_decade: Annotated[int, typer.Option("--per-decade", help="Grid points per decade.")] = 1,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs per grid trial.")] = 1,
    steps: Annotated[int | None, typer.Option("--steps", help="Batches per grid trial; range test length (100).")]
    = None,
    jobs: JobsOption = 0,
    scheduler: SchedulerOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for sweep.jsonl (default runs/<config>-sweep-lr).")]
    = None,
    write_config: Annotated[Path | None, typer.Option("--write-config", help="Write the config with the chosen lr.")]
    = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Save the curve as PNG (needs matplotlib).")] = None,
) -> None:
    """Choose the learning rate: a grid of short runs, or Smith's LR range test.

    The grid runs rates 1e-4 … 1, one per decade by default (so the lecture's 0.001 is on it), from the
    same initial weights, and picks the best dev score.

    Examples:
      wintrain sweep-lr configs/conll2003_reference.yaml --jobs 2
      wintrain sweep-lr configs/conll2003_reference.yaml --mode range --plot lr.png
    """
    use_blas_threads(1)
    from wintrain.config import dump_config, load_config, write_config_text
    from wintrain.render import render_range_test, render_sweep
    from wintrain.sweep import chosen_lr, default_jobs, final_losses, lr_grid, lr_trials, range_test, run_sweep

    settings = load_config(config, set_)
    if mode is LrMode.range:
        result = range_test(settings, 1e-7 if low is None else low, 10.0 if high is None else high, steps or 100)
        render_range_test(result, stdout)
        chosen, curve = result.suggestion, (result.rates, result.smoothed)
    else:
        rates = lr_grid(1e-4 if low is None else low, 1.0 if high is None else high, per_decade)
        folder = out or Path("runs") / f"{config.stem}-sweep-lr"
        events = run_sweep(settings, lr_trials(rates), folder, None if steps else epochs, steps,
                           jobs or default_jobs(), scheduler, prefer_key="optimizer.lr")
        done = render_sweep(events, stdout)
        chosen, curve = chosen_lr(done), (rates, final_losses(done) if done else [])
        if chosen is not None:
            stdout.print(f"chosen lr: {chosen:g} (best dev score; ties go to the larger rate)", highlight=False)
    if plot is not None:
        from wintrain.plot import save_lr_curve

        save_lr_curve(*curve, chosen, plot)
    if write_config is not None:
        if chosen is None:
            raise WintrainError("no learning rate was chosen, so --write-config wrote nothing")
        settings.optimizer.lr = chosen
        write_config_text(write_config, dump_config(settings), force=True)
        stdout.print(f"wrote {write_config} with optimizer.lr = {chosen:g}", highlight=False)


@app.command()
def sweep(
    config: ConfigArg,
    grid: Annotated[list[str], typer.Option("--grid", help="KEY=V1,V2,... (repeatable; the cartesian product runs).")],
    set_: SetOption = [],  # noqa: B006
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs per trial (default: the config's).")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Stop each trial after this many batches.")] = None,
    jobs: JobsOption = 0,
    scheduler: SchedulerOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for sweep.jsonl (default runs/<config>-sweep).")]
    = None,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Stop at the first failing trial.")] = False,
) -> None:
    """Cartesian sweep over config keys; an interrupted sweep resumes from its sweep.jsonl.

    Example: wintrain sweep configs/quickstart.yaml --grid loss.l2=0,1e-5,1e-4 --grid model.activation=tanh,relu
    """
    use_blas_threads(1)
    from wintrain.config import load_config
    from wintrain.render import render_sweep
    from wintrain.sweep import default_jobs, parse_grid, run_sweep
    from wintrain.sweep import grid as make_grid

    settings = load_config(config, set_)
    folder = out or Path("runs") / f"{config.stem}-sweep"
    events = run_sweep(settings, make_grid(parse_grid(grid)), folder, epochs, steps, jobs or default_jobs(), scheduler,
                       fail_fast)
    done = render_sweep(events, stdout)
    if done is not None and done.records and all(r["error"] for r in done.records):
        raise WintrainError(f"every trial failed; the first: {done.records[0]['error']}")
