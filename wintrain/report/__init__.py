"""``wintrain report``: one self-contained HTML page that looks inside one training run or several.

Build a page with :func:`build_report` and save it with :func:`write_report`; :func:`load_run`
reads a run folder, :func:`dev_predictions` tags its dev data with ``best.npz`` and
:func:`classify` sorts the errors.
"""

from wintrain.report.build import REPORT_FILE, build_report, check_output, default_output, write_report
from wintrain.report.errors import SentenceErrors, TagError, classify
from wintrain.report.predictions import DevPredictions, PredictionsSource, dev_predictions
from wintrain.report.runs import RunData, load_run

__all__ = [
    "REPORT_FILE",
    "DevPredictions",
    "PredictionsSource",
    "RunData",
    "SentenceErrors",
    "TagError",
    "build_report",
    "check_output",
    "classify",
    "default_output",
    "dev_predictions",
    "load_run",
    "write_report",
]
