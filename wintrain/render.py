"""Show training progress events: rich bars on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import json
from typing import Any, Iterable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from wintrain.training.loop import EpochDone, EpochStarted, Event, RunDone, RunInterrupted, RunStarted, StepDone


def percent(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.2f}"


def describe_start(event: RunStarted) -> list[str]:
    c = event.config
    coverage = event.coverage
    if coverage is None:
        vectors = "vectors from the checkpoint"
    elif c.embeddings.path:
        vectors = (f"{coverage.pretrained:,}/{coverage.words:,} words with pretrained vectors "
                   f"({100 * coverage.fraction:.1f}%)")
    else:
        vectors = "random word vectors"
    resumed = ""
    if event.resumed_at:
        epoch, step = event.resumed_at
        resumed = f" (resumed after epoch {epoch}" + (f", step {step} of epoch {epoch + 1})" if step else ")")
    return [
        f"run folder: {event.run_dir}{resumed}",
        f"data: {event.train_tokens:,} train / {event.dev_tokens:,} dev / {event.test_tokens:,} test tokens; "
        f"{len(event.tags)} tags; vocabulary {event.vocab_size:,}; {vectors}",
        f"model: window {c.model.window_size}, hidden {c.model.hidden}, {c.model.activation.name}, "
        f"{event.parameters:,} parameters; optimizer {c.optimizer.name} lr {c.optimizer.lr:g}, "
        f"schedule {c.schedule.name}; {event.epochs} epochs × {event.steps_per_epoch} batches of "
        f"{c.train.batch_size} (loaded in {event.load_seconds:.2f}s)",
    ]


def dev_columns(record: dict[str, Any]) -> list[tuple[str, str]]:
    if "dev_f1" in record:
        keys = [("dev P", "dev_precision"), ("dev R", "dev_recall"), ("dev F1", "dev_f1"), ("dev acc", "dev_accuracy")]
    elif "dev_accuracy" in record:
        keys = [("dev acc", "dev_accuracy"), ("dev macro F1", "dev_macro_f1")]
    else:
        keys = []
    return [(title, key) for title, key in keys if key in record]


def epoch_line(record: dict[str, Any], is_best: bool) -> str:
    dev = " ".join(f"{title}={percent(record[key])}" for title, key in dev_columns(record))
    return (
        f"epoch {record['epoch']}: train_loss={record['train_loss']:.4f} lr={record['lr']:.3g} {dev} "
        f"time={record['epoch_seconds']:.2f}s tokens/s={record['tokens_per_second']:,.0f}"
        + (" *best*" if is_best else "")
    )


def summary_lines(event: RunDone) -> list[str]:
    s = event.summary
    lines = [f"done in {s['train_seconds']:.1f}s; run folder: {event.run_dir}"]
    if s.get("dev"):
        lines.append(f"best epoch {s['best_epoch']}: dev {s['score']} = {percent(s['best_dev_score'])}")
    if s.get("test"):
        test = s["test"]
        if "entity" in test:
            lines.append(f"test (best epoch): entity F1 = {percent(test['entity']['f1'])}, "
                         f"accuracy = {percent(test['accuracy'])}")
        else:
            lines.append(f"test (best epoch): accuracy = {percent(test['accuracy'])}")
    lines.append(f"evaluate again: wintrain eval {event.run_dir / 'best.npz'} --data FILE")
    return lines


def interrupted_line(event: RunInterrupted) -> str:
    where = f"at epoch {event.epoch}, step {event.step}" if event.step else f"after epoch {event.epoch}"
    return f"interrupted {where}; last.npz saved. Resume with: wintrain train --resume {event.run_dir}"


def render_plain(events: Iterable[Event], console: Console) -> dict[str, Any]:
    """One line per epoch (for logs and pipes)."""
    summary: dict[str, Any] = {}
    for event in events:
        if isinstance(event, RunInterrupted):
            console.print(interrupted_line(event), highlight=False, soft_wrap=True)
            summary = {"interrupted": True}
        elif isinstance(event, RunStarted):
            for line in describe_start(event):
                console.print(line, highlight=False, soft_wrap=True)
        elif isinstance(event, EpochDone):
            console.print(epoch_line(event.record, event.is_best), highlight=False, soft_wrap=True)
        elif isinstance(event, RunDone):
            summary = event.summary
            for line in summary_lines(event):
                console.print(line, highlight=False, soft_wrap=True)
    return summary


def render_rich(events: Iterable[Event], console: Console) -> dict[str, Any]:
    """Epoch and batch bars with loss, lr, tokens/s and ETA; a table row per epoch."""
    summary: dict[str, Any] = {}
    table: Table | None = None
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=console,
        transient=True,
    )
    with progress:
        run_task = batch_task = None
        for event in events:
            if isinstance(event, RunInterrupted):
                progress.stop()
                console.print(interrupted_line(event), highlight=False)
                summary = {"interrupted": True}
            elif isinstance(event, RunStarted):
                for line in describe_start(event):
                    console.print(line, highlight=False)
                done = event.resumed_at[0] if event.resumed_at else 0
                run_task = progress.add_task("epochs", total=event.epochs, completed=done, status="")
                batch_task = progress.add_task("batches", total=event.steps_per_epoch, status="")
            elif isinstance(event, EpochStarted):
                progress.reset(batch_task, total=event.steps, completed=event.first_step,
                               description=f"epoch {event.epoch}/{event.epochs}", status=f"lr {event.lr:.3g}")
            elif isinstance(event, StepDone):
                progress.update(batch_task, completed=event.step,
                                status=f"loss {event.loss:.4f}  lr {event.lr:.3g}  {event.tokens_per_second:,.0f} tok/s")
            elif isinstance(event, EpochDone):
                record = event.record
                if table is None:
                    columns = ["epoch", "train loss", "lr"] + [t for t, _ in dev_columns(record)] + ["seconds", "tok/s"]
                    table = Table(*columns, title="epochs")
                dev = [percent(record[key]) for _, key in dev_columns(record)]
                star = " ★" if event.is_best else ""
                table.add_row(f"{record['epoch']}{star}", f"{record['train_loss']:.4f}", f"{record['lr']:.3g}", *dev,
                              f"{record['epoch_seconds']:.2f}", f"{record['tokens_per_second']:,.0f}")
                progress.console.print(epoch_line(record, event.is_best), highlight=False)
                progress.advance(run_task)
            elif isinstance(event, RunDone):
                summary = event.summary
                progress.stop()
                if table is not None:
                    console.print(table)
                for line in summary_lines(event):
                    console.print(line, highlight=False)
    return summary


def render(events: Iterable[Event], console: Console) -> dict[str, Any]:
    return render_rich(events, console) if console.is_terminal else render_plain(events, console)


def metrics_json(metrics: dict[str, Any]) -> str:
    return json.dumps(metrics, indent=2)
