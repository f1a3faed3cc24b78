"""Tables for the commands that report rather than train: eval, graph, gradcheck and check.

Each function takes plain results from the library and prints them on a rich console; none
computes anything the library does not return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from wintrain.data.check import DataReport, report_rows
from wintrain.nn.gradcheck import GradCheck
from wintrain.nn.graph import Node
from wintrain.plot import overlay_chart
from wintrain.sweep.compare import Comparison, setting_text
from wintrain.training.profile import Profile

MAX_CONFUSION_LABELS = 20


def print_evaluation(metrics: dict[str, Any], console: Console) -> None:
    """``wintrain eval``: accuracy, conlleval's summary line and per-type table (chunk tags) or the
    per-tag table and macro F1 (flat tags), then the confusion matrix (up to 20 tags); from raw text
    (a tokenizer), the CoNLL 2018 shared task's table."""
    if "ud" in metrics:
        what = f"{metrics['checkpoint']}" + (f" behind {metrics['tokenizer']}" if "tokenizer" in metrics else "")
        console.print(f"[bold]{metrics['data']}[/bold] from its raw text: {what}", highlight=False)
        table = Table("metric", "precision", "recall", "F1", "aligned accuracy", "gold", "system",
                      title="CoNLL 2018 UD shared task scores")
        for name, score in metrics["ud"].items():
            aligned = "" if score["aligned_accuracy"] is None else f"{100 * score['aligned_accuracy']:.2f}"
            table.add_row(name, *(f"{100 * score[k]:.2f}" for k in ("precision", "recall", "f1")), aligned,
                          f"{score['gold']:,}", f"{score['system']:,}")
        console.print(table)
        return
    console.print(f"[bold]{metrics['data']}[/bold]: {metrics['tokens']:,} tokens, "
                  f"accuracy {100 * metrics['accuracy']:.2f}% ({metrics['decode']} decoding)", highlight=False)
    if "entity" in metrics:
        entity = metrics["entity"]
        console.print(
            f"processed {metrics['tokens']} tokens with {entity['gold']} phrases; "
            f"found: {entity['found']} phrases; correct: {entity['correct']}.",
            highlight=False,
        )
        table = Table("type", "precision", "recall", "F1", "gold", "found", "correct", title="entities")
        rows = [*entity["per_type"].items(), ("overall", entity)]
        for name, score in rows:
            table.add_row(name, *(f"{100 * score[k]:.2f}" for k in ("precision", "recall", "f1")),
                          *(str(score[k]) for k in ("gold", "found", "correct")))
        console.print(table)
    elif "per_class" in metrics:
        table = Table("tag", "precision", "recall", "F1", "gold", title="per tag")
        for name, score in metrics["per_class"].items():
            table.add_row(name, *(f"{100 * score[k]:.2f}" for k in ("precision", "recall", "f1")), str(score["gold"]))
        console.print(table)
        console.print(f"macro F1 {100 * metrics['macro_f1']:.2f}", highlight=False)
    labels = metrics["labels"]
    if len(labels) <= MAX_CONFUSION_LABELS:
        matrix = Table("gold \\ predicted", *labels, title="confusion matrix")
        for label, row in zip(labels, metrics["confusion"]):
            matrix.add_row(label, *(f"[bold]{n}[/bold]" if label == other else (str(n) if n else "·")
                                    for other, n in zip(labels, row)))
        console.print(matrix)


def print_graph(nodes: Sequence[Node], profile: Profile | None, batch: int, console: Console) -> None:
    """``wintrain graph``: one row per node (shape, parameters, FLOPs per token) and, when profiled,
    each node's share of the measured time."""
    times = profile.times if profile else []
    measured = {t.name: t for t in times}
    total_time = sum(t.forward_seconds + t.backward_seconds for t in times) or 1.0
    columns = ["node", "kernel", "output shape", "parameters", "forward FLOPs/token", "backward FLOPs/token"]
    if times:
        columns += ["forward time %", "backward time %"]
    table = Table(*columns, title=f"computation graph (batch B = {batch})")

    def share(seconds: float) -> str:
        return f"{100 * seconds / total_time:.1f}"

    for node in nodes:
        shape = "(" + ", ".join(map(str, node.output_shape)) + ")" if node.output_shape else "scalar"
        row = [node.name, node.kernel, shape, f"{node.parameters:,}", f"{node.forward_flops:,}",
               f"{node.backward_flops:,}"]
        if times:
            timing = measured.get(node.name)
            row += [share(timing.forward_seconds), share(timing.backward_seconds)] if timing else ["(in concat)", ""]
        table.add_row(*row)
    node_names = {n.name for n in nodes}
    for timing in times:
        if timing.name not in node_names:
            table.add_row(timing.name, "", "", "", "", "", share(timing.forward_seconds),
                          share(timing.backward_seconds))
    forward = sum(n.forward_flops for n in nodes)
    backward = sum(n.backward_flops for n in nodes)
    total_row = ["total", "", "", f"{sum(n.parameters for n in nodes):,}", f"{forward:,}", f"{backward:,}"]
    if times:
        total_row += [share(sum(t.forward_seconds for t in times)), share(sum(t.backward_seconds for t in times))]
    table.add_row(*total_row, style="bold")
    console.print(table)
    if profile:
        per_step = profile.wall_seconds / profile.steps
        console.print(f"measured {profile.steps} steps: {1000 * per_step:.2f} ms per step, "
                      f"{(forward + backward) * batch / per_step / 1e9:.2f} GFLOP/s of matrix products; "
                      f"the nodes above account for {100 * profile.measured_seconds / profile.wall_seconds:.0f}% "
                      "of the time", highlight=False)


def print_gradcheck(results: Sequence[GradCheck], tolerance: float, console: Console) -> list[str]:
    """``wintrain gradcheck``: one row per parameter; returns the names that failed."""
    table = Table("parameter", "shape", "checked", "max relative error", "result", title="gradient check")
    for result in results:
        verdict = "[green]pass[/green]" if result.passed(tolerance) else "[red]FAIL[/red]"
        table.add_row(result.name, "×".join(map(str, result.shape)), str(result.checked),
                      f"{result.relative_error:.2e}", verdict)
    console.print(table)
    failed = [r.name for r in results if not r.passed(tolerance)]
    console.print(f"{len(results) - len(failed)}/{len(results)} parameters within {tolerance:g}", highlight=False)
    return failed


def print_data_report(report: DataReport, title: str, console: Console) -> None:
    """``wintrain check``: the report as a two-column table, then warnings, problems and a verdict."""
    table = Table("check", "result", title=title)
    for name, value in report_rows(report):
        table.add_row(name, value)
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    for problem in report.problems:
        console.print(f"[red]problem:[/red] {problem}", highlight=False)
    verdict = "[green]ready to train[/green]" if report.ok else "[red]fix the problems above first[/red]"
    console.print(f"{verdict} (checked in {report.seconds:.2f}s)")


def print_comparison(comparison: Comparison, console: Console, charted: int = 8) -> None:
    """``wintrain compare``: one row per run (best first), then the metric and the train loss per
    epoch with the first ``charted`` runs overlaid."""
    metric = comparison.metric
    scale = 1.0 if metric.endswith("loss") else 100.0
    table = Table("run", "settings that differ", "best epoch", f"best {metric}", "test", "epochs", "seconds",
                  title=f"{len(comparison.runs)} runs, best {metric} first")
    for row in comparison.rows():
        best = "—" if row["best"] is None else f"{scale * row['best']:.2f}"
        test = "—" if row["test"] is None else f"{100 * row['test']:.2f}"
        status = f" ({row['status']})" if row["status"] else ""
        table.add_row(row["name"] + status, setting_text(row["settings"]) or "(same config)",
                      str(row["best_epoch"] or "—"), best, test, str(row["epochs"]),
                      "—" if row["seconds"] is None else f"{row['seconds']:.1f}")
    console.print(table)
    shown = comparison.runs[:charted]
    if not any(run.rows for run in shown):
        return
    suffix = "" if len(comparison.runs) <= charted else f" (best {charted} of {len(comparison.runs)})"
    folders = {run.name.rpartition("/")[0] for run in shown}
    names = [run.name.rpartition("/")[2] if len(folders) == 1 and "" not in folders else run.name for run in shown]
    for key, title in ((metric, f"{metric} per epoch{suffix}"), ("train_loss", f"train loss per epoch{suffix}")):
        factor = 1.0 if key.endswith("loss") else scale
        series = [(name, [factor * value for value in run.series(key)]) for name, run in zip(names, shown)]
        console.print(overlay_chart(series, width=60, height=12, title=title), highlight=False, markup=False)
