"""Projects and their members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from datatrainer.server.deps import CurrentUser, ProjectId, Service
from datatrainer.server.schemas import NO_NUL, MemberIn, MemberOut, ProjectIn, ProjectOut

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", response_model=list[ProjectOut])
def list_projects(user: CurrentUser, svc: Service) -> list[ProjectOut]:
    """Every project for administrators; for everyone else, the projects they are members of."""
    return [ProjectOut.of(p, svc.role_of(user, p.id)) for p in svc.list_projects(user)]


@router.post("", response_model=ProjectOut, status_code=201)
def create_project(body: ProjectIn, user: CurrentUser, svc: Service) -> ProjectOut:
    """One task per record of the source dataset version (administrators only)."""
    project = svc.create_project(user, body.name, body.source, body.task_type, body.labels,
                                 multi_label=body.multi_label, allow_overlap=body.allow_overlap,
                                 overlap=body.overlap, ordering=body.ordering, guidelines=body.guidelines,
                                 fields=body.fields)
    return ProjectOut.of(project, "admin")


@router.get("/{project_id}", response_model=ProjectOut)
def get_project(project_id: ProjectId, user: CurrentUser, svc: Service) -> ProjectOut:
    project = svc.get_project(user, project_id)
    return ProjectOut.of(project, svc.role_of(user, project_id))


@router.get("/{project_id}/members", response_model=list[MemberOut])
def list_members(project_id: ProjectId, user: CurrentUser, svc: Service) -> list[MemberOut]:
    return [MemberOut.of(m) for m in svc.members(user, project_id)]


@router.put("/{project_id}/members", response_model=MemberOut)
def set_member(project_id: ProjectId, body: MemberIn, user: CurrentUser, svc: Service) -> MemberOut:
    """Give a user a role in the project, replacing any earlier one (project admins only)."""
    return MemberOut.of(svc.add_member(user, project_id, body.username, body.role))


@router.delete("/{project_id}/members/{username}", status_code=204)
def remove_member(project_id: ProjectId, username: Annotated[str, Path(max_length=100, pattern=NO_NUL)],
                  user: CurrentUser, svc: Service) -> None:
    svc.remove_member(user, project_id, username)
