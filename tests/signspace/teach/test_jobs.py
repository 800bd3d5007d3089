"""One training job at a time (signspace/teach/jobs.py)."""

import threading

import pytest
from factories import (
    ASL_DIR,
    HAND_MODEL,
)

from signspace.core.errors import TeachError, TrainingCancelled
from signspace.teach.jobs import Job, TrainingQueue

needs_hands = pytest.mark.skipif(
    not (ASL_DIR.is_dir() and HAND_MODEL.is_file()), reason="../shared photos or hand model absent"
)


# -- one training at a time --------------------------------------------------------------------------------------
def _waiting_job(started: threading.Event, release: threading.Event):
    def run(job: Job):
        started.set()
        while not release.wait(0.01):
            job.report(0.5, "working")
        return "finished"

    return run


def test_the_queue_runs_one_job_at_a_time_and_shows_positions():
    queue = TrainingQueue()
    started, release = threading.Event(), threading.Event()
    first = queue.submit("folder-1", "visitor-1", _waiting_job(started, release))
    assert started.wait(5)
    second = queue.submit("folder-2", "visitor-2", lambda job: "second done")
    third = queue.submit("folder-3", "visitor-3", lambda job: "third done")
    assert (queue.position(first), queue.position(second), queue.position(third)) == (0, 1, 2)
    assert first.state == "running" and second.state == "queued"
    release.set()
    assert third.done_event.wait(5)
    assert [first.result, second.result, third.result] == ["finished", "second done", "third done"]


def test_two_tabs_training_the_same_folder_are_refused():
    queue = TrainingQueue()
    started, release = threading.Event(), threading.Event()
    queue.submit("my-folder", "tab-1", _waiting_job(started, release))
    with pytest.raises(TeachError, match="training already .*another tab"):
        queue.submit("my-folder", "tab-2", lambda job: None)
    release.set()


def test_a_visitor_who_leaves_frees_the_trainer_for_the_next():
    queue = TrainingQueue()
    started, never = threading.Event(), threading.Event()
    running = queue.submit("f1", "leaver", _waiting_job(started, never))
    assert started.wait(5)
    waiting = queue.submit("f2", "leaver", lambda job: "never runs")
    other = queue.submit("f3", "stayer", lambda job: "ran")
    queue.cancel_owner("leaver")
    assert other.done_event.wait(5) and other.result == "ran"
    assert running.state == "cancelled" and isinstance(running.error, TrainingCancelled)
    assert waiting.state == "cancelled" and waiting.result is None


def test_a_failing_job_is_reported_and_the_queue_goes_on():
    queue = TrainingQueue()
    failing = queue.submit("f1", "a", lambda job: 1 / 0)
    after = queue.submit("f2", "b", lambda job: "ok")
    assert after.done_event.wait(5)
    assert failing.state == "failed" and isinstance(failing.error, ZeroDivisionError) and after.result == "ok"
