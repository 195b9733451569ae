"""Checks a submitted result against its task type and the project's label schema.

Results are JSON objects whose shape depends on the task type:
`ner` {"spans": [{"start", "end", "label"}]}, `classification` {"labels": [...]},
`preference` {"choice": "a"|"b", "reason": str}, `correction` {"text": str}.
A valid result comes back normalised (spans sorted, labels in schema order) so equal answers compare equal
in agreement, consensus and suggestion-acceptance code.
"""

from __future__ import annotations

from typing import Any

from datatrainer.annotation.errors import AnnotationValidationError
from datatrainer.annotation.spans import Span, first_overlap
from datatrainer.annotation.types import LabelSchema


def validate_result(task_type: str, schema: LabelSchema, payload: dict[str, Any], result: Any,
                    where: str) -> dict[str, Any]:
    """The normalised result, or a one-line `AnnotationValidationError` naming `where` and the field."""
    if not isinstance(result, dict):
        raise AnnotationValidationError(f"{where}: result: must be an object, got {type(result).__name__}")
    check = _CHECKS.get(task_type)
    if check is None:
        raise AnnotationValidationError(f"{where}: unknown task type {task_type!r}")
    return check(schema, payload, result, where)


def _only_keys(result: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(result) - allowed)
    if extra:
        raise AnnotationValidationError(f"{where}: result.{extra[0]}: unexpected field (allowed: "
                                        f"{', '.join(sorted(allowed))})")


def _label(schema: LabelSchema, value: Any, field: str) -> str:
    if not isinstance(value, str) or value not in schema.labels:
        raise AnnotationValidationError(
            f"{field}: {value!r} is not one of the project's labels ({', '.join(schema.labels)})")
    return value


def _ner(schema: LabelSchema, payload: dict[str, Any], result: dict[str, Any], where: str) -> dict[str, Any]:
    _only_keys(result, {"spans"}, where)
    raw = result.get("spans")
    if not isinstance(raw, list):
        raise AnnotationValidationError(f"{where}: result.spans: must be a list of {{start, end, label}}")
    text = str(payload.get("text", ""))
    spans: list[Span] = []
    for index, item in enumerate(raw):
        field = f"{where}: result.spans[{index}]"
        if not isinstance(item, dict) or set(item) != {"start", "end", "label"}:
            raise AnnotationValidationError(f"{field}: must be an object with exactly start, end and label")
        start, end = item["start"], item["end"]
        if type(start) is not int or type(end) is not int:
            raise AnnotationValidationError(f"{field}: start and end must be integers")
        if not 0 <= start < end <= len(text):
            raise AnnotationValidationError(
                f"{field}: [{start}, {end}) is empty or outside the text (length {len(text)})")
        spans.append(Span(start, end, _label(schema, item["label"], f"{field}.label")))
    if len(set(spans)) != len(spans):
        raise AnnotationValidationError(f"{where}: result.spans: the same span is given twice")
    if not schema.allow_overlap:
        pair = first_overlap(spans)
        if pair is not None:
            a, b = pair
            raise AnnotationValidationError(
                f"{where}: result.spans: [{a.start}, {a.end}) {a.label} and [{b.start}, {b.end}) {b.label} "
                "overlap, and this project does not allow overlapping spans")
    return {"spans": [{"start": s.start, "end": s.end, "label": s.label} for s in sorted(spans)]}


def _classification(schema: LabelSchema, payload: dict[str, Any], result: dict[str, Any],
                    where: str) -> dict[str, Any]:
    _only_keys(result, {"labels"}, where)
    raw = result.get("labels")
    if not isinstance(raw, list):
        raise AnnotationValidationError(f"{where}: result.labels: must be a list of labels")
    chosen = {_label(schema, value, f"{where}: result.labels[{i}]") for i, value in enumerate(raw)}
    if len(chosen) != len(raw):
        raise AnnotationValidationError(f"{where}: result.labels: a label is given twice")
    if not schema.multi_label and len(chosen) != 1:
        raise AnnotationValidationError(
            f"{where}: result.labels: this project takes exactly one label per record, got {len(chosen)}")
    return {"labels": [label for label in schema.labels if label in chosen]}


def _preference(schema: LabelSchema, payload: dict[str, Any], result: dict[str, Any],
                where: str) -> dict[str, Any]:
    _only_keys(result, {"choice", "reason"}, where)
    choice, reason = result.get("choice"), result.get("reason", "")
    if choice not in ("a", "b"):
        raise AnnotationValidationError(f"{where}: result.choice: must be 'a' or 'b', got {choice!r}")
    if not isinstance(reason, str):
        raise AnnotationValidationError(f"{where}: result.reason: must be a string")
    return {"choice": choice, "reason": reason}


def _correction(schema: LabelSchema, payload: dict[str, Any], result: dict[str, Any],
                where: str) -> dict[str, Any]:
    _only_keys(result, {"text"}, where)
    text = result.get("text")
    if not isinstance(text, str) or not text.strip():
        raise AnnotationValidationError(f"{where}: result.text: must be a non-empty string")
    return {"text": text}


_CHECKS = {"ner": _ner, "classification": _classification, "preference": _preference, "correction": _correction}
