"""The quality report as one self-contained HTML page: inline CSS, inline SVG plots, no external URL.

Plain functions that return escaped HTML fragments (no template engine): every value that comes from the
data (ids, texts, labels, field names) goes through `html.escape`. Numbers are formatted by `fmt_rate`,
`fmt_score` and `fmt_count`, which tests also use to find the JSON twin's numbers in the rendered page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from html import escape

from datatrainer.quality.metrics.coherence import CoherenceSummary
from datatrainer.quality.metrics.completeness import CompletenessSummary
from datatrainer.quality.metrics.errors import ErrorSummary
from datatrainer.quality.metrics.examples import ProblemExamples
from datatrainer.quality.metrics.freshness import FreshnessSummary
from datatrainer.quality.metrics.history import TrendPoint
from datatrainer.quality.metrics.label_errors import LabelErrorSummary
from datatrainer.quality.metrics.result import QualitySummary
from datatrainer.quality.metrics.stats import Quantiles
from datatrainer.quality.report_plots import bars_svg, histogram_svg, small_histograms_svg, trend_svg

HEADLINES = (("completeness_rate", "Completeness rate", "rate"), ("error_rate", "Error rate", "rate"),
             ("label_issue_rate", "Label issue rate", "rate"), ("coherence_index", "Coherence index", "score"),
             ("freshness_score", "Freshness score", "score"))
SHORT_SNIPPET = 160

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:1.5rem;color:#1d2430}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #dde3ea;padding-bottom:.2rem}
.meta{color:#5b6675}.cards{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #dde3ea;border-radius:8px;padding:.7rem 1rem;min-width:150px}
.card .value{font-size:1.6rem;font-weight:600}.card .label{color:#5b6675;font-size:.85rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}td,th{border-bottom:1px solid #eef1f4;
padding:.25rem .6rem;text-align:left;vertical-align:top}th{background:#f6f8fa}td.num{text-align:right;
font-variant-numeric:tabular-nums}.snippet{font-family:ui-monospace,monospace;font-size:.8rem;white-space:pre-wrap;
word-break:break-word;max-width:560px}.record{border:1px solid #dde3ea;border-radius:6px;padding:.5rem .8rem;
margin:.5rem 0}.record:target{border-color:#3b6ea5;background:#f2f7fc}.muted{color:#8a94a3}
pre{background:#f6f8fa;padding:.8rem;overflow:auto;font-size:.8rem}svg{max-width:100%;height:auto}
"""


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def fmt_score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def fmt_count(value: int) -> str:
    return f"{value:,}"


def fmt_headline(kind: str, value: float | None) -> str:
    return fmt_rate(value) if kind == "rate" else fmt_score(value)


def _records(count: int) -> str:
    return f"{fmt_count(count)} record{'' if count == 1 else 's'}"


def anchor(record_id: str) -> str:
    """An HTML id for a record id of any characters (ids may contain spaces, quotes, '#')."""
    return "rec-" + hashlib.sha1(record_id.encode()).hexdigest()[:16]  # nosec B324  # a stable id or fixture text, not a security hash


def html_table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """Cells are HTML already (escape data before passing it)."""
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _quantiles(q: Quantiles, unit: str) -> str:
    names = ("mean", "min", "p10", "p25", "median", "p75", "p90", "max")
    values = [getattr(q, name) for name in names]
    return html_table(["", *names], [[unit, *("n/a" if v is None else f"{v:,.1f}" for v in values)]],
                  numeric=range(1, 9))


def headline_cards(summary: QualitySummary) -> str:
    values = summary.headline()
    cards = "".join(f'<div class="card" id="headline-{key}"><div class="value">{fmt_headline(kind, values[key])}'
                    f'</div><div class="label">{label}</div></div>' for key, label, kind in HEADLINES)
    return f'<div class="cards">{cards}</div>'


def completeness_section(c: CompletenessSummary) -> str:
    rows = [[escape(f.field), fmt_rate(f.present_rate), fmt_count(f.missing), fmt_count(f.blank),
             fmt_count(f.placeholder)] for f in c.fields]
    return (f"<h2 id='completeness'>Completeness: {fmt_rate(c.rate)}</h2>"
            f"<p>{fmt_count(c.complete)} of {fmt_count(c.records)} records have every required field present "
            "and non-trivial.</p>" + html_table(["field", "present", "missing", "blank", "placeholder"], rows,
                                            numeric=(1, 2, 3, 4)))


def errors_section(e: ErrorSummary) -> str:
    rows = [[escape(rule), fmt_count(r.count), fmt_rate(r.rate)] for rule, r in e.rules.items()]
    schema = "".join(f"<li>'{escape(name)}' is stored as {escape(kind)}</li>" for name, kind in
                     e.schema_violations.items())
    return (f"<h2 id='errors'>Error rate: {fmt_rate(e.rate)}</h2><p>{fmt_count(e.records_with_errors)} of "
            f"{fmt_count(e.records)} records break at least one validation rule.</p>"
            + html_table(["rule", "records", "rate"], rows, numeric=(1, 2))
            + (f"<p>Schema violations:</p><ul>{schema}</ul>" if schema else ""))


def label_section(lab: LabelErrorSummary) -> str:
    title = f"<h2 id='label-errors'>Label issues (confident learning): {fmt_rate(lab.rate)}</h2>"
    if lab.status == "skipped":
        return title + f"<p class='muted'>Not run: {escape(lab.reason or '')}</p>"
    sample = " (a seeded sample)" if lab.sampled else ""
    rows = [[escape(label), fmt_count(count), fmt_count(lab.issues_by_label.get(label, 0))]
            for label, count in lab.classes.items()]
    return (title + f"<p>{fmt_count(lab.issues)} likely label errors among {fmt_count(lab.checked)} checked "
            f"records{sample} of {fmt_count(lab.labelled)} labelled; embedder {escape(lab.embedder)}, "
            f"{lab.cv_folds}-fold out-of-fold accuracy {fmt_rate(lab.cv_accuracy)}. Reported apart from the "
            "error rate.</p>" + html_table(["label", "checked", "flagged"], rows, numeric=(1, 2)))


def coherence_section(c: CoherenceSummary) -> str:
    rows = [[escape(x.name), x.status, fmt_count(x.applicable), fmt_count(x.problems), fmt_rate(x.rate),
             escape(x.reason or "")] for x in c.components]
    parts = [f"<h2 id='coherence'>Coherence index: {fmt_score(c.index)}</h2>",
             "<p>1 - mean of the component problem rates.</p>",
             html_table(["component", "status", "applies to", "problems", "rate", "note"], rows, numeric=(2, 3, 4))]
    if c.language_mix:
        parts.append("<h3>Language mix</h3>" + bars_svg(c.language_mix, "records"))
    if c.format_shapes:
        shape_rows = [[escape(field), escape(str(c.dominant_formats.get(field))),
                       escape(", ".join(f"{s!r}: {n:,}" for s, n in shapes.items()))]
                      for field, shapes in c.format_shapes.items()]
        parts.append("<h3>Field formats</h3>" + html_table(["field", "dominant shape", "shapes"], shape_rows))
    if c.repetition:
        parts.append("<h3>Repetition signals</h3>" + small_histograms_svg(c.repetition, "fraction"))
    return "".join(parts)


def freshness_section(f: FreshnessSummary) -> str:
    return (f"<h2 id='freshness'>Freshness score: {fmt_score(f.score)}</h2>"
            f"<p>Reference date {f.reference_date:%Y-%m-%d %H:%M} UTC, half-life {f.half_life_days:g} days, "
            f"horizon {f.horizon_days:g} days. Stale (older than the horizon): {fmt_rate(f.stale_rate)} "
            f"({fmt_count(f.stale)}); undated: {fmt_rate(f.undated_rate)} ({fmt_count(f.undated)}); "
            f"dated: {fmt_count(f.dated)}, of which {fmt_count(f.future)} in the future; score over dated "
            f"records only: {fmt_score(f.score_dated)}.</p>"
            + _quantiles(f.age_days, "age (days)") + histogram_svg(f.age_histogram, "age (days)"))


def distributions_section(summary: QualitySummary) -> str:
    return ("<h2 id='distributions'>Word counts</h2>" + _quantiles(summary.word_counts, "words")
            + histogram_svg(summary.word_count_histogram, "words per record"))


def trend_section(points: Sequence[TrendPoint]) -> str:
    rows = [[escape(p.version), escape(p.relation), fmt_count(p.records),
             *(fmt_headline(kind, getattr(p, key)) if p.measured else "not measured" for key, _, kind in HEADLINES)]
            for p in points]
    measured = [p for p in points if p.measured]
    plot = trend_svg([p.version for p in measured], {label: [getattr(p, key) for p in measured]
                                                      for key, label, _ in HEADLINES}) if len(measured) > 1 else ""
    return ("<h2 id='trend'>Trend over versions</h2><p>Versions of this dataset and its lineage ancestors, "
            "measured with the same configuration (stored measurements).</p>"
            + html_table(["version", "relation", "records", *(label for _, label, _ in HEADLINES)], rows,
                     numeric=range(2, 8)) + plot)


def examples_section(groups: Sequence[ProblemExamples]) -> str:
    parts = ["<h2 id='examples'>Worst examples per problem</h2>"]
    records: dict[str, tuple[str, list[str]]] = {}
    for group in groups:
        if not group.examples:
            continue
        rows = []
        for example in group.examples:
            records.setdefault(example.id, (example.snippet, example.reasons))
            short = example.snippet[:SHORT_SNIPPET] + ("…" if len(example.snippet) > SHORT_SNIPPET else "")
            rows.append([f'<a href="#{anchor(example.id)}">{escape(example.id)}</a>', escape(example.detail),
                         f'<div class="snippet">{escape(short)}</div>'])
        parts.append(f"<h3 id='problem-{escape(group.name)}'>{escape(group.title)} "
                     f"<span class='muted'>({_records(group.records)}, {escape(group.metric)})</span></h3>"
                     + html_table(["id", "why", "text"], rows))
    if len(parts) == 1:
        parts.append("<p>No record has any of the measured problems.</p>")
    parts.append("<h2 id='records'>Example records</h2>")
    for record_id, (snippet, reasons) in records.items():
        parts.append(f'<div class="record" id="{anchor(record_id)}"><b>{escape(record_id)}</b> '
                     f'<span class="muted">{escape(", ".join(reasons))}</span>'
                     f'<div class="snippet">{escape(snippet)}</div></div>')
    return "".join(parts)


def render(summary: QualitySummary, trend: Sequence[TrendPoint], examples: Sequence[ProblemExamples],
           extra_sections: Sequence[str] = ()) -> str:
    """The whole page; `extra_sections` (HTML: balance, personal data) go after the examples."""
    sections = [headline_cards(summary)]
    if summary.completeness:
        sections.append(completeness_section(summary.completeness))
    if summary.errors:
        sections.append(errors_section(summary.errors))
    if summary.label_errors:
        sections.append(label_section(summary.label_errors))
    if summary.coherence:
        sections.append(coherence_section(summary.coherence))
    if summary.freshness:
        sections.append(freshness_section(summary.freshness))
    sections += [distributions_section(summary), trend_section(trend), examples_section(examples), *extra_sections]
    config = json.dumps(summary.config.model_dump(mode="json"), indent=2)
    sections.append(f"<h2 id='config'>Configuration</h2><p>hash <code>{summary.config_hash}</code></p>"
                    f"<pre>{escape(config)}</pre>")
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.timings.items())
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Quality report {escape(summary.version)}</title><style>{CSS}</style></head><body>"
            f"<h1>Quality report: {escape(summary.version)}</h1>"
            f"<p class='meta'>{fmt_count(summary.records)} records · measured {summary.measured_at:%Y-%m-%d %H:%M} "
            f"UTC · {escape(summary.code_version)} · {escape(timings)}</p>"
            + "".join(sections) + "</body></html>")
