"""Jobs: long commands (embed, score, train, experiments, dedup) recorded in the catalog with their state,
progress and log, which can be listed, stopped and resumed from the CLI, the REST API and the dashboard.

`ws.jobs` is the `JobService`; `JobRun` runs work as a job; `LONG_COMMANDS` lists the commands that do.
"""

from datatrainer.jobs.commands import LONG_COMMANDS, LongCommand
from datatrainer.jobs.runner import JobRun, JobStopped
from datatrainer.jobs.service import JobService
from datatrainer.jobs.types import STATES, JobInfo, JobInputsMissing, JobState, JobStateError

__all__ = ["LONG_COMMANDS", "STATES", "JobInfo", "JobInputsMissing", "JobRun", "JobService", "JobState",
           "JobStateError", "JobStopped", "LongCommand"]
