"""`JobRun`: runs a piece of work as a job — holds its lease, reports progress and log lines by heartbeat, and
turns a stop request into the interruption the work already handles.

A stop is Ctrl-C delivered through the catalog: the heartbeat thread sees the flag and, when the work runs on
the main thread (the CLI), sends SIGINT to its own process, so every command stops exactly as on Ctrl-C (its
finished shards or training checkpoint are kept). Work on another thread (the Python API in a thread, a
server) is stopped at its next progress advance instead, by `JobStopped`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import uuid
from types import TracebackType
from typing import TYPE_CHECKING

import typer

from datatrainer.jobs.types import JobInfo, JobState, JobStateError
from datatrainer.progress import observing

if TYPE_CHECKING:
    from datatrainer.jobs.service import JobService

ENV_LEASE = "DATATRAINER_JOB_LEASE"  # seconds a lease lasts without a heartbeat
ENV_HEARTBEAT = "DATATRAINER_JOB_HEARTBEAT"  # seconds between heartbeats (and stop-flag polls)
LEASE_S = 30.0
HEARTBEAT_S = 2.0


class JobStopped(KeyboardInterrupt):
    """Raised at the next progress advance of work asked to stop (off the main thread): a KeyboardInterrupt,
    so whatever handles Ctrl-C (keeping finished shards) handles it too."""


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


class JobRun:
    """`with JobRun(service, job) as run: work()` — the job is claimed (or was, at `create`) on entry, and on exit
    recorded as done, stopped (Ctrl-C, a stop request, exit code 130) or failed (with the one-line error)."""

    def __init__(self, service: JobService, job: JobInfo, holder: str | None = None) -> None:
        self.service, self.job = service, job
        self.holder = holder or job.lease_holder or uuid.uuid4().hex
        self.lease_s = _seconds(ENV_LEASE, LEASE_S)
        self.heartbeat_s = _seconds(ENV_HEARTBEAT, HEARTBEAT_S)
        self.phase: str | None = None
        self.done, self.total = 0.0, None if job.total is None else float(job.total)
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self._stop = threading.Event()
        self._on_main = threading.current_thread() is threading.main_thread()
        self._signalled = False
        self._ignored_sigint = False
        self._thread = threading.Thread(target=self._beat, name=f"job-{job.id}-heartbeat", daemon=True)
        self._observing = observing(self)

    @classmethod
    def new(cls, service: JobService, kind: str, params: dict[str, object], options: dict[str, object],
            inputs: list[str], owner: str) -> JobRun:
        """A new job, claimed by this process from the start."""
        holder = uuid.uuid4().hex
        job = service.create(kind, params, options, inputs, owner, holder, _seconds(ENV_LEASE, LEASE_S))
        return cls(service, job, holder)

    @classmethod
    def resumed(cls, service: JobService, job_id: int) -> JobRun:
        """An existing job, claimed now; refused (one line) while another worker holds it or when it is done."""
        run = cls(service, service.get_job(job_id), uuid.uuid4().hex)
        if not service.claim(job_id, run.holder, run.lease_s):
            job = service.get_job(job_id)
            state = "done" if job.state == "done" else f"held by another worker (pid {job.pid} on {job.host})"
            raise JobStateError(f"job {job_id} is {state}: not resumed")
        run.job = service.get_job(job_id)
        return run

    # --- progress (the observer every progress bar reports to) ---------------------------------------------

    def start(self, description: str, total: float | None) -> None:
        with self._lock:
            self.phase, self.done, self.total = description, 0.0, total
            self._lines.append(f"{_stamp()} {description}: started" + (f" ({total:,.0f} to do)" if total else ""))

    def advance(self, amount: float) -> None:
        with self._lock:
            self.done += amount
        if self._stop.is_set() and not self._on_main:
            raise JobStopped(f"job {self.job.id} was asked to stop")

    def say(self, line: str) -> None:
        """Add a line to the job's log (sent with the next heartbeat)."""
        with self._lock:
            self._lines.append(f"{_stamp()} {line}")

    # --- lifecycle ------------------------------------------------------------------------------------------

    def __enter__(self) -> JobRun:
        # A process started in the background by a non-interactive shell (`datatrainer embed ... &` in a script,
        # a CI runner) inherits SIGINT ignored, and the stop request, a SIGINT to ourselves, would be lost.
        if self._on_main and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            self._ignored_sigint = True
            signal.signal(signal.SIGINT, signal.default_int_handler)
        self.say(f"attempt {self.job.attempts} started on {self.job.host} (pid {self.job.pid})")
        self._flush()
        self._thread.start()
        self._observing.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._observing.__exit__(kind, error, traceback)
        with self._lock:
            self._ended.set()  # from here the heartbeat thread sends no signal
        self._thread.join()
        state, message = outcome(error)
        if self._signalled and error is None:
            _absorb_late_interrupt()
        if self._ignored_sigint:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if state == "done" and self.total is not None:
            self.done = self.total
        self.say(f"{state}" + (f": {message}" if message else ""))
        with self._lock:
            lines, self._lines = self._lines, []
        self.service.finish(self.job.id, self.holder, state, message, self.phase, self.done, self.total, lines)

    def _flush(self) -> bool | None:
        with self._lock:
            lines, self._lines = self._lines, []
            phase, done, total = self.phase, self.done, self.total
        return self.service.heartbeat(self.job.id, self.holder, self.lease_s, phase, done, total, lines)

    def _beat(self) -> None:
        while not self._ended.wait(self.heartbeat_s):
            try:
                stop = self._flush()
            except Exception as exc:  # a database hiccup must not kill the work; the lease tolerates it
                self.say(f"heartbeat failed: {exc}")
                continue
            if stop is None:
                self.say("lost the lease to another worker: stopping")
            if (stop or stop is None) and not self._stop.is_set():
                self._interrupt()

    def _interrupt(self) -> None:
        self.say("stop requested: stopping at the next checkpoint")
        self._stop.set()
        with self._lock:
            if self._on_main and not self._ended.is_set():
                self._signalled = True
                os.kill(os.getpid(), signal.SIGINT)


def outcome(error: BaseException | None) -> tuple[JobState, str | None]:
    """The state a job ends in after its work returned or raised `error`."""
    if error is None:
        return "done", None
    if isinstance(error, typer.Exit):  # the command chose its exit status (130: interrupted, work kept)
        code = error.exit_code
        return ("done", None) if code == 0 else ("stopped", None) if code == 130 else ("failed", f"exit {code}")
    training = sys.modules.get("datatrainer.training.run")  # loaded if the job trains (importing it loads torch)
    if isinstance(error, KeyboardInterrupt) or (training is not None
                                                and isinstance(error, training.TrainingInterrupted)):
        return "stopped", None
    return "failed", str(error).splitlines()[0] if str(error) else type(error).__name__


def _absorb_late_interrupt() -> None:
    """A stop signalled just as the work finished arrives now: the work is done, so the signal is moot."""
    with contextlib.suppress(KeyboardInterrupt):
        time.sleep(0.05)


def _stamp() -> str:
    return time.strftime("%H:%M:%S", time.gmtime())
