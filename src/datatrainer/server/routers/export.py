"""Export a project's results as a new dataset version."""

from __future__ import annotations

from fastapi import APIRouter

from datatrainer.server.deps import CurrentUser, ProjectId, Service
from datatrainer.server.schemas import ExportIn, VersionOut

router = APIRouter(prefix="/projects/{project_id}", tags=["export"])


@router.post("/export", response_model=VersionOut, status_code=201)
def export(project_id: ProjectId, body: ExportIn, user: CurrentUser, svc: Service) -> VersionOut:
    """Final results (review, else consensus) and every annotator's result, with the source as parent."""
    name = body.name or svc.get_project(user, project_id).name
    version = svc.export_version(user, project_id, name, body.include_unannotated)
    return VersionOut(ref=version.ref, num_rows=version.num_rows, parents=list(version.info.parents))
