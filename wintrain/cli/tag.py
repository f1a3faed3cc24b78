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
    viterbi = "viterbi"
    constrained = "constrained"


DecodeOption = Annotated[Decode | None, typer.Option("--decode", help="Default: the checkpoint's evaluation.decode.")]


class Kernels(str, Enum):
    fast = "fast"
    textbook = "textbook"


KernelsOption = Annotated[Kernels, typer.Option(
    "--kernels", help="fast, or textbook: the lecture's plain form of every node and decoder (same tags, slower).")]


TokenizerOption = Annotated[Path | None, typer.Option(
    "--tokenizer", help="A tokenizer checkpoint (task: tokenize) that splits the raw text into sentences, tokens "
                        "and words.")]


@app.command("eval")
def evaluate(
    checkpoint: CheckpointArg,
    data: Annotated[Path, typer.Option("--data", help="CoNLL columns or CoNLL-U (*.conllu) file to evaluate on.")],
    output: Annotated[Path | None, typer.Option("--output", help="Write 'token gold predicted' lines here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    decode: DecodeOption = None,
    kernels: KernelsOption = Kernels.fast,
    tokenizer: TokenizerOption = None,
    field: Annotated[str | None, typer.Option("--field", help="CoNLL-U: the field scored (default: the model's; "
                                                              "upos for a model trained on columns).")] = None,
) -> None:
    """Token accuracy and (for B-X/I-X tags) conlleval entity precision/recall/F1, per type and overall;
    a tokenizer, or a tagger behind --tokenizer, on a gold CoNLL-U file's raw text with the CoNLL 2018
    shared task's scores (Tokens, Sentences, Words, Multiword tokens, UPOS).

    Examples:
      wintrain eval runs/quickstart/best.npz --data data/ud_en_ewt/test.txt.gz
      wintrain eval runs/quickstart/best.npz --data data/ud_en_ewt/dev.txt.gz --output pred.txt --json
      wintrain eval runs/quickstart/best.npz --data data/ud_en_ewt/conllu/test.conllu.gz
      wintrain eval runs/ud_en_ewt_tokenizer/best.npz --data data/ud_en_ewt/conllu/test.conllu.gz
      wintrain eval runs/quickstart/best.npz --data data/ud_en_ewt/conllu/test.conllu.gz \\
        --tokenizer runs/ud_en_ewt_tokenizer/best.npz
    """
    use_blas_threads(os.cpu_count() or 1)
    from wintrain.evaluation.raw_text import evaluate_command
    from wintrain.reports import print_evaluation

    metrics = evaluate_command(checkpoint, data, output, decode.value if decode else None, kernels.value, tokenizer,
                               field)
    if as_json:
        typer.echo(json.dumps(metrics))
    else:
        print_evaluation(metrics, stdout)


class Format(str, Enum):
    text = "text"
    json = "json"
    conll = "conll"
    conllu = "conllu"


@app.command()
def predict(
    checkpoint: CheckpointArg,
    source: Annotated[str, typer.Argument(help="Text file (one text per line; .conllu: its FORMs) or - for stdin.")]
    = "-",
    output_format: Annotated[Format, typer.Option("--format", help="text, json, conll or conllu.")] = Format.text,
    as_json: Annotated[bool, typer.Option("--json", help="Short for --format json.")] = False,
    pretokenized: Annotated[bool, typer.Option("--pretokenized", help="Split at whitespace only, one sentence "
                                                                      "per line.")] = False,
    field: Annotated[str | None, typer.Option("--field", help="CoNLL-U output: the field the tags go into "
                                                              "(default: the one the model was trained on).")] = None,
    decode: DecodeOption = None,
    kernels: KernelsOption = Kernels.fast,
    tokenizer: TokenizerOption = None,
) -> None:
    """Tag raw text (tokenized like the training data) or the words of a CoNLL-U file.

    Each non-empty line is one text; long lines are split into sentences.  --format json prints
    one object per text with character offsets and entities; conllu writes a CoNLL-U file back
    with only the predicted field replaced.

    Examples:
      echo "Angela Merkel visited Paris on Tuesday." | wintrain predict runs/x/best.npz --json
      wintrain predict runs/pos/best.npz en_ewt-ud-test.conllu --format conllu > tagged.conllu
      echo "I saw it." | wintrain predict runs/quickstart/best.npz --format conllu --field upos
    """
    use_blas_threads(os.cpu_count() or 1)
    from wintrain.evaluation.tagger import predict_source

    chosen = Format.json if as_json else output_format
    sys.stdout.write(predict_source(checkpoint, source, chosen.value, pretokenized, field,
                                    decode.value if decode else None, kernels=kernels.value, tokenizer=tokenizer))
