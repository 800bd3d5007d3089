"""A visitor's live stream: frames in, one ``LiveStep`` out per frame; the session a model kind starts.

``HandshapeSession`` (image models) smooths the guesses and types a sign held steadily for ``HOLD_SECONDS``.
``SequenceSession`` (landmark sequence models) tracks 258 landmark values per frame; the last ``window_seconds``
give the running guess shown on the page. A sign *ends* when the hands leave the frame or stop moving after having
moved (``SignSegmenter``); the frames from its start to its end are then classified once, exactly as a training
clip was (the whole clip resampled), and the word is typed if it is confident enough.

A frame is decoded once, by the predictor; a frame that cannot be decoded is skipped and a tracker failure is a
"no hand" frame: nothing about one frame can stop the stream.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from signspace.core.drawing import draw_hands
from signspace.core.hands import HandTracker
from signspace.core.imaging import ImageDecodeError
from signspace.core.labels import BACKGROUND_LABEL, display_labels
from signspace.core.landmarks import LEFT, MIDDLE_MCP, RIGHT, WRIST, frame_from_hands, hands_present
from signspace.core.prediction import Prediction
from signspace.serve.adaptation import MAX_EXAMPLES, NEAREST_FLOOR, NEAREST_TEMPERATURE
from signspace.serve.browser import LandmarkMessageError, parse_crop, parse_frames, parse_message
from signspace.serve.pacing import MAX_FRAMES_PER_SECOND, FrameRate

if TYPE_CHECKING:  # the predictors start sessions, so they import this module, not the other way round
    from signspace.serve.contracts import HandshapeModel, LiveModel, MotionModel, ServedModel

logger = logging.getLogger(__name__)

BACKGROUND_WORD = display_labels([BACKGROUND_LABEL])[0]  # how the predictor names it
HOLD_SECONDS = 1.0  # a handshape held this long is typed
# Motion needs frames close together: ~12 a second. The page streams at this rate whenever a motion model may serve.
MOTION_FRAME_SECONDS = 0.08
EDITS = ("space", "backspace", "clear")
NO_HAND = "no hand found"  # what the page shows instead of a guess
MAX_TEXT = 2000  # characters of typed text kept (the newest): a page whose clock races cannot grow it without end
# Live sessions: a visitor whose page has sent nothing for this long has their window freed (a sign cannot span it),
# and at most this many visitors are served at once (each holds at most ~0.5 MB of frames; 2 cores serve ~30).
QUIET_SECONDS = 30.0
MAX_LIVE_SESSIONS = 200


@dataclass
class LiveStep:
    """What one streamed frame gives the page."""

    top: dict[str, float] = field(default_factory=dict)  # the smoothed top 3; empty for a skipped frame
    no_hand: bool = False  # the model needs a hand and there is none: say so instead of guessing
    text: str = ""  # typed so far
    committed: str | None = None  # typed by this frame
    overlay: Image.Image | None = None  # the frame with the tracked hands drawn (models that track hands)
    crop: Image.Image | None = None  # what the model saw (hand-crop models)


@dataclass
class Smoother:
    """Mean of the last ``window`` probability vectors: one noisy frame cannot flip the answer."""

    window: int = 5
    history: deque = field(default_factory=deque)

    def update(self, probabilities: np.ndarray) -> np.ndarray:
        self.history.append(np.asarray(probabilities, dtype=np.float64))
        while len(self.history) > self.window:
            self.history.popleft()
        return np.mean(self.history, axis=0)

    def reset(self) -> None:
        self.history.clear()


@dataclass
class TextBuilder:
    """Commits a sign to the text once it is held steadily for ``hold_seconds``; a long hold commits once.

    The same sign can be committed again only after the hand changes (another sign, or nothing
    confident), which is how a signer spells double letters.
    """

    hold_seconds: float = HOLD_SECONDS
    text: str = ""
    _candidate: str | None = None
    _since: float = 0.0
    _blocked: str | None = None

    def update(self, label: str | None, now: float) -> str | None:
        if label != self._candidate:
            self._candidate, self._since = label, now
            if label != self._blocked:
                self._blocked = None
            return None
        if label is None or label == self._blocked or now - self._since < self.hold_seconds:
            return None
        self.text += label if len(label) == 1 else (f" {label}" if self.text and not self.text.endswith(" ") else label)
        self.text = self.text[-MAX_TEXT:]
        self._blocked = label
        return label

    def space(self) -> None:
        self.text += " "

    def backspace(self) -> None:
        self.text = self.text[:-1]

    def clear(self) -> None:
        self.text = ""
        self._blocked = None


class LiveSession:
    """One visitor's stream with one model; ``close()`` frees the visitor's own VIDEO-mode hand tracker."""

    def __init__(self, predictor: LiveModel):
        self.predictor = predictor
        self.tracker: HandTracker | None = None
        self.rate = FrameRate()  # frames tracked in the visitor's browser: at most so many a second
        # one frame or message at a time; LiveRoster frees a quiet session's window from another visitor's thread
        self.lock = threading.Lock()

    def forget(self) -> None:
        """Free what the stream holds (its window, its tracker) after the visitor went quiet; the text stays."""
        self.close()

    @property
    def text(self) -> str:
        raise NotImplementedError

    def step(self, frame, now: float, threshold: float) -> LiveStep:
        """One streamed frame (None while the camera starts) -> what the page shows."""
        try:
            image = None if frame is None else self.predictor.decode(frame)
        except ImageDecodeError:
            return LiveStep(text=self.text)  # an odd frame (wrong shape/dtype) is skipped; the stream keeps going
        try:
            return self._step(image, now, threshold)
        except Exception:  # a tracker failure on one frame: reported as "no hand", the stream goes on
            logger.exception("hand tracking failed on a frame")
            self._lost(now)
            return LiveStep(no_hand=True, text=self.text)

    def _step(self, image: Image.Image | None, now: float, threshold: float) -> LiveStep:
        raise NotImplementedError

    def step_message(self, message, threshold: float) -> LiveStep:
        """A message from a page that tracks the hands itself (``browser.py``'s format, with what the model's
        ``browser_input`` asks for) -> what the page shows. A malformed, oversized or too frequent message raises
        LandmarkMessageError and changes nothing."""
        raise NotImplementedError

    def step_sign(self, sign, threshold: float, read_here: bool = False) -> LiveStep:
        """A sign the visitor's page read itself (motion models: ``SequenceSession.step_sign``)."""
        raise LandmarkMessageError("this model reads every frame here: the page sends frames, not signs")

    def _lost(self, now: float) -> None:
        """A frame whose hands could not be tracked."""

    def _track(self, image: Image.Image, now: float) -> list:
        if self.tracker is None:
            self.tracker = self.predictor.new_tracker()
        return self.tracker.track(np.asarray(image), int(now * 1000))

    def _overlay(self, image: Image.Image, hands: list | None) -> Image.Image:
        """The preview beside the webcam, mirrored like it (draw_hands shrinks a copy)."""
        return draw_hands(image, hands, mirror=self.predictor.unmirror, margin=self.predictor.crop_margin)

    def edit(self, action: str) -> str:
        """The page's Space, Backspace and Clear buttons; returns the text."""
        if action not in EDITS:
            raise ValueError(f"unknown edit {action!r}; one of {', '.join(EDITS)}")
        getattr(self, action)()
        return self.text

    def space(self) -> None:
        raise NotImplementedError

    def backspace(self) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None


class LiveRoster:
    """Every live session of the app, so that what they hold is bounded whatever clients claim: a session quiet for
    ``quiet_seconds`` (this server's clock) has its window freed, and a new visitor beyond ``max_sessions`` active
    ones is refused (a raw POST can invent any session id; Gradio keeps each one's state for an hour). Sessions are
    held weakly: the roster keeps none alive."""

    def __init__(
        self,
        max_sessions: int = MAX_LIVE_SESSIONS,
        quiet_seconds: float = QUIET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_sessions, self.quiet_seconds, self.clock = max_sessions, quiet_seconds, clock
        self._seen: dict[int, tuple[weakref.ref, float]] = {}  # id(session) -> (session, last heard of)
        self._lock = threading.Lock()
        self._swept_at = -math.inf

    def admit(self, session: LiveSession) -> None:
        """Called with every frame or message of ``session``; LandmarkMessageError when the app is full."""
        now = self.clock()
        with self._lock:
            full = lambda: id(session) not in self._seen and len(self._seen) >= self.max_sessions  # noqa: E731
            if full() or now - self._swept_at >= 1.0:  # at most once a second, or when full: a sweep walks them all
                self._sweep(now)
            if full():
                raise LandmarkMessageError(
                    f"{len(self._seen)} visitors are live here, the most this app serves at once; try again in a minute"
                )
            self._seen[id(session)] = (weakref.ref(session), now)

    def active(self) -> int:
        with self._lock:
            self._sweep(self.clock())
            return len(self._seen)

    def _sweep(self, now: float) -> None:
        self._swept_at = now
        for key, (ref, seen) in list(self._seen.items()):
            session = ref()
            if session is None:
                del self._seen[key]
            elif now - seen >= self.quiet_seconds and session.lock.acquire(blocking=False):
                try:  # a session busy right now is not quiet
                    session.forget()
                    del self._seen[key]
                finally:
                    session.lock.release()


def session_for(predictor: ServedModel, state: LiveSession | None, roster: LiveRoster | None = None) -> LiveSession:
    """The visitor's session with ``predictor``: the one they have, or a new one when they had none or picked
    another model (the old one is closed: its tracker freed). ``roster``: counts it among the live sessions, and
    refuses a new one when the app is full (LandmarkMessageError)."""
    if state is not None and state.predictor is not predictor:
        state.close()
        state = None
    session = state or predictor.new_live_session()
    if roster is not None:
        roster.admit(session)
    return session


class HandshapeSession(LiveSession):
    """An image model's stream: guesses smoothed over the last frames; a sign held steadily is typed."""

    predictor: HandshapeModel

    def __init__(self, predictor: HandshapeModel, hold_seconds: float = HOLD_SECONDS):
        super().__init__(predictor)
        self.smoother = Smoother()
        self.builder = TextBuilder(hold_seconds=hold_seconds)
        self.last_time: float | None = None  # of the newest frame from the visitor's browser

    @property
    def text(self) -> str:
        return self.builder.text

    def _step(self, image: Image.Image | None, now: float, threshold: float) -> LiveStep:
        if image is None:
            self.builder.update(None, now)
            return LiveStep(text=self.text)
        tracking = self.predictor.tracks_hands
        hands = self._track(image, now) if tracking else None
        prediction = self.predictor.predict_image(image, hands)
        top, committed = self.update(prediction, threshold, now)
        overlay = self._overlay(image, hands) if tracking else None
        return LiveStep(top, prediction.no_hand, self.text, committed, overlay, prediction.crop)

    def step_message(self, message, threshold: float) -> LiveStep:
        """The hand crop of the message's last frame (cut in the page) is what the model sees; no crop: no hand."""
        frames = parse_frames(message, self.last_time)
        crop = parse_crop(message, self.predictor.browser_input)
        self.rate.admit([when for when, _ in frames])
        self.last_time = now = frames[-1][0]
        prediction = self.predictor.predict_crop(crop)
        top, committed = self.update(prediction, threshold, now)
        return LiveStep(top, prediction.no_hand, self.text, committed, crop=crop)

    def _lost(self, now: float) -> None:
        self.update(Prediction(None, self.predictor.labels), 0.0, now)

    def update(self, prediction: Prediction, threshold: float, now: float) -> tuple[dict[str, float], str | None]:
        """Smoothed top-3 for display and the sign typed by this frame, if any."""
        if prediction.no_hand:
            self.builder.update(None, now)
            self.smoother.reset()  # the hand left: the next sign starts fresh
            return {}, None
        smoothed = Prediction(self.smoother.update(prediction.probabilities), prediction.labels)
        label, confidence = smoothed.best
        committed = self.builder.update(label if confidence >= threshold else None, now)
        return smoothed.top(3), committed

    def space(self) -> None:
        self.builder.space()

    def backspace(self) -> None:
        self.builder.backspace()

    def clear(self) -> None:
        self.builder.clear()


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


class SequenceSession(LiveSession):
    """A landmark sequence model's stream: a sliding window for the running guess, whole signs typed as words."""

    predictor: MotionModel

    def __init__(self, predictor: MotionModel, window_seconds: float = 1.5):
        super().__init__(predictor)
        self.window_seconds = window_seconds
        self.smoother = Smoother(window=3)
        self.segmenter = SignSegmenter()
        self.keep_seconds = max(4 * window_seconds, 10.0)  # enough for the longest sign we will classify
        # (seconds, 258 values); capped in count too, since a page's clock may crawl: ~0.5 MB at the defaults
        self.frames: deque[tuple[float, np.ndarray]] = deque(
            maxlen=math.ceil(self.keep_seconds * MAX_FRAMES_PER_SECOND)
        )
        self._text = ""
        # the frames and times of the last sign that ended (typed or not): what "That was ..." teaches the model
        self.last_sign: tuple[np.ndarray, np.ndarray] | None = None
        self._sign_at = -math.inf  # this server's clock at the last sign the page read itself (step_sign)

    @property
    def text(self) -> str:
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value[-MAX_TEXT:]

    def page_settings(self) -> dict:
        """What the page's copy of these rules (``space/web/sign_reader.mjs``) needs to type the words this session
        would: every number from here, none written twice."""
        return {
            "labels": list(self.predictor.labels),
            "sequence_length": self.predictor.length,
            "window_seconds": self.window_seconds,
            "rules": {
                "hand_gone_seconds": HAND_GONE_SECONDS,
                "rest_seconds": REST_SECONDS,
                "min_sign_seconds": MIN_SIGN_SECONDS,
                "moving_speed": MOVING_SPEED,
                "resting_speed": RESTING_SPEED,
                "keep_seconds": self.keep_seconds,
                "max_frames": self.frames.maxlen,
                "smoothing": self.smoother.window,
                "background_word": BACKGROUND_WORD,
                "max_text": MAX_TEXT,
            },
            # the page's memory of the visitor's clips (space/web/personal_memory.mjs): adaptation.py's nearest
            "personal": {"floor": NEAREST_FLOOR, "temperature": NEAREST_TEMPERATURE, "max_examples": MAX_EXAMPLES},
        }

    def forget(self) -> None:
        super().forget()
        self.frames.clear()
        self.smoother.reset()
        self.segmenter = SignSegmenter()
        self.last_sign = None

    def _step(self, image: Image.Image | None, now: float, threshold: float) -> LiveStep:
        hands = [] if image is None else self._track(image, now)
        running, committed = self.step_landmarks(frame_from_hands(hands), now, threshold)
        overlay = None if image is None else self._overlay(image, hands)
        return LiveStep(running.top(3), running.no_hand, self.text, committed, overlay)

    def step_message(self, message, threshold: float) -> LiveStep:
        """Every frame's landmarks go through the sign boundaries; the running guess is shown after the last."""
        frames = parse_message(message, self.frames[-1][0] if self.frames else None)
        self.rate.admit([when for when, _ in frames])
        committed = None
        for index, (when, values) in enumerate(frames):  # the page shows the guess after the last frame only
            running, word = self.step_landmarks(values, when, threshold, guess=index == len(frames) - 1)
            committed = word or committed
        return LiveStep(running.top(3), running.no_hand, self.text, committed)

    def step_sign(self, sign, threshold: float, read_here: bool = False) -> LiveStep:
        """A sign the visitor's page read itself (``space/web/sign_reader.mjs``, with these rules and this model):
        ``{"word": what it typed or None, "confidence": of its reading, "frames": the sign's frames in the landmark
        message format}``; the frames are optional (kept as ``last_sign``, what "That was ..." teaches). The page's
        word is typed; ``read_here``: the page's model is not the visitor's model here (they adapted it), so this
        session reads the frames itself instead. A malformed sign, or signs faster than a sign can be made (this
        server's clock), raise LandmarkMessageError and change nothing."""
        if not isinstance(sign, dict):
            raise LandmarkMessageError("'sign' must be an object with word, confidence and frames")
        word, confidence = sign.get("word"), sign.get("confidence", 1.0)
        if word is not None and (word not in self.predictor.labels or word == BACKGROUND_WORD):
            raise LandmarkMessageError(f"{str(word)[:40]!r} is not a sign of this model")
        if type(confidence) not in (float, int) or not 0.0 <= confidence <= 1.0:
            raise LandmarkMessageError("a sign's confidence must be a number between 0 and 1")
        frames = parse_message(sign, limit=self.frames.maxlen) if "frames" in sign or read_here else []
        now = time.monotonic()
        if now - self._sign_at < MIN_SIGN_SECONDS:
            raise LandmarkMessageError(f"signs arrive faster than one per {MIN_SIGN_SECONDS} s; send each once")
        self._sign_at = now
        if frames:
            self.last_sign = (np.stack([v for _, v in frames]), np.array([t for t, _ in frames]))
        if read_here:
            word, confidence = self.predictor.predict_landmarks(*self.last_sign).best
            if word == BACKGROUND_WORD or confidence < threshold:
                word = None
        if word is not None:
            self.text = f"{self.text} {word}".strip()
        return LiveStep({word: float(confidence)} if word else {}, False, self.text, word)

    def step_landmarks(
        self, values: np.ndarray, now: float, threshold: float, guess: bool = True
    ) -> tuple[Prediction | None, str | None]:
        """One frame already tracked (258 landmark values) -> (running guess, committed word or None).

        A word is committed when a sign ends, its whole clip is classified as confidently as ``threshold``, and it
        is a sign: the model's "not a sign" class (``BACKGROUND_LABEL``) is never typed. ``guess=False`` skips the
        running guess (None) for frames whose guess nobody will see: sign boundaries are still followed."""
        predictor = self.predictor
        speed = hand_speed(self.frames[-1][1], values, now - self.frames[-1][0]) if self.frames else None
        self.frames.append((now, values))
        running = None
        if guess:
            start = now - self.window_seconds
            recent = [(t, v) for t, v in self.frames if t >= start]
            window, times = np.stack([v for _, v in recent]), np.array([t for t, _ in recent])
            running = predictor.predict_landmarks(window, times, start, now)
            if running.no_hand:
                self.smoother.reset()
            else:
                running.probabilities = self.smoother.update(running.probabilities)
        committed = None
        ended = self.segmenter.update(now, bool(hands_present(values).any()), speed)
        # the sign is classified before old frames are dropped: a sign that ends with a long gap (a tab in the
        # background mid-sign) still has its frames
        part = [(t, v) for t, v in self.frames if ended and ended[0] <= t <= ended[1]]
        if part:
            sign, times = np.stack([v for _, v in part]), np.array([t for t, _ in part])
            self.last_sign = (sign, times)
            label, confidence = predictor.predict_landmarks(sign, times).best
            if label is not None and label != BACKGROUND_WORD and confidence >= threshold:
                committed = label
                self.text = f"{self.text} {label}".strip()
        keep_from = now - self.keep_seconds
        while self.frames and self.frames[0][0] < keep_from:
            self.frames.popleft()
        return running, committed

    def space(self) -> None:
        self.text += " "

    def backspace(self) -> None:
        """Remove the last word (signs commit whole words)."""
        self.text = self.text.rstrip().rsplit(" ", 1)[0] if " " in self.text.strip() else ""

    def clear(self) -> None:
        self.text = ""
