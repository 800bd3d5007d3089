"""Tracking in the visitor's browser: what the page sends instead of pictures, checked before it is used.

The page runs MediaPipe's hand tracker (``@mediapipe/tasks-vision``, the same ``hand_landmarker.task``) on the
camera's own, unmirrored frames, and sends a few frames at a time:

    {"frames": [{"t": 12.345, "hands": [{"handedness": "Right", "score": 0.97, "points": [x0, y0, z0, ...]}]}]}

``t`` in seconds (the page's clock, increasing), ``points`` 21 x (x, y, z) as MediaPipe gives them (x and y as
fractions of the frame). The server turns each frame into the model's 258 values with the same
``landmarks.frame_from_hands`` the Python tracker's frames go through, so both trackers mean the same to a model.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .errors import SignSpaceError
from .hands import Hand
from .landmarks import frame_from_hands

# A message holds at most half a second at 30 frames a second; the page sends every ~0.3 s.
MAX_FRAMES_PER_MESSAGE = 16
MAX_HANDS = 2
POINTS = 21 * 3
MAX_FRAMES_PER_SECOND = 40  # a camera at 30 fps and some jitter; more is a client flooding the server
# Where MediaPipe's normalised coordinates can be: a hand partly outside the frame goes a little past 0..1.
COORDINATE_RANGE = (-2.0, 3.0)
# The page's own tracker files: the npm package at a pinned version on a public CDN for npm packages, unless the
# app is given a local copy (--web_assets).
TASKS_VISION_VERSION = "1.1.0"
TASKS_VISION_CDN = f"https://cdn.jsdelivr.net/npm/@mediapipe/tasks-vision@{TASKS_VISION_VERSION}"


class LandmarkMessageError(SignSpaceError, ValueError):
    """A landmark message from a page that is malformed, too large or too frequent; the stream goes on."""


def parse_message(message, last_time: float | None = None) -> list[tuple[float, np.ndarray]]:
    """(seconds, 258 values) per frame of a message, or LandmarkMessageError saying what is wrong with it.
    ``last_time``: the newest frame time seen before; frames must come later."""
    frames = message.get("frames") if isinstance(message, dict) else None
    if not isinstance(frames, list) or not frames:
        raise LandmarkMessageError("a landmark message needs a non-empty 'frames' list")
    if len(frames) > MAX_FRAMES_PER_MESSAGE:
        raise LandmarkMessageError(
            f"a landmark message holds {len(frames)} frames; send at most {MAX_FRAMES_PER_MESSAGE} at a time"
        )
    parsed = []
    for index, frame in enumerate(frames):
        when = frame.get("t") if isinstance(frame, dict) else None
        if not _finite_number(when):
            raise LandmarkMessageError(f"frame {index}: 't' must be a time in seconds")
        if last_time is not None and when <= last_time:
            raise LandmarkMessageError(f"frame {index}: time {when} does not come after {last_time}")
        hands = frame.get("hands", [])
        if not isinstance(hands, list) or len(hands) > MAX_HANDS:
            raise LandmarkMessageError(f"frame {index}: 'hands' must be a list of at most {MAX_HANDS} hands")
        parsed.append((float(when), frame_from_hands([_hand(hand, index) for hand in hands])))
        last_time = float(when)
    return parsed


def _hand(record, frame: int) -> Hand:
    if not isinstance(record, dict):
        raise LandmarkMessageError(f"frame {frame}: a hand must be an object with handedness, score and points")
    handedness, score, points = record.get("handedness"), record.get("score"), record.get("points")
    if handedness not in ("Left", "Right"):
        raise LandmarkMessageError(f"frame {frame}: handedness must be 'Left' or 'Right', not {handedness!r}")
    if not _finite_number(score) or not 0.0 <= score <= 1.0:
        raise LandmarkMessageError(f"frame {frame}: score must be between 0 and 1")
    if not isinstance(points, list) or len(points) != POINTS or not all(_finite_number(v) for v in points):
        raise LandmarkMessageError(f"frame {frame}: points must be {POINTS} numbers (21 landmarks x, y, z)")
    values = np.asarray(points, np.float32).reshape(21, 3)
    low, high = COORDINATE_RANGE
    if values.min() < low or values.max() > high:
        raise LandmarkMessageError(f"frame {frame}: landmark coordinates lie outside {low}..{high}")
    return Hand(values, np.zeros((21, 3), np.float32), handedness, float(score))


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class FrameRate:
    """How many frames one visitor sent over the last second: a page sending more is refused, not served."""

    limit: int = MAX_FRAMES_PER_SECOND
    times: deque = field(default_factory=deque)

    def admit(self, times: list[float]) -> None:
        if not times:
            return
        newest = times[-1]
        while self.times and self.times[0] <= newest - 1.0:
            self.times.popleft()
        if len(self.times) + len(times) > self.limit:
            raise LandmarkMessageError(
                f"{len(self.times) + len(times)} frames within a second; the page may send at most {self.limit}"
            )
        self.times.extend(times)
