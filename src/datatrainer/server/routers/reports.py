"""Reports for reviewers: progress and suggestion acceptance."""

from __future__ import annotations

from fastapi import APIRouter

from datatrainer.server.deps import CurrentUser, ProjectId, Service
from datatrainer.server.schemas import AcceptanceOut, ProgressOut

router = APIRouter(prefix="/projects/{project_id}", tags=["reports"])


@router.get("/progress", response_model=ProgressOut)
def progress(project_id: ProjectId, user: CurrentUser, svc: Service) -> ProgressOut:
    """Task counts by state and per annotator (reviewers and admins)."""
    return ProgressOut.of(svc.progress(user, project_id))


@router.get("/suggestions/acceptance", response_model=list[AcceptanceOut])
def acceptance(project_id: ProjectId, user: CurrentUser, svc: Service) -> list[AcceptanceOut]:
    """Per suggestion source and label: how many suggestions annotators kept, changed or deleted."""
    return [AcceptanceOut.of(a) for a in svc.suggestion_acceptance(user, project_id)]
