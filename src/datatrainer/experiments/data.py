"""The default data as workspace versions: the pool `NAME`, the validation text `NAME-valid` and the DSIR
target `NAME-target`, ingested from JSONL like any user data.

The mixture's parameters are kept beside them (`experiments/mixtures/NAME.json`), so asking again for the
same mixture reuses the versions (and with them every stored score and sample) instead of ingesting copies.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from datatrainer.corpora import write_jsonl
from datatrainer.experiments.mixture import MixtureParams, build_mixture
from datatrainer.io.ingest import IngestOptions
from datatrainer.quality.report import write_atomic
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

DEFAULT_NAME = "crawl-mix"
VALID_SUFFIX, TARGET_SUFFIX = "-valid", "-target"


@dataclass(frozen=True)
class MixtureVersions:
    pool: DatasetVersion
    validation: DatasetVersion
    target: DatasetVersion


def ensure_mixture(ws: Workspace, params: MixtureParams, name: str = DEFAULT_NAME) -> MixtureVersions:
    """The three versions of this mixture: the latest ones if they were made with the same parameters, else
    built and ingested now."""
    record = ws.root / "experiments" / "mixtures" / f"{name}.json"
    names = (name, name + VALID_SUFFIX, name + TARGET_SUFFIX)
    if record.exists() and json.loads(record.read_text()) == params.model_dump() and \
            all(n in ws.datasets.names() for n in names):
        return MixtureVersions(*(ws.datasets.versions(n)[-1] for n in names))
    mixture = build_mixture(params)
    versions = []
    with tempfile.TemporaryDirectory(dir=ws.root) as folder:
        for dataset, records in zip(names, (mixture.pool, mixture.validation, mixture.target), strict=True):
            path = Path(folder) / f"{dataset}.jsonl"
            write_jsonl(iter(records), path)
            versions.append(ws.ingest(path, dataset, IngestOptions(source="gensim-mixture",
                                                                   license="CC-BY-SA-3.0")))
    write_atomic(record, json.dumps(params.model_dump(), indent=1))
    return MixtureVersions(*versions)
