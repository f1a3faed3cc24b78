"""The ``wintrain`` command line: parses arguments, calls library functions, prints.

User mistakes raise :class:`~wintrain.errors.WintrainError`; :func:`main` catches them once
and prints one line (exit 2).  ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

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
state = {"debug": False}


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
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks (for bug reports)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    state["debug"] = debug


@app.command()
def train(
    config: Optional[Path] = typer.Argument(None, help="YAML experiment config, e.g. configs/quickstart.yaml."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: --set optimizer.lr=0.01 (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder (overrides output.dir)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing run folder."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this folder from last.npz."),
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
    from wintrain.training.loop import StopRequest, resume as resume_run, run

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
    checkpoint: Path = typer.Argument(..., help="A checkpoint written by training, e.g. runs/x/best.npz."),
    data: Path = typer.Option(..., "--data", help="CoNLL-style file to evaluate on."),
    output: Optional[Path] = typer.Option(None, "--output", help="Write 'token gold predicted' lines here."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    decode: Optional[str] = typer.Option(None, "--decode", help="greedy or constrained (default: the checkpoint's)."),
) -> None:
    """Token accuracy and (for B-X/I-X tags) conlleval entity precision/recall/F1, per type and overall.

    Examples:
      wintrain eval runs/quickstart/best.npz --data data/synthetic/test.txt
      wintrain eval runs/quickstart/best.npz --data data/synthetic/dev.txt --output pred.txt --json
    """
    use_blas_threads(os.cpu_count() or 1)
    from wintrain.evaluation.evaluate import evaluate_checkpoint

    check_decode(decode)
    metrics = evaluate_checkpoint(checkpoint, data, output, decode)
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    print_report(metrics)


@app.command()
def predict(
    checkpoint: Path = typer.Argument(..., help="A checkpoint written by training, e.g. runs/x/best.npz."),
    source: str = typer.Argument("-", help="Text file, one whitespace-tokenised sentence per line; - for stdin."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per sentence instead of token TAG lines."),
    decode: Optional[str] = typer.Option(None, "--decode", help="greedy or constrained (default: the checkpoint's)."),
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

    check_decode(decode)
    tagger = Tagger.from_checkpoint(load_checkpoint(checkpoint))
    sentences = read_text(sys.stdin.buffer if source == "-" else Path(source))
    tags = tagger.tag(sentences, decode)
    sys.stdout.write((format_json if as_json else format_conll)(sentences, tags))


@app.command("init-config")
def init_config(
    out: Optional[Path] = typer.Argument(None, help="Where to write the config; default: print it."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Write a complete, commented config with every key at its default.

    Example: wintrain init-config configs/mine.yaml
    """
    from wintrain.config import default_config_text

    text = default_config_text()
    if out is None:
        sys.stdout.write(text)
        return
    if out.exists() and not force:
        raise WintrainError(f"{out}: already exists; choose another file or pass --force")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise WintrainError(f"{out}: cannot write ({error.strerror})") from None
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
    config: Path = typer.Argument(..., help="YAML experiment config."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key (repeatable)."),
    synthetic: bool = typer.Option(False, "--synthetic", help="Use made-up words instead of the configured data."),
    batch: int = typer.Option(8, "--batch", min=1, help="Windows in the checked batch."),
    entries: int = typer.Option(200, "--entries", min=1, help="Entries checked per parameter (a random sample)."),
    tolerance: float = typer.Option(1e-6, "--tolerance", help="Largest relative error that passes."),
) -> None:
    """Compare every parameter's analytic gradient with centred finite differences (float64).

    Exit 0 when all pass, 1 otherwise.  Example: wintrain gradcheck configs/quickstart.yaml --set model.activation=gelu
    """
    use_blas_threads(1)
    from wintrain.config import load_config
    from wintrain.nn.gradcheck import check_config_gradients

    results = check_config_gradients(load_config(config, set_), synthetic, batch, max_entries=entries)
    table = Table("parameter", "shape", "checked", "max relative error", "result", title="gradient check")
    for result in results:
        ok = result.passed(tolerance)
        table.add_row(result.name, "×".join(map(str, result.shape)), str(result.checked),
                      f"{result.relative_error:.2e}", "[green]pass[/green]" if ok else "[red]FAIL[/red]")
    stdout.print(table)
    failed = [r.name for r in results if not r.passed(tolerance)]
    stdout.print(f"{len(results) - len(failed)}/{len(results)} parameters within {tolerance:g}", highlight=False)
    if failed:
        raise typer.Exit(1)


@app.command()
def graph(
    config: Path = typer.Argument(..., help="YAML experiment config."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key (repeatable)."),
    profile: bool = typer.Option(False, "--profile", help="Time a few hundred real training steps per node."),
    steps: int = typer.Option(300, "--steps", min=1, help="Training steps to time with --profile."),
) -> None:
    """Show the model's computation graph: shapes, parameters and FLOPs per token of every node.

    Example: wintrain graph configs/conll2003_reference.yaml --profile
    """
    use_blas_threads(1)
    from wintrain.config import load_config
    from wintrain.nn.graph import describe
    from wintrain.training.loop import prepare

    settings = load_config(config, set_)
    prepared = prepare(settings)
    batch = settings.train.batch_size
    if profile:
        from wintrain.training.profile import profile_steps

        nodes, times = profile_steps(prepared, steps)
    else:
        nodes, times = describe(prepared.model, batch), []
    print_graph(nodes, times, batch, steps)


def print_graph(nodes: list[Any], times: list[Any], batch: int, steps: int) -> None:
    measured = {t.name: t for t in times}
    total_time = sum(t.forward_seconds + t.backward_seconds for t in times) or 1.0
    columns = ["node", "output shape", "parameters", "forward FLOPs/token", "backward FLOPs/token"]
    if times:
        columns += ["forward time %", "backward time %"]
    table = Table(*columns, title=f"computation graph (batch B = {batch})")

    def share(seconds: float) -> str:
        return f"{100 * seconds / total_time:.1f}"

    for node in nodes:
        row = [node.name, "(" + ", ".join(map(str, node.output_shape)) + ")" if node.output_shape else "scalar",
               f"{node.parameters:,}", f"{node.forward_flops:,}", f"{node.backward_flops:,}"]
        if times:
            timing = measured.get(node.name)
            row += [share(timing.forward_seconds), share(timing.backward_seconds)] if timing else ["(in concat)", ""]
        table.add_row(*row)
    for timing in times:
        if timing.name not in {n.name for n in nodes}:
            table.add_row(timing.name, "", "", "", "", share(timing.forward_seconds), share(timing.backward_seconds))
    forward = sum(n.forward_flops for n in nodes)
    backward = sum(n.backward_flops for n in nodes)
    total_row = ["total", "", f"{sum(n.parameters for n in nodes):,}", f"{forward:,}", f"{backward:,}"]
    if times:
        total_row += [share(sum(t.forward_seconds for t in times)), share(sum(t.backward_seconds for t in times))]
    table.add_row(*total_row, style="bold")
    stdout.print(table)
    if times:
        per_step = total_time / steps
        stdout.print(f"measured {steps} steps: {1000 * per_step:.2f} ms per step, "
                     f"{(forward + backward) * batch / per_step / 1e9:.2f} GFLOP/s of matrix products", highlight=False)


@app.command("sweep-lr")
def sweep_lr(
    config: Path = typer.Argument(..., help="YAML experiment config."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key (repeatable)."),
    mode: str = typer.Option("grid", "--mode", help="grid: short runs per rate; range: Smith's LR range test."),
    low: Optional[float] = typer.Option(None, "--min", help="Smallest rate (grid 1e-4, range 1e-7)."),
    high: Optional[float] = typer.Option(None, "--max", help="Largest rate (grid 1, range 10)."),
    per_decade: int = typer.Option(1, "--per-decade", help="Grid points per decade."),
    epochs: int = typer.Option(1, "--epochs", help="Epochs per grid trial."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Batches per grid trial; range test length (100)."),
    jobs: int = typer.Option(0, "--jobs", help="Local processes for trials (default: number of cores)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address for the trials."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for sweep.jsonl (default runs/<config>-sweep-lr)."),
    write_config: Optional[Path] = typer.Option(None, "--write-config", help="Write the config with the chosen lr."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Save the curve as PNG (needs matplotlib)."),
) -> None:
    """Choose the learning rate: the lecture's grid (powers of ten from 0.001) or the LR range test.

    Examples:
      wintrain sweep-lr configs/conll2003_reference.yaml --jobs 2
      wintrain sweep-lr configs/conll2003_reference.yaml --mode range --plot lr.png
    """
    use_blas_threads(1)
    from wintrain.config import dump_config, load_config
    from wintrain.render import render_range_test, render_sweep
    from wintrain.sweep import default_jobs, lr_grid, range_test, run_sweep

    settings = load_config(config, set_)
    if mode == "range":
        result = range_test(settings, low if low is not None else 1e-7, high if high is not None else 10.0,
                            steps or 100)
        render_range_test(result, stdout)
        chosen = result.suggestion
        if plot is not None:
            from wintrain.plot import save_lr_curve

            save_lr_curve(result.rates, result.smoothed, chosen, plot)
    elif mode == "grid":
        rates = lr_grid(low if low is not None else 1e-4, high if high is not None else 1.0, per_decade)
        folder = out or Path("runs") / f"{config.stem}-sweep-lr"
        outcome = render_sweep(run_sweep(settings, [{"optimizer.lr": r} for r in rates], folder,
                                         None if steps else epochs, steps, jobs or default_jobs(), scheduler,
                                         prefer_key="optimizer.lr"), stdout)
        chosen = outcome.best["overrides"]["optimizer.lr"] if outcome and outcome.best else None
        if chosen is not None:
            stdout.print(f"chosen lr: {chosen:g} (best dev score; ties go to the larger rate)", highlight=False)
        if plot is not None and outcome is not None:
            from wintrain.plot import save_lr_curve

            save_lr_curve(rates, [r["train_loss"] if r["train_loss"] is not None else float("nan")
                                  for r in outcome.records], chosen, plot)
    else:
        raise WintrainError(f"--mode {mode!r}: choose grid or range")
    if write_config is not None:
        if chosen is None:
            raise WintrainError("no learning rate was chosen, so --write-config wrote nothing")
        settings.optimizer.lr = chosen
        write_config.write_text(dump_config(settings), encoding="utf-8")
        stdout.print(f"wrote {write_config} with optimizer.lr = {chosen:g}", highlight=False)


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="YAML experiment config."),
    grid: list[str] = typer.Option(..., "--grid", help="KEY=V1,V2,... (repeatable; the cartesian product runs)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key (repeatable)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epochs per trial (default: the config's)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Stop each trial after this many batches."),
    jobs: int = typer.Option(0, "--jobs", help="Local processes for trials (default: number of cores)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address for the trials."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for sweep.jsonl (default runs/<config>-sweep)."),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first failing trial."),
) -> None:
    """Cartesian sweep over config keys; an interrupted sweep resumes from its sweep.jsonl.

    Example: wintrain sweep configs/quickstart.yaml --grid loss.l2=0,1e-5,1e-4 --grid model.activation=tanh,relu
    """
    use_blas_threads(1)
    from wintrain.config import load_config
    from wintrain.render import render_sweep
    from wintrain.sweep import default_jobs, grid as make_grid, parse_grid, run_sweep

    settings = load_config(config, set_)
    trials = make_grid(parse_grid(grid))
    folder = out or Path("runs") / f"{config.stem}-sweep"
    outcome = render_sweep(run_sweep(settings, trials, folder, epochs, steps, jobs or default_jobs(), scheduler,
                                     fail_fast), stdout)
    if outcome is not None and outcome.records and all(r["error"] for r in outcome.records):
        raise WintrainError(f"every trial failed; the first: {outcome.records[0]['error']}")


def check_decode(decode: Optional[str]) -> None:
    if decode not in (None, "greedy", "constrained"):
        raise WintrainError(f"--decode {decode!r}: choose greedy or constrained")


def print_report(metrics: dict[str, Any]) -> None:
    stdout.print(f"[bold]{metrics['data']}[/bold]: {metrics['tokens']:,} tokens, "
                 f"accuracy {100 * metrics['accuracy']:.2f}% ({metrics['decode']} decoding)", highlight=False)
    if "entity" in metrics:
        entity = metrics["entity"]
        stdout.print(
            f"processed {metrics['tokens']} tokens with {entity['gold']} phrases; "
            f"found: {entity['found']} phrases; correct: {entity['correct']}.",
            highlight=False,
        )
        table = Table("type", "precision", "recall", "F1", "gold", "found", "correct", title="entities")
        rows = list(entity["per_type"].items()) + [("overall", entity)]
        for name, score in rows:
            table.add_row(name, *(f"{100 * score[k]:.2f}" for k in ("precision", "recall", "f1")),
                          *(str(score[k]) for k in ("gold", "found", "correct")))
        stdout.print(table)
    elif "per_class" in metrics:
        table = Table("tag", "precision", "recall", "F1", "gold", title="per tag")
        for name, score in metrics["per_class"].items():
            table.add_row(name, *(f"{100 * score[k]:.2f}" for k in ("precision", "recall", "f1")), str(score["gold"]))
        stdout.print(table)
        stdout.print(f"macro F1 {100 * metrics['macro_f1']:.2f}", highlight=False)
    labels = metrics["labels"]
    if len(labels) <= 20:
        matrix = Table("gold \\ predicted", *labels, title="confusion matrix")
        for label, row in zip(labels, metrics["confusion"]):
            matrix.add_row(label, *(f"[bold]{n}[/bold]" if label == other else (str(n) if n else "·")
                                    for other, n in zip(labels, row)))
        stdout.print(matrix)


@app.command()
def check(
    config: Path = typer.Argument(..., help="YAML experiment config."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check the data a config names without training: sizes, tags, OOV rates, lengths, overlap.

    Exit 2 when a blocking problem exists.  Example: wintrain check configs/conll2003_reference.yaml
    """
    import dataclasses

    from wintrain.config import load_config
    from wintrain.data.check import check_data, report_rows

    report = check_data(load_config(config, set_))
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(report), default=str))
    else:
        table = Table("check", "result", title=f"data of {config}")
        for name, value in report_rows(report):
            table.add_row(name, value)
        stdout.print(table)
        for warning in report.warnings:
            stdout.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
        for problem in report.problems:
            stdout.print(f"[red]problem:[/red] {problem}", highlight=False)
        verdict = "[green]ready to train[/green]" if report.ok else "[red]fix the problems above first[/red]"
        stdout.print(f"{verdict} (checked in {report.seconds:.2f}s)")
    if not report.ok:
        raise typer.Exit(2)


@app.command()
def plot(
    run_dir: Path = typer.Argument(..., help="A run folder (with metrics.jsonl)."),
    png: Optional[Path] = typer.Option(None, "--png", help="Also save the curves as PNG (needs matplotlib)."),
    width: int = typer.Option(60, "--width", min=10, help="Terminal chart width."),
    height: int = typer.Option(10, "--height", min=3, help="Terminal chart height."),
) -> None:
    """Learning curves of a run: train loss, dev metric and learning rate per epoch.

    Example: wintrain plot runs/quickstart --png curves.png
    """
    from wintrain.plot import read_metrics, run_charts, save_png

    rows = read_metrics(run_dir)
    stdout.print(run_charts(rows, width, height), highlight=False, markup=False)
    if png is not None:
        save_png(rows, png)
        stdout.print(f"wrote {png}", highlight=False)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one line and exit 2 for user errors."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, prog_name="wintrain")
    except WintrainError as error:
        if debug:
            raise
        stderr.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
