"""`datatrainer quality report`: measure a version, store the result, and write an HTML report + JSON twin.

The JSON twin is the `QualityReport` model itself, so it holds every number the HTML shows (the HTML is
rendered from the same object). Both files are written atomically (temp file + rename).

In an encrypted workspace the report quotes no record text: a browser cannot open an encrypted page, and a
plaintext one would put the worst records in the clear beside encrypted data. The examples keep their ids,
reasons and details, with `TEXT_LEFT_OUT` where the text would be.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from datatrainer.engine.base import Engine
from datatrainer.pii.config import PiiConfig
from datatrainer.pii.scan import PiiSummary, scan_version
from datatrainer.quality.balance import BalanceConfig, BalanceReport, balance_report
from datatrainer.quality.metrics import QualityConfig, QualitySummary, measure_and_store
from datatrainer.quality.metrics.examples import ProblemExamples, worst_examples
from datatrainer.quality.metrics.history import TrendPoint, trend
from datatrainer.quality.metrics.measure import Timings
from datatrainer.quality.report_html import render
from datatrainer.store.catalog import VersionInfo
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

TEXT_LEFT_OUT = "(text left out: the workspace is encrypted)"


class QualityReport(BaseModel):
    generated_at: datetime
    summary: QualitySummary
    trend: list[TrendPoint]
    examples: list[ProblemExamples]
    balance: BalanceReport | None = None
    pii: PiiSummary | None = None

    def html(self) -> str:
        from datatrainer.pii.report_section import pii_section
        from datatrainer.quality.balance_html import balance_section

        extra = [balance_section(self.balance)] if self.balance else []
        extra += [pii_section(self.pii)] if self.pii else []
        return render(self.summary, self.trend, self.examples, extra)


def build_report(workspace: Workspace, version: DatasetVersion, config: QualityConfig | None = None,
                 engine: Engine | None = None, examples_per_problem: int = 5,
                 compute_missing: bool = False, balance: BalanceConfig | None = None,
                 pii: PiiConfig | None = None) -> QualityReport:
    """Measure (and store) `version`, then gather the trend and the worst examples.

    With `compute_missing`, related versions never measured with this configuration are measured (and
    stored) first; otherwise the trend shows only stored measurements. With `balance` and `pii`, the
    report gains those sections (each one more pass over the version).
    """
    config = config or QualityConfig()
    result = measure_and_store(workspace, version, config, engine)
    timings = Timings()

    def measure_missing(info: VersionInfo) -> QualitySummary:
        return measure_and_store(workspace, workspace.version(info.ref), config, engine).summary

    with timings.stage("trend"):
        points = trend(workspace, result.summary, version.info, measure_missing if compute_missing else None)
    with timings.stage("examples"):
        examples = worst_examples(result, version, examples_per_problem)
    balance_part = pii_part = None
    if balance is not None:
        with timings.stage("balance"):
            balance_part = balance_report(workspace, version, balance, engine)
    if pii is not None:
        with timings.stage("pii"):
            pii_part = scan_version(version, pii, engine, examples_per_problem)
    result.summary.timings.update(timings)
    if workspace.keys.encrypted:
        examples, pii_part = _without_texts(examples, pii_part)
    return QualityReport(generated_at=datetime.now(UTC), summary=result.summary, trend=points, examples=examples,
                         balance=balance_part, pii=pii_part)


def _without_texts(examples: list[ProblemExamples], pii: PiiSummary | None
                   ) -> tuple[list[ProblemExamples], PiiSummary | None]:
    """The worst examples and personal-data records with their snippets replaced by `TEXT_LEFT_OUT`."""
    examples = [group.model_copy(update={"examples": [example.model_copy(update={"snippet": TEXT_LEFT_OUT})
                                                      for example in group.examples]}) for group in examples]
    if pii is not None:
        pii = pii.model_copy(update={"worst": [record.model_copy(update={"snippet": TEXT_LEFT_OUT})
                                               for record in pii.worst]})
    return examples, pii


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def write_report(report: QualityReport, html_path: Path, json_path: Path | None = None) -> None:
    """Write the HTML page and, when asked, its JSON twin."""
    write_atomic(html_path, report.html())
    if json_path is not None:
        write_atomic(json_path, report.model_dump_json(indent=2))


def default_paths(workspace: Workspace, version: DatasetVersion) -> tuple[Path, Path]:
    """`<workspace>/reports/quality-<dataset>-<number>.html` and `.json`."""
    stem = workspace.root / "reports" / f"quality-{version.info.dataset}-{version.info.number}"
    return stem.with_suffix(".html"), stem.with_suffix(".json")
