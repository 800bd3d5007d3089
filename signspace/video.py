"""Videos for the builder and the app: frames spread over the real decoded length, turned upright; the Teach tab's
recordings written with their real frame times."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .imaging import ImageDecodeError, decode_image, shrink_to_shorter_side

# PyAV's base error for unreadable containers and streams.
VIDEO_ERRORS = (av.error.FFmpegError,)
MILLISECONDS = Fraction(1, 1000)


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


def encode_clip(frames: list[np.ndarray], times: list[float], shorter_side: int = 720, crf: int = 23) -> bytes:
    """RGB frames with their times (seconds) -> MP4 bytes (H.264, variable frame rate kept in the timestamps)."""
    from PIL import Image

    images = [shrink_to_shorter_side(Image.fromarray(np.asarray(f, np.uint8)), shorter_side) for f in frames]
    width, height = images[0].size
    width, height = width - width % 2, height - height % 2  # yuv420p needs even sides
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = MILLISECONDS
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        start, last = times[0], -1
        for image, t in zip(images, times):
            pts = max(int(round((t - start) * 1000)), last + 1)
            last = pts
            frame = av.VideoFrame.from_image(image.resize((width, height)) if image.size != (width, height) else image)
            frame.pts, frame.time_base = pts, MILLISECONDS  # not stream.time_base: the muxer changes it
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def video_seconds(path: Path) -> float:
    """Length from the decoded frames' times (container durations are often missing or wrong)."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ImageDecodeError(f"{path.name}: no video stream")
        times = [f.time for f in container.decode(container.streams.video[0]) if f.time is not None]
    return (max(times) - min(times)) if times else 0.0
