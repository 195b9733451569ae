"""Export a project's results as a new dataset version, joined back onto the source records.

The new version keeps every column of the source version and adds, per record: the final result in typed
columns (`spans` list<struct<start, end, label>> for ner, `labels` list<string> for classification,
`choice` and `reason` for preference, `correction` for correction), `annotation_state`,
`annotation_source` ("review" when a reviewer set the result, "consensus" otherwise) and `annotations`, every
counted annotator's result as list<struct<annotator, result (JSON text)>>. Its lineage names the source
version as parent and the project as a parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from datatrainer.annotation.queries import FinalResult
from datatrainer.annotation.types import ProjectInfo
from datatrainer.store.catalog import VersionInfo
from datatrainer.store.schema import ID
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

SPAN_TYPE = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string())])
ANNOTATIONS_TYPE = pa.list_(pa.struct([("annotator", pa.string()), ("result", pa.string())]))
RESULT_COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "ner": {"spans": pa.list_(SPAN_TYPE)},
    "classification": {"labels": pa.list_(pa.string())},
    "preference": {"choice": pa.string(), "reason": pa.string()},
    "correction": {"correction": pa.string()},
}
META_COLUMNS: dict[str, pa.DataType] = {"annotation_state": pa.string(), "annotation_source": pa.string(),
                                        "annotations": ANNOTATIONS_TYPE}


def result_values(task_type: str, result: dict[str, Any] | None) -> dict[str, Any]:
    """The typed column values of one final result (all None when there is none)."""
    if result is None:
        return dict.fromkeys(RESULT_COLUMNS[task_type])
    if task_type == "correction":
        return {"correction": result["text"]}
    return {column: result[column] for column in RESULT_COLUMNS[task_type]}


def export_project(ws: Workspace, project: ProjectInfo, tasks: dict[int, tuple[str, str]],
                   finals: dict[int, FinalResult], name: str, include_unannotated: bool,
                   also_record: Callable[[Session, VersionInfo], None]) -> DatasetVersion:
    """Write the new version; `also_record` (the audit entry) runs in the transaction that records it."""
    source = ws.version(f"{project.source_ref}")
    rows: dict[str, dict[str, Any]] = {}
    for task_id, (record_id, state) in tasks.items():
        final = finals.get(task_id)
        if final is None and not include_unannotated:
            continue
        values = result_values(project.task_type, final.result if final else None)
        values["annotation_state"] = state
        values["annotation_source"] = final.source if final else None
        values["annotations"] = [{"annotator": v.username, "result": orjson.dumps(v.result).decode()}
                                 for v in (final.votes if final else ())]
        rows[record_id] = values
    added = {**RESULT_COLUMNS[project.task_type], **META_COLUMNS}
    wanted = pa.array(sorted(rows), pa.string())
    with ws.datasets.new_version() as writer:
        for sequence, batch in enumerate(source.read_batches()):
            table = pa.Table.from_batches([batch]).filter(pc.is_in(batch.column(ID), value_set=wanted))
            table = table.drop_columns([c for c in added if c in table.column_names])
            ids = table.column(ID).to_pylist()
            for column, kind in added.items():
                table = table.append_column(pa.field(column, kind), pa.array([rows[i][column] for i in ids], kind))
            writer.write_part(sequence, table)
        info = writer.commit(dataset=name, operation="annotate",
                             params={"project": project.name, "task_type": project.task_type,
                                     "include_unannotated": include_unannotated},
                             parents=[source.info],
                             stats={"annotated": sum(1 for r in rows.values() if r["annotation_source"]),
                                    "accepted": sum(1 for r in rows.values() if r["annotation_state"] == "accepted")},
                             also_record=also_record)
    return ws.version(info.ref)
