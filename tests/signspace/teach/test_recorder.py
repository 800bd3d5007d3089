"""The Teach tab's recorder (signspace/teach/recorder.py)."""

import pytest

from signspace.core.errors import TeachError
from signspace.teach.recorder import Recorder


def test_recorder_counts_down_then_keeps_two_seconds_of_webcam_frames():
    recorder = Recorder(countdown=3.0, seconds=2.0)
    assert recorder.phase(0.0) == ("idle", 0.0)
    recorder.arm("hello", now=10.0)
    assert recorder.feed("early", 11.0) == "countdown"
    assert recorder.phase(12.5) == ("countdown", 0.5)
    for t in (13.0, 13.5, 14.9):
        assert recorder.feed(f"f{t}", t) == "recording"
    assert recorder.feed("late", 15.0) == "done"
    assert recorder.take() == ("hello", ["f13.0", "f13.5", "f14.9"], [13.0, 13.5, 14.9])
    assert recorder.phase(16.0) == ("idle", 0.0)


def test_a_second_record_press_during_a_recording_is_refused_and_frames_are_capped():
    recorder = Recorder(countdown=0.0, seconds=2.0, max_frames=3)
    recorder.arm("hello", now=0.0)
    with pytest.raises(TeachError, match="a recording is running already"):
        recorder.arm("thanks", now=1.0)
    for i in range(10):  # a client streaming far faster than the page asks
        recorder.feed(i, 0.1 * i)
    assert recorder.frames == [0, 1, 2] and recorder.sign == "hello"
    recorder.arm("thanks", now=5.0)  # a finished (or abandoned) recording does not block the next
    assert recorder.sign == "thanks" and recorder.frames == []


def test_the_recorders_times_always_increase_on_its_own_clock():
    recorder = Recorder(countdown=0.0, seconds=2.0)
    recorder.arm("hello", now=0.0)
    for placed in (0.5, 0.4, 0.5, 1.0):  # two messages whose frames the server places out of order
        recorder.feed("f", placed)
    assert recorder.times == pytest.approx([0.5, 0.501, 0.502, 1.0])
