"""Reading videos for the builder and the app: frames spread over the real decoded length, turned upright."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from .imaging import ImageDecodeError, decode_image

# PyAV's base error for unreadable containers and streams.
VIDEO_ERRORS = (av.error.FFmpegError,)


def upright(frame) -> np.ndarray:
    """A video frame as RGB, turned the way the phone that shot it meant (display-matrix rotation)."""
    array = frame.to_ndarray(format="rgb24")
    quarter_turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(array, k=quarter_turns)) if quarter_turns else array


def sample_indices(n_frames: int, wanted: int) -> list[int]:
    """``wanted`` frame indices spread uniformly over ``n_frames`` real frames (fewer if the video is short)."""
    if n_frames <= 0:
        return []
    if n_frames <= wanted:
        return list(range(n_frames))
    return sorted({round(x) for x in np.linspace(0, n_frames - 1, wanted)})


def _frames(container):
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    yield from container.decode(stream)


def read_frames(path: Path, wanted: int, name: str, shorter_side: int | None = None) -> list[tuple[int, object, float]]:
    """Up to ``wanted`` frames as (index, upright RGB PIL image through the shared decode, seconds)."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ImageDecodeError(f"{name}: no video stream")
        rate = float(container.streams.video[0].average_rate or 30)
        # Count by decoding: container metadata (stream.frames, duration) is often wrong or missing.
        n_frames = sum(1 for _ in _frames(container))
    if n_frames == 0:
        raise ImageDecodeError(f"{name}: the video opens but yields no frames")
    keep = set(sample_indices(n_frames, wanted))
    picked = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(_frames(container)):
            if index in keep:
                seconds = float(frame.time) if frame.time is not None else index / rate
                picked.append((index, decode_image(upright(frame), shorter_side=shorter_side, name=name), seconds))
    return picked
