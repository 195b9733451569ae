"""Curation in one call each: `sample`, `dedup`, `filter` (new versions, through the operation registry, as the
CLI does) and `quality_report` (the HTML report and its JSON twin)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datatrainer.engine.base import Engine
    from datatrainer.pii.config import PiiConfig
    from datatrainer.quality.balance import BalanceConfig
    from datatrainer.quality.metrics import QualityConfig
    from datatrainer.quality.report import QualityReport
    from datatrainer.store.versions import DatasetVersion
    from datatrainer.workspace import Workspace


def sample(ws: Workspace, version: str | DatasetVersion, by: str, budget: str | int | float, *, seed: int = 0,
           name: str | None = None, engine: Engine | None = None, **options: Any) -> DatasetVersion:
    """A budgeted sample as a new version (`datatrainer sample`): `by` a sampler (random, density, kcenter, d4,
    dsir, ...) or a stored scorer; `budget` a count, a fraction or "20%"; `options` the sampler's (target,
    model, scorer, config, band, clusters, eps, ...)."""
    params = {"by": by, "budget": str(budget), "seed": seed, **{k: v for k, v in options.items() if v is not None}}
    return ws.apply("sample", [version], params, name=name, engine=engine)


def dedup(ws: Workspace, version: str | DatasetVersion, method: str = "minhash", *, name: str | None = None,
          engine: Engine | None = None, **options: Any) -> DatasetVersion:
    """Exact or MinHash near-duplicates removed, keeping the first of each cluster (`datatrainer dedup`);
    `options`: threshold, num_perm, ngram, seed, bands, normalize."""
    params = {"method": method, **{k: v for k, v in options.items() if v is not None}}
    return ws.apply("dedup", [version], params, name=name, engine=engine)


def filter(ws: Workspace, version: str | DatasetVersion, where: str, *, name: str | None = None,
           engine: Engine | None = None) -> DatasetVersion:
    """The records matching a SQL condition, as a new version (`datatrainer filter`)."""
    return ws.apply("filter", [version], {"where": where}, name=name, engine=engine)


@dataclass(frozen=True)
class ReportFiles:
    """A written report: the report itself (its numbers), the HTML page and the JSON twin."""

    report: QualityReport
    html: Path
    json: Path


def quality_report(ws: Workspace, version: str | DatasetVersion, *, config: QualityConfig | None = None,
                   out: str | Path | None = None, json_out: str | Path | None = None, examples: int = 5,
                   compute_missing: bool = False, balance: BalanceConfig | None = None, pii: PiiConfig | None = None,
                   engine: Engine | None = None) -> ReportFiles:
    """Measure a version and write its quality report (`datatrainer quality report`; default files
    `<workspace>/reports/quality-NAME-N.html` and `.json`)."""
    from datatrainer.quality.report import build_report, default_paths, write_report

    source = ws.version(version)
    report = build_report(ws, source, config, engine, examples, compute_missing, balance, pii)
    html = Path(out) if out is not None else default_paths(ws, source)[0]
    json_path = Path(json_out) if json_out is not None else html.with_suffix(".json")
    write_report(report, html, json_path)
    return ReportFiles(report, html, json_path)
