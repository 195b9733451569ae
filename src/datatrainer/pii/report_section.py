"""The PII section of the quality report (HTML): counts per kind and field, and the worst records masked."""

from __future__ import annotations

from html import escape

from datatrainer.pii.scan import PiiSummary
from datatrainer.quality.report_html import fmt_count, fmt_rate, html_table


def pii_section(summary: PiiSummary) -> str:
    kinds = ", ".join(summary.config.types)
    head = ["kind", "findings", "records", *map(escape, summary.fields)]
    rows = [[escape(kind), fmt_count(count), fmt_count(summary.records_by_type.get(kind, 0)),
             *(fmt_count(summary.by_field[f].get(kind, 0)) for f in summary.fields)]
            for kind, count in summary.findings.items()]
    worst = [[escape(r.id), fmt_count(r.findings), escape(", ".join(f"{k} {n}" for k, n in r.types.items())),
              escape(r.field), f'<div class="snippet">{escape(r.snippet)}</div>'] for r in summary.worst]
    return (f"<h2 id='pii'>Personal data: {fmt_rate(summary.rate)} of records</h2>"
            f"<p>{fmt_count(summary.records_with_pii)} of {fmt_count(summary.records)} records hold at least one "
            f"of: {escape(kinds)} (found values are never shown; snippets are masked). Redact with "
            f"<code>datatrainer pii redact {escape(summary.version)} --mode ...</code>.</p>"
            + (html_table(head, rows, numeric=range(1, 3 + len(summary.fields))) if rows else "")
            + ("<h3>Records with most findings</h3>" + html_table(["id", "findings", "kinds", "field", "snippet"],
                                                                   worst, numeric=(1,)) if worst else ""))
