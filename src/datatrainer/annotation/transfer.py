"""Project results to and from `AnnotatedDoc` lists, the currency of the file formats package.

Import matches documents to tasks by record id and refuses a document whose text differs from the task's
(offsets would point at the wrong characters). Results are validated like submissions. Documents become
suggestions (pre-annotations, source `SOURCE` or `SOURCE:annotator`), or, on request, submitted annotations
of the named annotators, who must be members of the project; a task never exceeds its overlap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatrainer.annotation.docs import check_doc_task_type, doc_to_result, result_to_doc
from datatrainer.annotation.errors import AnnotationValidationError, ConflictError
from datatrainer.annotation.lookup import rank, refresh_state, role_in, tasks_by_record
from datatrainer.annotation.models import AnnotationRow, AssignmentRow, SuggestionRow, TaskRow
from datatrainer.annotation.queries import final_results
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.annotation.types import ProjectInfo
from datatrainer.annotation.validation import validate_result
from datatrainer.errors import NotFoundError
from datatrainer.security.audit import AuditLog
from datatrainer.security.models import UserRow
from datatrainer.security.users import user_info

ANNOTATOR, PREDICTION = "annotator", "prediction"  # the meta keys the formats package uses


@dataclass(frozen=True)
class ImportReport:
    suggestions: int
    annotations: int
    unannotated: int


def project_docs(session: Session, project: ProjectInfo, per_annotator: bool) -> list[AnnotatedDoc]:
    """One doc per record with its final result, or one per counted annotation (meta `annotator`)."""
    check_doc_task_type(project.task_type, project.name)
    finals = final_results(session, project)
    docs: list[AnnotatedDoc] = []
    for task in session.scalars(select(TaskRow).where(TaskRow.project_id == project.id).order_by(TaskRow.position)):
        final = finals.get(task.id)
        if final is None:
            continue
        text = str(task.payload["text"])
        if per_annotator:
            docs += [result_to_doc(project.task_type, task.record_id, text, vote.result, {ANNOTATOR: vote.username})
                     for vote in final.votes]
        else:
            meta = {"annotation_state": task.state, "annotation_source": final.source}
            docs.append(result_to_doc(project.task_type, task.record_id, text, final.result, meta))
    return docs


def import_docs(session: Session, audit: AuditLog, actor: str, project: ProjectInfo, docs: Iterable[AnnotatedDoc],
                as_annotations: bool, source: str) -> ImportReport:
    check_doc_task_type(project.task_type, project.name)
    schema, by_record = project.label_schema, tasks_by_record(session, project.id)
    suggestions = annotations = unannotated = 0
    for doc in docs:
        task = by_record.get(doc.id)
        if task is None:
            raise NotFoundError(f"record {doc.id!r}: project {project.name!r} has no task for it")
        if doc.text != task.payload["text"]:
            raise AnnotationValidationError(f"record {doc.id!r}: the file's text differs from the task's text")
        annotator = doc.meta.get(ANNOTATOR)
        if not doc.spans and not doc.labels and annotator is None:
            unannotated += 1
            continue
        result = validate_result(project.task_type, schema, task.payload, doc_to_result(project.task_type, doc),
                                 f"record {doc.id!r}")
        if as_annotations and annotator is not None and not doc.meta.get(PREDICTION):
            _annotate(session, audit, actor, project, task, str(annotator), result)
            annotations += 1
        else:
            name = f"{source}:{annotator}" if annotator is not None else source
            session.add(SuggestionRow(task_id=task.id, source=name, result=result, scores={},
                                      created_at=datetime.now(UTC)))
            suggestions += 1
    session.flush()
    audit.append(session, actor=actor, action="project.import", entity="project", entity_id=project.id,
                 after={"source": source, "suggestions": suggestions, "annotations": annotations})
    return ImportReport(suggestions, annotations, unannotated)


def _annotate(session: Session, audit: AuditLog, actor: str, project: ProjectInfo, task: TaskRow, username: str,
              result: dict[str, object]) -> None:
    user = session.scalar(select(UserRow).where(UserRow.username == username))
    if user is None or rank(role_in(session, user_info(user), project.id)) < rank("annotator"):
        raise NotFoundError(f"record {task.record_id!r}: annotator {username!r} is not a member of project "
                            f"{project.name!r} (create the user and add them, or import as suggestions)")
    now = datetime.now(UTC)
    assignment = session.scalar(select(AssignmentRow).where(AssignmentRow.task_id == task.id,
                                                            AssignmentRow.user_id == user.id))
    if assignment is None:
        live = session.scalar(select(func.count()).where(AssignmentRow.task_id == task.id,
                                                         AssignmentRow.state.in_(("assigned", "submitted"))))
        if (live or 0) >= project.overlap:
            raise ConflictError(f"record {task.record_id!r}: already has {project.overlap} annotator(s)")
        assignment = AssignmentRow(task_id=task.id, user_id=user.id, state="submitted", assigned_at=now)
        session.add(assignment)
    assignment.state, assignment.submitted_at = "submitted", now
    annotation = session.scalar(select(AnnotationRow).where(AnnotationRow.task_id == task.id,
                                                            AnnotationRow.user_id == user.id))
    before = dict(annotation.result) if annotation is not None else None
    if annotation is None:
        annotation = AnnotationRow(task_id=task.id, user_id=user.id, result=result, created_at=now, updated_at=now)
        session.add(annotation)
    annotation.result, annotation.updated_at = result, now
    session.flush()
    refresh_state(session, task.id, project.overlap)
    audit.append(session, actor=actor, action="annotation.import", entity="task", entity_id=task.id,
                 before=before, after={"user": username, "result": result})
