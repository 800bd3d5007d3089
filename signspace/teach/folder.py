"""The Teach tab's folder of signs and clips, and the recorder that fills it.

Everything is written in the folder layout ``train/build_dataset.py`` reads (``DATA/<sign>/<clip>.mp4``), so a
folder recorded here trains later with the scripts unchanged. The app's own work lives in ``DATA/.signspace/``
(hidden from the builder): the landmark cache, the last built dataset and the trained models.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import io
import itertools
import os
import shutil
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signspace.core.atomic import write_bytes_atomic
from signspace.core.errors import RecordingError, SignSpaceError, TeachError
from signspace.core.imaging import IMAGE_EXTENSIONS, MAX_PHOTO_PIXELS, ImageDecodeError, ImageTooLarge, decode_image
from signspace.core.landmarks import DEFAULT_KEYPOINTS_FPS, KeypointError, hands_present, load_npy, resample
from signspace.core.video import VIDEO_ERRORS, VideoTooLong, encode_clip, video_seconds
from signspace.data.builder import close_process_tracker
from signspace.data.scan import VIDEO_EXTENSIONS, Source, WorkItem, file_item, normalise_label
from signspace.data.sequence_builder import SequenceSettings, cached_landmarks, decode_sequence

WORK_FOLDER = ".signspace"  # inside the data folder; the builder skips hidden entries
CLIP_SUFFIX = ".mp4"
LANDMARKS_SUFFIX = ".npy"  # a recording tracked in the visitor's browser: landmarks only
MAX_SIGN_NAME = 64
MAX_SIGN_NAME_BYTES = 200  # a folder name may hold 255 bytes; room for the suffixes we and file systems add
RECORD_SHORTER_SIDE = 720  # a 4K webcam frame is stored at 720p: hands stay sharp, clips stay small
# Same as the builder's defaults, so the scripts and the page build the same dataset from the same folder.
EXTRACTION_LOCK = threading.Lock()  # one clip tracked at a time in this process (the tracker is shared)


@dataclass(frozen=True)
class TeachLimits:
    signs: int = 50
    clips_per_sign: int = 100
    clip_seconds: float = 10.0  # uploads; recordings last ``record_seconds``
    total_bytes: int = 2_000_000_000

    @classmethod
    def public(cls) -> TeachLimits:
        """A shared Space: each visitor's folder lives on the Space's small disk until the session ends."""
        return cls(signs=12, clips_per_sign=30, clip_seconds=6.0, total_bytes=150_000_000)


def disk_error(exc: OSError, what: str) -> TeachError:
    reasons = {
        errno.ENOSPC: "the disk is full; free some space",
        errno.EDQUOT: "the disk quota is used up; free some space",
        errno.EROFS: "the folder is on a read-only disk; start the app with --data_dir on a writable disk",
        errno.EACCES: "permission denied; make the folder writable (chmod -R u+w) or use another --data_dir",
        errno.EPERM: "permission denied; make the folder writable (chmod -R u+w) or use another --data_dir",
    }
    reason = reasons.get(exc.errno, f"{exc.strerror or exc}")
    return TeachError(f"cannot {what}: {reason}. Nothing was changed")


def check_sign_name(name: str | None, existing: list[str]) -> str:
    """The builder's folder-name rules, said before anything is written: a sign name is one folder name."""
    label = normalise_label(name or "")  # the builder's: NFC (macOS writes NFD), trimmed
    if not label:
        raise TeachError("a sign needs a name: type the word it means, e.g. hello")
    if label in (".", ".."):
        raise TeachError(f"{label!r} cannot be a sign name (it means a folder itself); use a word, e.g. hello")
    if "/" in label or "\\" in label:
        raise TeachError(
            f"sign name {label!r} has a slash; a sign is one folder, so use e.g. "
            f"{label.replace('/', '-').replace(chr(92), '-')!r}"
        )
    if label.startswith("."):
        raise TeachError(f"sign name {label!r} starts with a dot, which hides the folder; drop the dot")
    if any(unicodedata.category(ch) == "Cc" for ch in label):
        raise TeachError(f"sign name {label!r} has a control character; use letters, digits and spaces")
    if any(unicodedata.category(ch) == "Cf" for ch in label):  # U+202E, U+200B, U+FEFF: look-alike names
        raise TeachError(
            f"sign name {label.encode('ascii', 'backslashreplace').decode()!r} has an invisible formatting "
            "character; type the name again with letters, digits and spaces"
        )
    if len(label) > MAX_SIGN_NAME:
        raise TeachError(f"sign name is {len(label)} characters long; keep it to {MAX_SIGN_NAME}")
    if len(label.encode("utf-8")) > MAX_SIGN_NAME_BYTES:
        raise TeachError(
            f"sign name takes {len(label.encode('utf-8'))} bytes (emoji and accents take several each); keep it to "
            f"{MAX_SIGN_NAME_BYTES}"
        )
    for other in existing:
        if other != label and normalise_label(other).casefold() == label.casefold():
            raise TeachError(
                f"sign {label!r} differs from the existing sign {other!r} only in letter case; the builder would "
                "see them as one sign. Use the existing one or another name"
            )
    return label


class Hands(enum.StrEnum):
    """Whether a clip showed a hand."""

    FOUND = "found"
    NONE = "none"  # kept, left out of training
    UNCHECKED = "unchecked"


@dataclass
class Clip:
    sign: str
    name: str
    path: Path
    hands: Hands
    problem: str | None = None  # why it could not be checked for hands yet (Train checks it again)

    @property
    def key(self) -> str:
        return f"{self.sign}/{self.name}"


class TeachFolder:
    """One person's signs and clips under ``root`` (DATA/<sign>/<clip>), with the limits of where it runs."""

    def __init__(self, root: Path, limits: TeachLimits | None = None, hand_model: str | None = None):
        self.root = Path(root).resolve()
        self.limits = limits or TeachLimits()
        self.hand_model = hand_model
        self.work = self.root / WORK_FOLDER
        self._lock = threading.RLock()  # two tabs of one visitor share this folder
        self._trainings = 0

    # -- signs ------------------------------------------------------------------------------------------------
    def signs(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            (p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=str.casefold
        )

    def sign_dir(self, sign: str | None) -> Path:
        if not sign or sign not in self.signs():
            raise TeachError(f"there is no sign {sign!r}; add it first (or pick one from the list)")
        return self.root / sign

    def add_sign(self, name: str | None) -> str:
        with self._lock:
            existing = self.signs()
            label = check_sign_name(name, existing)
            if label in existing:
                raise TeachError(f"sign {label!r} exists already; pick it in the list to record more clips")
            if len(existing) >= self.limits.signs:
                raise TeachError(f"this folder holds {len(existing)} signs, the most allowed here; delete one first")
            try:
                (self.root / label).mkdir(parents=True)
            except OSError as exc:
                raise disk_error(exc, f"add sign {label!r} in {self.root}") from None
            return label

    def rename_sign(self, old: str | None, new: str | None) -> str:
        with self._lock:
            source = self.sign_dir(old)
            self._refuse_while_training(f"rename sign {old!r}")
            label = check_sign_name(new, [s for s in self.signs() if s != old])
            if label == old:
                return label
            if label in self.signs():
                raise TeachError(f"sign {label!r} exists already; choose another name")
            try:
                os.rename(source, self.root / label)
            except OSError as exc:
                raise disk_error(exc, f"rename sign {old!r}") from None
            return label

    @contextlib.contextmanager
    def training(self):
        """Held while a training reads the folder: signs cannot be deleted or renamed under it."""
        with self._lock:
            self._trainings += 1
        try:
            yield
        finally:
            with self._lock:
                self._trainings -= 1

    def _refuse_while_training(self, what: str) -> None:
        if self._trainings:
            raise TeachError(f"cannot {what} while this folder is training; wait for it to finish or press Cancel")

    def delete_sign(self, sign: str | None) -> None:
        with self._lock:
            source = self.sign_dir(sign)
            # Renamed away first, so a failure half-way never leaves a half sign the builder would train on.
            self._refuse_while_training(f"delete sign {sign!r}")
            trash = self.work / "trash" / str(time.time_ns())  # not named by the sign: any name fits
            try:
                trash.parent.mkdir(parents=True, exist_ok=True)
                os.rename(source, trash)
            except OSError as exc:
                raise disk_error(exc, f"delete sign {sign!r}") from None
            shutil.rmtree(trash, ignore_errors=True)

    # -- clips ------------------------------------------------------------------------------------------------
    def clips(self, sign: str | None = None, hands: bool = True) -> list[Clip]:
        """The clips of ``sign`` (or all), each with whether a hand was found (``hands=False``: not looked up)."""
        found = []
        for name in [sign] if sign else self.signs():
            folder = self.root / name
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if path.name.startswith(".") or not path.is_file():
                    continue
                if path.suffix.lower() in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS | {LANDMARKS_SUFFIX}:
                    status = self._hand_status(name, path) if hands else Hands.UNCHECKED
                    found.append(Clip(name, path.name, path, status))
        return found

    def usage_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file()) if self.root.is_dir() else 0

    def _check_room(self, sign: str, adding: int) -> None:
        count = len(self.clips(sign, hands=False))
        if count >= self.limits.clips_per_sign:
            raise TeachError(f"sign {sign!r} has {count} clips, the most allowed here; delete some before adding more")
        used = self.usage_bytes()
        if used + adding > self.limits.total_bytes:
            raise TeachError(
                f"this folder would hold {(used + adding) / 1e6:.0f} MB, over the "
                f"{self.limits.total_bytes / 1e6:.0f} MB allowed here; delete clips (or signs) first"
            )

    def _new_clip_path(self, sign: str, suffix: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in itertools.count(1):
            path = self.root / sign / f"{stamp}-{n:02d}{suffix}"
            if not path.exists():
                return path
        raise AssertionError("unreachable")

    def save_recording(self, sign: str | None, frames: list[np.ndarray], times: list[float]) -> Clip:
        """Encode a recording as an H.264 MP4 with its real frame times, written atomically."""
        folder = self.sign_dir(sign)
        if not frames:
            raise TeachError(
                "no webcam frames arrived, so nothing was recorded: allow the camera in the browser, start the "
                "webcam preview, then press Record again"
            )
        self._check_span(times)
        data = encode_clip(frames, times, RECORD_SHORTER_SIDE)
        return self._write_clip(folder.name, data, CLIP_SUFFIX)

    def _check_span(self, times) -> float:
        """A recording's frames must span a clip's length at most, in increasing order, before anything is allocated
        from their times (a clip is sized from its span: 30,000 s between two frames was 3 GB)."""
        times = np.asarray(times, np.float64)
        span = float(times[-1] - times[0]) if len(times) else 0.0
        if not np.isfinite(times).all() or (np.diff(times) <= 0).any():
            raise RecordingError("the recording's frame times do not increase; record it again")
        if span > self.limits.clip_seconds:
            raise RecordingError(
                f"the recording's frames span {span:.3g} s, over the {self.limits.clip_seconds:g} s a clip may last "
                "here; record it again"
            )
        return span

    def save_landmarks(self, sign: str | None, frames: list[np.ndarray], times: list[float]) -> Clip:
        """A recording tracked in the visitor's browser: its landmark frames (258 values each) as
        ``DATA/<sign>/<clip>.npy``, spaced evenly at the builder's keypoint rate (a saved .npy carries no times), so
        the builder reads it as it reads any saved keypoints. No picture is stored."""
        folder = self.sign_dir(sign)
        if not frames:
            raise TeachError(
                "no hand landmarks arrived, so nothing was recorded: allow the camera in the browser, wait for the "
                "tracker to start, then press Record again"
            )
        span = self._check_span(times)
        length = max(1, round(span * DEFAULT_KEYPOINTS_FPS) + 1)
        values = resample(np.stack(frames).astype(np.float32), np.asarray(times, np.float64), length)
        buffer = io.BytesIO()
        np.save(buffer, values)
        clip = self._write_clip(folder.name, buffer.getvalue(), LANDMARKS_SUFFIX)
        clip.hands = Hands.FOUND if hands_present(values).any() else Hands.NONE
        return clip

    def import_file(self, sign: str | None, path: str | Path) -> Clip:
        """An uploaded video or photo, checked (readable, not too long), then copied in atomically."""
        folder = self.sign_dir(sign)
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
            raise TeachError(f"{path.name}: not a clip or photo SignSpace reads; use MP4, WebM, MOV, JPEG or PNG")
        try:
            if suffix in IMAGE_EXTENSIONS:
                decode_image(path, name=path.name, max_pixels=MAX_PHOTO_PIXELS)
            else:
                try:  # decoding stops just past the limit: an hour-long upload costs no more than a clip
                    seconds = video_seconds(path, max_seconds=self.limits.clip_seconds)
                except VideoTooLong:
                    seconds = None
                if seconds is None or seconds > self.limits.clip_seconds:
                    length = f"more than {self.limits.clip_seconds:g}" if seconds is None else f"{seconds:.1f}"
                    raise TeachError(
                        f"{path.name} lasts {length} s; a clip holds one sign, at most {self.limits.clip_seconds:g} s "
                        "here. Trim it and upload again"
                    )
        except ImageTooLarge as exc:
            raise TeachError(str(exc)) from None
        except ImageDecodeError as exc:
            raise TeachError(f"{path.name}: cannot be read ({str(exc).removeprefix(path.name + ': ')})") from None
        except VIDEO_ERRORS as exc:
            raise TeachError(f"{path.name}: not a video FFmpeg can decode ({type(exc).__name__})") from None
        return self._write_clip(folder.name, path.read_bytes(), ".jpg" if suffix == ".jpeg" else suffix)

    def _write_clip(self, sign: str, data: bytes, suffix: str) -> Clip:
        with self._lock:
            self._check_room(sign, len(data))
            target = self._new_clip_path(sign, suffix)
            try:
                write_bytes_atomic(target, data)
            except OSError as exc:
                raise disk_error(exc, f"save the clip in {self.root / sign}") from None
        return Clip(sign, target.name, target, Hands.UNCHECKED)

    def delete_clip(self, sign: str | None, name: str | None) -> None:
        folder = self.sign_dir(sign)
        target = folder / (name or "")
        if not name or "/" in name or name.startswith(".") or not target.is_file():
            raise TeachError(f"sign {sign!r} has no clip {name!r}; pick one from its list")
        try:
            target.unlink()
        except OSError as exc:
            raise disk_error(exc, f"delete clip {sign}/{name}") from None

    # -- landmarks --------------------------------------------------------------------------------------------
    def settings(self):
        return SequenceSettings(hand_model=self.hand_model, cache_dir=str(self.work / "landmarks"))

    def _item(self, sign: str, path: Path) -> WorkItem:
        return file_item(sign, path, f"{sign}/{path.name}")

    def _hand_status(self, sign: str, path: Path) -> Hands:
        if path.suffix.lower() == LANDMARKS_SUFFIX:  # tracked already: a few KB to read
            try:
                return Hands.FOUND if hands_present(load_npy(path, f"{sign}/{path.name}")).any() else Hands.NONE
            except KeypointError:
                return Hands.UNCHECKED  # the builder will say what is wrong with it
        item = self._item(sign, path)
        if item.kind is Source.IMAGE:
            return Hands.UNCHECKED
        hit = cached_landmarks(item, self.settings())
        if hit is None:
            return Hands.UNCHECKED
        return Hands.FOUND if hands_present(hit[0]).any() else Hands.NONE

    def add_recording(self, sign: str | None, frames: list[np.ndarray], times: list[float]) -> Clip:
        """Save a recording (``save_recording``), then look for hands in it at once."""
        return self.check_hands(self.save_recording(sign, frames, times))

    def add_file(self, sign: str | None, path: str | Path) -> Clip:
        """Copy in an uploaded clip or photo (``import_file``), then look for hands in a clip at once."""
        return self.check_hands(self.import_file(sign, path))

    def check_hands(self, clip: Clip) -> Clip:
        """Track a stored clip now, so Train only tracks what is new (photos are tracked when training). A clip
        that cannot be checked stays stored, unchecked, with ``problem`` saying why."""
        if clip.path.suffix.lower() in IMAGE_EXTENSIONS | {LANDMARKS_SUFFIX}:
            return clip
        try:
            self.extract(clip)
        except SignSpaceError as exc:
            clip.problem = str(exc)
        return clip

    def extract(self, clip: Clip) -> str:
        """Track one clip now (the builder's own code and cache), so Train only tracks what is new."""
        with EXTRACTION_LOCK:
            try:
                result = decode_sequence(self._item(clip.sign, clip.path), self.settings())
            finally:
                close_process_tracker()
        if result.skip and not result.no_hand_clip:
            raise TeachError(f"{clip.key}: {result.skip['reason']}")
        clip.hands = Hands.NONE if result.skip else Hands.FOUND
        return clip.hands
