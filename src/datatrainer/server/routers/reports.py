"""Reports for reviewers: progress, agreement and suggestion acceptance."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from datatrainer.annotation.agreement_report import classification_agreement, group_by_item, span_agreement
from datatrainer.server.deps import CurrentUser, ProjectId, Service
from datatrainer.server.schemas import AcceptanceOut, AgreementOut, ProgressOut

router = APIRouter(prefix="/projects/{project_id}", tags=["reports"])


@router.get("/progress", response_model=ProgressOut)
def progress(project_id: ProjectId, user: CurrentUser, svc: Service) -> ProgressOut:
    """Task counts by state and per annotator (reviewers and admins)."""
    return ProgressOut.of(svc.progress(user, project_id))


@router.get("/suggestions/acceptance", response_model=list[AcceptanceOut])
def acceptance(project_id: ProjectId, user: CurrentUser, svc: Service) -> list[AcceptanceOut]:
    """Per suggestion source and label: how many suggestions annotators kept, changed or deleted."""
    return [AcceptanceOut.of(a) for a in svc.suggestion_acceptance(user, project_id)]


@router.get("/agreement", response_model=AgreementOut)
def agreement(project_id: ProjectId, user: CurrentUser, svc: Service) -> AgreementOut:
    """Inter-annotator agreement over the counted annotations (ner and classification projects).

    Classification: Cohen's kappa per pair and per annotator against the others, Fleiss' kappa, Krippendorff's
    alpha, and each label as yes/no. NER: span precision, recall and F1 per pair, exact and overlap match.
    """
    project = svc.get_project(user, project_id)
    by_item = group_by_item(svc.annotated_docs(user, project_id, per_annotator=True))
    if project.task_type == "ner":
        spans = span_agreement({item: {who: doc.spans for who, doc in by.items()} for item, by in by_item.items()})
        return AgreementOut(task_type="ner", spans=asdict(spans))
    labels = classification_agreement({item: {who: doc.labels for who, doc in by.items()}
                                       for item, by in by_item.items()}, labels=project.label_schema.labels)
    return AgreementOut(task_type="classification", classification=asdict(labels))
