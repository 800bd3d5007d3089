"""Videos for the builder and the app: frames spread over the real decoded length, turned upright; the Teach tab's
recordings written with their real frame times."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from signspace.core.imaging import MAX_PHOTO_PIXELS, ImageDecodeError, decode_image, shrink_to_shorter_side

# PyAV's base error for unreadable containers and streams.
VIDEO_ERRORS = (av.error.FFmpegError,)
MILLISECONDS = Fraction(1, 1000)


# A video is refused above the photos' pixel cap, and frames are returned at most MAX_SIDE pixels long: 64 frames
# of 4096x4096 held at full size took 8 GB (a 53 KB file could ask for it). Tracking needs no more than 720p.
MAX_FRAME_PIXELS = MAX_PHOTO_PIXELS
MAX_SIDE = 1280
MAX_VIDEO_SECONDS = 600.0  # the builder's longest video (sampled); the app's clips are capped lower
MAX_CLIP_SECONDS = 60.0  # one sign's clip sent to the app (upload, API)


class VideoTooLong(ImageDecodeError):
    """A video past the length its caller allows (decoding stopped there)."""


class VideoTooLarge(ImageDecodeError):
    """A video whose frames are over the pixel cap (refused from the header, or at the first such frame)."""


def upright(frame, max_side: int = MAX_SIDE) -> np.ndarray:
    """A video frame as RGB at most ``max_side`` pixels long (scaled in the converter: the full-size RGB frame is
    never made), turned the way the phone that shot it meant (display-matrix rotation)."""
    scale = min(1.0, max_side / max(frame.width, frame.height))
    width, height = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    array = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    quarter_turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(array, k=quarter_turns)) if quarter_turns else array


def sample_indices(n_frames: int, wanted: int) -> list[int]:
    """``wanted`` frame indices spread uniformly over ``n_frames`` real frames (fewer if the video is short)."""
    if n_frames <= 0:
        return []
    if n_frames <= wanted:
        return list(range(n_frames))
    return sorted({round(x) for x in np.linspace(0, n_frames - 1, wanted)})


def _frames(container, name: str, max_seconds: float):
    """Decoded frames, refusing a frame over the pixel cap and a video longer than ``max_seconds``."""
    if not container.streams.video:
        raise ImageDecodeError(f"{name}: no video stream")
    stream = container.streams.video[0]
    _check_size(stream.codec_context.width or 0, stream.codec_context.height or 0, name)  # the header: before decoding
    stream.thread_type = "AUTO"
    rate = float(stream.average_rate or 30)
    first = None
    for index, frame in enumerate(container.decode(stream)):
        _check_size(frame.width, frame.height, name)  # a header can lie
        seconds = float(frame.time) if frame.time is not None else index / rate
        first = seconds if first is None else first
        if seconds - first > max_seconds:
            raise VideoTooLong(
                f"{name}: the video is longer than {max_seconds:g} s; one sign needs a few seconds, so trim it"
            )
        yield frame


def _check_size(width: int, height: int, name: str) -> None:
    if width * height > MAX_FRAME_PIXELS:
        raise VideoTooLarge(
            f"{name}: its frames are {width}x{height} pixels, over {MAX_FRAME_PIXELS // 1_000_000} megapixels; "
            "export the video at 4K or less"
        )


def read_frames(
    path: Path, wanted: int, name: str, shorter_side: int | None = None, max_seconds: float = MAX_VIDEO_SECONDS
) -> list[tuple[int, Image.Image, float]]:
    """Up to ``wanted`` frames as (index, upright RGB PIL image through the shared decode, seconds); frames are at
    most MAX_SIDE pixels long (``shorter_side``: smaller still)."""
    with av.open(str(path)) as container:
        rate = float(container.streams.video[0].average_rate or 30) if container.streams.video else 30.0
        # Count by decoding: container metadata (stream.frames, duration) is often wrong or missing.
        n_frames = sum(1 for _ in _frames(container, name, max_seconds))
    if n_frames == 0:
        raise ImageDecodeError(f"{name}: the video opens but yields no frames")
    keep = set(sample_indices(n_frames, wanted))
    picked = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(_frames(container, name, max_seconds)):
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


def video_seconds(path: Path, max_seconds: float = MAX_VIDEO_SECONDS) -> float:
    """Length from the decoded frames' times (container durations are often missing or wrong); decoding stops, with
    an error, past ``max_seconds``."""
    with av.open(str(path)) as container:
        times = [f.time for f in _frames(container, path.name, max_seconds) if f.time is not None]
    return (max(times) - min(times)) if times else 0.0
