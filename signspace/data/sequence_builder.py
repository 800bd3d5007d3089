"""The landmark half of the dataset builder (``--features landmarks``): each clip tracked once into frames of 258
landmark values with their times, cached by the clip's bytes, then split like images (``builder.split_rows``)."""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signspace.core.atomic import write_bytes_atomic
from signspace.core.hand_model import resolve_hand_model
from signspace.core.imaging import IMAGE_EXTENSIONS, ImageDecodeError, decode_image
from signspace.core.landmarks import (
    FRAME_VALUES,
    KeypointError,
    frame_from_hands,
    hands_present,
    load_npy,
    load_npy_frames,
    track_clip,
)
from signspace.core.video import VIDEO_ERRORS, read_frames, sample_indices
from signspace.data.builder import BuildResult, ItemResult, dataset_dict, process_tracker, run_parallel, split_rows
from signspace.data.scan import ScanResult, Source, WorkItem, clip_files
from signspace.data.splits import SplitRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SequenceSettings:
    max_frames: int = 64  # frames tracked per video or clip folder, spread uniformly over it
    keypoints_fps: float = 30.0  # frame rate assumed for clip folders and saved .npy keypoints (they carry no times)
    hand_model: str | None = None
    cache_dir: str | None = None  # tracked clips' landmarks, keyed by the clip's bytes and these settings


def _cache_key(item: WorkItem, settings: SequenceSettings) -> str:
    """Same bytes, same settings, same hand model -> same landmarks; a changed or new clip gets a new key."""
    model = Path(settings.hand_model) if settings.hand_model else None
    model_id = f"{model.name}:{model.stat().st_size}" if model and model.is_file() else str(settings.hand_model)
    files = clip_files(item.path, IMAGE_EXTENSIONS) if item.path.is_dir() else [item.path]
    stats = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _content_key(f"{item.kind}|{settings.max_frames}|{settings.keypoints_fps}|{model_id}", stats)


@functools.lru_cache(maxsize=4096)
def _content_key(prefix: str, stats: tuple) -> str:
    # Memoised by path, size and modification time: listing a folder of clips does not read them all again.
    digest = hashlib.blake2b(prefix.encode(), digest_size=20)
    for path, *_ in stats:
        digest.update(Path(path).name.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def cached_landmarks(item: WorkItem, settings: SequenceSettings) -> tuple[np.ndarray, np.ndarray] | None:
    """The landmarks and times tracked earlier for this exact clip, or None (also for a damaged cache entry)."""
    if not settings.cache_dir:
        return None
    path = Path(settings.cache_dir) / f"{_cache_key(item, settings)}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return stored["landmarks"], stored["times"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _store_landmarks(item: WorkItem, settings: SequenceSettings, landmarks, times) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, landmarks=np.asarray(landmarks, np.float32), times=np.asarray(times, np.float32))
    try:
        write_bytes_atomic(Path(settings.cache_dir) / f"{_cache_key(item, settings)}.npz", buffer.getvalue())
    except OSError as exc:  # a cache that cannot be written costs time, never the build
        logger.warning("could not cache the landmarks of %s (%s); it will be tracked again next time", item.source, exc)


@dataclass
class SequenceRow:
    landmarks: np.ndarray  # frames x 258 (Holistic layout)
    times: np.ndarray  # seconds from the clip's start
    label: str
    group: str
    source: str
    digest: str
    hand_frames: int
    signer: str | None = None


def decode_sequence(item: WorkItem, settings: SequenceSettings) -> ItemResult:
    """One clip -> one row of landmark frames; a clip without a hand in any frame is skipped with that reason."""
    try:
        if item.kind.is_keypoints:
            files = clip_files(item.path, {".npy"}) if item.kind is Source.NPY_FRAMES else None
            landmarks = load_npy_frames(files, item.source) if files is not None else load_npy(item.path, item.source)
            times = np.arange(len(landmarks)) / settings.keypoints_fps
        elif item.kind is Source.IMAGE:
            image = np.asarray(decode_image(item.path, name=item.source))
            landmarks, times = frame_from_hands(process_tracker(settings).detect(image))[None, :], np.zeros(1)
        elif (hit := cached_landmarks(item, settings)) is not None:
            landmarks, times = hit
        else:
            if item.kind is Source.VIDEO:
                picked = read_frames(item.path, settings.max_frames, item.source)
                images, times = [np.asarray(image) for _, image, _ in picked], np.array([t for *_, t in picked])
            else:  # a clip folder of frames
                paths = clip_files(item.path, IMAGE_EXTENSIONS)
                paths = [paths[i] for i in sample_indices(len(paths), settings.max_frames)]
                images = [np.asarray(decode_image(p, name=f"{item.source}/{p.name}")) for p in paths]
                times = np.arange(len(images)) / settings.keypoints_fps
            landmarks = track_clip(process_tracker(settings), images, times)
            if settings.cache_dir:
                _store_landmarks(item, settings, landmarks, times)
    except (ImageDecodeError, KeypointError) as exc:
        return ItemResult(skip={"source": item.source, "reason": str(exc).removeprefix(f"{item.source}: ")})
    except VIDEO_ERRORS as exc:
        return ItemResult(
            skip={"source": item.source, "reason": f"unreadable video ({type(exc).__name__}: {exc.strerror or exc})"}
        )
    hand_frames = int(hands_present(landmarks).any(axis=1).sum())
    if hand_frames == 0:
        reason = f"no hand in any of its {len(landmarks)} frame(s)"
        return ItemResult(skip={"source": item.source, "reason": reason}, no_hand_clip=True)
    landmarks = np.asarray(landmarks, np.float32)
    digest = hashlib.blake2b(landmarks.tobytes(), digest_size=16).hexdigest()
    row = SequenceRow(
        landmarks, np.asarray(times, np.float32), item.label, item.group, item.source, digest, hand_frames, item.signer
    )
    return ItemResult([row])


def build_sequences(
    scan: ScanResult,
    settings: SequenceSettings,
    split: SplitRequest,
    num_proc: int,
    progress: Callable[[int, int], None] | None = None,
) -> BuildResult:
    work = functools.partial(decode_sequence, settings=settings)
    results = run_parallel(work, scan.items, num_proc, "Extracting", progress)
    rows = [row for result in results for row in result.rows]
    skipped = [result.skip for result in results if result.skip]
    no_hand_clips = sorted(result.skip["source"] for result in results if result.no_hand_clip)
    for entry in skipped:
        logger.warning("skipped %s: %s", entry["source"], entry["reason"])
    rows_by_split, duplicates, warnings = split_rows(scan.labels, rows, split)
    frames = {label: {"clips": 0, "frames": 0, "frames_without_hand": 0} for label in scan.labels}
    for row in rows:
        frames[row.label]["clips"] += 1
        frames[row.label]["frames"] += len(row.landmarks)
        frames[row.label]["frames_without_hand"] += len(row.landmarks) - row.hand_frames
    hands = {
        "per_sign": frames,
        "no_hand_clips": no_hand_clips,
    }
    return BuildResult(scan.labels, rows_by_split, scan.skipped + skipped, duplicates, warnings, hands)


def build_landmarks(scan: ScanResult, config, progress: Callable[[int, int], None] | None = None):
    """The landmark kind's pipeline (registered in kinds.py): track (or read) every clip, split. ``config``:
    build_dataset.BuildConfig. Returns (BuildResult, DatasetDict)."""
    if not config.hand_model and any(not item.kind.is_keypoints for item in scan.items):
        config.hand_model = str(resolve_hand_model(None))  # needed for videos and photos: fail before extracting
    settings = SequenceSettings(config.max_frames, config.keypoints_fps, config.hand_model, config.landmark_cache)
    result = build_sequences(scan, settings, config.split, config.num_proc, progress)
    return result, to_dataset_dict(result, include_test=config.test_size > 0)


def landmark_preprocessing(config) -> dict:
    return {"input": "landmarks", "layout": "mediapipe-holistic-258", "keypoints_fps": config.keypoints_fps}


def to_dataset_dict(result: BuildResult, include_test: bool):
    import datasets

    own = {
        "landmarks": datasets.List(datasets.List(datasets.Value("float32"), length=FRAME_VALUES)),
        "times": datasets.List(datasets.Value("float32")),
    }
    return dataset_dict(
        result,
        include_test,
        own,
        lambda rows: {"landmarks": [r.landmarks for r in rows], "times": [r.times for r in rows]},
    )
