"""``wintrain sweep-lr`` and ``wintrain sweep``: choose the learning rate and other settings."""

from __future__ import annotations

import json
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
      wintrain sweep-lr configs/quickstart.yaml --jobs 2
      wintrain sweep-lr configs/quickstart.yaml --mode range --plot lr.png
    """
    use_blas_threads(1)
    from wintrain.config import dump_config, load_config, write_config_text
    from wintrain.render import render_range_test, render_sweep
    from wintrain.sweep import (
        check_some_trial_ran,
        chosen_lr,
        default_jobs,
        final_losses,
        lr_grid,
        lr_trials,
        range_test,
        run_sweep,
    )

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
        check_some_trial_ran(done)
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


class Search(str, Enum):
    random = "random"
    tpe = "tpe"


class Prune(str, Enum):
    median = "median"


@app.command()
def sweep(
    config: ConfigArg,
    grid: Annotated[list[str], typer.Option("--grid", help="KEY=V1,V2,... (repeatable; the cartesian product runs).")]
    = [],  # noqa: B006 - typer reads the default, never mutates it
    search: Annotated[Search | None, typer.Option("--search", help="random or tpe (Optuna) over the --space.")]
    = None,
    space: Annotated[list[str], typer.Option("--space", help="KEY=DIST: loguniform(a,b), uniform(a,b), int(a,b) or "
                                                             "choice(v1,v2,...) (repeatable).")] = [],  # noqa: B006
    trials: Annotated[int | None, typer.Option("--trials", min=1, help="How many trials a search runs.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the search (same seed, same trials).")] = 0,
    prune: Annotated[Prune | None, typer.Option("--prune", help="median: stop a trial whose dev score after an "
                                                                "epoch is below the median of earlier trials.")] = None,
    set_: SetOption = [],  # noqa: B006
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs per trial (default: the config's).")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Stop each trial after this many batches.")] = None,
    jobs: JobsOption = 0,
    scheduler: SchedulerOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for sweep.jsonl (default runs/<config>-sweep).")]
    = None,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Stop at the first failing trial.")] = False,
) -> None:
    """Sweep config keys: a cartesian --grid, or a random / TPE --search over a --space.

    Trials keep their per-epoch scores in sweep.jsonl (see wintrain compare); rerunning the same
    command resumes an interrupted sweep.

    Examples:
      wintrain sweep configs/quickstart.yaml --grid loss.l2=0,1e-5,1e-4 --grid model.activation=tanh,relu
      wintrain sweep configs/quickstart.yaml --search random --trials 20 --prune median --jobs 2
        --space optimizer.lr='loguniform(1e-4,1e-2)' --space model.hidden='choice([100],[200],[300])'
        --out runs/quickstart-search
    """
    use_blas_threads(1)
    from wintrain.config import load_config
    from wintrain.render import render_sweep
    from wintrain.sweep import check_some_trial_ran, default_jobs, run_sweep, sweep_plan

    settings = load_config(config, set_)
    plan, description = sweep_plan(settings, grid, search.value if search else None, space, trials, seed)
    folder = out or Path("runs") / f"{config.stem}-sweep"
    events = run_sweep(settings, plan, folder, epochs, steps, jobs or default_jobs(), scheduler, fail_fast,
                       prune=prune is not None, search=description)
    check_some_trial_ran(render_sweep(events, stdout))


@app.command()
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Run folders and sweep folders (a sweep expands to its trials).")],
    png: Annotated[Path | None, typer.Option("--png", help="Save the curves as one PNG (needs matplotlib).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON (with per-epoch rows).")] = False,
    metric: Annotated[str, typer.Option("--metric", help="The per-epoch column to rank and plot (dev_score, "
                                                         "dev_f1, dev_accuracy, train_loss, ...).")] = "dev_score",
) -> None:
    """Put runs side by side: the settings that differ, best epoch and score, test, time; overlaid curves.

    Examples:
      wintrain compare runs/quickstart runs/quickstart-sweep
      wintrain compare runs/quickstart-search --png search.png
    """
    from wintrain.reports import print_comparison
    from wintrain.sweep.compare import compare as compare_runs

    comparison = compare_runs(runs, metric)
    if as_json:
        typer.echo(json.dumps(comparison.rows()))
        return
    print_comparison(comparison, stdout)
    if png is not None:
        from wintrain.plot import save_comparison

        save_comparison([(run.name, run.series(metric), run.series("train_loss")) for run in comparison.runs],
                        metric, png)
        stdout.print(f"wrote {png}", highlight=False)
