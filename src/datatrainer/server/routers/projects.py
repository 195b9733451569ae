"""Projects and their members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from datatrainer.annotation.service import AnnotationService
from datatrainer.annotation.types import UserInfo
from datatrainer.server.deps import Annotate, ProjectId
from datatrainer.server.schemas import NO_NUL, MemberIn, MemberOut, ProjectIn, ProjectOut

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", response_model=list[ProjectOut])
async def list_projects(api: Annotate) -> list[ProjectOut]:
    """Every project for administrators; for everyone else, the projects they are members of."""
    return await api.run(lambda user: [ProjectOut.of(p, api.svc.role_of(user, p.id))
                                       for p in api.svc.list_projects(user)])


@router.post("", response_model=ProjectOut, status_code=201)
async def create_project(body: ProjectIn, api: Annotate) -> ProjectOut:
    """One task per record of the source dataset version (administrators only)."""
    project = await api.run(lambda user: api.svc.create_project(
        user, body.name, body.source, body.task_type, body.labels, multi_label=body.multi_label,
        allow_overlap=body.allow_overlap, overlap=body.overlap, ordering=body.ordering, guidelines=body.guidelines,
        fields=body.fields))
    return ProjectOut.of(project, "admin")


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(project_id: ProjectId, api: Annotate) -> ProjectOut:
    return await api.run(lambda user: _project_out(api.svc, user, project_id))


def _project_out(svc: AnnotationService, user: UserInfo, project_id: int) -> ProjectOut:
    return ProjectOut.of(svc.get_project(user, project_id), svc.role_of(user, project_id))


@router.get("/{project_id}/members", response_model=list[MemberOut])
async def list_members(project_id: ProjectId, api: Annotate) -> list[MemberOut]:
    return [MemberOut.of(m) for m in await api.run(lambda user: api.svc.members(user, project_id))]


@router.put("/{project_id}/members", response_model=MemberOut)
async def set_member(project_id: ProjectId, body: MemberIn, api: Annotate) -> MemberOut:
    """Give a user a role in the project, replacing any earlier one (project admins only)."""
    return MemberOut.of(await api.run(lambda user: api.svc.add_member(user, project_id, body.username, body.role)))


@router.delete("/{project_id}/members/{username}", status_code=204)
async def remove_member(project_id: ProjectId, username: Annotated[str, Path(max_length=100, pattern=NO_NUL)],
                        api: Annotate) -> None:
    await api.run(lambda user: api.svc.remove_member(user, project_id, username))
