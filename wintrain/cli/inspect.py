"""Commands that look rather than train: check, graph, gradcheck, plot, init-config, schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from wintrain.cli import ConfigArg, SetOption, app, stdout, use_blas_threads


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

    Example: wintrain graph configs/quickstart.yaml --profile
    """
    use_blas_threads(1)
    from wintrain.config import load_config
    from wintrain.nn.graph import describe
    from wintrain.reports import print_graph
    from wintrain.training.profile import profile_steps
    from wintrain.training.trainer import prepare

    prepared = prepare(load_config(config, set_))
    batch = prepared.config.train.batch_size
    measured = profile_steps(prepared, steps) if profile else None
    print_graph(measured.nodes if measured else describe(prepared.model, batch), measured, batch, stdout)


@app.command()
def check(
    config: ConfigArg,
    set_: SetOption = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check a config and the data it names without training: every choice (activation, initializers,
    optimizer, schedule) as training builds it, then sizes, tags, OOV rates, lengths, overlap.

    Exit 2 when something would stop training.  Example: wintrain check configs/quickstart.yaml
    """
    import dataclasses

    from wintrain.config import load_config
    from wintrain.data.check import check_data
    from wintrain.reports import print_data_report
    from wintrain.training.trainer import check_choices

    loaded = load_config(config, set_)
    check_choices(loaded)  # a bad choice is a one-line error (exit 2), as the config's other keys are
    report = check_data(loaded)
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
