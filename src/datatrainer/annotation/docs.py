"""Conversions between stored results and the shared `AnnotatedDoc`, for the file formats package.

Only span (ner) and label (classification) results have a place in `AnnotatedDoc`; preference and correction
projects are exported as dataset versions instead.
"""

from __future__ import annotations

from typing import Any

from datatrainer.annotation.errors import AnnotationValidationError
from datatrainer.annotation.spans import AnnotatedDoc, Span

DOC_TASK_TYPES = ("ner", "classification")


def check_doc_task_type(task_type: str, project: str) -> None:
    if task_type not in DOC_TASK_TYPES:
        raise AnnotationValidationError(
            f"project {project!r}: annotation files hold ner and classification results, not {task_type}; "
            "export it as a dataset version (--name) instead")


def result_to_doc(task_type: str, record_id: str, text: str, result: dict[str, Any] | None,
                  meta: dict[str, Any]) -> AnnotatedDoc:
    if result is None:
        return AnnotatedDoc(record_id, text, meta=meta)
    if task_type == "ner":
        spans = tuple(Span(s["start"], s["end"], s["label"]) for s in result["spans"])
        return AnnotatedDoc(record_id, text, spans=spans, meta=meta)
    return AnnotatedDoc(record_id, text, labels=tuple(result["labels"]), meta=meta)


def doc_to_result(task_type: str, doc: AnnotatedDoc) -> dict[str, Any]:
    """The raw result a doc carries; the caller validates it against the project like any submission."""
    if task_type == "ner":
        return {"spans": [{"start": s.start, "end": s.end, "label": s.label} for s in doc.spans]}
    return {"labels": list(doc.labels)}
