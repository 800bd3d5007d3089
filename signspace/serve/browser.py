"""Tracking in the visitor's browser: what the page sends instead of pictures, checked before it is used.

The page runs MediaPipe's hand tracker (``@mediapipe/tasks-vision``, the same ``hand_landmarker.task``) on the
camera's own, unmirrored frames, and sends a few frames at a time:

    {"frames": [{"t": 12.345, "hands": [{"handedness": "Right", "score": 0.97, "points": [x0, y0, z0, ...]}]}]}

``t`` in seconds (the page's clock, increasing), ``points`` 21 x (x, y, z) as MediaPipe gives them (x and y as
fractions of the frame). For a motion model the server turns each frame into the model's 258 values with the same
``landmarks.frame_from_hands`` the Python tracker's frames go through, so both trackers mean the same to a model.

For an image model trained on hand crops the message also carries ``"crop"``: the last frame's hand crop, already
cut and resized to the model's input by the page (``BrowserInput``: the same square and margin as
``hands.crop_box``, then the eval resize and centre crop of ``transforms.eval_pixels``), as a JPEG or PNG data URL;
no ``crop`` when that frame has no hand.
"""

from __future__ import annotations

import base64
import binascii
import enum
import io
import math
import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from signspace.core.errors import ConfigError, SignSpaceError
from signspace.core.hands import Hand
from signspace.core.imaging import PILLOW_DECODE_ERRORS, ImageDecodeError, decode_image
from signspace.core.landmarks import frame_from_hands

# A message holds at most half a second at 30 frames a second; the page sends every ~0.3 s.
MAX_FRAMES_PER_MESSAGE = 16
MAX_HANDS = 2
POINTS = 21 * 3
# The page's clock is performance.now(): seconds since the page loaded. A time past this (115 days) is no page's, and
# one like 1e308 would leave no later time to come after it (1e308 + 0.08 == 1e308).
MAX_PAGE_SECONDS = 1e7
# Where MediaPipe's normalised coordinates can be: a hand partly outside the frame goes a little past 0..1.
COORDINATE_RANGE = (-2.0, 3.0)
NUMBER_TYPES = {int, float}  # what JSON numbers decode to (a bool is not one)
CROP_FORMATS = {"data:image/jpeg;base64,": "JPEG", "data:image/png;base64,": "PNG"}
LANDMARK_SEND_SECONDS = 0.32  # a motion model's page sends ~4 frames per message
CROP_QUALITY = 0.92  # the page's JPEG quality for hand crops (docs/benchmarks.md: what it changes)
# The page's own tracker files: the npm package at a pinned version on a public CDN for npm packages, unless the
# app is given a local copy (--web_assets).
TASKS_VISION_VERSION = "1.1.0"
TASKS_VISION_CDN = f"https://cdn.jsdelivr.net/npm/@mediapipe/tasks-vision@{TASKS_VISION_VERSION}"
TASKS_VISION_FILES = ("vision_bundle.mjs", "wasm/vision_wasm_internal.js", "wasm/vision_wasm_internal.wasm")
# ONNX Runtime Web, which runs a motion model in the page: the version package.json pins (a test keeps them equal).
ORT_WEB_VERSION = "1.31.1"
ORT_WEB_CDN = f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{ORT_WEB_VERSION}/dist"
ORT_WEB_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def asset_folder(path: str, files, option: str, what: str) -> Path:
    """``path`` resolved, once it holds every one of ``files``; else one line naming the option, the folder, what it
    lacks and what it should be."""
    folder = Path(path).resolve()
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"{option} {folder} lacks {', '.join(missing)}; point it at {what}")
    return folder


# The largest model a page loads to classify itself: a motion model's export is ~1.5 MB; past this, the server
# classifies (a page would wait seconds for it on a slow line).
PAGE_MODEL_MAX_BYTES = 8 * 2**20


class LandmarkMessageError(SignSpaceError, ValueError):
    """A landmark message from a page that is malformed, too large or too frequent; the stream goes on."""


class Send(enum.StrEnum):
    """What the page sends for a model (the wire value browser_tracker.js reads)."""

    LANDMARKS = "landmarks"
    CROP = "crop"


@dataclass(frozen=True)
class BrowserInput:
    """What a model needs from a page that tracks the hands itself: landmarks (motion models), or the hand crop
    at the model's input size (image models trained on crops). Told to the page at start and in every answer, so
    a visitor who picks another model gets what it needs."""

    send: Send
    every_seconds: float = LANDMARK_SEND_SECONDS  # how often the page sends a message
    side: int = 0  # crops: the model's input, in pixels (square)
    resize: int = 0  # crops: the shorter side the crop is resized to before the centre square is cut
    margin: float = 0.0  # crops: of the landmarks' extent, on every side (hands.crop_box)

    def __post_init__(self):
        object.__setattr__(self, "send", Send(self.send))  # the wire value is accepted too; anything else refused

    def paced(self, frame_seconds: float, slowdown: float = 1.0) -> BrowserInput:
        """Crops go at the rate the app serves an image model's frames (``--stream_every``); landmark messages
        batch the frames at their own pace. ``slowdown`` (``Pacer``): how many times less often, while the app is
        busy."""
        every = frame_seconds if self.send is Send.CROP else self.every_seconds
        return replace(self, every_seconds=every * slowdown)

    def to_page(self) -> dict:
        page: dict[str, object] = {"send": self.send.value, "every_ms": round(self.every_seconds * 1000)}
        if self.send is Send.CROP:
            page.update(side=self.side, resize=self.resize, margin=self.margin, quality=CROP_QUALITY)
        return page


def parse_message(
    message, last_time: float | None = None, limit: int = MAX_FRAMES_PER_MESSAGE
) -> list[tuple[float, np.ndarray]]:
    """(seconds, 258 values) per frame of a message, or LandmarkMessageError saying what is wrong with it.
    ``last_time``: the newest frame time seen before; frames must come later. At most ``limit`` frames."""
    return [(when, frame_from_hands(hands)) for when, hands in parse_frames(message, last_time, limit)]


def parse_frames(
    message, last_time: float | None = None, limit: int = MAX_FRAMES_PER_MESSAGE
) -> list[tuple[float, list[Hand]]]:
    """(seconds, hands) per frame of a message, checked as ``parse_message`` says; at most ``limit`` frames."""
    frames = message.get("frames") if isinstance(message, dict) else None
    if not isinstance(frames, list) or not frames:
        raise LandmarkMessageError("a landmark message needs a non-empty 'frames' list")
    if len(frames) > limit:
        raise LandmarkMessageError(f"a landmark message holds {len(frames)} frames; send at most {limit} at a time")
    parsed = []
    for index, frame in enumerate(frames):
        when = frame.get("t") if isinstance(frame, dict) else None
        if not _finite_number(when) or not 0 <= when <= MAX_PAGE_SECONDS:
            raise LandmarkMessageError(
                f"frame {index}: 't' must be the page's clock in seconds (0 to {MAX_PAGE_SECONDS:g}, as "
                "performance.now() / 1000 gives it)"
            )
        if last_time is not None and when <= last_time:
            raise LandmarkMessageError(f"frame {index}: time {when} does not come after {last_time}")
        hands = frame.get("hands", [])
        if not isinstance(hands, list) or len(hands) > MAX_HANDS:
            raise LandmarkMessageError(f"frame {index}: 'hands' must be a list of at most {MAX_HANDS} hands")
        parsed.append((float(when), [_hand(hand, index) for hand in hands]))
        last_time = float(when)
    return parsed


def parse_crop(message, wanted: BrowserInput) -> Image.Image | None:
    """The message's hand crop as an RGB image of exactly ``wanted.side`` pixels square, None when it has none
    (no hand in its last frame); anything else is a LandmarkMessageError. The size is read from the header before
    any pixel is decoded, so a large picture costs nothing."""
    crop = message.get("crop") if isinstance(message, dict) else None
    if crop is None:
        return None
    prefix = next((p for p in CROP_FORMATS if isinstance(crop, str) and crop.startswith(p)), None)
    if prefix is None:
        raise LandmarkMessageError("'crop' must be a data URL of a JPEG or PNG (data:image/jpeg;base64,...)")
    limit = 4 * wanted.side * wanted.side  # over the raw pixels: no JPEG or PNG of the crop is larger
    if (len(crop) - len(prefix)) * 3 // 4 > limit:
        raise LandmarkMessageError(f"the crop holds over {limit} bytes; send {wanted.side}x{wanted.side} pixels")
    side = wanted.side
    try:
        data = base64.b64decode(crop[len(prefix) :], validate=True)
        opened = Image.open(io.BytesIO(data), formats=[CROP_FORMATS[prefix]])  # the header only
        size = opened.size
        if size == (side, side) and opened.format == "PNG":
            check_png_complete(data)
        image = decode_image(opened) if size == (side, side) else None  # one open: a second cost ~0.15 ms
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LandmarkMessageError(f"the crop claims far more pixels than {side}x{side}; send that size") from None
    except (binascii.Error, ImageDecodeError, *PILLOW_DECODE_ERRORS):
        raise LandmarkMessageError(f"the crop is not a readable {CROP_FORMATS[prefix]} image") from None
    if image is None:
        raise LandmarkMessageError(f"the crop is {size[0]}x{size[1]} pixels; this model takes {side}x{side}")
    return image


PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel


def check_png_complete(data: bytes) -> None:
    """Pillow decodes a PNG whose compressed data ends early (a 224x224 crop with 10 rows) without a word, the
    missing rows black. The image data must inflate to exactly the rows its header promises (non-interlaced: the
    page's canvas writes no other kind); inflating stops one byte past that, so a zip bomb costs nothing."""
    try:
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            raise ValueError("no PNG signature")
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
        if interlace or colour not in PNG_CHANNELS:
            raise ValueError("an interlaced or unknown PNG")
        compressed, offset = [], 8
        while offset + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[offset : offset + 8])
            if kind == b"IDAT":
                compressed.append(data[offset + 8 : offset + 8 + length])
            offset += 12 + length
        expected = height * (1 + (width * depth * PNG_CHANNELS[colour] + 7) // 8)
        inflater = zlib.decompressobj()
        inflated = len(inflater.decompress(b"".join(compressed), expected + 1))
    except (ValueError, struct.error, zlib.error):
        raise LandmarkMessageError("the crop is not a readable PNG image") from None
    if inflated != expected:
        raise LandmarkMessageError(
            f"the crop's PNG data does not hold the {height} rows its header promises (cut short?); send the whole "
            "image"
        )


def _hand(record, frame: int) -> Hand:
    if not isinstance(record, dict):
        raise LandmarkMessageError(f"frame {frame}: a hand must be an object with handedness, score and points")
    handedness, score, points = record.get("handedness"), record.get("score"), record.get("points")
    if handedness not in ("Left", "Right"):
        raise LandmarkMessageError(f"frame {frame}: handedness must be 'Left' or 'Right', not {handedness!r}")
    if not _finite_number(score) or not 0.0 <= score <= 1.0:
        raise LandmarkMessageError(f"frame {frame}: score must be between 0 and 1")
    # the types checked in one pass (map runs in C: a message's 500 numbers were 0.4 ms one by one, under the GIL
    # every visitor's request shares), then the values as one array
    if not isinstance(points, list) or len(points) != POINTS or not set(map(type, points)) <= NUMBER_TYPES:
        raise LandmarkMessageError(f"frame {frame}: points must be {POINTS} numbers (21 landmarks x, y, z)")
    try:
        values = np.asarray(points, np.float64).reshape(21, 3)
    except OverflowError:  # an integer of hundreds of digits: JSON allows it, a float cannot hold it
        values = np.full((21, 3), np.inf)
    low, high = COORDINATE_RANGE
    if not np.isfinite(values).all() or values.min() < low or values.max() > high:
        raise LandmarkMessageError(f"frame {frame}: landmark coordinates lie outside {low}..{high}")
    return Hand(values.astype(np.float32), np.zeros((21, 3), np.float32), handedness, float(score))


def _finite_number(value) -> bool:
    try:
        return type(value) in NUMBER_TYPES and math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False
