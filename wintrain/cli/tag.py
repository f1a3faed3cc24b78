"""``wintrain eval`` and ``wintrain predict``: score a checkpoint on tagged data, tag new text."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from wintrain.cli import CheckpointArg, app, stdout, use_blas_threads


class Decode(str, Enum):
    greedy = "greedy"
    constrained = "constrained"


DecodeOption = Annotated[Decode | None, typer.Option("--decode", help="Default: the checkpoint's evaluation.decode.")]


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
