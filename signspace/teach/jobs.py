"""One training job at a time for the whole app, with progress and cancel."""

from __future__ import annotations

import enum
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from signspace.core.errors import SignSpaceError, TeachError, TrainingCancelled

logger = logging.getLogger(__name__)


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Job:
    key: str  # the data folder: two tabs training it at once would race on its dataset and models
    owner: str
    run: Callable[[Job], object]
    id: int = 0
    state: JobState = JobState.QUEUED
    fraction: float = 0.0
    stage: str = "waiting for its turn"
    result: object = None
    error: BaseException | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done_event: threading.Event = field(default_factory=threading.Event)

    def report(self, fraction: float, stage: str) -> None:
        """Called by the work as it goes; raises TrainingCancelled once the job is cancelled."""
        if self.cancel_event.is_set():
            raise TrainingCancelled("training cancelled")
        self.fraction, self.stage = max(0.0, min(1.0, fraction)), stage

    @property
    def finished(self) -> bool:
        return self.done_event.is_set()


class TrainingQueue:
    """One training job at a time for the whole app (2 CPU cores: two at once would each run ~10x slower)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: deque[Job] = deque()
        self._running: Job | None = None
        self._ids = itertools.count(1)
        self._wake = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None

    def submit(self, key: str, owner: str, run: Callable[[Job], object]) -> Job:
        with self._lock:
            for job in [self._running, *self._waiting]:
                if job is not None and job.key == key and not job.cancel_event.is_set():
                    raise TeachError(
                        "these signs are training already (from another tab or window of yours); wait for that "
                        "training to finish, or cancel it there"
                    )
            job = Job(key, owner, run, id=next(self._ids))
            self._waiting.append(job)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="signspace-teach", daemon=True)
                self._worker.start()
            self._wake.notify()
            return job

    def position(self, job: Job) -> int:
        """0 while running (or finished), else how many jobs run before it."""
        with self._lock:
            if job in self._waiting:
                return list(self._waiting).index(job) + (1 if self._running else 0)
            return 0

    def cancel(self, job: Job) -> None:
        with self._lock:
            job.cancel_event.set()
            if job in self._waiting:
                self._waiting.remove(job)
                job.state = JobState.CANCELLED
                job.done_event.set()

    def cancel_owner(self, owner: str) -> None:
        """The visitor left (tab closed): their waiting and running jobs stop, freeing the queue."""
        with self._lock:
            jobs = [j for j in [self._running, *self._waiting] if j is not None and j.owner == owner]
        for job in jobs:
            self.cancel(job)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting:
                    if not self._wake.wait(timeout=60):
                        self._worker = None
                        return
                job = self._running = self._waiting.popleft()
                job.state = JobState.RUNNING
            try:
                job.result = job.run(job)
                job.state = JobState.DONE
            except TrainingCancelled as exc:
                job.state, job.error = JobState.CANCELLED, exc
            except BaseException as exc:  # reported to the visitor; the queue goes on with the next job
                if not isinstance(exc, SignSpaceError):
                    logger.exception("training job %s failed", job.id)
                job.state, job.error = JobState.FAILED, exc
            finally:
                with self._lock:
                    self._running = None
                job.done_event.set()
