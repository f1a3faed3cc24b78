"""``wintrain report``: one self-contained HTML page that looks inside one run or several."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from wintrain.cli import app, stderr, stdout, use_blas_threads


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders written by wintrain train (several: overlaid).")],
    out: Annotated[Path | None, typer.Option("--out", help="The HTML file (default: report.html inside the run "
                                                           "folder, or in the current folder for several runs).")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out even if it is not an earlier report.")]
    = False,
    max_sentences: Annotated[int, typer.Option("--max-sentences", min=0, help="Dev sentences with errors listed "
                                                                              "per run.")] = 500,
) -> None:
    """Write an HTML report of training runs that opens from disk, offline: header, config, learning
    curves, per-layer diagnostics and advice (when training recorded them), per-type scores, the
    confusion matrix and the dev sentences best.npz got wrong (filterable by error kind and type).

    An earlier report at the output path is replaced; any other file needs --force.

    Examples:
      wintrain train configs/quickstart.yaml --set train.epochs=2 --out runs/quick && wintrain report runs/quick
      wintrain report runs/quick runs/quickstart --out compare.html
    """
    use_blas_threads(os.cpu_count() or 1)
    from wintrain.report import build_report, check_output, default_output, write_report

    target = out or default_output(run_dirs)
    check_output(target, force)  # before the dev sets are tagged

    def note(line: str) -> None:
        stderr.print(f"note: {line}", highlight=False, markup=False, soft_wrap=True)

    text = build_report(run_dirs, max_sentences=max_sentences, note=note)
    write_report(text, target, force)
    stdout.print(f"wrote {target}", highlight=False, markup=False, soft_wrap=True)
