"""`quality-filter`: drop records failing the Gopher, C4 or language rules of `quality.filters`, keeping why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from datatrainer.errors import DatatrainerError
from datatrainer.operations.base import BatchOperation, Filtered
from datatrainer.quality.filters import QualityFilterParams, failure_counts, filter_batch
from datatrainer.store.versions import DatasetVersion


class QualityFilterOperation(BatchOperation[QualityFilterParams]):
    """Drop records failing the Gopher quality and repetition rules, C4's rules or a language check; each
    dropped record keeps its first failing check, with its value, as the reason."""

    name = "quality-filter"
    params_model = QualityFilterParams

    def prepare(self, version: DatasetVersion, params: QualityFilterParams) -> None:
        if "text" not in version.schema.names:
            raise DatatrainerError(f"{version.ref} has no 'text' column to filter on")

    def transform(self, batch: pa.RecordBatch, params: QualityFilterParams) -> Filtered:
        return Filtered(*filter_batch(batch, params))

    def summarize(self, dropped: pa.Table | None) -> dict[str, Any]:
        return failure_counts(dropped) if dropped is not None else {"dropped": 0}

    @classmethod
    def example_params(cls, records: Path) -> list[dict[str, Any]]:
        return [{"rules": ["gopher-quality", "c4"], "min_word_count": 5},
                {"rules": ["gopher-repetition", "lang"]}]
