"""Per-visitor live state for landmark sequence models: a sliding window, sign boundaries, committed words.

Every frame, the visitor's own tracker (VIDEO mode) turns the frame into 258 landmark values; the last
``window_seconds`` of frames give the running guess shown on the page. A sign *ends* when the hands leave the
frame or stop moving after having moved (``SignSegmenter``); the frames from its start to its end are then
classified once, exactly as a training clip was (the whole clip resampled), and the word is committed to the
text if it is confident enough.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .inference import Prediction, Smoother
from .landmarks import LEFT, MIDDLE_MCP, RIGHT, WRIST, hands_present
from .scan import BACKGROUND_LABEL, display_labels

BACKGROUND_WORD = display_labels([BACKGROUND_LABEL])[0]  # how the predictor names it

# Sign boundaries, in seconds and hand sizes per second (the wrist's speed divided by the wrist-to-knuckle
# distance, so it does not depend on how far the signer sits). Measured on the 649 real KSL clips: the median
# frame inside a sign moves at 1.75 (a quarter below 0.5); a still stretch of 0.5 s after moving occurs inside
# 1.8 % of signs (0.3 s: 4.6 %, 0.7 s: 0.3 %), so 0.5 s of stillness ends a sign (docs/benchmarks.md).
HAND_GONE_SECONDS = 0.25  # no hand this long: the sign is over
REST_SECONDS = 0.5  # hands still this long after moving: the sign is over
MIN_SIGN_SECONDS = 0.3  # shorter bursts are noise, not signs
MOVING_SPEED = 1.5
RESTING_SPEED = 0.5


def hand_speed(previous: np.ndarray, current: np.ndarray, seconds: float) -> float | None:
    """Fastest wrist among the hands present in both frames, in hand sizes per second; None if unmeasurable."""
    if seconds <= 0:
        return None
    speeds = []
    both = hands_present(previous) & hands_present(current)
    for side, slot in enumerate((LEFT, RIGHT)):
        if both[side]:
            a, b = previous[slot].reshape(21, 3), current[slot].reshape(21, 3)
            size = max(1e-3, float(np.linalg.norm(b[MIDDLE_MCP, :2] - b[WRIST, :2])))
            speeds.append(float(np.linalg.norm(b[WRIST, :2] - a[WRIST, :2])) / size / seconds)
    return max(speeds) if speeds else None


@dataclass
class SignSegmenter:
    """Decides when a sign starts and ends from hand presence and motion (pure logic, no model)."""

    start: float | None = None
    moved: bool = False
    still_since: float | None = None
    last_hand: float | None = None

    def update(self, now: float, present: bool, speed: float | None) -> tuple[float, float] | None:
        """Feed one frame (``speed`` None when it cannot be measured); returns (start, end) of a sign that just
        ended, else None."""
        if present:
            self.last_hand = now
            if self.start is None:
                self.start, self.moved, self.still_since = now, False, None
            if speed is None:
                return None
            if speed >= MOVING_SPEED:
                self.moved = True
            if speed > RESTING_SPEED:
                self.still_since = None
            elif self.moved:
                self.still_since = self.still_since if self.still_since is not None else now
                if now - self.still_since >= REST_SECONDS:
                    return self._end(self.still_since, restart=now)
            return None
        if self.start is not None and self.last_hand is not None and now - self.last_hand >= HAND_GONE_SECONDS:
            return self._end(self.last_hand, restart=None)
        return None

    def _end(self, end: float, restart: float | None) -> tuple[float, float] | None:
        start = self.start
        self.start, self.moved, self.still_since = restart, False, None
        return (start, end) if end - start >= MIN_SIGN_SECONDS else None


@dataclass
class LiveSequenceSession:
    """One visitor's live stream with a sequence model; ``close()`` frees their tracker."""

    window_seconds: float = 1.5
    smoother: Smoother = field(default_factory=lambda: Smoother(window=3))
    segmenter: SignSegmenter = field(default_factory=SignSegmenter)
    frames: deque = field(default_factory=deque)  # (seconds, 258 values)
    text: str = ""
    last_word: str | None = None
    tracker: object = None

    def close(self) -> None:
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None

    def step(
        self, predictor, frame: np.ndarray | None, now: float, threshold: float
    ) -> tuple[Prediction | None, str | None]:
        """One frame -> (the running guess over the last window, the word committed by this frame, if any)."""
        from .landmarks import frame_from_hands

        if frame is None:
            values, hands = np.zeros(258, np.float32), []
        else:
            if self.tracker is None:
                self.tracker = predictor.new_tracker()
            hands = self.tracker.track(frame, int(now * 1000))
            values = frame_from_hands(hands)
        running, committed = self.step_landmarks(predictor, values, now, threshold)
        running.hands = hands
        return running, committed

    def step_landmarks(
        self, predictor, values: np.ndarray, now: float, threshold: float
    ) -> tuple[Prediction, str | None]:
        """One frame already tracked (258 landmark values) -> (running guess, committed word or None).

        A word is committed when a sign ends, its whole clip is classified as confidently as ``threshold``, and it
        is a sign: the model's "not a sign" class (``BACKGROUND_LABEL``) is never typed."""
        speed = hand_speed(self.frames[-1][1], values, now - self.frames[-1][0]) if self.frames else None
        self.frames.append((now, values))
        keep_from = now - max(4 * self.window_seconds, 10.0)  # enough for the longest sign we will classify
        while self.frames and self.frames[0][0] < keep_from:
            self.frames.popleft()
        times = np.array([t for t, _ in self.frames])
        sequence = np.stack([v for _, v in self.frames])
        in_window = times >= now - self.window_seconds
        running = predictor.predict_landmarks(sequence[in_window], times[in_window], now - self.window_seconds, now)
        if running.no_hand:
            self.smoother.reset()
        else:
            running.probabilities = self.smoother.update(running.probabilities)
        committed = None
        ended = self.segmenter.update(now, bool(hands_present(values).any()), speed)
        if ended is not None:
            start, end = ended
            part = (times >= start) & (times <= end)
            label, confidence = predictor.predict_landmarks(sequence[part], times[part]).best
            if label is not None and label != BACKGROUND_WORD and confidence >= threshold:
                committed = label
                self.text = f"{self.text} {label}".strip()
                self.last_word = label
        return running, committed

    def space(self) -> None:
        self.text += " "

    def backspace(self) -> None:
        """Remove the last word (signs commit whole words)."""
        self.text = self.text.rstrip().rsplit(" ", 1)[0] if " " in self.text.strip() else ""

    def clear(self) -> None:
        self.text = ""
