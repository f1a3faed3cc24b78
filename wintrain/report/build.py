"""Build a report from run folders and write it where the user asked.

:func:`build_report` reads the runs (:mod:`.runs`), gets each run's dev predictions from the
``predictions`` callable (by default :func:`~.predictions.dev_predictions`, which runs
``best.npz`` on the dev file), sorts the errors (:mod:`.errors`) and renders the page
(:mod:`.html`).  A run whose predictions cannot be had (no dev data, no ``best.npz``, a dev file
that moved) still gets its report, with the reason where the error list would be.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from wintrain.errors import WintrainError
from wintrain.report.errors import classify
from wintrain.report.html import GENERATOR, RunReport, render
from wintrain.report.predictions import PredictionsSource, dev_predictions
from wintrain.report.runs import RunData, load_runs

REPORT_FILE = "report.html"
MAX_SENTENCES = 500


def build_report(
    run_dirs: Sequence[Path],
    predictions: PredictionsSource | None = dev_predictions,
    max_sentences: int = MAX_SENTENCES,
    generated: datetime | None = None,
    note: Callable[[str], None] | None = None,
) -> str:
    """The HTML page of one run or several overlaid (sections 5–6, scores and errors, per run).

    Args:
        run_dirs: run folders written by ``wintrain train``.
        predictions: gives a run folder's dev predictions; None leaves the confusion matrix and
            the error list out.
        max_sentences: how many sentences with errors each run lists (the count of the rest is shown).
        generated: the time the page says it was made (default: now).
        note: called with one line per run whose predictions could not be had (and why).

    Raises:
        WintrainError: a folder is not a run folder, or one of its files is damaged.
    """
    runs = load_runs(list(run_dirs))
    reports = [_run_report(run, predictions, note) for run in runs]
    return render(reports, generated or datetime.now().astimezone(), max_sentences)


def _run_report(run: RunData, predictions: PredictionsSource | None,
                note: Callable[[str], None] | None) -> RunReport:
    if predictions is None:
        return RunReport(run, unavailable="dev predictions were not computed for this report")
    try:
        found = predictions(run.path)
    except WintrainError as error:
        if note is not None:
            note(f"{run.name}: no dev predictions ({error})")
        return RunReport(run, unavailable=str(error))
    return RunReport(run, found, None, classify(found.tokens, found.gold, found.predicted, found.scheme))


def default_output(run_dirs: Sequence[Path]) -> Path:
    """``report.html`` inside the run folder for one run, in the current folder for several."""
    return Path(run_dirs[0]) / REPORT_FILE if len(run_dirs) == 1 else Path(REPORT_FILE)


def is_report(path: Path) -> bool:
    """Whether ``path`` is a page an earlier ``wintrain report`` wrote (its generator tag is near the top)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(2048)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">'.encode() in head


def check_output(path: Path, force: bool = False) -> None:
    """Refuse an output path that is a folder, or an existing file other than an earlier report
    (unless ``force``): a report replaces its earlier self, as ``--png`` files do, and nothing else.

    Raises:
        WintrainError: the one-line reason.
    """
    path = Path(path)
    if path.is_dir():
        raise WintrainError(f"{path}: is a folder; give a file name such as {path / REPORT_FILE}")
    if path.exists() and not force and not is_report(path):
        raise WintrainError(f"{path}: exists and is not a wintrain report; choose another --out or pass --force")


def write_report(text: str, path: Path, force: bool = False) -> None:
    """Write the page to ``path`` (checked by :func:`check_output`) through a temporary file, so
    an interrupted write leaves the earlier file.

    Raises:
        WintrainError: ``path`` is refused by :func:`check_output` or cannot be written.
    """
    path = Path(path)
    check_output(path, force)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise WintrainError(f"{path}: cannot write the report ({error.strerror or error})") from None
