"""Show training progress events: rich bars on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

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

from wintrain.training.events import EpochDone, EpochStarted, Event, RunDone, RunInterrupted, RunStarted, StepDone


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
        f"model: {ensemble_of(c.model.ensemble)}window {c.model.window_size}, hidden {c.model.hidden}, "
        f"{c.model.activation.name}, "
        f"{event.parameters:,} parameters; optimizer {c.optimizer.name} lr {c.optimizer.lr:g}, "
        f"schedule {c.schedule.name}; {event.epochs} epochs × {event.steps_per_epoch} batches of "
        f"{c.train.batch_size} (loaded in {event.load_seconds:.2f}s)",
    ]


def ensemble_of(members: int) -> str:
    """"ensemble of 3 × " in front of the network's description (nothing for one network)."""
    return f"ensemble of {members} × " if members > 1 else ""


def dev_columns(record: dict[str, Any]) -> list[tuple[str, str]]:
    if "dev_tokens_f1" in record:
        keys = [("dev tokens F1", "dev_tokens_f1"), ("dev sentences F1", "dev_sentences_f1"),
                ("dev multiword labels F1", "dev_multiword_f1"), ("dev acc", "dev_accuracy")]
    elif "dev_f1" in record:
        keys = [("dev P", "dev_precision"), ("dev R", "dev_recall"), ("dev F1", "dev_f1"), ("dev acc", "dev_accuracy")]
    elif "dev_accuracy" in record:
        keys = [("dev acc", "dev_accuracy"), ("dev macro F1", "dev_macro_f1")]
    else:
        keys = []
    return [(title, key) for title, key in keys if key in record]


def diagnostics_brief(record: dict[str, Any]) -> str:
    """The epoch's diagnostics in a few words: the training score, the worst dead or saturated share of a
    hidden layer, the largest update/weight ratio ("" when the run measured none)."""
    if "train_score" not in record:
        return ""
    parts = [f"train={percent(record['train_score'])}"]
    diagnostics = record.get("diagnostics") or {}
    for key, label in (("dead", "dead"), ("saturated", "saturated")):
        shares = [layer[key] for layer in diagnostics.get("layers", {}).values() if layer.get(key) is not None]
        if shares:
            parts.append(f"{label}={100 * max(shares):.0f}%")
    ratios = [p["update_ratio"] for p in diagnostics.get("params", {}).values() if p.get("update_ratio") is not None]
    if ratios:
        parts.append(f"update/weight≤{max(ratios):.1e}")
    return " ".join(parts)


def epoch_line(record: dict[str, Any], is_best: bool) -> str:
    dev = " ".join(f"{title}={percent(record[key])}" for title, key in dev_columns(record))
    brief = diagnostics_brief(record)
    return (
        f"epoch {record['epoch']}: train_loss={record['train_loss']:.4f} lr={record['lr']:.3g} {dev} "
        + (f"{brief} " if brief else "")
        + f"time={record['epoch_seconds']:.2f}s tokens/s={record['tokens_per_second']:,.0f}"
        + (" *best*" if is_best else "")
    )


def advice_lines(advice: list[str]) -> list[str]:
    return [f"advice: {line}" for line in advice]


def dev_chart(records: list[dict[str, Any]]) -> str | None:
    """A small terminal chart of the dev score per epoch (None with fewer than 2 epochs or no dev set)."""
    from wintrain.plot import terminal_chart

    scores = [100 * r["dev_score"] for r in records if "dev_score" in r]
    if len(scores) < 2:
        return None
    return terminal_chart(scores, width=40, height=6, title="dev score (%) per epoch")


def summary_lines(event: RunDone, records: list[dict[str, Any]] | None = None) -> list[str]:
    s = event.summary
    chart = dev_chart(records or [])
    lines = [chart] if chart else []
    lines.append(f"done in {s['train_seconds']:.1f}s; run folder: {event.run_dir}")
    if s.get("dev"):
        lines.append(f"best epoch {s['best_epoch']}: dev {s['score']} = {percent(s['best_dev_score'])}")
    if s.get("test"):
        test = s["test"]
        if "entity" in test:
            lines.append(f"test (best epoch): entity F1 = {percent(test['entity']['f1'])}, "
                         f"accuracy = {percent(test['accuracy'])}")
        elif "segmentation" in test:
            lines.append(f"test (best epoch): tokens F1 = {percent(test['tokens']['f1'])}, sentences F1 = "
                         f"{percent(test['sentences']['f1'])}, multiword labels F1 = "
                         f"{percent(test['multiword']['f1'])} (the model's labels alone; wintrain eval scores the "
                         "words as the shared task does)")
        else:
            lines.append(f"test (best epoch): accuracy = {percent(test['accuracy'])}")
    if s.get("advice"):
        lines.append(f"advice given: {len(s['advice'])} (in summary.json; see them all with wintrain report "
                     f"{event.run_dir})")
    lines.append(f"evaluate again: wintrain eval {event.run_dir / 'best.npz'} --data FILE")
    return lines


def interrupted_line(event: RunInterrupted) -> str:
    where = f"at epoch {event.epoch}, step {event.step}" if event.step else f"after epoch {event.epoch}"
    return f"interrupted {where}; last.npz saved. Resume with: wintrain train --resume {event.run_dir}"


def render_plain(events: Iterable[Event], console: Console) -> dict[str, Any]:
    """One line per epoch (for logs and pipes)."""
    summary: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, RunInterrupted):
            console.print(interrupted_line(event), highlight=False, soft_wrap=True)
            summary = {"interrupted": True}
        elif isinstance(event, RunStarted):
            for line in describe_start(event):
                console.print(line, highlight=False, soft_wrap=True)
        elif isinstance(event, EpochDone):
            records.append(event.record)
            console.print(epoch_line(event.record, event.is_best), highlight=False, soft_wrap=True)
            for line in advice_lines(event.advice):
                console.print(line, highlight=False, markup=False, soft_wrap=True)
        elif isinstance(event, RunDone):
            summary = event.summary
            for line in summary_lines(event, records):
                console.print(line, highlight=False, markup=False, soft_wrap=True)
    return summary


def render_rich(events: Iterable[Event], console: Console) -> dict[str, Any]:
    """Epoch and batch bars with loss, lr, tokens/s and ETA; a table row per epoch."""
    summary: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
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
                console.print(interrupted_line(event), highlight=False, soft_wrap=True)
                summary = {"interrupted": True}
            elif isinstance(event, RunStarted):
                for line in describe_start(event):
                    console.print(line, highlight=False)
                done = event.resumed_at[0] if event.resumed_at else 0
                run_task = progress.add_task("epochs", total=event.epochs, completed=done, status="")
                batch_task = progress.add_task("batches", total=event.steps_per_epoch, status="")
            elif isinstance(event, EpochStarted):
                assert batch_task is not None  # RunStarted comes first
                progress.reset(batch_task, total=event.steps, completed=event.first_step,
                               description=f"epoch {event.epoch}/{event.epochs}", status=f"lr {event.lr:.3g}")
            elif isinstance(event, StepDone):
                assert batch_task is not None
                progress.update(batch_task, completed=event.step,
                                status=f"loss {event.loss:.4f}  lr {event.lr:.3g}  "
                                       f"{event.tokens_per_second:,.0f} tok/s")
            elif isinstance(event, EpochDone):
                record = event.record
                records.append(record)
                if table is None:
                    columns = ["epoch", "train loss", "lr"] + [t for t, _ in dev_columns(record)]
                    columns += (["train score"] if "train_score" in record else []) + ["seconds", "tok/s"]
                    table = Table(*columns, title="epochs")
                dev = [percent(record[key]) for _, key in dev_columns(record)]
                star = " ★" if event.is_best else ""
                train = [percent(record["train_score"])] if "train_score" in record else []
                table.add_row(f"{record['epoch']}{star}", f"{record['train_loss']:.4f}", f"{record['lr']:.3g}", *dev,
                              *train, f"{record['epoch_seconds']:.2f}", f"{record['tokens_per_second']:,.0f}")
                progress.console.print(epoch_line(record, event.is_best), highlight=False)
                for line in advice_lines(event.advice):
                    progress.console.print(f"[yellow]{line}[/yellow]", highlight=False)
                assert run_task is not None
                progress.advance(run_task)
            elif isinstance(event, RunDone):
                summary = event.summary
                progress.stop()
                if table is not None:
                    console.print(table)
                for line in summary_lines(event, records):
                    console.print(line, highlight=False, markup=False, soft_wrap=True)
    return summary


def render(events: Iterable[Event], console: Console) -> dict[str, Any]:
    return render_rich(events, console) if console.is_terminal else render_plain(events, console)


# ----------------------------------------------------------------------------- sweeps
def trial_label(overrides: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in overrides.items())


def epochs_run(record: dict[str, Any]) -> str:
    """The epochs a trial trained: ``0.25`` for 200 of 800 batches (``--steps``), else whole epochs."""
    if record.get("epochs_run") is not None:
        return f"{record['epochs_run']:.3g}"
    return str(len(record.get("epochs") or []))  # records written before trials counted their steps


def trial_status(record: dict[str, Any]) -> str:
    if record["error"]:
        return f"failed: {record['error']}"
    if record["diverged"]:
        return "diverged"
    loss = record["train_loss"]
    score = "—" if record["dev_score"] is None else f"{record['score']} {percent(record['dev_score'])}"
    pruned = f"  pruned after epoch {len(record['epochs'])}" if record.get("pruned") else ""
    return f"loss {loss:.4f}  dev {score}{pruned}  ({record['seconds']:.1f}s)"


def render_sweep(events: Iterable[Any], console: Console) -> Any:
    """A bar for the sweep, one status line per finished trial, then a table and a chart."""
    from wintrain.plot import terminal_chart
    from wintrain.sweep import SweepDone, SweepStarted, TrialDone

    result = None
    progress = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("eta"), TimeRemainingColumn(), console=console, transient=True,
                        disable=not console.is_terminal)
    with progress:
        task = None
        for event in events:
            if isinstance(event, SweepStarted):
                task = progress.add_task("sweep", total=event.total, completed=event.already_done)
                resumed = f" ({event.already_done} already done)" if event.already_done else ""
                console.print(f"{event.total} trials{resumed}; results in {event.out / 'sweep.jsonl'}",
                              highlight=False)
            elif isinstance(event, TrialDone):
                assert task is not None  # SweepStarted comes first
                progress.update(task, completed=event.done)
                console.print(f"[{event.done}/{event.total}] {trial_label(event.record['overrides'])}: "
                              f"{trial_status(event.record)}", highlight=False, markup=False)
            elif isinstance(event, SweepDone):
                result = event
    if result is None:
        return None
    table = Table("trial", "final train loss", "dev", "epochs", "status", "seconds", title="sweep")
    for record in result.records:
        best = " ★" if record is result.best else ""
        dev = "—" if record["dev_score"] is None else percent(record["dev_score"])
        loss = "—" if record["train_loss"] is None else f"{record['train_loss']:.4f}"
        status = ("error" if record["error"] else "diverged" if record["diverged"]
                  else "pruned" if record.get("pruned") else "done")
        table.add_row(trial_label(record["overrides"]) + best, loss, dev, epochs_run(record), status,
                      f"{record.get('seconds', 0):.1f}")
    console.print(table)
    scores = [math.nan if r["dev_score"] is None else 100 * r["dev_score"] for r in result.records]
    losses = [math.nan if r["train_loss"] is None or r["diverged"] else r["train_loss"] for r in result.records]
    if len(result.records) > 1:
        console.print(terminal_chart(scores, width=50, height=8, title="dev score (%) by trial", x_label="trial"),
                      highlight=False, markup=False)
        console.print(terminal_chart(losses, width=50, height=8, title="final train loss by trial", x_label="trial"),
                      highlight=False, markup=False)
        console.print("trials in table order", highlight=False)
    if result.best is None:
        if not all(r["error"] for r in result.records):  # when every trial failed, the caller says why
            console.print("no trial finished without diverging", highlight=False)
    else:
        console.print(f"best: {trial_label(result.best['overrides'])} (dev {percent(result.best['dev_score'])})",
                      highlight=False, markup=False)
    return result


def render_range_test(result: Any, console: Console) -> None:
    from wintrain.plot import terminal_chart

    finite = [v for v in result.smoothed if math.isfinite(v)]
    console.print(terminal_chart(finite, width=60, height=10, title="smoothed loss against log lr (left → right)",
                                 x_label="batch"), highlight=False, markup=False)
    console.print(f"rates {result.rates[0]:.2g} … {result.rates[len(finite) - 1]:.2g} over {len(result.rates)} "
                  f"batches", highlight=False)
    if result.suggestion is None:
        console.print(f"no suggestion: {result.rule}", highlight=False)
    else:
        console.print(f"suggested lr: {result.suggestion:.3g} ({result.rule})", highlight=False)


# ----------------------------------------------------------------------------- predict


def _size(n: float) -> str:
    """Bytes as B, kB, MB or GB (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} GB"  # pragma: no cover


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def predict_line(stats: Any) -> str:
    """One progress line of ``wintrain predict`` (for logs): tokens, how far, speed, time left."""
    parts = [f"predict: {stats.tokens:,} tokens"]
    if stats.bytes_total:
        share = min(1.0, stats.bytes_done / stats.bytes_total)
        parts.append(f"{share:.0%} of {_size(stats.bytes_total)}")
    else:
        parts.append(f"{stats.lines:,} lines")
    if stats.files > 1:
        parts.append(f"{stats.done + stats.skipped + stats.failed}/{stats.files} files")
    parts.append(f"{_duration(stats.seconds)} elapsed, {stats.tokens_per_second:,.0f} tokens/s")
    if stats.bytes_total and stats.bytes_done:
        left = stats.seconds * (stats.bytes_total - stats.bytes_done) / stats.bytes_done
        parts.append(f"eta {_duration(left)}")
    return ", ".join(parts)


def predict_summary(stats: Any, out_dir: Any = None) -> str:
    """The last line of ``wintrain predict`` on stderr."""
    speed = f"{stats.tokens:,} tokens in {stats.seconds:,.1f} s ({stats.tokens_per_second:,.0f} tokens/s)"
    if out_dir is None:
        return f"predict: {speed}"
    return (f"predict: {stats.files:,} files: {stats.done:,} done, {stats.skipped:,} skipped (already done), "
            f"{stats.failed:,} failed; {speed}; output in {out_dir}")


class PredictProgress:
    """Progress of ``wintrain predict`` on stderr: a bar on a terminal (bytes of a known total, else lines;
    tokens/s; time left), else a :func:`predict_line` every ``interval`` seconds.  ``shown`` tells whether
    anything was shown (then a summary line ends the run)."""

    def __init__(self, console: Console, interval: float = 10.0, refresh: float = 0.2) -> None:
        import time

        self.console = console
        self.interval = interval if not console.is_terminal else refresh
        self.shown = False
        self._clock = time.monotonic
        self._last = self._clock()
        self._progress: Progress | None = None
        self._task: Any = None

    def __call__(self, stats: Any) -> None:
        now = self._clock()
        if now - self._last < self.interval:
            return
        self._last = now
        self.shown = True
        if not self.console.is_terminal:
            self.console.print(predict_line(stats), highlight=False, markup=False, soft_wrap=True)
            return
        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                      TextColumn("{task.fields[done]}"), TimeElapsedColumn(), TextColumn("eta"),
                                      TimeRemainingColumn(), TextColumn("{task.fields[speed]}"),
                                      console=self.console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("predict", total=stats.bytes_total, done="", speed="")
        known = bool(stats.bytes_total)
        done = f"{_size(stats.bytes_done)}/{_size(stats.bytes_total)}" if known else f"{stats.lines:,} lines"
        if stats.files > 1:
            done += f", {stats.done + stats.skipped + stats.failed}/{stats.files} files"
        self._progress.update(self._task, completed=stats.bytes_done if known else stats.lines, done=done,
                              speed=f"{stats.tokens_per_second:,.0f} tok/s",
                              description=(stats.current or "predict")[-30:])

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
