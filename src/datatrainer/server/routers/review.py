"""Reviewers: the queue of fully annotated tasks, and accept / reject / adjudicate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from datatrainer.server.deps import Annotate, ProjectId, TaskId
from datatrainer.server.schemas import ReviewIn, ReviewOut, TaskDetailOut, TaskOut

router = APIRouter(tags=["review"])


@router.get("/projects/{project_id}/review", response_model=list[TaskOut])
async def queue(project_id: ProjectId, api: Annotate,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[TaskOut]:
    return [TaskOut.of(t) for t in await api.run(lambda user: api.svc.review_queue(user, project_id, limit))]


@router.post("/tasks/{task_id}/review/start", response_model=TaskDetailOut)
async def start(task_id: TaskId, api: Annotate) -> TaskDetailOut:
    """Lock the task for review (annotators can no longer change it) and return every annotation."""
    return TaskDetailOut.of_detail(await api.run(lambda user: api.svc.start_review(user, task_id)))


@router.post("/tasks/{task_id}/review", response_model=ReviewOut)
async def decide(task_id: TaskId, body: ReviewIn, api: Annotate) -> ReviewOut:
    """accept (the given result, else the annotators' consensus), reject (reopen), or adjudicate."""
    return ReviewOut.of(await api.run(lambda user: api.svc.review(user, task_id, body.decision, body.result,
                                                                  body.comment)))
