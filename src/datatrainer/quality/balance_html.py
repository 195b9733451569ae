"""The balance section of the quality report (HTML), and its trend over versions."""

from __future__ import annotations

from html import escape

from datatrainer.quality.balance import BalanceReport, Dimension
from datatrainer.quality.report_html import fmt_count, fmt_rate, fmt_score, html_table
from datatrainer.quality.report_plots import bars_svg, trend_svg


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def _dimension(d: Dimension) -> str:
    mentions = d.kind == "lexicon"
    head = ["value", "records", "mentions" if mentions else "tokens", "record share",
            "mention share" if mentions else "token share", "vs. even share"]
    rows = [[escape(s.value), fmt_count(s.records), fmt_count(s.tokens), fmt_rate(s.record_share),
             fmt_rate(s.token_share), _ratio(s.representation)] for s in d.shares]
    extremes = ""
    if d.most_over is not None and d.most_under is not None:
        extremes = (f"<p>Most over-represented: <b>{escape(d.most_over)}</b>; most under-represented: "
                    f"<b>{escape(d.most_under)}</b>.</p>")
    missing = f"; {fmt_count(d.missing)} records without a value" if d.missing else ""
    plot = bars_svg({s.value: s.token_share if mentions else s.record_share for s in d.shares},
                    "share of mentions" if mentions else "share of records", xmax=1.0) if d.shares else ""
    return (f"<h3 id='balance-{escape(d.name.replace(':', '-'))}'>{escape(d.title)}</h3>"
            f"<p class='muted'>{fmt_count(d.values)} values, evenness {fmt_score(d.evenness)}{missing}"
            f"{'; ' + escape(d.note) if d.note else ''}</p>{extremes}"
            + html_table(head, rows, numeric=(1, 2, 3, 4, 5)) + plot)


def balance_section(report: BalanceReport) -> str:
    s = report.summary
    overview = html_table(["dimension", "most over-represented", "most under-represented"],
                          [[escape(a), escape(b), escape(c)] for a, b, c in report.overview()])
    skipped = "".join(f"<li>{escape(name)}: {escape(why)}</li>" for name, why in s.skipped.items())
    parts = [f"<h2 id='balance'>Balance</h2><p>{fmt_count(s.records)} records, {fmt_count(s.tokens)} tokens "
             "(whitespace words). Representation is a value's share over its even share (1.00x = an even split "
             f"among the values present); evenness is the normalised entropy (1 = even). Lexicon: "
             f"{escape(s.lexicon)}.</p>", overview]
    parts += [_dimension(d) for d in s.dimensions]
    if skipped:
        parts.append(f"<p>Not measured:</p><ul>{skipped}</ul>")
    measured = [p for p in report.trend if p.measured]
    names = [d.name for d in s.dimensions]
    rows = [[escape(p.version), escape(p.relation), fmt_count(p.records),
             *(fmt_score(p.evenness.get(n)) if p.measured else "not measured" for n in names)] for p in report.trend]
    parts.append("<h3 id='balance-trend'>Evenness over versions</h3>"
                 + html_table(["version", "relation", "records", *map(escape, names)], rows,
                              numeric=range(2, 3 + len(names))))
    if len(measured) > 1:
        parts.append(trend_svg([p.version for p in measured],
                               {n: [p.evenness.get(n) for p in measured] for n in names}))
    return "".join(parts)
