"""Label Studio JSON: tasks with ``data``, ``annotations`` and ``predictions``, exported and imported.

Export: one task per record id; every document of that id becomes one annotation (``completed_by`` from
``meta["annotator"]``) or, when ``meta["prediction"]`` is true, one prediction (``model_version`` from the
annotator). Spans are ``labels`` results (``value`` start/end/text/labels, ``from_name="label"``,
``to_name="text"``), document labels one ``choices`` result (``from_name="choice"``) — the names the
labeling config from `labeling_config` uses. Other ``meta`` goes to ``data["meta"]``.

Import reads Label Studio's JSON export (and the legacy ``completions`` key): one document per annotation and per
prediction, with the annotator in ``meta["annotator"]`` (``completed_by``: an id, an email, or a user object) so
`agreement_report.group_by_item` can compare them; a task with neither gives one unannotated document. Cancelled
(skipped) annotations are left out. Result types other than labels/choices (textarea, rating, relations...) are
kept verbatim in ``meta["label_studio_results"]`` and written back on export, so a round trip loses nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr  # nosec B406  # quoteattr only escapes values we write; no XML is parsed

import orjson

from datatrainer.annotation.formats.base import WriteReport, read_bytes, staged
from datatrainer.annotation.spans import AnnotatedDoc, Span, check_doc
from datatrainer.errors import DatatrainerError, InputError

SPAN_FROM, CHOICE_FROM, TEXT_TO = "label", "choice", "text"
ANNOTATOR, PREDICTION, OTHER_RESULTS = "annotator", "prediction", "label_studio_results"
_OWN_KEYS = frozenset({ANNOTATOR, PREDICTION, OTHER_RESULTS})


def write_label_studio(docs: list[AnnotatedDoc], path: Path, overwrite: bool = False) -> WriteReport:
    tasks: dict[str, dict[str, Any]] = {}
    for doc in docs:
        check_doc(doc, str(path))
        task = tasks.get(doc.id)
        if task is None:
            data: dict[str, Any] = {TEXT_TO: doc.text, "record_id": doc.id}
            meta = {key: value for key, value in doc.meta.items() if key not in _OWN_KEYS}
            if meta:
                data["meta"] = meta
            task = tasks[doc.id] = {"id": len(tasks) + 1, "data": data, "annotations": [], "predictions": []}
        elif task["data"][TEXT_TO] != doc.text:
            raise DatatrainerError(f"{path}: doc {doc.id!r}: two documents share the id but not the text")
        result = _results(doc)
        annotator = doc.meta.get(ANNOTATOR)
        if doc.meta.get(PREDICTION):
            task["predictions"].append({"model_version": str(annotator or ""), "result": result})
        elif result or annotator is not None:
            entry: dict[str, Any] = {"result": result, "was_cancelled": False}
            if annotator is not None:
                entry["completed_by"] = annotator
            task["annotations"].append(entry)
    try:
        payload = orjson.dumps(list(tasks.values()), option=orjson.OPT_INDENT_2)
    except TypeError as exc:
        raise DatatrainerError(f"{path}: meta cannot be written as JSON ({exc})") from None
    with staged(path, overwrite) as temporary:
        temporary.write_bytes(payload)
    return WriteReport(path, len(docs), sum(len(doc.spans) for doc in docs))


def labeling_config(span_labels: list[str], choices: list[str], multi_label: bool = False) -> str:
    """A Label Studio labeling config whose tag names match the exported results."""
    lines = ["<View>", f'  <Labels name="{SPAN_FROM}" toName="{TEXT_TO}">' if span_labels else ""]
    lines += [f"    <Label value={quoteattr(label)}/>" for label in span_labels]
    lines += ["  </Labels>" if span_labels else "", f'  <Text name="{TEXT_TO}" value="${TEXT_TO}"/>']
    if choices:
        kind = "multiple" if multi_label else "single"
        lines.append(f'  <Choices name="{CHOICE_FROM}" toName="{TEXT_TO}" choice="{kind}">')
        lines += [f"    <Choice value={quoteattr(choice)}/>" for choice in choices]
        lines.append("  </Choices>")
    return "\n".join(line for line in [*lines, "</View>"] if line) + "\n"


def _results(doc: AnnotatedDoc) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [
        {"id": f"s{index}", "from_name": SPAN_FROM, "to_name": TEXT_TO, "type": "labels",
         "value": {"start": span.start, "end": span.end, "text": doc.text[span.start:span.end],
                   "labels": [span.label]}}
        for index, span in enumerate(doc.spans)]
    if doc.labels:
        results.append({"id": "c0", "from_name": CHOICE_FROM, "to_name": TEXT_TO, "type": "choices",
                        "value": {"choices": list(doc.labels)}})
    return results + list(doc.meta.get(OTHER_RESULTS, []))


def read_label_studio(path: Path, text_key: str = TEXT_TO) -> list[AnnotatedDoc]:
    try:
        tasks = orjson.loads(read_bytes(path))
    except orjson.JSONDecodeError as exc:
        raise InputError(str(path), f"invalid JSON ({exc})") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise InputError(str(path), "expected a JSON list of Label Studio tasks")
    docs: list[AnnotatedDoc] = []
    for index, task in enumerate(tasks):
        docs += _task_docs(task, f"{path}: task {index}", text_key)
    return docs


def _task_docs(task: Any, where: str, text_key: str) -> list[AnnotatedDoc]:
    if not isinstance(task, dict):
        raise InputError(where, "must be a JSON object")
    data = _object(task.get("data"), where, "data")
    text = data.get(text_key)
    if text is None:
        strings = [value for value in data.values() if isinstance(value, str)]
        text = strings[0] if len(strings) == 1 else None
    if not isinstance(text, str):
        raise InputError(where, f"data.{text_key}: missing or not a string (the task's text)")
    record_id = data.get("record_id", task.get("id"))
    if record_id is None:
        raise InputError(where, "neither data.record_id nor id gives the record id")
    meta = dict(_object(data.get("meta", {}), where, "data.meta"))
    docs: list[AnnotatedDoc] = []
    for key in ("annotations", "completions", "predictions"):
        entries = task.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise InputError(where, f"{key}: must be a list")
        for number, entry in enumerate(entries):
            field = f"{key}[{number}]"
            entry = _object(entry, where, field)
            if entry.get("was_cancelled"):
                continue
            own = dict(meta)
            if key == "predictions":
                own[PREDICTION] = True
                own[ANNOTATOR] = str(entry.get("model_version") or PREDICTION)
            elif entry.get("completed_by") is not None:
                own[ANNOTATOR] = _annotator(entry["completed_by"])
            doc = _parse_result(str(record_id), text, entry.get("result"), own, where, field)
            check_doc(doc, where)
            docs.append(doc)
    return docs or [AnnotatedDoc(str(record_id), text, meta=meta)]


def _parse_result(record_id: str, text: str, result: Any, meta: dict[str, Any], where: str,
                  field: str) -> AnnotatedDoc:
    if not isinstance(result, list):
        raise InputError(where, f"{field}.result: must be a list")
    spans: list[Span] = []
    labels: list[str] = []
    others: list[Any] = []
    for number, item in enumerate(result):
        at = f"{field}.result[{number}]"
        item = _object(item, where, at)
        kind = item.get("type")
        value = _object(item.get("value"), where, f"{at}.value") if kind in ("labels", "choices") else None
        if kind == "labels" and value is not None:
            start, end = value.get("start"), value.get("end")
            if type(start) is not int or type(end) is not int:
                raise InputError(where, f"{at}.value.start/end: must be integers (character offsets)")
            if not 0 <= start < end <= len(text):
                raise InputError(where, f"{at}.value: [{start}, {end}) is empty or outside the text "
                                        f"(length {len(text)})")
            quoted = value.get("text")
            if isinstance(quoted, str) and quoted != text[start:end]:
                raise InputError(where, f"{at}.value.text {quoted!r} is not the text at [{start}, {end}): "
                                        f"{text[start:end]!r}")
            spans += [Span(start, end, label) for label in _strings(value.get("labels"), where, f"{at}.value.labels")]
        elif kind == "choices" and value is not None:
            labels += _strings(value.get("choices"), where, f"{at}.value.choices")
        else:
            others.append(item)
    if others:
        meta[OTHER_RESULTS] = others
    return AnnotatedDoc(record_id, text, tuple(spans), tuple(dict.fromkeys(labels)), meta)


def _annotator(value: Any) -> str:
    """``completed_by`` is a user id in exports, an email on import, or a user object in some versions."""
    if isinstance(value, dict):
        return str(value.get("email") or value.get("id") or value)
    return str(value)


def _object(value: Any, where: str, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(where, f"{field}: must be a JSON object")
    return value


def _strings(value: Any, where: str, field: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise InputError(where, f"{field}: must be a non-empty list of strings")
    return value
