"""An annotator's work: the next task, their tasks, one task, submit and skip."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from datatrainer.annotation.types import TASK_STATES
from datatrainer.server.deps import Annotate, ProjectId, TaskId
from datatrainer.server.schemas import AnnotationOut, SubmitIn, TaskDetailOut, TaskOut

router = APIRouter(tags=["tasks"])
TaskState = Literal[TASK_STATES]  # type: ignore[valid-type]


@router.post("/projects/{project_id}/tasks/next", response_model=TaskOut,
             responses={204: {"description": "No task left for the caller in this project"}})
async def next_task(project_id: ProjectId, api: Annotate) -> TaskOut | Response:
    """The caller's open assignment, else a newly assigned task (a POST: assigning changes state)."""
    task = await api.run(lambda user: api.svc.next_task(user, project_id))
    return TaskOut.of(task) if task is not None else Response(status_code=204)


@router.get("/projects/{project_id}/tasks", response_model=list[TaskOut])
async def list_tasks(project_id: ProjectId, api: Annotate, state: TaskState | None = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     offset: Annotated[int, Query(ge=0)] = 0) -> list[TaskOut]:
    """Annotators see only the tasks assigned to them; reviewers and admins every task."""
    return [TaskOut.of(t) for t in await api.run(lambda user: api.svc.tasks_for(user, project_id, state, limit,
                                                                                offset))]


@router.get("/tasks/{task_id}", response_model=TaskDetailOut)
async def get_task(task_id: TaskId, api: Annotate) -> TaskDetailOut:
    return TaskDetailOut.of_detail(await api.run(lambda user: api.svc.get_task(user, task_id)))


@router.post("/tasks/{task_id}/submit", response_model=AnnotationOut)
async def submit(task_id: TaskId, body: SubmitIn, api: Annotate) -> AnnotationOut:
    """Store (or replace) the caller's result; validated against the project's task type and labels."""
    return AnnotationOut.of(await api.run(lambda user: api.svc.submit(user, task_id, body.result,
                                                                      body.suggestion_id)))


@router.post("/tasks/{task_id}/skip", status_code=204)
async def skip(task_id: TaskId, api: Annotate) -> None:
    """Give the task back; it goes to someone else and never returns to the caller."""
    await api.run(lambda user: api.svc.skip(user, task_id))
