"""Reports for reviewers: progress, agreement and suggestion acceptance."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from datatrainer.annotation.agreement_report import classification_agreement, group_by_item, span_agreement
from datatrainer.annotation.service import AnnotationService
from datatrainer.annotation.types import UserInfo
from datatrainer.server.deps import Annotate, ProjectId
from datatrainer.server.schemas import AcceptanceOut, AgreementOut, ProgressOut

router = APIRouter(prefix="/projects/{project_id}", tags=["reports"])


@router.get("/progress", response_model=ProgressOut)
async def progress(project_id: ProjectId, api: Annotate) -> ProgressOut:
    """Task counts by state and per annotator (reviewers and admins)."""
    return ProgressOut.of(await api.run(lambda user: api.svc.progress(user, project_id)))


@router.get("/suggestions/acceptance", response_model=list[AcceptanceOut])
async def acceptance(project_id: ProjectId, api: Annotate) -> list[AcceptanceOut]:
    """Per suggestion source and label: how many suggestions annotators kept, changed or deleted."""
    found = await api.run(lambda user: api.svc.suggestion_acceptance(user, project_id))
    return [AcceptanceOut.of(a) for a in found]


@router.get("/agreement", response_model=AgreementOut)
async def agreement(project_id: ProjectId, api: Annotate) -> AgreementOut:
    """Inter-annotator agreement over the counted annotations (ner and classification projects).

    Classification: Cohen's kappa per pair and per annotator against the others, Fleiss' kappa, Krippendorff's
    alpha, and each label as yes/no. NER: span precision, recall and F1 per pair, exact and overlap match.
    """
    return await api.run(lambda user: _agreement(api.svc, user, project_id))


def _agreement(svc: AnnotationService, user: UserInfo, project_id: int) -> AgreementOut:
    project = svc.get_project(user, project_id)
    by_item = group_by_item(svc.annotated_docs(user, project_id, per_annotator=True))
    if project.task_type == "ner":
        spans = span_agreement({item: {who: doc.spans for who, doc in by.items()} for item, by in by_item.items()})
        return AgreementOut(task_type="ner", spans=asdict(spans))
    labels = classification_agreement({item: {who: doc.labels for who, doc in by.items()}
                                       for item, by in by_item.items()}, labels=project.label_schema.labels)
    return AgreementOut(task_type="classification", classification=asdict(labels))
