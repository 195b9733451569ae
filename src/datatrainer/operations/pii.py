"""`pii-redact`: a new version with personal data masked, hashed, pseudonymised, or its records dropped.

The hash and surrogates are keyed with the workspace's secret (`pii.secret`), read once by the driver and
sent to the workers with the parameters as a private attribute, so it is never written to the lineage.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from datatrainer.operations.base import BatchOperation, Filtered, OperationContext
from datatrainer.pii.config import RedactParams
from datatrainer.pii.detect import scan_fields
from datatrainer.pii.redact import redact_batch
from datatrainer.pii.secret import workspace_key
from datatrainer.store.versions import DatasetVersion


class PiiRedactOperation(BatchOperation[RedactParams]):
    """Replace the emails, phone numbers, cards, IBANs, IP addresses, national ids and names found in the
    text fields (as `datatrainer pii scan` finds them), or drop the records that hold any."""

    name = "pii-redact"
    params_model = RedactParams

    def prepare(self, version: DatasetVersion, params: RedactParams) -> None:
        scan_fields(version.schema, params)  # a missing or non-text field fails before any batch runs

    def run(self, ctx: OperationContext, inputs: Sequence[DatasetVersion], params: RedactParams) -> DatasetVersion:
        keyed = params.model_copy()
        keyed.key = workspace_key(ctx.workspace.root)
        return super().run(ctx, inputs, keyed)

    def transform(self, batch: pa.RecordBatch, params: RedactParams) -> Filtered:
        return Filtered(*redact_batch(batch, params, params.key))

    @classmethod
    def example_params(cls, records: Path) -> list[dict[str, Any]]:
        # The example records hold no personal data, so custom id patterns stand in for it (names are left
        # out: loading spaCy in every worker would dominate the suite's time; tests/pii check them).
        return [{"mode": "mask", "types": ["national_id", "ip"], "id_patterns": {"mill": "mill"}},
                {"mode": "pseudonymise", "types": ["national_id"], "id_patterns": {"boats": "boats?"}},
                {"mode": "drop", "types": ["national_id", "email"], "id_patterns": {"bridge": "bridge"}}]
