"""The ``wintrain`` command line: parses arguments, calls library functions, prints.

User mistakes raise :class:`~wintrain.errors.WintrainError` (and bad arguments a click usage
error); :func:`main` catches both once and prints one line (exit 2).  ``--debug`` shows the
traceback instead.  Libraries are imported inside each command, after the BLAS thread count
is fixed.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from wintrain import __version__
from wintrain.errors import WintrainError

app = typer.Typer(
    name="wintrain",
    help="Train, evaluate and tune window-based word classifiers (CS224n lectures 3-4) in NumPy.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
stdout = Console()
stderr = Console(stderr=True)

ConfigArg = Annotated[Path, typer.Argument(help="YAML experiment config, e.g. configs/quickstart.yaml.")]
CheckpointArg = Annotated[Path, typer.Argument(help="A checkpoint written by training, e.g. runs/x/best.npz.")]
SetOption = Annotated[
    list[str], typer.Option("--set", help="Override a config key: --set optimizer.lr=0.01 (repeatable).")
]
JobsOption = Annotated[int, typer.Option("--jobs", help="Local processes for trials (default: number of cores).")]
SchedulerOption = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address for the trials.")]


class Decode(str, Enum):
    greedy = "greedy"
    constrained = "constrained"


class LrMode(str, Enum):
    grid = "grid"
    range = "range"


# typer may bundle its own copy of click: take the exception classes from typer's public BadParameter
_USAGE_ERROR: type[Exception] = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")
_CLICK_EXCEPTION: type[Exception] = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException")

DecodeOption = Annotated[Decode | None, typer.Option("--decode", help="Default: the checkpoint's evaluation.decode.")]


def use_blas_threads(default: int) -> None:
    """Fix NumPy's BLAS thread count before numpy is first imported (WINTRAIN_THREADS overrides).

    Training runs many small matrix products: one thread per process, because on a shared
    2-core machine a second BLAS thread that spin-waits for a busy core made epochs 5-20x
    slower in our measurements.  Tagging runs a few large ones: all cores.
    """
    threads = os.environ.get("WINTRAIN_THREADS", str(default))
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, threads)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wintrain {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks (for bug reports).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version.")] = False,
) -> None:
    """(``--debug`` is read by :func:`main` before the command runs.)"""


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


@app.command("eval")
def evaluate(
    checkpoint: CheckpointArg,
    data: Annotated[Path, typer.Option("--data", help="CoNLL-style file to evaluate on.")],
    output: Annotated[Path | None, typer.Option("--output", help="Write 'token gold predicted' lines here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    decode: DecodeOption = None,
) -> None:
    """Token accuracy and (for B-X/I-X tags) conlleval entity precision/recall/F1, per type and overall.

    Examples:
      wintrain eval runs/quickstart/best.npz --data data/synthetic/test.txt
      wintrain eval runs/quickstart/best.npz --data data/synthetic/dev.txt --output pred.txt --json
    """
    use_blas_threads(os.cpu_count() or 1)
    from wintrain.evaluation.evaluate import evaluate_checkpoint
    from wintrain.reports import print_evaluation

    metrics = evaluate_checkpoint(checkpoint, data, output, decode.value if decode else None)
    if as_json:
        typer.echo(json.dumps(metrics))
    else:
        print_evaluation(metrics, stdout)


@app.command()
def predict(
    checkpoint: CheckpointArg,
    source: Annotated[str, typer.Argument(help="Text file, one sentence per line; - for stdin.")] = "-",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per sentence.")] = False,
    decode: DecodeOption = None,
) -> None:
    """Tag raw text: prints 'token TAG' lines (a blank line between sentences) or JSON.

    Examples:
      echo "John lives in New York ." | wintrain predict runs/quickstart/best.npz
      wintrain predict runs/quickstart/best.npz text.txt --json
    """
    use_blas_threads(os.cpu_count() or 1)
    from wintrain.checkpoint import load_checkpoint
    from wintrain.data.reader import read_text
    from wintrain.evaluation.predict import Tagger, format_conll, format_json

    tagger = Tagger.from_checkpoint(load_checkpoint(checkpoint))
    sentences = read_text(sys.stdin.buffer if source == "-" else Path(source))
    tags = tagger.tag(sentences, decode.value if decode else None)
    sys.stdout.write((format_json if as_json else format_conll)(sentences, tags))


@app.command("init-config")
def init_config(
    out: Annotated[Path | None, typer.Argument(help="Where to write the config; default: print it.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Write a complete, commented config with every key at its default.

    Example: wintrain init-config configs/mine.yaml
    """
    from wintrain.config import default_config_text, write_config_text

    if out is None:
        sys.stdout.write(default_config_text())
        return
    write_config_text(out, default_config_text(), force)
    stdout.print(f"wrote {out}; fill in data.train and data.dev, then: wintrain train {out}", highlight=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config file (for editor completion and validation).

    Example: wintrain schema > wintrain.schema.json
    """
    from wintrain.config import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@app.command()
def gradcheck(
    config: ConfigArg,
    set_: SetOption = [],  # noqa: B006
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Use made-up words instead of the data.")] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Windows in the checked batch.")] = 8,
    entries: Annotated[int, typer.Option("--entries", min=1, help="Entries checked per parameter (a sample).")] = 200,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Largest relative error that passes.")] = 1e-6,
) -> None:
    """Compare every parameter's analytic gradient with centred finite differences (float64).

    Exit 0 when all pass, 1 otherwise.  Example: wintrain gradcheck configs/quickstart.yaml --set model.activation=gelu
    """
    use_blas_threads(1)
    from wintrain.config import load_config
    from wintrain.nn.gradcheck import check_config_gradients
    from wintrain.reports import print_gradcheck

    results = check_config_gradients(load_config(config, set_), synthetic, batch, max_entries=entries)
    if print_gradcheck(results, tolerance, stdout):
        raise typer.Exit(1)


@app.command()
def graph(
    config: ConfigArg,
    set_: SetOption = [],  # noqa: B006
    profile: Annotated[bool, typer.Option("--profile", help="Time real training steps per node.")] = False,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Training steps to time with --profile.")] = 300,
) -> None:
    """Show the model's computation graph: shapes, parameters and FLOPs per token of every node.

    Example: wintrain graph configs/conll2003_reference.yaml --profile
    """
    use_blas_threads(1)
    from wintrain.config import load_config
    from wintrain.nn.graph import describe
    from wintrain.reports import print_graph
    from wintrain.training.profile import profile_steps
    from wintrain.training.trainer import prepare

    prepared = prepare(load_config(config, set_))
    batch = prepared.config.train.batch_size
    nodes, times = profile_steps(prepared, steps) if profile else (describe(prepared.model, batch), [])
    print_graph(nodes, times, batch, steps, stdout)


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
    """Choose the learning rate: a log grid of short runs (1e-4 … 1, one rate per decade, so 0.001 is
    on it) or Smith's LR range test.

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


@app.command()
def check(
    config: ConfigArg,
    set_: SetOption = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the data a config names without training: sizes, tags, OOV rates, lengths, overlap.

    Exit 2 when a blocking problem exists.  Example: wintrain check configs/conll2003_reference.yaml
    """
    import dataclasses

    from wintrain.config import load_config
    from wintrain.data.check import check_data
    from wintrain.reports import print_data_report

    report = check_data(load_config(config, set_))
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(report), default=str))
    else:
        print_data_report(report, f"data of {config}", stdout)
    if not report.ok:
        raise typer.Exit(2)


@app.command()
def plot(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (with metrics.jsonl).")],
    png: Annotated[Path | None, typer.Option("--png", help="Also save the curves as PNG (needs matplotlib).")]
    = None,
    width: Annotated[int, typer.Option("--width", min=10, help="Terminal chart width.")] = 60,
    height: Annotated[int, typer.Option("--height", min=3, help="Terminal chart height.")] = 10,
) -> None:
    """Learning curves of a run: train loss, dev metric and learning rate per epoch.

    Example: wintrain plot runs/quickstart --png curves.png
    """
    from wintrain.plot import run_charts, save_png
    from wintrain.runfolder import read_metrics

    rows = read_metrics(run_dir)
    stdout.print(run_charts(rows, width, height), highlight=False, markup=False)
    if png is not None:
        save_png(rows, png)
        stdout.print(f"wrote {png}", highlight=False)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one line on stderr and exit 2 for user errors and bad arguments."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="wintrain", standalone_mode=False)
    except WintrainError as error:
        if debug:
            raise
        stderr.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except _USAGE_ERROR as error:  # a bad option or argument: one line, like every user error
        usage: Any = error
        if type(usage).__name__ == "NoArgsIsHelpError":  # plain `wintrain`: the help
            usage.show()
            sys.exit(0)
        hint = f"; see {usage.ctx.command_path} --help" if usage.ctx is not None else ""
        message = " ".join(usage.format_message().split()).rstrip(".")
        stderr.print(f"error: {message}{hint}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except _CLICK_EXCEPTION as error:
        other: Any = error
        other.show()
        sys.exit(other.exit_code)
    except typer.Abort:
        stderr.print("aborted", highlight=False)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
