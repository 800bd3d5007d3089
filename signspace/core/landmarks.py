"""Landmark sequences: the Holistic layout, saved keypoints, time resampling, augmentation, normalisation.

One frame is MediaPipe Holistic's 258 values — pose 33 x (x, y, z, visibility), left hand 21 x (x, y, z),
right hand 21 x (x, y, z); zeros where nothing was detected — the layout of the seed guide's option A code and
of the tutorials people follow. Saved arrays of 1662 values (with the face between pose and hands) are
accepted and the face is dropped. Our own extraction fills the hand slots from the hand tracker.

``normalise`` is the one normalisation (centre, scale, handedness slots), in PyTorch, run inside the sequence
model's forward: training, evaluation and the app cannot feed it differently.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from signspace.core.errors import SignSpaceError

POSE_VALUES, HAND_VALUES, FACE_VALUES = 33 * 4, 21 * 3, 468 * 3
FRAME_VALUES = POSE_VALUES + 2 * HAND_VALUES  # 258
WITH_FACE_VALUES = POSE_VALUES + FACE_VALUES + 2 * HAND_VALUES  # 1662
LEFT = slice(POSE_VALUES, POSE_VALUES + HAND_VALUES)
RIGHT = slice(POSE_VALUES + HAND_VALUES, FRAME_VALUES)
WRIST, MIDDLE_MCP = 0, 9
NORMALISED_PER_HAND = HAND_VALUES + 2 + 2 + 1  # shape, position, velocity, presence
MAX_SAVED_FRAMES = 18_000  # 10 minutes at 30 fps: far past any one sign, far below a memory problem
DEFAULT_KEYPOINTS_FPS = 30.0  # saved .npy clips carry no times; tutorials record about this rate


class KeypointError(SignSpaceError, ValueError):
    """A saved keypoint file that is not a clip in the Holistic layout; the message says what was found."""


def frame_from_hands(hands) -> np.ndarray:
    """258 values for one frame from tracked hands (pose slots zero). MediaPipe's handedness picks the slot;
    a second hand of the same handedness takes the free slot."""
    frame = np.zeros(FRAME_VALUES, np.float32)
    taken: set[str] = set()
    for hand in sorted(hands, key=lambda h: -h.score)[:2]:
        side = hand.handedness if hand.handedness in ("Left", "Right") else "Right"
        if side in taken:
            side = "Left" if side == "Right" else "Right"
        taken.add(side)
        frame[LEFT if side == "Left" else RIGHT] = np.asarray(hand.landmarks, np.float32).reshape(-1)
    return frame


def track_clip(tracker, frames, times) -> np.ndarray:
    """frames x 258 for a recording, tracked in VIDEO mode from a fresh start (the builder, uploads and the
    teach loop all call this; the live stream feeds the same tracker frame by frame)."""
    tracker.reset()
    rows = [frame_from_hands(tracker.track(frame, int(round(t * 1000)))) for frame, t in zip(frames, times)]
    tracker.reset()
    return np.stack(rows) if rows else np.zeros((0, FRAME_VALUES), np.float32)


def from_saved(array: np.ndarray, name: str) -> np.ndarray:
    """A saved clip (frames x 258, or frames x 1662 with the face) as frames x 258 float32."""
    array = np.asarray(array)
    if array.ndim == 1:
        array = array[None, :]
    if (
        array.ndim != 2
        or array.shape[1] not in (FRAME_VALUES, WITH_FACE_VALUES)
        or not np.issubdtype(array.dtype, np.number)
    ):
        raise KeypointError(
            f"{name}: holds an array of shape {array.shape} ({array.dtype}); expected frames x {FRAME_VALUES} (pose + "
            f"hands, MediaPipe Holistic order) or frames x {WITH_FACE_VALUES} (with the face)"
        )
    if array.shape[0] == 0:
        raise KeypointError(f"{name}: has no frames")
    if array.shape[1] == WITH_FACE_VALUES:
        array = np.concatenate([array[:, :POSE_VALUES], array[:, POSE_VALUES + FACE_VALUES :]], axis=1)
    return np.nan_to_num(array.astype(np.float32))


def _check_header(path: Path, name: str) -> None:
    """Refuse from the header alone what must not be read: an array too large for a clip (a header can claim
    10^9 frames in a few bytes), object arrays (pickles) and complex numbers."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(handle)  # version 3 differs from 2 only in allowing UTF-8 field names
    if dtype.hasobject:
        raise KeypointError(f"{name}: holds Python objects, not numbers; save the keypoints as a float array")
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating) or dtype == np.bool_):
        raise KeypointError(f"{name}: holds {dtype} values; keypoints are real numbers (float32)")
    frames = int(np.prod(shape)) // max(1, shape[-1] if shape else 1)
    if frames > MAX_SAVED_FRAMES:
        raise KeypointError(
            f"{name}: claims {frames} frames of shape {tuple(shape)}; one sign clip has at most {MAX_SAVED_FRAMES} "
            "(cut long recordings into one clip per sign)"
        )


def load_npy(path: Path, name: str) -> np.ndarray:
    try:
        _check_header(path, name)
        return from_saved(np.load(path, allow_pickle=False), name)  # never unpickle a downloaded file
    except (ValueError, OSError, EOFError) as exc:
        if isinstance(exc, KeypointError):
            raise
        raise KeypointError(f"{name}: not a readable NumPy array ({exc})") from None


def _natural_key(path: Path):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.stem)]


def load_npy_frames(paths: list[Path], name: str) -> np.ndarray:
    """The tutorial layout: one .npy vector per frame, ordered by frame number (2.npy before 10.npy)."""
    frames = [load_npy(path, f"{name}/{path.name}") for path in sorted(paths, key=_natural_key)]
    return np.concatenate(frames, axis=0)


def hands_present(sequence: np.ndarray) -> np.ndarray:
    """frames x 2 (left, right): whether each hand slot holds a detection."""
    sequence = np.asarray(sequence)
    return np.stack([np.abs(sequence[..., LEFT]).sum(-1) > 0, np.abs(sequence[..., RIGHT]).sum(-1) > 0], axis=-1)


def resample(
    sequence: np.ndarray, times: np.ndarray, length: int, start: float | None = None, end: float | None = None
) -> np.ndarray:
    """``length`` frames evenly spaced in time over [start, end] (default: the whole clip), each the nearest
    recorded frame (no blending: a blend of a hand and a zero slot is no hand at all). Works for any frame
    rate, for clips shorter than ``length`` (frames repeat) and for a live window."""
    times = np.asarray(times, np.float64)
    start = times[0] if start is None else start
    end = times[-1] if end is None else end
    wanted = np.linspace(start, end, length)
    after = np.clip(np.searchsorted(times, wanted), 0, len(times) - 1)
    before = np.clip(after - 1, 0, len(times) - 1)
    nearest = np.where(np.abs(wanted - times[before]) <= np.abs(times[after] - wanted), before, after)
    return np.asarray(sequence)[nearest]


def mirror(sequence: np.ndarray) -> np.ndarray:
    """A left-right flip: x -> 1 - x for every present point, and the hand slots swapped (the other hand signs)."""
    out = np.array(sequence, np.float32, copy=True)
    present = hands_present(out)
    left, right = out[..., LEFT].copy(), out[..., RIGHT].copy()
    out[..., LEFT], out[..., RIGHT] = right, left
    for slot, was in ((LEFT, present[..., 1]), (RIGHT, present[..., 0])):
        points = out[..., slot].reshape(*out.shape[:-1], 21, 3)
        points[..., 0] = np.where(was[..., None], 1.0 - points[..., 0], 0.0)
        out[..., slot] = points.reshape(*out.shape[:-1], HAND_VALUES)
    pose = out[..., :POSE_VALUES].reshape(*out.shape[:-1], 33, 4)
    pose[..., 0] = np.where(np.abs(pose).sum(-1) > 0, 1.0 - pose[..., 0], 0.0)
    out[..., :POSE_VALUES] = pose.reshape(*out.shape[:-1], POSE_VALUES)
    return out


def augment(
    sequence: np.ndarray,
    times: np.ndarray,
    rng: np.random.Generator,
    length: int,
    hflip: bool = False,
    rotate_degrees: float = 10.0,
    scale: float = 0.1,
    shift: float = 0.05,
    frame_dropout: float = 0.1,
    hand_dropout: float = 0.05,
    crop: float = 0.8,
    stretch: float = 0.2,
) -> np.ndarray:
    """A training view of a clip: a random part in time (>= ``crop`` of it) at a random speed, small rotation,
    scale and shift of the hands, dropped frames and dropped hands; a mirror only with ``hflip``."""
    times = np.asarray(times, np.float64)
    duration = times[-1] - times[0]
    if duration > 0:
        keep = rng.uniform(crop, 1.0) * duration
        start = times[0] + rng.uniform(0, duration - keep)
        # time stretch: the model sees the part as if signed a little faster or slower (fewer/more frames)
        count = max(2, int(round(length * rng.uniform(1 - stretch, 1 + stretch))))
        picked = resample(sequence, times, count, start, start + keep)
        out = resample(picked, np.arange(count, dtype=np.float64), length)
    else:
        out = resample(sequence, times, length)
    out = np.array(out, np.float32, copy=True)
    if hflip and rng.random() < 0.5:
        out = mirror(out)
    present = hands_present(out)
    angle = math.radians(rng.uniform(-rotate_degrees, rotate_degrees))
    factor = rng.uniform(1 - scale, 1 + scale)
    offset = rng.uniform(-shift, shift, size=2)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], np.float32)
    for slot, side in ((LEFT, 0), (RIGHT, 1)):
        points = out[:, slot].reshape(length, 21, 3)
        xy = (points[..., :2] - 0.5) @ rotation.T * factor + 0.5 + offset
        points[..., :2] = np.where(present[:, side, None, None], xy, 0.0)
        points[..., 2] *= factor
        if rng.random() < hand_dropout:
            points[:] = 0.0
        out[:, slot] = points.reshape(length, HAND_VALUES)
    dropped = rng.random(length) < frame_dropout
    out[dropped, POSE_VALUES:] = 0.0
    return out


def normalise(batch, feature_groups=("hands",)):
    """frames of 258 values (B x T x 258 tensor) -> B x T x 136 model features, per hand slot:
    - shape: the 21 points relative to the wrist, divided by the hand's size (wrist to middle knuckle): where
      the user sits and how far from the camera do not matter;
    - position: the wrist relative to the clip's mean wrist position, in units of the clip's mean hand size;
    - velocity: the position's change since the previous frame;
    - presence: 1 where the hand was detected.
    Absent hands are all zeros. Only ``hands`` is supported (what the app can extract live)."""
    import torch

    if tuple(feature_groups) != ("hands",):
        raise KeypointError(f"feature groups {list(feature_groups)} are not supported; only ['hands'] is")
    batch = batch.float()
    hands = torch.stack([batch[..., LEFT], batch[..., RIGHT]], dim=2).reshape(*batch.shape[:2], 2, 21, 3)
    present = hands.abs().sum(dim=(-1, -2)) > 0  # B x T x 2
    weight = present.float()
    wrist = hands[..., WRIST, :2]  # B x T x 2 x 2
    size = (hands[..., MIDDLE_MCP, :2] - wrist).norm(dim=-1).clamp_min(1e-3)  # B x T x 2
    shape = (hands - hands[..., WRIST : WRIST + 1, :]) / size[..., None, None]
    count = weight.sum(dim=(1, 2)).clamp_min(1.0)  # B
    centre = (wrist * weight[..., None]).sum(dim=(1, 2)) / count[:, None]  # B x 2
    scale = ((size * weight).sum(dim=(1, 2)) / count).clamp_min(1e-3)  # B
    position = (wrist - centre[:, None, None, :]) / scale[:, None, None, None]
    previous = torch.cat([position[:, :1], position[:, :-1]], dim=1)
    both = present & torch.cat([present[:, :1], present[:, :-1]], dim=1)
    velocity = (position - previous) * both[..., None].float()
    features = torch.cat([shape.flatten(-2), position, velocity, weight[..., None]], dim=-1) * weight[..., None]
    return torch.nan_to_num(features.flatten(-2).clamp(-20, 20))
