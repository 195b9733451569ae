"""`datatrainer quality ...`: measure and filter data quality."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import pyarrow.parquet as pq
import typer
from rich.table import Table

from datatrainer.cli.context import console, state
from datatrainer.config import read_workspace_config
from datatrainer.errors import DatatrainerError
from datatrainer.params import validate_params
from datatrainer.quality.filters import RULES
from datatrainer.quality.metrics import QualityConfig, measure_and_store
from datatrainer.security.keys_cleartext import allow_clear_export
from datatrainer.workspace import Workspace

app = typer.Typer(help="Measure and filter data quality.", no_args_is_help=True)


@app.command("filter")
def filter_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Input version, e.g. web@1.")],
    rules: Annotated[str, typer.Option(help="Comma-separated rules to apply.")] = ",".join(RULES),
    lang: Annotated[str, typer.Option(help="Expected language (ISO 639-1) for the lang rule.")] = "en",
    min_lang_score: Annotated[float, typer.Option(help="Least share of the text in the expected language.")] = 0.65,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Output dataset (default: the input's).")] = None,
) -> None:
    """Drop records failing the Gopher quality / repetition, C4 or language rules, as a new version.

    The dropped ids and why are kept: `datatrainer datasets dropped VERSION`.
    """
    cli = state(ctx)
    params = {"rules": [rule.strip() for rule in rules.split(",") if rule.strip()], "lang": lang,
              "min_lang_score": min_lang_score}
    with cli.open() as ws:
        source = ws.version(ref)
        result = ws.apply("quality-filter", [source], params, name=name, engine=cli.engine())
    console.print(f"[green]created[/] [bold]{result.ref}[/]: kept {result.num_rows:,} of {source.num_rows:,} records")
    reasons = result.info.stats.get("dropped_by_reason", {})
    if reasons:
        table = Table("first failing check", "records")
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            table.add_row(reason, f"{count:,}")
        console.print(table)


# --- metrics and report -------------------------------------------------------------------------------------

LabelField = Annotated[str | None, typer.Option(help="Label column (default: label).")]
Labels = Annotated[str | None, typer.Option(help="Comma-separated valid labels (default: any label is valid).")]
Required = Annotated[str | None, typer.Option(help="Comma-separated required fields (default: text).")]
Lang = Annotated[str | None, typer.Option(help="Expected language, ISO 639-1, or 'none' (default: en).")]
HorizonDays = Annotated[float | None, typer.Option(help="Records older than this are stale (default: 365).")]
HalfLifeDays = Annotated[float | None, typer.Option(help="Half-life of the freshness weight (default: 180).")]
ReferenceDate = Annotated[str | None, typer.Option(help="Ages are measured to this date (default: now).")]
ConfigFile = Annotated[Path | None, typer.Option("--config", help="TOML or JSON file with any QualityConfig "
                                                                  "setting; flags override it.")]


def quality_config(ws: Workspace, config_file: Path | None, label_field: str | None, labels: str | None,
                   required: str | None, lang: str | None, horizon_days: float | None,
                   half_life_days: float | None, reference_date: str | None) -> QualityConfig:
    """Settings, highest precedence first: flags, the --config file, `[quality]` in the workspace's
    datatrainer.toml, the defaults."""
    settings: dict[str, Any] = dict(read_workspace_config(ws.root).get("quality", {}))
    if config_file is not None:
        text = config_file.read_text(encoding="utf-8")
        try:
            settings |= json.loads(text) if config_file.suffix == ".json" else tomllib.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise DatatrainerError(f"{config_file}: {exc}") from None
    flags = {"label_field": label_field, "labels": _split(labels), "required_fields": _split(required),
             "horizon_days": horizon_days, "half_life_days": half_life_days, "reference_date": reference_date}
    settings |= {key: value for key, value in flags.items() if value is not None}
    if lang is not None:
        settings["expected_language"] = None if lang.lower() == "none" else lang
    return validate_params(QualityConfig, settings, "quality settings")


def _split(values: str | None) -> list[str] | None:
    return None if values is None else [v.strip() for v in values.split(",") if v.strip()]


@app.command("metrics")
def metrics_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version to measure, e.g. web@1.")],
    label_field: LabelField = None, labels: Labels = None, required: Required = None, lang: Lang = None,
    horizon_days: HorizonDays = None, half_life_days: HalfLifeDays = None, reference_date: ReferenceDate = None,
    config_file: ConfigFile = None,
    records_out: Annotated[Path | None, typer.Option(help="Also write the per-record results (Parquet).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole summary as JSON.")] = False,
    decrypt: Annotated[bool, typer.Option("--decrypt", help="--records-out, encrypted workspace: write the file in "
                                          "the clear, deliberately (recorded in the audit log).")] = False,
) -> None:
    """Measure completeness, error rate, label errors, coherence and freshness; store them for trends."""
    from datatrainer.quality.report_html import HEADLINES, fmt_headline

    cli = state(ctx)
    with cli.open() as ws:
        version = ws.version(ref)
        if records_out is not None:  # ids, labels and findings of every record
            allow_clear_export(ws, f"{version.ref} (per-record quality results)", records_out.resolve(), decrypt)
        config = quality_config(ws, config_file, label_field, labels, required, lang, horizon_days,
                                half_life_days, reference_date)
        result = measure_and_store(ws, version, config, cli.engine())
    if records_out is not None:
        records_out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(result.records, records_out)
    if as_json:
        console.print_json(result.summary.model_dump_json())
        return
    summary = result.summary
    table = Table("metric", "value", title=f"{summary.version}, {summary.records:,} records")
    for key, label, kind in HEADLINES:
        table.add_row(label, fmt_headline(kind, summary.headline()[key]))
    console.print(table)
    problems = Table("problem", "records")
    for problem in summary.problems:
        if problem.records:
            problems.add_row(problem.title, f"{problem.records:,}")
    console.print(problems if problems.row_count else "no record has any of the measured problems")
    if records_out is not None:
        console.print(f"per-record results written to [bold]{records_out}[/]")


@app.command("report")
def report_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version to report on, e.g. web@1.")],
    out: Annotated[Path | None, typer.Option(help="HTML file (default: WORKSPACE/reports/quality-NAME-N.html).")]
    = None,
    json_out: Annotated[Path | None, typer.Option(help="JSON twin (default: the HTML path with .json).")] = None,
    examples: Annotated[int, typer.Option(min=0, help="Worst examples shown per problem.")] = 5,
    compute_missing: Annotated[bool, typer.Option(help="Measure related versions that have no stored "
                                                       "measurement with these settings, for the trend.")] = False,
    label_field: LabelField = None, labels: Labels = None, required: Required = None, lang: Lang = None,
    horizon_days: HorizonDays = None, half_life_days: HalfLifeDays = None, reference_date: ReferenceDate = None,
    config_file: ConfigFile = None,
    balance: Annotated[bool, typer.Option("--balance/--no-balance", help="Include the balance section.")] = True,
    pii: Annotated[bool, typer.Option("--pii/--no-pii", help="Include the personal-data section (structured "
                                                             "kinds: emails, phones, cards, ...).")] = True,
    pii_names: Annotated[bool, typer.Option(help="Also find person and location names (spaCy NER; slower).")]
    = False,
) -> None:
    """Write a self-contained HTML quality report (plots, trend over versions, worst examples, balance, personal
    data) and its JSON."""
    from datatrainer.pii.config import NAME_TYPES, PII_TYPES, PiiConfig
    from datatrainer.quality.balance import BalanceConfig

    cli = state(ctx)
    with cli.open() as ws:
        config = quality_config(ws, config_file, label_field, labels, required, lang, horizon_days,
                                half_life_days, reference_date)
        pii_config = PiiConfig(types=[t for t in PII_TYPES if pii_names or t not in NAME_TYPES]) if pii else None
        balance_config = BalanceConfig(label_field=config.label_field) if balance else None
        files = ws.quality_report(ref, config=config, out=out, json_out=json_out, examples=examples,
                                  compute_missing=compute_missing, balance=balance_config, pii=pii_config,
                                  engine=cli.engine())
    console.print(f"[green]wrote[/] {files.html}\n[green]wrote[/] {files.json}")


@app.command("balance")
def balance_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version to look at, e.g. web@1.")],
    label_field: Annotated[str, typer.Option(help="Column of class labels.")] = "label",
    language_field: Annotated[str | None, typer.Option(help="Column of language codes (default: lang or "
                                                            "language, else detected).")] = None,
    lexicon: Annotated[Path | None, typer.Option(help="TOML lexicon of identity terms: [category] group = "
                                                      "[terms] (default: the built-in one).")] = None,
    top: Annotated[int, typer.Option(min=2, help="Values listed per dimension.")] = 10,
    topics: Annotated[int, typer.Option(min=2, max=64, help="Embedding clusters (when embeddings are "
                                                            "stored).")] = 8,
    embedding_model: Annotated[str | None, typer.Option(help="Stored embeddings to cluster (default: any "
                                                             "covering every record).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
) -> None:
    """How records and tokens spread over sources, licences, languages, time, lengths, labels, topics and
    identity groups, with the most over- and under-represented of each, and the trend over versions."""
    from datatrainer.quality.balance import BalanceConfig, balance_report
    from datatrainer.quality.report_html import fmt_rate, fmt_score

    cli = state(ctx)
    config = validate_params(BalanceConfig, {"label_field": label_field, "language_field": language_field,
                                             "lexicon": lexicon, "top": top, "topics": topics,
                                             "embedding_model": embedding_model}, "quality balance")
    with cli.open() as ws:
        report = balance_report(ws, ws.version(ref), config, cli.engine())
    if as_json:
        console.print_json(report.model_dump_json())
        return
    summary = report.summary
    console.print(f"[bold]{summary.version}[/]: {summary.records:,} records, {summary.tokens:,} tokens")
    overview = Table("dimension", "most over-represented", "most under-represented", title="balance")
    for title, over, under in report.overview():
        overview.add_row(title, over, under)
    console.print(overview)
    for d in summary.dimensions:
        unit = "mentions" if d.kind == "lexicon" else "tokens"
        table = Table("value", "records", unit, "share", "vs even",
                      title=f"{d.title} (evenness {fmt_score(d.evenness)})")
        for share in d.shares:
            shown = share.token_share if d.kind == "lexicon" else share.record_share
            table.add_row(share.value, f"{share.records:,}", f"{share.tokens:,}", fmt_rate(shown),
                          "" if share.representation is None else f"{share.representation:.2f}x")
        console.print(table)
    for name, why in summary.skipped.items():
        console.print(f"not measured: {name}: {why}", markup=False, highlight=False)
    measured = [p for p in report.trend if p.measured]
    if len(measured) > 1:
        trend = Table("version", *(d.name for d in summary.dimensions), title="evenness over versions")
        for point in measured:
            trend.add_row(point.version, *(fmt_score(point.evenness.get(d.name)) for d in summary.dimensions))
        console.print(trend)
