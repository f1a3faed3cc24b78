"""``wintrain eval`` and ``wintrain predict``: score a checkpoint on tagged data, tag new text."""

from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from wintrain.cli import CheckpointArg, app, closed_pipe_exits_141, stdout, use_blas_threads


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


class InputFormat(str, Enum):
    auto = "auto"
    text = "text"
    pretokenized = "pretokenized"
    conllu = "conllu"


@app.command()
def predict(
    checkpoint: CheckpointArg,
    sources: Annotated[list[str] | None, typer.Argument(
        help="Files, folders or patterns (one text per line; CoNLL-U: its FORMs), or - for stdin (the default).",
        show_default=False)] = None,
    output_format: Annotated[Format, typer.Option("--format", help="text, json, conll or conllu.")] = Format.text,
    as_json: Annotated[bool, typer.Option("--json", help="Short for --format json.")] = False,
    pretokenized: Annotated[bool, typer.Option("--pretokenized", help="Split at whitespace only, one sentence "
                                                                      "per line.")] = False,
    input_format: Annotated[InputFormat, typer.Option(
        "--input-format", help="auto: CoNLL-U when the name ends in .conllu or the first lines look like it, "
                               "else text (or --pretokenized).")] = InputFormat.auto,
    field: Annotated[str | None, typer.Option("--field", help="CoNLL-U output: the field the tags go into "
                                                              "(default: the one the model was trained on).")] = None,
    decode: DecodeOption = None,
    kernels: KernelsOption = Kernels.fast,
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="Texts (or CoNLL-U sentences) tagged together, "
                                                              "written before reading on.")] = 2000,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="Tag each input into a file of this folder, "
                                                                   "under its name relative to the inputs' "
                                                                   "common folder.")] = None,
    force: Annotated[bool, typer.Option("--force", help="--out-dir: tag again inputs whose output exists.")]
    = False,
    compress: Annotated[bool, typer.Option("--gzip", help="--out-dir: write every output gzip-compressed "
                                                          "(NAME.conll.gz; inputs may be .gz or not).")] = False,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes, one BLAS thread each.")] = 1,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Tag on a Dask cluster: its scheduler "
                                                                      "address.")] = None,
    ship: Annotated[bool, typer.Option("--ship-checkpoint", help="--scheduler: send the checkpoint to the "
                                                                 "workers (else they read it at its path).")]
    = False,
    tokenizer: TokenizerOption = None,
) -> None:
    """Tag raw text (tokenized like the training data) or the words of CoNLL-U, of any size.

    Each non-empty line is one text; long lines are split into sentences.  --format json prints
    one object per text with character offsets and entities; conllu writes CoNLL-U back with only
    the predicted field replaced.  Input is read and written a chunk at a time (standard input as
    it arrives); progress goes to stderr.  --out-dir tags files, folders and patterns into a
    folder, each output complete or absent; a rerun skips inputs already done.  --jobs N tags in
    N processes; --scheduler ADDRESS on a Dask cluster (dask scheduler; OPENBLAS_NUM_THREADS=1
    dask worker ADDRESS --nthreads 1 --nworkers 2 on each machine).

    Examples:
      echo "Angela Merkel visited Paris on Tuesday." | wintrain predict runs/x/best.npz --json
      zcat corpus.txt.gz | wintrain predict runs/quickstart/best.npz --format conll > tagged.conll
      wintrain predict runs/pos/best.npz en_ewt-ud-test.conllu --format conllu > tagged.conllu
      wintrain predict runs/quickstart/best.npz 'corpus/**/*.txt.gz' --out-dir tagged --gzip --jobs 2
      wintrain predict runs/quickstart/best.npz big.txt --scheduler tcp://10.0.0.5:8786 --ship-checkpoint
      echo "Il va au marché." | wintrain predict runs/ud_fr_sequoia_pos/best.npz \
        --tokenizer runs/ud_fr_sequoia_tokenizer/best.npz --format conllu
    """
    parallel = jobs > 1 or scheduler is not None
    use_blas_threads(1 if parallel else (os.cpu_count() or 1))
    from wintrain.cli import stderr
    from wintrain.errors import WintrainError
    from wintrain.evaluation.stream import (
        STDIN,
        Input,
        OutputSpec,
        Pipeline,
        Task,
        expand_inputs,
        failed_message,
        plan_out_dir,
    )
    from wintrain.evaluation.tagger import Tagger
    from wintrain.evaluation.workers import DaskExecutor, LocalExecutor, ProcessExecutor, TaggerSpec
    from wintrain.render import PredictProgress, predict_summary
    from wintrain.runfolder import FolderLock

    chosen = Format.json if as_json else output_format
    names = sources or ["-"]
    if out_dir is None and (force or compress):
        raise WintrainError(f"{'--force' if force else '--gzip'} applies to --out-dir; give an --out-dir folder")
    if ship and scheduler is None:
        raise WintrainError("--ship-checkpoint applies to --scheduler; give the Dask scheduler's address")
    if pretokenized and input_format in (InputFormat.text, InputFormat.conllu):
        raise WintrainError(f"--pretokenized contradicts --input-format {input_format.value}; give one of them")
    decode_name = decode.value if decode else None
    tagger = Tagger.load(checkpoint, decode_name, kernels.value, tokenizer)
    output = OutputSpec(chosen.value, tagger.conllu_field(field) if chosen is Format.conllu else field)
    skipped = 0
    lock = None
    if out_dir is not None:
        if "-" in names:
            raise WintrainError("--out-dir tags files, not standard input; give files, folders or patterns")
        plan = plan_out_dir(names, out_dir, chosen.value, compress, force)
        tasks, skipped = plan.tasks, len(plan.skipped)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WintrainError(f"{out_dir}: cannot create the folder ({error.strerror}); choose another "
                                "--out-dir") from None
        lock = FolderLock(out_dir).acquire().announce()
    else:
        if names.count("-") > 1:
            raise WintrainError("standard input (-) can be read once; give - at most once")
        tasks = [Task(STDIN) if name == "-" else Task(Input(str(path), path))
                 for name in names for path in ([Path("-")] if name == "-" else expand_inputs([name]))]
    spec = TaggerSpec(str(Path(checkpoint).resolve()), decode_name, kernels.value,
                      tokenizer=str(tokenizer.resolve()) if tokenizer is not None else None)
    if scheduler is not None:
        executor: LocalExecutor | ProcessExecutor | DaskExecutor = DaskExecutor(scheduler, spec, output, ship)
    elif jobs > 1:
        executor = ProcessExecutor(spec, output, jobs)
    else:
        executor = LocalExecutor(tagger, output)
    progress = PredictProgress(stderr)
    pipeline = Pipeline(executor, input_format.value, pretokenized, chunk, compress,
                        report=progress, keep_going=out_dir is not None)
    try:
        with closed_pipe_exits_141():
            stats = pipeline.run(tasks, skipped)
    except KeyboardInterrupt:
        progress.close()
        stderr.print("interrupted; outputs not finished were removed", highlight=False)
        raise typer.Exit(130) from None
    finally:
        progress.close()
        executor.close()
        if lock is not None:
            lock.release()
    if out_dir is not None or progress.shown:
        stderr.print(predict_summary(stats, out_dir), highlight=False, markup=False, soft_wrap=True)
    if stats.errors:
        raise WintrainError(failed_message(stats))
