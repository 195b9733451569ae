"""The worst examples of each problem: which records to look at first, and why each was flagged."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from datatrainer.quality.metrics.columns import take_rows
from datatrainer.quality.metrics.result import QualityResult
from datatrainer.quality.metrics.stats import Problem, to_numpy
from datatrainer.store.versions import DatasetVersion

SNIPPET_CHARS = 300


class Example(BaseModel):
    id: str
    detail: str
    snippet: str
    reasons: list[str]


class ProblemExamples(BaseModel):
    name: str
    metric: str
    title: str
    records: int
    examples: list[Example]


def worst_rows(result: QualityResult, problem: Problem, limit: int) -> np.ndarray:
    """The `limit` flagged rows with the highest severity (lowest with `lowest_first`), ties in stored order."""
    rows = result.flagged(problem)
    if problem.severity is not None and len(rows):
        severity = to_numpy(result.records[problem.severity].take(pa.array(rows)))
        key = np.nan_to_num(severity if problem.lowest_first else -severity, nan=np.inf)
        rows = rows[np.argsort(key, kind="stable")]
    return rows[:limit]


def worst_examples(result: QualityResult, version: DatasetVersion, limit: int = 5) -> list[ProblemExamples]:
    """Up to `limit` examples per problem; the texts (and raw label/date values) are read for those only."""
    chosen = {problem.name: worst_rows(result, problem, limit) for problem in result.problems}
    rows = np.unique(np.concatenate([np.zeros(0, np.int64), *chosen.values()]))
    config = result.summary.config
    raw = take_rows(version, [config.text_field, config.date_field], rows).to_pylist()
    records = result.records.take(pa.array(rows, pa.int64())).to_pylist()
    # Explanations read the record's flags plus its raw text (as "text") and raw date value.
    by_row = {int(row): record | {config.date_field: values.get(config.date_field),
                                  "text": values.get(config.text_field)}
              for row, record, values in zip(rows, records, raw, strict=True)}
    counts = {count.name: count.records for count in result.summary.problems}
    return [ProblemExamples(name=problem.name, metric=problem.metric, title=problem.title,
                            records=counts[problem.name],
                            examples=[_example(problem, by_row[int(row)]) for row in chosen[problem.name]])
            for problem in result.problems]


def _example(problem: Problem, row: dict[str, object]) -> Example:
    text = row.get("text")
    snippet = text if isinstance(text, str) else ""
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[:SNIPPET_CHARS] + "…"
    reasons = row.get("reasons")
    return Example(id=str(row["id"]), detail=problem.describe(row), snippet=snippet,
                   reasons=[str(r) for r in reasons] if isinstance(reasons, list) else [])
