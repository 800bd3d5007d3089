"""Landmark messages from the visitor's browser: checked, turned into the model's frames, or refused in one line
(signspace/browser.py)."""

import numpy as np
import pytest
from factories import landmark_clip

from signspace.browser import (
    MAX_FRAMES_PER_MESSAGE,
    FrameRate,
    LandmarkMessageError,
    parse_message,
)
from signspace.hands import Hand
from signspace.landmarks import LEFT, RIGHT, frame_from_hands


def hand(side="Right", seed=0, score=0.9):
    points = landmark_clip("circle", frames=1, seed=seed)[0][RIGHT].reshape(21, 3)
    return {"handedness": side, "score": score, "points": [round(float(v), 4) for v in points.reshape(-1)]}


def test_browser_frames_mean_what_the_python_trackers_frames_mean():
    right, left = hand("Right", 1), hand("Left", 2)
    [(when, values)] = parse_message({"frames": [{"t": 3.5, "hands": [right, left]}]})
    python_hands = [
        Hand(np.asarray(h["points"], np.float32).reshape(21, 3), np.zeros((21, 3)), h["handedness"], h["score"])
        for h in (right, left)
    ]
    assert when == 3.5 and np.array_equal(values, frame_from_hands(python_hands))  # one slot rule, one layout
    assert values[RIGHT].any() and values[LEFT].any()
    [(_, empty)] = parse_message({"frames": [{"t": 4.0, "hands": []}]})
    assert not empty.any()


@pytest.mark.parametrize(
    "message, error",
    [
        ("frames", "needs a non-empty 'frames' list"),
        ({"frames": []}, "needs a non-empty 'frames' list"),
        ({"frames": [{"t": 0.1 * i} for i in range(MAX_FRAMES_PER_MESSAGE + 1)]}, "send at most 16 at a time"),
        ({"frames": [{"t": "soon"}]}, "'t' must be a time in seconds"),
        ({"frames": [{"t": float("nan")}]}, "'t' must be a time in seconds"),
        ({"frames": [{"t": 1.0}, {"t": 1.0}]}, "frame 1: time 1.0 does not come after 1.0"),
        ({"frames": [{"t": 1.0, "hands": [hand()] * 3}]}, "'hands' must be a list of at most 2 hands"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "handedness": "Both"}]}]}, "handedness must be 'Left' or"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "score": 7}]}]}, "score must be between 0 and 1"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "points": [0.5] * 62}]}]}, "points must be 63 numbers"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "points": [1e9] * 63}]}]}, "coordinates lie outside"),
        ({"frames": [{"t": 1.0, "hands": ["a hand"]}]}, "a hand must be an object"),
    ],
)
def test_a_bad_message_is_refused_in_one_line(message, error):
    with pytest.raises(LandmarkMessageError, match=error):
        parse_message(message)


def test_frames_must_come_after_the_ones_already_received():
    with pytest.raises(LandmarkMessageError, match="time 2.0 does not come after 2.5"):
        parse_message({"frames": [{"t": 2.0}]}, last_time=2.5)


def test_a_page_sending_too_many_frames_a_second_is_refused_and_a_normal_one_is_not():
    rate = FrameRate(limit=30)
    for second in range(3):  # 12.5 frames a second, in messages of 4: always fine
        for start in range(0, 12, 4):
            rate.admit([second + (start + i) * 0.08 for i in range(4)])
    flood = FrameRate(limit=30)
    flood.admit([i / 100 for i in range(16)])
    with pytest.raises(LandmarkMessageError, match="32 frames within a second; the page may send at most 30"):
        flood.admit([0.16 + i / 100 for i in range(16)])
