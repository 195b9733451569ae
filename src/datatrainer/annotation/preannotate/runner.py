"""Running a suggester over a project's tasks and storing what it proposes.

Tasks still to annotate (open, in progress or rejected) are read from the annotation service, suggested for
in batches and stored batch by batch, each batch in one transaction, with its uncertainty set as the task's
priority first (so a project ordered by uncertainty serves the most doubtful tasks first). An interrupted
run keeps the batches it stored; running it again skips the tasks that already hold a suggestion from the
same source with the same configuration (`config_hash` in the stored scores) and does the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from datatrainer.annotation.preannotate.base import Suggester
from datatrainer.annotation.preannotate.uncertainty import Measure, SpanAggregate
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.annotation.types import ProjectInfo, TaskInfo, UserInfo
from datatrainer.errors import DatatrainerError
from datatrainer.progress import progress_bar
from datatrainer.scoring.configs import config_hash

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

TO_SUGGEST = ("open", "in_progress", "rejected")  # tasks no annotator has finished yet
PAGE = 1000
BATCH_SIZE = 64


@dataclass(frozen=True)
class SuggestReport:
    source: str
    tasks: int          # tasks still to annotate
    suggested: int      # suggestions stored by this run
    already: int        # tasks skipped: same source and configuration stored before
    items: int          # spans or labels proposed
    uncertain: int      # suggestions whose uncertainty is at least 0.5


def pending_tasks(ws: Workspace, actor: UserInfo, project: str) -> list[TaskInfo]:
    """The project's tasks that still need annotating, in task order."""
    tasks: list[TaskInfo] = []
    for state in TO_SUGGEST:
        offset = 0
        while page := ws.annotation.tasks_for(actor, project, state=state, limit=PAGE, offset=offset):
            tasks += page
            offset += len(page)
    return sorted(tasks, key=lambda task: task.position)


def run_suggester(ws: Workspace, actor: UserInfo, project: ProjectInfo, suggester: Suggester,
                  measure: Measure = "entropy", aggregate: SpanAggregate = "min", set_priority: bool = True,
                  batch_size: int = BATCH_SIZE, progress: bool = False) -> SuggestReport:
    """Suggest for every pending task of `project` and store the suggestions (see the module docstring)."""
    if project.task_type not in ("ner", "classification"):
        raise DatatrainerError(f"project {project.name!r} is a {project.task_type} project: suggestions exist for "
                               "ner and classification projects")
    digest = config_hash(suggester.config())
    tasks = pending_tasks(ws, actor, project.name)
    done = ws.annotation.suggested_records(actor, project.name, suggester.source, digest)
    todo = [task for task in tasks if task.record_id not in done]
    suggested = items = uncertain = 0
    with progress_bar(f"suggest ({suggester.source})", len(todo), progress) as advance:
        for batch in _batches(todo, batch_size):
            suggestions = suggester.suggest([AnnotatedDoc(task.record_id, str(task.payload.get("text", "")))
                                             for task in batch])
            stored = []
            priorities: dict[str, float] = {}
            for suggestion in suggestions:
                scores = {**suggestion.scores(measure, aggregate), "config_hash": digest}
                stored.append((suggestion.doc_id, suggestion.result(), scores))
                if scores["uncertainty"] is not None:
                    priorities[suggestion.doc_id] = float(scores["uncertainty"])
                    uncertain += scores["uncertainty"] >= 0.5
                items += len(suggestion.spans) or len(suggestion.labels)
            if set_priority and priorities:
                ws.annotation.set_priorities(actor, project.name, priorities)
            suggested += ws.annotation.add_suggestions_by_record(actor, project.name, suggester.source, stored)
            advance(len(batch))
    return SuggestReport(suggester.source, len(tasks), suggested, len(tasks) - len(todo), items, uncertain)


def _batches(tasks: list[TaskInfo], size: int) -> Iterator[list[TaskInfo]]:
    for start in range(0, len(tasks), size):
        yield tasks[start:start + size]
