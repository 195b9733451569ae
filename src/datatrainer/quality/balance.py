"""The balance report: how records and tokens spread over sources, licences, languages, time, lengths,
label classes, topics (embedding clusters) and identity groups, and which groups are most over- and
under-represented.

One streaming pass through the engine: each batch returns small counters (records and whitespace tokens per
value of each dimension, mentions of each lexicon group), merged by the driver, so memory does not grow with
the version. Topics come afterwards from stored embeddings (`balance_topics`), only when every record has
them. Representation is measured against parity: a value's share times the number of values (1.0 = an even
split; 2.0 = twice its even share). For identity groups the share is of mentions within the category.

The summary is stored in the catalog (kind `balance`, per configuration hash), which gives the trend over a
dataset's versions and lineage ancestors, as the quality metrics do.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from datatrainer.engine.base import Engine
from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.quality.balance_lexicon import Lexicon, load_lexicon
from datatrainer.quality.metrics.history import related_versions
from datatrainer.store.schema import COLLECTED_AT, LICENSE, SOURCE, TEXT
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

METRICS_KIND = "balance"
MISSING = "(missing)"
LENGTH_EDGES = (10, 50, 200, 1000, 5000)
LENGTH_LABELS = ("<10", "10-49", "50-199", "200-999", "1000-4999", ">=5000")
MAX_MONTHS = 24
Kind = Literal["categorical", "ordered", "lexicon"]


class BalanceConfig(BaseModel):
    """What the balance report looks at."""

    label_field: str = Field(default="label", description="Column of class labels (skipped when absent).")
    language_field: str | None = Field(default=None, description="Column of language codes (default: lang or "
                                       "language when present, else detected from the text).")
    lexicon: Path | None = Field(default=None, description="TOML lexicon of identity terms (default: built in).")
    top: int = Field(default=15, ge=2, description="Values listed per dimension; the rest are summed as other.")
    topics: int = Field(default=8, ge=2, le=64, description="Embedding clusters (when embeddings are stored).")
    topic_sample: int = Field(default=20_000, ge=100, description="Records clustered at most (a seeded sample).")
    embedding_model: str | None = Field(default=None, description="Stored embeddings to cluster (default: any "
                                        "model covering every record).")

    def config_hash(self, lexicon: Lexicon) -> str:
        payload = {**self.model_dump(mode="json"), "lexicon": lexicon.categories}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


class Share(BaseModel):
    value: str
    records: int
    tokens: int  # for identity groups: mentions
    record_share: float
    token_share: float
    representation: float | None = None  # share / even share; None for ordered dimensions and "other"


class Dimension(BaseModel):
    name: str
    title: str
    kind: Kind
    values: int  # distinct values (groups), before the top-N cut
    missing: int  # records without a value (for identity categories: records mentioning no group)
    shares: list[Share]
    evenness: float | None  # normalised entropy of the shares: 1 = even, 0 = all in one value
    most_over: str | None = None
    most_under: str | None = None
    note: str = ""


class BalanceSummary(BaseModel):
    version: str
    records: int
    tokens: int
    measured_at: datetime
    config_hash: str
    lexicon: str
    dimensions: list[Dimension]
    skipped: dict[str, str]  # dimension -> why it is not shown


class BalancePoint(BaseModel):
    version: str
    relation: str
    records: int
    measured: bool
    evenness: dict[str, float | None] = Field(default_factory=dict)


class BalanceReport(BaseModel):
    summary: BalanceSummary
    trend: list[BalancePoint]

    def overview(self) -> list[tuple[str, str, str]]:
        """(dimension, most over-represented, most under-represented) where both are named."""
        return [(d.title, d.most_over, d.most_under) for d in self.summary.dimensions
                if d.most_over is not None and d.most_under is not None]


# --- the streaming pass ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The columns each dimension reads (None: the dimension is not measured)."""

    source: str | None
    license: str | None
    language: str | None  # a column, or "" to detect from the text
    time: str | None
    label: str | None
    groups: dict[tuple[str, str], str]

    def columns(self) -> list[str]:
        wanted = [TEXT, self.source, self.license, self.language or None, self.time, self.label]
        return list(dict.fromkeys(c for c in wanted if c))


@dataclass
class Partial:
    """Records and tokens per (dimension, value); merged across batches."""

    records: Counter[tuple[str, str]] = field(default_factory=Counter)
    tokens: Counter[tuple[str, str]] = field(default_factory=Counter)
    total_records: int = 0
    total_tokens: int = 0

    def merge(self, other: Partial) -> Partial:
        self.records.update(other.records)
        self.tokens.update(other.tokens)
        self.total_records += other.total_records
        self.total_tokens += other.total_tokens
        return self


def _month(column: pa.Array) -> pa.Array:
    """`YYYY-MM` of a timestamp or date column, or of ISO 8601 strings (ingested without a time type)."""
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return pc.strftime(column, format="%Y-%m")
    text = column.cast(pa.string())
    return pc.if_else(pc.match_substring_regex(text, r"^\d{4}-\d{2}"), pc.utf8_slice_codeunits(text, 0, 7), None)


def _tally(partial: Partial, name: str, values: pa.Array, tokens: pa.Array) -> None:
    text = _month(values) if name == "time" else values.cast(pa.string())
    table = pa.table({"v": pc.fill_null(text, MISSING), "t": tokens})
    for row in table.group_by("v").aggregate([("t", "sum"), ("t", "count")]).to_pylist():
        partial.records[name, row["v"]] += row["t_count"]
        partial.tokens[name, row["v"]] += row["t_sum"] or 0


def batch_partial(batch: pa.RecordBatch, plan: Plan) -> Partial:
    """The counters of one batch."""
    text = pc.fill_null(batch.column(TEXT), "")
    tokens = pc.fill_null(pc.list_value_length(pc.utf8_split_whitespace(text)), 0).cast(pa.int64())
    partial = Partial(total_records=batch.num_rows, total_tokens=int(pc.sum(tokens).as_py() or 0))
    for name, column in (("source", plan.source), ("license", plan.license), ("time", plan.time),
                         ("label", plan.label)):
        if column is not None:
            _tally(partial, name, batch.column(column), tokens)
    if plan.language == "":
        from datatrainer.quality.langid import detect_language

        _tally(partial, "language", detect_language(text)[0], tokens)
    elif plan.language is not None:
        _tally(partial, "language", batch.column(plan.language), tokens)
    buckets = np.digitize(tokens.to_numpy(), LENGTH_EDGES)
    _tally(partial, "length", pa.array(np.asarray(LENGTH_LABELS)[buckets]), tokens)
    lower = pc.utf8_lower(text)
    any_group: dict[str, np.ndarray] = {}
    for (category, group), pattern in plan.groups.items():
        mentions = pc.count_substring_regex(lower, pattern).to_numpy(zero_copy_only=False)
        partial.records[f"lexicon:{category}", group] += int(np.count_nonzero(mentions))
        partial.tokens[f"lexicon:{category}", group] += int(mentions.sum())
        any_group[category] = any_group.get(category, np.zeros(batch.num_rows, bool)) | (mentions > 0)
    for category, mentioned in any_group.items():  # records mentioning no group of the category
        partial.records[f"lexicon:{category}", MISSING] += int(batch.num_rows - np.count_nonzero(mentioned))
    return partial


def _plan(version: DatasetVersion, config: BalanceConfig, lexicon: Lexicon) -> tuple[Plan, dict[str, str]]:
    names = set(version.schema.names)
    skipped: dict[str, str] = {}

    def column(name: str, what: str) -> str | None:
        if name in names:
            return name
        skipped[what] = f"no '{name}' column"
        return None

    language: str | None
    if config.language_field is not None:
        if config.language_field not in names:
            raise DatatrainerError(f"{version.ref} has no language field {config.language_field!r}")
        language = config.language_field
    else:
        language = next((n for n in ("lang", "language") if n in names), "")
        if language == "":
            try:
                import pycld2  # noqa: F401
            except ImportError:
                language = None
                skipped["language"] = "no language column and pycld2 is not installed (datatrainer[quality])"
    plan = Plan(source=column(SOURCE, "source"), license=column(LICENSE, "license"), language=language,
                time=column(COLLECTED_AT, "time"), label=column(config.label_field, "label"),
                groups=lexicon.patterns())
    return plan, skipped


# --- from counters to the summary --------------------------------------------------------------------------

TITLES = {"source": "Sources", "license": "Licences", "language": "Languages", "time": "Time (collected)",
          "length": "Length (words per record)", "label": "Label classes", "topic": "Topics (embedding clusters)"}
ORDERED = {"time", "length"}


def _evenness(counts: list[int]) -> float | None:
    total = sum(counts)
    if len(counts) < 2 or total == 0:
        return None
    entropy = -sum(c / total * math.log(c / total) for c in counts if c)
    return entropy / math.log(len(counts))


def dimension(name: str, title: str, kind: Kind, records: dict[str, int], tokens: dict[str, int], top: int,
              by_tokens: bool = False, note: str = "") -> Dimension:
    """One dimension from its counts per value: shares, evenness and the extremes against parity.

    Shares leave out the records without a value; `by_tokens` measures representation by tokens (identity
    groups: by mentions) rather than by records.
    """
    values = [v for v in records if v != MISSING]
    total_records = sum(records[v] for v in values)
    total_tokens = sum(tokens.get(v, 0) for v in values)
    weight = tokens if by_tokens else records
    weight_total = total_tokens if by_tokens else total_records
    if kind == "ordered":  # months sort as text; length buckets by their place
        order = sorted(values, key=lambda v: (LENGTH_LABELS.index(v), v) if v in LENGTH_LABELS else (0, v))
    else:
        order = sorted(values, key=lambda v: (-weight.get(v, 0), v))
    even = 1 / len(values) if values else 0.0

    def share(value: str, n: int, t: int) -> Share:
        record_share = n / total_records if total_records else 0.0
        token_share = t / total_tokens if total_tokens else 0.0
        measured = token_share if by_tokens else record_share
        representation = measured / even if kind != "ordered" and even and weight_total else None
        return Share(value=value, records=n, tokens=t, record_share=record_share, token_share=token_share,
                     representation=representation)

    shares = [share(v, records[v], tokens.get(v, 0)) for v in order]
    listed = shares if kind == "ordered" or len(shares) <= top else shares[:top - 1]
    if len(listed) < len(shares):
        rest = shares[len(listed):]
        listed.append(Share(value=f"(other: {len(rest)} values)", records=sum(s.records for s in rest),
                            tokens=sum(s.tokens for s in rest), record_share=sum(s.record_share for s in rest),
                            token_share=sum(s.token_share for s in rest)))
    ranked = [s for s in shares if s.representation is not None]
    over = max(ranked, key=lambda s: (s.representation, s.value)).value if len(ranked) > 1 and weight_total else None
    under = min(ranked, key=lambda s: (s.representation, s.value)).value if len(ranked) > 1 and weight_total else None
    return Dimension(name=name, title=title, kind=kind, values=len(values), missing=records.get(MISSING, 0),
                     shares=listed, evenness=_evenness([weight.get(v, 0) for v in values]), most_over=over,
                     most_under=under if under != over else None, note=note)


def _roll_up_months(records: dict[str, int], tokens: dict[str, int]) -> tuple[dict[str, int], dict[str, int], str]:
    months = [v for v in records if v != MISSING]
    if len(months) <= MAX_MONTHS:
        return records, tokens, "per month"
    years_records: Counter[str] = Counter()
    years_tokens: Counter[str] = Counter()
    for value, count in records.items():
        key = value if value == MISSING else value[:4]
        years_records[key] += count
        years_tokens[key] += tokens.get(value, 0)
    return dict(years_records), dict(years_tokens), "per year"


def summarize(version: DatasetVersion, partial: Partial, config: BalanceConfig, lexicon: Lexicon,
              skipped: dict[str, str], topics: Dimension | None) -> BalanceSummary:
    per_dimension: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for (name, value), count in partial.records.items():
        records, tokens = per_dimension.setdefault(name, ({}, {}))
        records[value] = count
        tokens[value] = partial.tokens[name, value]
    dimensions = []
    for name in ("source", "license", "language", "time", "length", "label"):
        if name not in per_dimension:
            continue
        records, tokens = per_dimension[name]
        note = ""
        if name == "time":
            records, tokens, note = _roll_up_months(records, tokens)
        kind: Kind = "ordered" if name in ORDERED else "categorical"
        dimensions.append(dimension(name, TITLES[name], kind, records, tokens, config.top, note=note))
    if topics is not None:
        dimensions.append(topics)
    for category in lexicon.categories:
        records, tokens = per_dimension.get(f"lexicon:{category}", ({}, {}))
        dimensions.append(dimension(f"lexicon:{category}", f"Identity terms: {category}", "lexicon", records,
                                    tokens, config.top, by_tokens=True,
                                    note="records mentioning each group, and mentions; shares of mentions"))
    return BalanceSummary(version=version.ref, records=partial.total_records, tokens=partial.total_tokens,
                          measured_at=datetime.now(UTC), config_hash=config.config_hash(lexicon),
                          lexicon=lexicon.name, dimensions=dimensions, skipped=skipped)


def measure_balance(workspace: Workspace, version: DatasetVersion, config: BalanceConfig | None = None,
                    engine: Engine | None = None) -> BalanceSummary:
    """Measure `version` and store the summary for the trend."""
    from datatrainer.quality.balance_topics import topic_dimension

    config = config or BalanceConfig()
    engine = engine or LocalEngine()
    lexicon = load_lexicon(config.lexicon)
    plan, skipped = _plan(version, config, lexicon)
    parts: Iterable[Partial] = engine.map_batches(lambda batch: batch_partial(batch, plan), version,
                                                  columns=plan.columns(), description="measuring balance")
    total = Partial()
    for part in parts:
        total.merge(part)
    topics, why = topic_dimension(workspace, version, config)
    if topics is None:
        skipped["topic"] = why
    summary = summarize(version, total, config, lexicon, skipped, topics)
    workspace.catalog.save_metrics(version.info, METRICS_KIND, summary.config_hash, summary.model_dump(mode="json"))
    return summary


def balance_trend(workspace: Workspace, summary: BalanceSummary, version: DatasetVersion) -> list[BalancePoint]:
    """Evenness per dimension for every related version measured with the same configuration."""
    points = []
    for info, relation in related_versions(workspace, version.info):
        stored: BalanceSummary | None = summary
        if info.id != version.info.id:
            payload = workspace.catalog.load_metrics(info, METRICS_KIND, summary.config_hash)
            stored = BalanceSummary.model_validate(payload) if payload is not None else None
        points.append(BalancePoint(version=info.ref, relation=relation, records=info.row_count,
                                   measured=stored is not None,
                                   evenness={d.name: d.evenness for d in stored.dimensions} if stored else {}))
    return points


def balance_report(workspace: Workspace, version: DatasetVersion, config: BalanceConfig | None = None,
                   engine: Engine | None = None) -> BalanceReport:
    summary = measure_balance(workspace, version, config, engine)
    return BalanceReport(summary=summary, trend=balance_trend(workspace, summary, version))
