"""One self-contained HTML page for one run or several: inline CSS, inline SVG, a little inline JS.

The page needs no network: a Content-Security-Policy forbids every fetch, charts are SVG drawn
by :mod:`.charts`, the confusion matrix is a table coloured in place, and the script only
filters the error list and hides config rows.  Every text from a run (tokens, tags, config
values, advice, names) goes through :func:`html.escape`.

Sections: 1 header (runs, when, versions, best epoch, best dev and test score); 2 config (one
column per run, differing keys highlighted); 3 learning curves (runs overlaid); 4 diagnostics
per layer and parameter, with training's advice; then per run 5 per-type (or per-class) scores
and the confusion matrix and 6 the dev sentences with errors, filterable by kind and type.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any

import numpy as np

from wintrain import __version__
from wintrain.data.tags import TagScheme, tag_order
from wintrain.evaluation.confusion import confusion_matrix
from wintrain.evaluation.metrics import evaluate_tags
from wintrain.report.charts import Series, colour, line_chart
from wintrain.report.errors import CHUNK_KINDS, FLAT_KINDS, KINDS, SentenceErrors, Span, TagError, count_errors
from wintrain.report.predictions import DevPredictions
from wintrain.report.runs import RunData, number
from wintrain.sweep.compare import IGNORED_KEYS, flatten, normalised, show_value

GENERATOR = "wintrain report"
"""The ``<meta name="generator">`` of every report (how a later run knows a file is one)."""

POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


@dataclass(frozen=True)
class RunReport:
    """What the page shows of one run: its files, its dev predictions (or why there are none) and
    the dev sentences with errors."""

    run: RunData
    predictions: DevPredictions | None = None
    unavailable: str | None = None
    errors: list[SentenceErrors] = field(default_factory=list)


def _pct(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}"


def _attr(value: Any) -> str:
    return escape(str(value), quote=True)


def render(reports: Sequence[RunReport], generated: datetime, max_sentences: int = 500) -> str:
    """The whole page for ``reports`` (one per run), ``max_sentences`` sentences with errors listed per run."""
    runs = [report.run for report in reports]
    names = ", ".join(run.name for run in runs)
    sections = [
        _header(runs, generated),
        _config_section(runs),
        _curves_section(runs),
        _diagnostics_section(runs),
    ]
    for index, report in enumerate(reports):
        sections.append(_evaluation_section(report, index, len(reports) > 1, max_sentences))
    contents = [("runs", "Runs"), ("config", "Config"), ("curves", "Learning curves"),
                ("diagnostics", "Diagnostics")]
    for index, report in enumerate(reports):
        suffix = f": {report.run.name}" if len(reports) > 1 else ""
        contents.append((f"eval-{index}", f"Dev scores{suffix}"))
        contents.append((f"errors-{index}", f"Dev errors{suffix}"))
    nav = "".join(f'<a href="#{key}">{escape(label)}</a>' for key, label in contents)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_attr(POLICY)}">'
        f'<meta name="generator" content="{GENERATOR}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>wintrain report: {escape(names)}</title><style>{CSS}</style></head>\n"
        f'<body><nav>{nav}</nav><main>\n' + "\n".join(sections) + f"\n</main><script>{SCRIPT}</script></body></html>\n"
    )


# ---------------------------------------------------------------- 1. header


def _header(runs: Sequence[RunData], generated: datetime) -> str:
    title = escape(", ".join(run.name for run in runs))
    rows = []
    for index, run in enumerate(runs):
        planned = run.epochs_planned
        epochs = f"{len(run.rows)}" + (f" of {planned}" if planned else "")
        best = run.best_dev_score
        test = run.test_score
        seconds = number((run.summary or {}).get("train_seconds"))
        if seconds is None:
            seconds = sum(value for _, value in run.series("epoch_seconds")) or None
        versions = ", ".join(f"{package} {version}" for package in ("wintrain", "numpy", "python")
                             if (version := run.version(package)))
        seed = run.environment.get("seed", (run.summary or {}).get("seed", run.config.get("seed")))
        rows.append(
            "<tr>"
            f'<td><span class="swatch" style="background:{colour(index)}"></span>{escape(run.name)}'
            f'<div class="path">{escape(str(run.path))}</div></td>'
            f"<td>{escape(str(run.environment.get('started', '–')))}</td>"
            f"<td>{escape(run.status)}</td><td class=num>{escape(epochs)}</td>"
            f"<td class=num>{run.best_epoch or '–'}</td>"
            f"<td class=num>{_pct(best)} <small>{escape(run.score_name) if best is not None else ''}</small></td>"
            f"<td class=num>{_pct(test)}</td>"
            f"<td class=num>{'–' if seconds is None else f'{seconds:.1f} s'}</td>"
            f"<td>{escape(versions) or '–'}</td><td class=num>{escape(str(seed)) if seed is not None else '–'}</td>"
            "</tr>"
        )
    return (
        f'<header id="runs"><h1>wintrain report: {title}</h1>'
        f'<p class="note">Generated {escape(generated.isoformat(timespec="seconds"))} by wintrain {__version__}. '
        "Scores in %; the best epoch is the one best.npz holds, and the test score is of best.npz.</p>"
        '<div class="scroll"><table class="runs"><thead><tr><th>run</th><th>started</th><th>status</th>'
        "<th>epochs</th><th>best epoch</th><th>best dev</th><th>test</th><th>train time</th><th>versions</th>"
        f"<th>seed</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div></header>"
    )


# ---------------------------------------------------------------- 2. config


def _config_section(runs: Sequence[RunData]) -> str:
    """One run: its config grouped by section.  Several: a key per row, a run per column, the keys
    whose values differ (defaults filled in first, so an implicit default is no difference) highlighted."""
    flats = [flatten(normalised(run.config)) if run.config else {} for run in runs]
    keys = list(dict.fromkeys(key for flat in flats for key in flat))
    if not keys:
        return '<section id="config"><h2>Config</h2><p class="empty">No config.yaml in any run folder.</p></section>'
    if len(runs) == 1:
        return _config_groups(flats[0])
    differing = [key for key in keys if key not in IGNORED_KEYS and len(
        {json.dumps(flat[key], sort_keys=True, default=str) if key in flat else None for flat in flats}) > 1]
    head = "".join(f"<th>{escape(run.name)}</th>" for run in runs)
    body = []
    for key in keys:
        cells = "".join(f"<td>{escape(show_value(flat[key])) if key in flat else '<i>absent</i>'}</td>"
                        for flat in flats)
        body.append(f'<tr{" class=diff" if key in differing else ""}><th>{escape(key)}</th>{cells}</tr>')
    toggle = (f'<p><label><input type="checkbox" class="only-diff"> only the {len(differing)} differing keys'
              f'</label> <span class="note">(highlighted)</span></p>' if differing
              else "<p class=note>The runs' configs are the same.</p>")
    return (f'<section id="config"><h2>Config</h2>{toggle}<div class="scroll"><table class="config">'
            f"<thead><tr><th>key</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div></section>")


def _config_groups(flat: dict[str, Any]) -> str:
    """One run's config: a small table per top-level section (data, model, optimizer, ...), side by side."""
    groups: dict[str, list[str]] = {}
    for key, value in flat.items():
        section, _, rest = key.partition(".")
        groups.setdefault(section if rest else "", []).append(
            f"<tr><th>{escape(rest or key)}</th><td>{escape(show_value(value))}</td></tr>")
    tables = "".join(f'<table class="config"><thead><tr><th colspan=2>{escape(section or "run")}</th></tr></thead>'
                     f"<tbody>{''.join(rows)}</tbody></table>" for section, rows in groups.items())
    return f'<section id="config"><h2>Config</h2><div class="groups">{tables}</div></section>'


# ---------------------------------------------------------------- 3. learning curves


def _scaled(points: Sequence[tuple[int, float]], factor: float) -> list[tuple[float, float]]:
    return [(float(x), y * factor) for x, y in points]


def _curves_section(runs: Sequence[RunData]) -> str:
    several = len(runs) > 1
    loss, scores, rates = [], [], []
    for index, run in enumerate(runs):
        prefix = f"{run.name} " if several else ""
        loss.append(Series(f"{run.name}" if several else "train loss", _scaled(run.series("train_loss"), 1),
                           colour(index)))
        scores.append(Series(f"{prefix}dev", _scaled(run.series("dev_score"), 100), colour(index)))
        if run.has_train_score:
            scores.append(Series(f"{prefix}train", _scaled(run.series("train_score"), 100), colour(index),
                                 dashed=True))
        rates.append(Series(run.name if several else "learning rate", _scaled(run.series("lr"), 1), colour(index)))
    score_names = ", ".join(dict.fromkeys(run.score_name for run in runs))
    lrs = [y for s in rates for _, y in s.points if y > 0]
    log_lr = bool(lrs) and max(lrs) / min(lrs) > 20
    train_score = any(run.has_train_score for run in runs)
    charts = [
        line_chart("Training loss (mean J per epoch)", loss, "loss"),
        line_chart("Dev score" + (" (solid) and train score (dashed)" if train_score else ""), scores,
                   f"{score_names} (%)"),
        line_chart("Learning rate at the epoch's end", rates, "lr", log_y=log_lr),
    ]
    note = "" if train_score else ('<p class="note">No train score recorded (runs trained before wintrain measured '
                                   "the score on a training sample).</p>")
    return (f'<section id="curves"><h2>Learning curves</h2>{note}<div class="charts">'
            + "".join(charts) + "</div></section>")


# ---------------------------------------------------------------- 4. diagnostics


def _layer_series(
    diagnostics: Sequence[tuple[int, dict[str, Any]]], group: str
) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Per layer (or parameter) name, in order of first appearance: ``(epoch, its fields)``."""
    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for epoch, diagnostic in diagnostics:
        entries = diagnostic.get(group)
        if isinstance(entries, dict):
            for name, fields in entries.items():
                if isinstance(fields, dict):
                    found.setdefault(str(name), []).append((epoch, fields))
    return found


def _field(points: Sequence[tuple[int, dict[str, Any]]], key: str, factor: float = 1.0) -> list[tuple[float, float]]:
    """``(epoch, value × factor)`` of the epochs whose fields hold a number under ``key``."""
    values = [(float(epoch), number(fields.get(key))) for epoch, fields in points]
    return [(epoch, value * factor) for epoch, value in values if value is not None]


def _diagnostics_charts(run: RunData) -> str:
    layers = _layer_series(run.diagnostics, "layers")
    params = _layer_series(run.diagnostics, "params")
    units, activations, pre = [], [], []
    for index, (name, points) in enumerate(layers.items()):
        activation = next((str(fields["activation"]) for _, fields in reversed(points) if fields.get("activation")),
                          "")
        label = f"{name} ({activation})" if activation else name
        for key in ("saturated", "dead"):
            values = _field(points, key, 100)
            if values:
                units.append(Series(f"{label} {key}", values, colour(index), dashed=key == "dead"))
        activations += [Series(f"{name} mean", _field(points, "act_mean"), colour(index)),
                        Series(f"{name} std", _field(points, "act_std"), colour(index), dashed=True)]
        pre += [Series(f"{name} mean", _field(points, "pre_mean"), colour(index)),
                Series(f"{name} std", _field(points, "pre_std"), colour(index), dashed=True)]
    gradient, weight, ratio = [], [], []
    for index, (name, points) in enumerate(params.items()):
        gradient.append(Series(name, _field(points, "grad_norm"), colour(index), dashed=index >= 10))
        weight.append(Series(name, _field(points, "weight_norm"), colour(index), dashed=index >= 10))
        ratio.append(Series(name, _field(points, "update_ratio"), colour(index), dashed=index >= 10))
    charts = [
        line_chart("Saturated (tanh/sigmoid) and dead (ReLU) units", units, "% of units", include_zero=True),
        line_chart("Activations: mean (solid), std (dashed)", activations, "value"),
        line_chart("Pre-activations: mean (solid), std (dashed)", pre, "value"),
        line_chart("Gradient norm per parameter", gradient, "‖g‖ (log)", log_y=True),
        line_chart("Update / weight ratio per parameter", ratio, "‖Δθ‖ / ‖θ‖ (log)", log_y=True,
                   guides=[(1e-3, "1e-3")]),
        line_chart("Weight norm per parameter", weight, "‖θ‖ (log)", log_y=True),
    ]
    return '<div class="charts">' + "".join(charts) + "</div>"


def _advice_list(run: RunData) -> str:
    if not run.advice:
        return ""
    items = []
    for entry in run.advice:
        epoch = number(entry.get("epoch"))
        where = f"epoch {int(epoch)}" if epoch is not None else "run"
        items.append(f"<li><b>{escape(where)}</b> <code>{escape(str(entry.get('kind', '')))}</code> "
                     f"{escape(str(entry.get('message', '')))}</li>")
    return f'<h3 class="sub">Advice from training</h3><ul class="advice">{"".join(items)}</ul>'


def _diagnostics_section(runs: Sequence[RunData]) -> str:
    parts = ['<section id="diagnostics"><h2>Diagnostics</h2>']
    if not any(run.diagnostics or run.advice for run in runs):
        parts.append('<p class="empty">No diagnostics recorded: metrics.jsonl has no per-epoch "diagnostics" '
                     "(runs trained before wintrain recorded layer statistics).</p></section>")
        return "".join(parts)
    parts.append('<p class="note">Per hidden layer: the share of saturated units (tanh/sigmoid family, |output| '
                 "near its bound) or dead units (ReLU family, never active), the mean and spread of the "
                 "activations; per parameter group: gradient norm, update / weight ratio (the median of the "
                 "epoch's probed steps; about 1e-4 to 1e-2 a step is healthy, and the advice also looks at "
                 "the largest) and weight norm, on log axes.</p>")
    for run in runs:
        if len(runs) > 1:
            parts.append(f"<h3>{escape(run.name)}</h3>")
        if run.diagnostics:
            parts.append(_diagnostics_charts(run))
        else:
            parts.append('<p class="empty">No per-epoch diagnostics in this run.</p>')
        parts.append(_advice_list(run))
    parts.append("</section>")
    return "".join(parts)


# ---------------------------------------------------------------- 5. scores and confusion


def _bar(value: float | None) -> str:
    if value is None:
        return "<td class=num>–</td>"
    width = max(0.0, min(100.0, 100 * value))
    return (f'<td class="num bar" style="background:linear-gradient(90deg,#cfe3f5 {width:.1f}%,transparent '
            f'{width:.1f}%)">{_pct(value)}</td>')


def _score_table(metrics: dict[str, Any], test: dict[str, Any] | None) -> str:
    entity = metrics.get("entity")
    if isinstance(entity, dict):
        per: dict[str, Any] = entity.get("per_type") or {}
        total, total_name, what = entity, "all chunks", "type"
        test_per = ((test or {}).get("entity") or {}).get("per_type") or {}
        test_total = (test or {}).get("entity")
    else:
        per = metrics.get("per_class") or {}
        total, total_name, what = None, "", "tag"
        test_per = (test or {}).get("per_class") or {}
        test_total = None
    has_test = bool(test_per)
    head = (f"<tr><th>{what}</th><th>precision</th><th>recall</th><th>F1</th><th>gold</th><th>predicted</th>"
            + ("<th>test F1</th>" if has_test else "") + "</tr>")
    rows = []
    for name, score in list(per.items()) + ([(total_name, total)] if total else []):
        if not isinstance(score, dict):
            continue
        is_total = score is total
        test_score = test_total if is_total else test_per.get(name)
        rows.append(
            f'<tr{" class=total" if is_total else ""}><th>{escape(str(name))}</th>'
            + "".join(_bar(number(score.get(key))) for key in ("precision", "recall", "f1"))
            + f"<td class=num>{escape(str(score.get('gold', '–')))}</td>"
            + f"<td class=num>{escape(str(score.get('found', '–')))}</td>"
            + (_bar(number((test_score or {}).get("f1"))) if has_test else "")
            + "</tr>"
        )
    extra = []
    if number(metrics.get("accuracy")) is not None:
        extra.append(f"token accuracy {_pct(number(metrics.get('accuracy')))} %")
    if number(metrics.get("macro_f1")) is not None:
        extra.append(f"macro F1 {_pct(number(metrics.get('macro_f1')))} %")
    caption = f'<p class="note">{escape("; ".join(extra))}</p>' if extra else ""
    return (f'{caption}<div class="scroll"><table class="scores"><thead>{head}</thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _count_text(count: int) -> str:
    if count >= 100_000:
        return f"{count / 1000:.0f}k"
    if count >= 10_000:
        return f"{count / 1000:.1f}k"
    return str(count)


def _confusion(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> str:
    """The confusion matrix as a heat map table: rows gold, columns predicted, counts in the cells,
    each cell coloured by its share of the gold row (square-root scale, so that small shares show);
    the diagonal blue, the errors red."""
    flat_gold = [tag for sentence in gold for tag in sentence]
    flat_predicted = [tag for sentence in predicted for tag in sentence]
    labels = sorted(set(flat_gold) | set(flat_predicted), key=tag_order)
    matrix = confusion_matrix(flat_gold, flat_predicted, labels)
    totals = matrix.sum(axis=1)
    shares = matrix / np.maximum(totals, 1)[:, None]
    dense = " dense" if len(labels) > 20 else ""
    head = "".join(f'<th class="col"><span>{escape(label)}</span></th>' for label in labels)
    rows = []
    for g, label in enumerate(labels):
        cells = []
        for p, other in enumerate(labels):
            count = int(matrix[g, p])
            share = float(shares[g, p])
            if count == 0:
                cells.append("<td></td>")
                continue
            strength = math.sqrt(share)
            rgb = "33,102,172" if g == p else "202,0,32"
            ink = "#fff" if strength > 0.55 else "#111"
            title = f"gold {label} → predicted {other}: {count} ({100 * share:.1f} % of gold {label})"
            cells.append(f'<td style="background:rgba({rgb},{0.08 + 0.92 * strength:.3f});color:{ink}" '
                         f'title="{_attr(title)}">{_count_text(count)}</td>')
        rows.append(f"<tr><th>{escape(label)}</th>{''.join(cells)}<td class=total>{int(totals[g])}</td></tr>")
    return (f'<div class="scroll"><table class="confusion{dense}"><thead><tr><th class="corner">gold \\ '
            f'predicted</th>{head}<th class="col"><span>total</span></th></tr></thead><tbody>{"".join(rows)}'
            "</tbody></table></div>"
            '<p class="note">Rows: gold tag; columns: predicted tag; cells: token counts, coloured by the share of '
            "the gold row (square-root scale): blue on the diagonal (right), red off it (wrong). Hover a cell for "
            "its share.</p>")


def _evaluation_section(report: RunReport, index: int, several: bool, max_sentences: int) -> str:
    run = report.run
    title = f": {escape(run.name)}" if several else ""
    parts = [f'<section id="eval-{index}"><h2>Dev scores{title}</h2>']
    metrics, source = run.dev_metrics, f"summary.json, best epoch {run.best_epoch}"
    predictions = report.predictions
    if metrics is None and predictions is not None:
        metrics = evaluate_tags(predictions.gold, predictions.predicted,
                                scheme=TagScheme(predictions.scheme, predictions.scheme).scoring)
        source = "best.npz on dev, scored for this report"
    if metrics is not None:
        parts.append(f'<p class="note">From {escape(source)}.</p>')
        parts.append(_score_table(metrics, run.test_metrics))
    else:
        parts.append('<p class="empty">No dev scores: the run has no summary.json with dev metrics.</p>')
    parts.append("<h3>Confusion matrix (dev, best.npz)</h3>")
    if predictions is not None:
        parts.append(_confusion(predictions.gold, predictions.predicted))
    else:
        parts.append(f'<p class="empty">No confusion matrix: {escape(report.unavailable or "no dev predictions")}.</p>')
    parts.append("</section>")
    parts.append(_errors_section(report, index, several, max_sentences))
    return "".join(parts)


# ---------------------------------------------------------------- 6. errors


def _chunk_line(tokens: Sequence[str], spans: Sequence[Span], kinds: dict[tuple[int, int], str]) -> str:
    """Tokens with the chunks ``spans`` boxed and typed; a chunk in an error gets its kind's class."""
    out: list[str] = []
    position = 0
    for start, end, kind in spans:
        out.extend(escape(token) for token in tokens[position:start])
        css = kinds.get((start, end), "ok")
        words = " ".join(escape(token) for token in tokens[start:end])
        out.append(f'<span class="ch {css}">{words}<sub>{escape(kind)}</sub></span>')
        position = end
    out.extend(escape(token) for token in tokens[position:])
    return " ".join(out)


def _tag_line(tokens: Sequence[str], tags: Sequence[str], wrong: set[int]) -> str:
    """Tokens with the tags of the ``wrong`` positions shown under them."""
    return " ".join(f'<span class="ch wrong_tag">{escape(token)}<sub>{escape(tags[i])}</sub></span>' if i in wrong
                    else escape(token) for i, token in enumerate(tokens))


def _span_kinds(errors: Sequence[TagError], side: Callable[[TagError], tuple[int, int] | None]) -> dict[
        tuple[int, int], str]:
    kinds: dict[tuple[int, int], str] = {}
    for error in errors:
        span = side(error)
        if span is not None:
            kinds.setdefault(span, error.kind)
    return kinds


def _sentence(sentence: SentenceErrors, flat: bool) -> str:
    data = json.dumps([[error.kind, list(error.types)] for error in sentence.errors])
    if flat:
        wrong = {error.start for error in sentence.errors}
        gold = _tag_line(sentence.tokens, sentence.gold, wrong)
        predicted = _tag_line(sentence.tokens, sentence.predicted, wrong)
    else:
        gold = _chunk_line(sentence.tokens, sentence.gold_spans, _span_kinds(sentence.errors, lambda e: e.gold_span))
        predicted = _chunk_line(sentence.tokens, sentence.predicted_spans,
                                _span_kinds(sentence.errors, lambda e: e.predicted_span))
    described = " · ".join(f'<span class="k {error.kind}">{escape(error.describe())}</span>'
                           for error in sentence.errors)
    return (f'<div class="sent" data-errors="{_attr(data)}"><div class="meta">sentence {sentence.index + 1}: '
            f'{described}</div><div class="row"><span class="who">gold</span><span>{gold}</span></div>'
            f'<div class="row"><span class="who">predicted</span><span>{predicted}</span></div></div>')


def _errors_section(report: RunReport, index: int, several: bool, max_sentences: int) -> str:
    title = f": {escape(report.run.name)}" if several else ""
    head = f'<section id="errors-{index}" class="errors"><h2>Dev errors{title}</h2>'
    predictions = report.predictions
    if predictions is None:
        reason = escape(report.unavailable or "no dev predictions")
        return f'{head}<p class="empty">No error list: {reason}.</p></section>'
    sentences = report.errors
    flat = predictions.scheme == "flat"
    kinds, types = count_errors(sentences)
    total = sum(kinds.values())
    token_count = sum(len(sentence) for sentence in predictions.tokens)
    summary = (f"{len(sentences):,} of {len(predictions.tokens):,} dev sentences ({token_count:,} tokens) have errors; "
               f"{total:,} errors" + (f" ({escape(predictions.scheme)} chunks compared)" if not flat else
                                       " (tokens compared)") + ".")
    if not sentences:
        return f'{head}<p class="note">{summary} Nothing to list.</p></section>'
    checks = "".join(
        f'<label class="k {kind}"><input type="checkbox" data-kind="{kind}" checked> {escape(KINDS[kind])} '
        f"({kinds[kind]:,})</label>" for kind in (FLAT_KINDS if flat else CHUNK_KINDS) if kinds[kind])
    options = "".join(f'<option value="{_attr(name)}">{escape(name)} ({count:,})</option>'
                      for name, count in sorted(types.items(), key=lambda item: (-item[1], item[0])))
    listed = sentences[:max_sentences]
    more = len(sentences) - len(listed)
    cap = (f" The first {len(listed):,} are listed; {more:,} more are not (the page stays small)." if more else "")
    what = "tag" if flat else "type"
    controls = (f'<div class="filters">{checks}<label>{what} <select class="type"><option value="">any {what}'
                f'</option>{options}</select></label> <span class="count">showing <b class="shown">{len(listed)}'
                f"</b> of {len(listed):,} listed sentences</span></div>")
    legend = ("" if flat else '<p class="note">Boxes are chunks with their type; colours: '
              + " ".join(f'<span class="ch {kind}">{escape(KINDS[kind])}</span>' for kind in CHUNK_KINDS)
              + ' <span class="ch ok">right</span>.</p>')
    items = "".join(_sentence(sentence, flat) for sentence in listed)
    return (f'{head}<p class="note">{summary}{cap}</p>{legend}{controls}<div class="list">{items}</div>'
            "</section>")


# ---------------------------------------------------------------- style and script

CSS = """
:root{--ink:#1d2430;--muted:#5b6573;--line:#d8dde4;--bg:#fff;--soft:#f4f6f9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);
background:var(--bg)}
nav{position:sticky;top:0;z-index:2;background:#24344d;padding:6px 16px;display:flex;flex-wrap:wrap;gap:4px 16px}
nav a{color:#e8eef7;text-decoration:none;font-size:13px}
nav a:hover{text-decoration:underline}
main{max-width:1500px;margin:0 auto;padding:8px 20px 40px}
h1{font-size:22px;margin:14px 0 4px}
h2{font-size:18px;margin:28px 0 8px;padding-top:8px;border-top:2px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
.note{color:var(--muted);margin:4px 0 8px}
.empty{color:var(--muted);font-style:italic}
.scroll{overflow:auto;max-width:100%}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--soft);position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.path{color:var(--muted);font-size:11px;word-break:break-all}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
table.config td{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;word-break:break-all;
max-width:420px}
table.config tbody th{font-weight:normal;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;
white-space:nowrap}
.groups{display:flex;flex-wrap:wrap;gap:12px 20px;align-items:flex-start}
.groups table.config td{max-width:300px}
tr.diff{background:#fff4c2}
tr.diff th{font-weight:bold}
table.config.only-diff tbody tr:not(.diff){display:none}
.charts{display:flex;flex-wrap:wrap;gap:12px 24px}
svg.chart{background:#fff;border:1px solid var(--line);border-radius:4px}
svg .title{font-size:13px;font-weight:600;fill:var(--ink)}
svg .tick{font-size:11px;fill:var(--muted)}
svg .label{font-size:12px;fill:var(--muted)}
svg .legend{font-size:12px;fill:var(--ink)}
svg .grid{stroke:#eceff3;stroke-width:1}
svg .axis{stroke:#8a94a3;stroke-width:1;fill:none}
svg .guide{stroke:#7a7a7a;stroke-width:1;stroke-dasharray:2 3}
svg .line{fill:none;stroke-width:2}
ul.advice li{margin:3px 0}
table.scores tr.total th,table.scores tr.total td{font-weight:bold;border-top:2px solid var(--line)}
table.confusion{font-size:12px}
table.confusion td{text-align:right;min-width:34px;font-variant-numeric:tabular-nums;border:1px solid #eef0f3}
table.confusion td.total{color:var(--muted);background:var(--soft)}
table.confusion tbody th{white-space:nowrap;background:var(--soft);position:sticky;left:0}
table.confusion th.col{vertical-align:bottom;text-align:center;padding:4px 2px}
table.confusion th.col span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
table.confusion.dense{font-size:10.5px}
table.confusion.dense td{min-width:26px;padding:2px 3px}
.filters{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;padding:8px 10px;background:var(--soft);
border:1px solid var(--line);border-radius:4px;position:sticky;top:30px;z-index:1}
.filters label{white-space:nowrap}
.count{margin-left:auto;color:var(--muted)}
.sent{border-bottom:1px solid var(--line);padding:6px 2px}
.sent .meta{font-size:12px;color:var(--muted);margin-bottom:2px}
.sent .row{display:grid;grid-template-columns:80px 1fr;line-height:2.1}
.sent .who{color:var(--muted);font-size:12px}
.ch{display:inline-block;border:1px solid #b9c2cf;border-radius:3px;padding:0 3px;line-height:1.5;
background:#f3f5f8}
.ch sub{font-size:10px;color:var(--muted);margin-left:3px;vertical-align:baseline}
.ch.ok{background:#e7f5e9;border-color:#9fd3a8}
.ch.missed,.k.missed{background:#fde2e1;border-color:#e57373}
.ch.spurious,.k.spurious{background:#fff0d0;border-color:#f0a830}
.ch.wrong_type,.k.wrong_type{background:#e8e0fb;border-color:#9575cd}
.ch.wrong_span,.k.wrong_span{background:#d9ecfb;border-color:#4f97d6}
.ch.wrong_tag,.k.wrong_tag{background:#fde2e1;border-color:#e57373}
.k{border:1px solid transparent;border-radius:3px;padding:0 4px}
[hidden]{display:none!important}
"""

SCRIPT = """
(function () {
  "use strict";
  document.querySelectorAll("input.only-diff").forEach(function (box) {
    var table = box.closest("section").querySelector("table.config");
    box.addEventListener("change", function () { table.classList.toggle("only-diff", box.checked); });
  });
  document.querySelectorAll("section.errors").forEach(function (section) {
    var items = Array.prototype.slice.call(section.querySelectorAll(".sent"));
    if (!items.length) { return; }
    var errors = items.map(function (item) { return JSON.parse(item.getAttribute("data-errors")); });
    var boxes = Array.prototype.slice.call(section.querySelectorAll("input[data-kind]"));
    var select = section.querySelector("select.type");
    var shown = section.querySelector(".shown");
    function apply() {
      var on = {};
      boxes.forEach(function (box) { on[box.getAttribute("data-kind")] = box.checked; });
      var type = select ? select.value : "";
      var count = 0;
      items.forEach(function (item, i) {
        var match = errors[i].some(function (error) {
          return on[error[0]] && (type === "" || error[1].indexOf(type) >= 0);
        });
        item.hidden = !match;
        if (match) { count += 1; }
      });
      shown.textContent = String(count);
    }
    boxes.forEach(function (box) { box.addEventListener("change", apply); });
    if (select) { select.addEventListener("change", apply); }
    apply();
  });
})();
"""
