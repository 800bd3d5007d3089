"""The one hand tracker shared by the dataset builder, training and the app, and the hand-centred crop.

``HandTracker`` wraps MediaPipe's Tasks ``HandLandmarker`` (the legacy ``mp.solutions`` API is gone):
- ``detect(frame)``: IMAGE mode, for dataset photos, video samples and uploads;
- ``track(frame, t_ms)``: VIDEO mode, for a live stream (one tracker per visitor).

MediaPipe's palm detector sees the whole frame at 192 px, so a hand at arm's length from a webcam is
often missed. When the whole frame finds nothing, square tiles at two scales are searched, nearest to
where signing hands usually are first (centre, chest height). In VIDEO mode a found hand is then
followed through a window around its last position, so the tile search runs only to acquire.

No-hand policy (identical at build and serve time): a frame without a hand has no crop. The builder
leaves such images out of a ``--hand_crop`` dataset and lists them; the app answers "no hand" instead of
classifying the whole frame.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

from signspace.core.errors import HandModelError
from signspace.core.hand_model import resolve_hand_model
from signspace.core.imaging import decode_image

logger = logging.getLogger(__name__)

NUM_LANDMARKS = 21
# 0.3 rather than MediaPipe's 0.5: small, blurred webcam hands score low; measured in docs/benchmarks.md.
DETECTION_CONFIDENCE = 0.3
TILE_SCALES = (0.6, 0.4)  # tile side as a fraction of the frame's shorter side
TILE_OVERLAP = 0.25
MIN_TILE_SIDE = 96  # pixels: a smaller tile holds too little hand to find, and there would be thousands
LIKELY_HAND_AT = (0.5, 0.6)  # fraction of width, height: signing space in front of the chest
FOLLOW_WINDOW = 3.0  # the window that follows a small hand, in multiples of the hand's size
TILES_PER_FRAME = 2  # tiles searched per live frame while no hand is found: a frame costs at most 3 detector runs
CROP_MARGIN = 0.25  # of the landmarks' extent, added on every side of the hand crop


@dataclass(frozen=True)
class Hand:
    """One detected hand. ``landmarks``: 21 x (x, y, z), x and y as fractions of the frame's width and
    height; ``world``: 21 x (x, y, z) in metres around the hand's centre; ``handedness`` as MediaPipe says."""

    landmarks: np.ndarray
    world: np.ndarray
    handedness: str
    score: float

    def to_record(self) -> dict:
        """The stored form (the dataset's ``hands`` column)."""
        return {
            "landmarks": self.landmarks.astype(np.float32).tolist(),
            "world": self.world.astype(np.float32).tolist(),
            "handedness": self.handedness,
            "score": float(self.score),
        }

    @classmethod
    def from_record(cls, record: dict) -> Hand:
        return cls(
            np.asarray(record["landmarks"], np.float32),
            np.asarray(record["world"], np.float32),
            record["handedness"],
            float(record["score"]),
        )


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1/y1 exclusive


def hands_box(hands: list[Hand], width: int, height: int) -> tuple[float, float, float, float]:
    """Tight box around every landmark of every hand, in pixels."""
    points = np.concatenate([hand.landmarks[:, :2] for hand in hands]) * (width, height)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def square_around(
    box: tuple[float, float, float, float], scale: float, width: int, height: int, min_side: float = 1.0
) -> Box:
    """A square ``scale`` times the box's longer side, centred on it, shifted (not cut) to stay in the frame
    where it fits; a square larger than the frame is clipped to it."""
    x0, y0, x1, y1 = box
    side = max(min_side, max(x1 - x0, y1 - y0) * scale)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side_w, side_h = min(round(side), width), min(round(side), height)
    left = min(max(round(cx - side / 2), 0), width - side_w)
    top = min(max(round(cy - side / 2), 0), height - side_h)
    return left, top, left + max(1, side_w), top + max(1, side_h)


def crop_box(hands: list[Hand], width: int, height: int, margin: float = CROP_MARGIN) -> Box | None:
    """The hand-centred crop: a square around all landmarks plus ``margin`` on each side; None without hands."""
    if not hands:
        return None
    return square_around(hands_box(hands, width, height), 1 + 2 * margin, width, height, min_side=8)


def hand_crop(
    image: Image.Image, hands: list[Hand], margin: float = CROP_MARGIN, max_side: int | None = None
) -> Image.Image | None:
    """What an image model sees: the crop, shrunk to ``max_side`` if larger, never enlarged (the model's own
    resize does that, exactly as for its training crops). None when there is no hand (the no-hand policy)."""
    box = crop_box(hands, *image.size, margin=margin)
    if box is None:
        return None
    crop = image.crop(box)
    if max_side and max(crop.size) > max_side:
        crop.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return crop


def search_settings() -> dict:
    """The tracker's confidence and small-hand search, for the page's own tracker (space/browser_tracker.js runs
    ``HandTracker.track``'s steps): one definition, so a hand the server would find, the page finds."""
    return {
        "confidence": DETECTION_CONFIDENCE,
        "scales": list(TILE_SCALES),
        "overlap": TILE_OVERLAP,
        "min_side": MIN_TILE_SIDE,
        "likely": list(LIKELY_HAND_AT),
        "follow": FOLLOW_WINDOW,
        "per_frame": TILES_PER_FRAME,
    }


def tiles(
    width: int, height: int, scales=TILE_SCALES, overlap: float = TILE_OVERLAP, likely=LIKELY_HAND_AT
) -> list[Box]:
    """Overlapping square tiles at each scale, larger tiles first, each scale nearest the likely hand spot first."""
    found: list[Box] = []
    for scale in scales:
        side = int(round(scale * min(width, height)))
        if side < MIN_TILE_SIDE:
            continue
        step = side * (1 - overlap)

        level = [(x, y, x + side, y + side) for y in _starts(height, side, step) for x in _starts(width, side, step)]
        # Squared distance: plain IEEE arithmetic, so the page's tracker (browser_tracker.js) breaks the ties of
        # tiles mirrored about the likely spot exactly as here (math.hypot and Math.hypot round differently).
        level.sort(
            key=lambda b: ((b[0] + b[2]) / 2 / width - likely[0]) ** 2 + ((b[1] + b[3]) / 2 / height - likely[1]) ** 2
        )
        found += level
    return found


def _starts(length: int, side: int, step: float) -> list[int]:
    """Evenly spread start positions of ``side``-long tiles covering ``length`` with at most ``step`` between them."""
    count = max(1, math.ceil((length - side) / step) + 1) if length > side else 1
    return [round(i * (length - side) / (count - 1)) if count > 1 else 0 for i in range(count)]


def _as_rgb_array(frame) -> np.ndarray:
    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        array = np.asarray(decode_image(frame))
    return np.ascontiguousarray(array)


class HandTracker:
    """MediaPipe hand landmarks for up to ``num_hands`` hands, with the small-hand search described above.

    Use as a context manager or call ``close()``: a landmarker left to the garbage collector raises at exit.
    One tracker per visitor in the app (VIDEO mode keeps state between frames); calls are serialised by a lock.
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        num_hands: int = 2,
        min_confidence: float = DETECTION_CONFIDENCE,
        search_tiles: bool = True,
        tiles_per_frame: int = TILES_PER_FRAME,
    ):
        from mediapipe.tasks.python import BaseOptions, vision

        self.model_path = resolve_hand_model(model_path)
        self.num_hands, self.min_confidence = num_hands, min_confidence
        self.search_tiles, self.tiles_per_frame = search_tiles, tiles_per_frame

        def make(mode):
            options = vision.HandLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(self.model_path)),
                running_mode=mode,
                num_hands=num_hands,
                min_hand_detection_confidence=min_confidence,
                min_hand_presence_confidence=min_confidence,
                min_tracking_confidence=min_confidence,
            )
            try:
                return vision.HandLandmarker.create_from_options(options)
            except (RuntimeError, ValueError) as exc:
                raise HandModelError(f"MediaPipe could not load the hand model {self.model_path}: {exc}") from None

        self._make = make
        self._vision = vision
        self._image = make(vision.RunningMode.IMAGE)
        self._video = None  # created on the first track(): stills never pay for it
        self._lock = threading.Lock()
        self._follow: Box | None = None
        self._next_tile = 0
        self._last_ms = -1

    def __enter__(self) -> HandTracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            for landmarker in (self._image, self._video):
                if landmarker is not None:
                    landmarker.close()
            self._image = self._video = None

    def reset(self) -> None:
        """Forget the stream: the next ``track`` starts a new one (a new clip, a visitor's new recording)."""
        with self._lock:
            if self._video is not None:
                self._video.close()
            self._video, self._follow, self._next_tile, self._last_ms = None, None, 0, -1

    @property
    def closed(self) -> bool:
        return self._image is None

    def _run(self, landmarker, array: np.ndarray, offset=(0, 0), frame_size=None, timestamp_ms=None) -> list[Hand]:
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(array))
        result = landmarker.detect(image) if timestamp_ms is None else landmarker.detect_for_video(image, timestamp_ms)
        height, width = array.shape[:2]
        full_w, full_h = frame_size or (width, height)
        hands = []
        for points, world, handedness in zip(result.hand_landmarks, result.hand_world_landmarks, result.handedness):
            xyz = np.array([(p.x, p.y, p.z) for p in points], np.float32)
            # Back to whole-frame fractions; z shares x's scale in MediaPipe, so it follows the width.
            xyz[:, 0] = (xyz[:, 0] * width + offset[0]) / full_w
            xyz[:, 1] = (xyz[:, 1] * height + offset[1]) / full_h
            xyz[:, 2] = xyz[:, 2] * width / full_w
            hands.append(
                Hand(
                    xyz,
                    np.array([(p.x, p.y, p.z) for p in world], np.float32),
                    handedness[0].category_name,
                    float(handedness[0].score),
                )
            )
        return hands

    def _in_box(self, array: np.ndarray, box: Box) -> list[Hand]:
        x0, y0, x1, y1 = box
        return self._run(self._image, array[y0:y1, x0:x1], (x0, y0), (array.shape[1], array.shape[0]))

    def _check_open(self) -> None:
        if self._image is None:
            raise RuntimeError("this HandTracker is closed")

    def detect(self, frame) -> list[Hand]:
        """IMAGE mode: the whole frame, then (if nothing) the tiles until one holds a hand."""
        array = _as_rgb_array(frame)
        with self._lock:
            self._check_open()
            if min(array.shape[:2]) < 2:
                return []
            hands = self._run(self._image, array)
            if hands or not self.search_tiles:
                return hands
            for box in tiles(array.shape[1], array.shape[0]):
                hands = self._in_box(array, box)
                if hands:
                    return hands
            return []

    def track(self, frame, timestamp_ms: int) -> list[Hand]:
        """VIDEO mode for a stream: follow a known small hand in a window around it; else MediaPipe's own
        tracking on the whole frame; else search ``tiles_per_frame`` more tiles (round robin) to acquire."""
        array = _as_rgb_array(frame)
        height, width = array.shape[:2]
        with self._lock:
            self._check_open()
            if min(height, width) < 2:
                return []
            timestamp_ms = max(int(timestamp_ms), self._last_ms + 1)  # MediaPipe needs strictly increasing times
            self._last_ms = timestamp_ms
            if self._follow is not None:
                hands = self._in_box(array, self._follow)
                if hands:
                    self._follow = self._window(hands, width, height)
                    return hands
                self._follow = None
            if self._video is None:
                self._video = self._make(self._vision.RunningMode.VIDEO)
            hands = self._run(self._video, array, timestamp_ms=timestamp_ms)
            if hands or not self.search_tiles:
                return hands
            candidates = tiles(width, height)
            for _ in range(min(self.tiles_per_frame, len(candidates))):
                box = candidates[self._next_tile % len(candidates)]
                hands = self._in_box(array, box)
                if hands:
                    # Stay on this tile: if the follow window loses the hand, the search resumes here, not at
                    # tile 0 (measured: 63 -> 67 of 72 scenes held after 10 frames).
                    self._follow = self._window(hands, width, height)
                    return hands
                self._next_tile += 1
            return []

    @staticmethod
    def _window(hands: list[Hand], width: int, height: int) -> Box:
        return square_around(
            hands_box(hands, width, height), FOLLOW_WINDOW, width, height, min_side=0.25 * min(width, height)
        )
