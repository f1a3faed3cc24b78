"""The ``wintrain`` command line: parses arguments, calls library functions, prints.

User mistakes raise :class:`~wintrain.errors.WintrainError`; :func:`main` catches them once
and prints one line (exit 2).  ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
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
    config: Path = typer.Argument(..., help="YAML experiment config, e.g. configs/quickstart.yaml."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: --set optimizer.lr=0.01 (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder (overrides output.dir)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing run folder."),
) -> None:
    """Train a window classifier as CONFIG says; writes a run folder with checkpoints and metrics.

    Example: wintrain train configs/quickstart.yaml --set train.epochs=3
    """
    from wintrain.config import load_config
    from wintrain.render import render
    from wintrain.training.loop import run

    settings = load_config(config, set_)
    render(run(settings, out, force), stdout)


@app.command("eval")
def evaluate(
    checkpoint: Path = typer.Argument(..., help="A checkpoint written by training, e.g. runs/x/best.npz."),
    data: Path = typer.Option(..., "--data", help="CoNLL-style file to evaluate on."),
    output: Optional[Path] = typer.Option(None, "--output", help="Write 'token gold predicted' lines here."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Token accuracy and (for B-X/I-X tags) conlleval entity precision/recall/F1.

    Example: wintrain eval runs/quickstart/best.npz --data data/synthetic/test.txt
    """
    from wintrain.evaluation.evaluate import evaluate_checkpoint

    metrics = evaluate_checkpoint(checkpoint, data, output)
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    print_report(metrics)


def print_report(metrics: dict[str, Any]) -> None:
    stdout.print(f"[bold]{metrics['data']}[/bold]: {metrics['tokens']:,} tokens, "
                 f"accuracy {100 * metrics['accuracy']:.2f}%", highlight=False)
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
