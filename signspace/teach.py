"""The Teach tab's logic: a data folder of signs and clips, recording, incremental extraction, one training queue.

Everything is written in the folder layout ``train/build_dataset.py`` reads (``DATA/<sign>/<clip>.mp4``), so a
folder recorded here trains later with the scripts unchanged. The app's own work lives in ``DATA/.signspace/``
(hidden from the builder): the landmark cache, the last built dataset and the trained models.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import SignSpaceError
from .scan import normalise_label
from .video import VideoTooLong, encode_clip, video_seconds

logger = logging.getLogger(__name__)

WORK_FOLDER = ".signspace"  # inside the data folder; the builder skips hidden entries
CLIP_SUFFIX = ".mp4"
MAX_SIGN_NAME = 64
MAX_SIGN_NAME_BYTES = 200  # a folder name may hold 255 bytes; room for the suffixes we and file systems add
RECORD_SHORTER_SIDE = 720  # a 4K webcam frame is stored at 720p: hands stay sharp, clips stay small
# Same as the builder's defaults, so the scripts and the page build the same dataset from the same folder.
VAL_SIZE = 0.2
MIN_CLIPS_FOR_SCORE = 2  # per sign: one to train on, one to validate with
EXTRACTION_LOCK = threading.Lock()  # one clip tracked at a time in this process (the tracker is shared)


class TeachError(SignSpaceError, ValueError):
    """A Teach-tab action that cannot be done; the message says what to do instead."""


class TrainingCancelled(SignSpaceError):
    """The visitor cancelled the training job (or closed the tab)."""


@dataclass(frozen=True)
class TeachLimits:
    signs: int = 50
    clips_per_sign: int = 100
    clip_seconds: float = 10.0  # uploads; recordings last ``record_seconds``
    total_bytes: int = 2_000_000_000

    @classmethod
    def public(cls) -> "TeachLimits":
        """A shared Space: each visitor's folder lives on the Space's small disk until the session ends."""
        return cls(signs=12, clips_per_sign=30, clip_seconds=6.0, total_bytes=150_000_000)


def _disk_error(exc: OSError, what: str) -> TeachError:
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


@dataclass
class Clip:
    sign: str
    name: str
    path: Path
    hands: str  # "found", "none" (kept, excluded from training), "unchecked"

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
                raise _disk_error(exc, f"add sign {label!r} in {self.root}") from None
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
                raise _disk_error(exc, f"rename sign {old!r}") from None
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
                raise _disk_error(exc, f"delete sign {sign!r}") from None
            shutil.rmtree(trash, ignore_errors=True)

    # -- clips ------------------------------------------------------------------------------------------------
    def clips(self, sign: str | None = None, hands: bool = True) -> list[Clip]:
        """The clips of ``sign`` (or all), each with whether a hand was found (``hands=False``: not looked up)."""
        from .imaging import IMAGE_EXTENSIONS
        from .scan import VIDEO_EXTENSIONS

        found = []
        for name in [sign] if sign else self.signs():
            folder = self.root / name
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if path.name.startswith(".") or not path.is_file():
                    continue
                if path.suffix.lower() in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
                    status = self._hand_status(name, path) if hands else "unchecked"
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
        data = encode_clip(frames, times, RECORD_SHORTER_SIDE)
        return self._write_clip(folder.name, data, CLIP_SUFFIX)

    def import_file(self, sign: str | None, path: str | Path) -> Clip:
        """An uploaded video or photo, checked (readable, not too long), then copied in atomically."""
        from .imaging import IMAGE_EXTENSIONS, ImageDecodeError, decode_image
        from .scan import VIDEO_EXTENSIONS
        from .video import VIDEO_ERRORS

        folder = self.sign_dir(sign)
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
            raise TeachError(f"{path.name}: not a clip or photo SignSpace reads; use MP4, WebM, MOV, JPEG or PNG")
        try:
            if suffix in IMAGE_EXTENSIONS:
                decode_image(path, name=path.name)
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
        except ImageDecodeError as exc:
            raise TeachError(f"{path.name}: cannot be read ({str(exc).removeprefix(path.name + ': ')})") from None
        except VIDEO_ERRORS as exc:
            raise TeachError(f"{path.name}: not a video FFmpeg can decode ({type(exc).__name__})") from None
        return self._write_clip(folder.name, path.read_bytes(), ".jpg" if suffix == ".jpeg" else suffix)

    def _write_clip(self, sign: str, data: bytes, suffix: str) -> Clip:
        from .atomic import write_bytes_atomic

        with self._lock:
            self._check_room(sign, len(data))
            target = self._new_clip_path(sign, suffix)
            try:
                write_bytes_atomic(target, data)
            except OSError as exc:
                raise _disk_error(exc, f"save the clip in {self.root / sign}") from None
        return Clip(sign, target.name, target, "unchecked")

    def delete_clip(self, sign: str | None, name: str | None) -> None:
        folder = self.sign_dir(sign)
        target = folder / (name or "")
        if not name or "/" in name or name.startswith(".") or not target.is_file():
            raise TeachError(f"sign {sign!r} has no clip {name!r}; pick one from its list")
        try:
            target.unlink()
        except OSError as exc:
            raise _disk_error(exc, f"delete clip {sign}/{name}") from None

    # -- landmarks --------------------------------------------------------------------------------------------
    def settings(self):
        from .builder import SequenceSettings

        return SequenceSettings(hand_model=self.hand_model, cache_dir=str(self.work / "landmarks"))

    def _item(self, sign: str, path: Path):
        from .scan import VIDEO_EXTENSIONS, WorkItem

        kind = "video" if path.suffix.lower() in VIDEO_EXTENSIONS else "image"
        return WorkItem(sign, path, f"{sign}/{path.name}", f"{sign}/{path.name}", kind)

    def _hand_status(self, sign: str, path: Path) -> str:
        from .builder import cached_landmarks
        from .landmarks import hands_present

        item = self._item(sign, path)
        if item.kind == "image":
            return "unchecked"
        hit = cached_landmarks(item, self.settings())
        if hit is None:
            return "unchecked"
        return "found" if hands_present(hit[0]).any() else "none"

    def extract(self, clip: Clip) -> str:
        """Track one clip now (the builder's own code and cache), so Train only tracks what is new."""
        from .builder import close_process_tracker, decode_sequence

        with EXTRACTION_LOCK:
            try:
                result = decode_sequence(self._item(clip.sign, clip.path), self.settings())
            finally:
                close_process_tracker()
        if result.skip and not result.skip["reason"].startswith("no hand"):
            raise TeachError(f"{clip.key}: {result.skip['reason']}")
        clip.hands = "none" if result.skip else "found"
        return clip.hands


# -- recording ---------------------------------------------------------------------------------------------------
@dataclass
class Recorder:
    """Collects streamed webcam frames for one clip: a countdown, then ``seconds`` of frames with their times."""

    countdown: float = 3.0
    seconds: float = 2.0
    max_frames: int = 120  # 60 frames a second: a client streaming faster cannot fill the server's memory
    sign: str | None = None
    starts_at: float | None = None
    frames: list = field(default_factory=list)
    times: list = field(default_factory=list)

    def arm(self, sign: str, now: float) -> None:
        if self.phase(now)[0] in ("countdown", "recording"):
            raise TeachError("a recording is running already: wait for it to finish, then record the next clip")
        self.sign, self.starts_at, self.frames, self.times = sign, now + self.countdown, [], []

    def phase(self, now: float) -> tuple[str, float]:
        """("idle"|"countdown"|"recording"|"done", seconds left in that phase)."""
        if self.starts_at is None:
            return "idle", 0.0
        if now < self.starts_at:
            return "countdown", self.starts_at - now
        if now < self.starts_at + self.seconds:
            return "recording", self.starts_at + self.seconds - now
        return "done", 0.0

    def feed(self, frame, now: float) -> str:
        phase, _ = self.phase(now)
        if phase == "recording" and frame is not None and len(self.frames) < self.max_frames:
            self.frames.append(frame)
            self.times.append(now)
        return phase

    def take(self) -> tuple[str | None, list, list]:
        taken = (self.sign, self.frames, self.times)
        self.sign, self.starts_at, self.frames, self.times = None, None, [], []
        return taken


# -- one training job at a time ----------------------------------------------------------------------------------
@dataclass
class Job:
    key: str  # the data folder: two tabs training it at once would race on its dataset and models
    owner: str
    run: Callable[["Job"], object]
    id: int = 0
    state: str = "queued"  # queued, running, done, failed, cancelled
    fraction: float = 0.0
    stage: str = "waiting for its turn"
    result: object = None
    error: BaseException | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done_event: threading.Event = field(default_factory=threading.Event)

    def report(self, fraction: float, stage: str) -> None:
        """Called by the work as it goes; raises TrainingCancelled once the job is cancelled."""
        if self.cancel_event.is_set():
            raise TrainingCancelled("training cancelled")
        self.fraction, self.stage = max(0.0, min(1.0, fraction)), stage

    @property
    def finished(self) -> bool:
        return self.done_event.is_set()


class TrainingQueue:
    """One training job at a time for the whole app (2 CPU cores: two at once would each run ~10x slower)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: deque[Job] = deque()
        self._running: Job | None = None
        self._ids = itertools.count(1)
        self._wake = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None

    def submit(self, key: str, owner: str, run: Callable[[Job], object]) -> Job:
        with self._lock:
            for job in [self._running, *self._waiting]:
                if job is not None and job.key == key and not job.cancel_event.is_set():
                    raise TeachError(
                        "these signs are training already (from another tab or window of yours); wait for that "
                        "training to finish, or cancel it there"
                    )
            job = Job(key, owner, run, id=next(self._ids))
            self._waiting.append(job)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="signspace-teach", daemon=True)
                self._worker.start()
            self._wake.notify()
            return job

    def position(self, job: Job) -> int:
        """0 while running (or finished), else how many jobs run before it."""
        with self._lock:
            if job in self._waiting:
                return list(self._waiting).index(job) + (1 if self._running else 0)
            return 0

    def cancel(self, job: Job) -> None:
        with self._lock:
            job.cancel_event.set()
            if job in self._waiting:
                self._waiting.remove(job)
                job.state = "cancelled"
                job.done_event.set()

    def cancel_owner(self, owner: str) -> None:
        """The visitor left (tab closed): their waiting and running jobs stop, freeing the queue."""
        with self._lock:
            jobs = [j for j in [self._running, *self._waiting] if j is not None and j.owner == owner]
        for job in jobs:
            self.cancel(job)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting:
                    if not self._wake.wait(timeout=60):
                        self._worker = None
                        return
                job = self._running = self._waiting.popleft()
                job.state = "running"
            try:
                job.result = job.run(job)
                job.state = "done"
            except TrainingCancelled as exc:
                job.state, job.error = "cancelled", exc
            except BaseException as exc:  # reported to the visitor; the queue goes on with the next job
                if not isinstance(exc, SignSpaceError):
                    logger.exception("training job %s failed", job.id)
                job.state, job.error = "failed", exc
            finally:
                with self._lock:
                    self._running = None
                job.done_event.set()


# -- training ----------------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    model_dir: Path
    labels: list[str]
    accuracy: float | None  # None: too few clips for a validation split, so the score is unknown
    per_sign: dict[str, float | None]
    validation_clips: int
    confusion_image: Path | None
    excluded: list[str]  # clips without a hand, left out of training
    extraction_seconds: float
    training_seconds: float
    warnings: list[str] = field(default_factory=list)
    people: int = 1  # who signed the training clips: one person unless the dataset says otherwise

    @property
    def one_person_note(self) -> str | None:
        if self.people != 1:
            return None
        return (
            "Recorded by one person: the score is on new clips of the same person. Expect lower accuracy for "
            "others; add clips from more people before you share the model."
        )


# Every clip in a Teach folder is the visitor's own: the dataset, model card and page say "one person".
TEACH_SIGNER = "teach-tab recorder"


def check_ready(folder: TeachFolder) -> tuple[list[str], list[str]]:
    """(signs to train, clips excluded for having no hand); a folder that cannot train says what to record."""
    signs = folder.signs()
    if len(signs) < 2:
        raise TeachError(
            f"training needs at least two signs (this folder has {len(signs)}): add another sign and record a few "
            "clips of it; a recognizer tells signs apart"
        )
    clips = folder.clips()
    empty = [s for s in signs if not any(c.sign == s for c in clips)]
    if empty:
        raise TeachError(
            f"sign(s) {', '.join(map(repr, empty))} have no clips yet: record a few (10 or more is best) or delete "
            "the sign"
        )
    excluded = [c.key for c in clips if c.hands == "none"]
    without_hand = [s for s in signs if all(c.hands == "none" for c in clips if c.sign == s)]
    if without_hand:
        raise TeachError(
            f"no hand was found in any clip of {', '.join(map(repr, without_hand))}: record again with your hands "
            "in view and well lit"
        )
    return signs, excluded


def run_training(
    folder: TeachFolder, job: Job, seed: int = 42, epochs: int | None = None, num_proc: int | None = None
) -> TrainResult:
    """Build the landmark dataset with the builder's code (cached clips are not tracked again), then train the
    sequence model with finetune's code, into ``DATA/.signspace/models/<time>``; progress and cancel via ``job``.
    Signs cannot be deleted or renamed meanwhile."""
    with folder.training():
        return _train(folder, job, seed, epochs, num_proc)


def _train(folder: TeachFolder, job: Job, seed: int, epochs: int | None, num_proc: int | None) -> TrainResult:
    from transformers import TrainerCallback

    from . import build_dataset, finetune

    signs, excluded = check_ready(folder)
    if num_proc is None:  # a second tracking process pays off only when there is tracking to do
        untracked = sum(c.hands == "unchecked" for c in folder.clips())
        num_proc = min(2, os.cpu_count() or 1) if untracked >= 4 else 1
    work = folder.work
    dataset_dir, models = work / "dataset", work / "models"
    started = time.monotonic()

    def extracted(done: int, total: int) -> None:
        job.report(0.3 * done / max(total, 1), f"finding hands in clip {done} of {total}")

    job.report(0.0, "finding hands in the clips")
    argv = [
        "--data_dir", str(folder.root), "--output_dir", str(dataset_dir), "--features", "landmarks",
        "--val_size", str(VAL_SIZE), "--test_size", "0", "--seed", str(seed), "--num_proc", str(num_proc),
        "--overwrite", "--landmark_cache", str(work / "landmarks"), "--signer", TEACH_SIGNER,
    ]  # fmt: skip
    if folder.hand_model:
        argv += ["--hand_model", str(folder.hand_model)]
    with EXTRACTION_LOCK:
        try:
            build_dataset.main(argv, progress=extracted)
        except OSError as exc:
            raise _disk_error(exc, f"write the dataset in {dataset_dir}") from None
    extraction_seconds = time.monotonic() - started

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            total = max(state.max_steps, 1)
            job.report(0.3 + 0.68 * state.global_step / total, f"training: step {state.global_step} of {total}")

        on_evaluate = on_step_end  # checked between steps too: a cancel is seen within one step

    stamp = time.strftime("signs-%Y%m%d-%H%M%S")
    name = next(n for n in (f"{stamp}-{i}" if i else stamp for i in itertools.count()) if not (models / n).exists())
    partial = models / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    argv = [
        "--dataset_dir", str(dataset_dir), "--output_dir", str(partial), "--seed", str(seed),
        "--disable_tqdm", "true", "--report_to", "none", "--save_total_limit", "1",
    ]  # fmt: skip
    if epochs:
        argv += ["--num_train_epochs", str(epochs)]
    training_started = time.monotonic()
    job.report(0.3, "training the sequence model")
    try:
        finetune.main(argv, callbacks=[Progress()])
        for checkpoint in partial.glob("checkpoint-*"):  # the app needs the final model only
            shutil.rmtree(checkpoint, ignore_errors=True)
        target = models / name
        os.replace(partial, target)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _disk_error(exc, f"write the model in {models}") from None
        raise
    training_seconds = time.monotonic() - training_started
    job.report(1.0, "done")

    metrics = json.loads((target / "metrics.json").read_text())
    report = json.loads((dataset_dir / "build_report.json").read_text())
    validation_counts = report["counts"].get("validation", {})
    has_score = metrics["eval_split"] == "validation" and sum(validation_counts.values()) > 0
    per_class = metrics["validation"]["per_class"] if has_score else {}
    per_sign = {sign: (per_class[sign]["recall"] if per_class.get(sign, {}).get("support") else None) for sign in signs}
    warnings = []
    if not has_score:
        warnings.append(
            f"score unknown: too few clips to keep any aside for validation (record at least {MIN_CLIPS_FOR_SCORE} "
            "per sign, 10 for a score worth reading)"
        )
    elif any(v is None for v in per_sign.values()):
        missing = [s for s, v in per_sign.items() if v is None]
        warnings.append(f"no validation clip for {', '.join(map(repr, missing))}: their score is unknown")
    return TrainResult(
        model_dir=target,
        labels=signs,
        accuracy=metrics["validation"]["accuracy"] if has_score else None,  # eval_split is validation (no test)
        per_sign=per_sign,
        validation_clips=sum(validation_counts.values()),
        confusion_image=(target / "confusion_matrix.png") if has_score else None,
        excluded=sorted(set(excluded) | {s for s in report["hands"]["no_hand_clips"]}),
        extraction_seconds=extraction_seconds,
        training_seconds=training_seconds,
        warnings=warnings,
        people=(metrics.get("signers") or {}).get("trained_people", 1),
    )


def trained_models(folder: TeachFolder) -> list[Path]:
    """Models trained in this folder, newest first (a cancelled or crashed training leaves none)."""
    models = folder.work / "models"
    if not models.is_dir():
        return []
    found = [p for p in models.iterdir() if not p.name.startswith(".") and (p / "config.json").is_file()]
    return sorted(found, key=lambda p: p.name, reverse=True)


# -- the models a visitor can pick in the Live tab ----------------------------------------------------------------
class ModelShelf:
    """The app's own model, then the ones trained in the Teach tab (loaded when first picked)."""

    def __init__(self, base, base_name: str, load: Callable[[Path], object] | None = None):
        self.entries: dict[str, object] = {base_name: base}
        self.current = base_name
        self._load = load
        self._owned: list = []

    def names(self) -> list[str]:
        return list(self.entries)

    def add(self, name: str, model: object, select: bool = True) -> None:
        """``model``: a predictor, or the folder of a trained model (loaded on first use)."""
        self.entries[name] = model
        if select:
            self.select(name)

    def select(self, name: str | None) -> None:
        if name not in self.entries:
            raise TeachError(f"there is no model {name!r} to pick; train one in the Teach tab first")
        entry = self.entries[name]
        if isinstance(entry, Path):
            entry = self.entries[name] = self._load(entry)
            self._owned.append(entry)
        self.current = name

    @property
    def predictor(self):
        return self.entries[self.current]

    def close(self) -> None:
        for predictor in self._owned:  # the app's own model is shared by every visitor: never closed here
            predictor.close()
        self._owned.clear()


# -- publishing ------------------------------------------------------------------------------------------------
def on_hf_space() -> bool:
    """Sign in with Hugging Face exists only on a Space (Gradio fakes it elsewhere, with the server's own token)."""
    return bool(os.environ.get("SPACE_ID"))


def publish_token(oauth_token: str | None, per_visitor: bool) -> str:
    """The visitor's own token on a shared Space (never the Space owner's), else HF_TOKEN / `hf auth login`."""
    from . import hub

    if oauth_token:
        return oauth_token
    if per_visitor and on_hf_space():
        raise TeachError(
            "publishing uses your own Hugging Face account: press 'Sign in with Hugging Face' first, then Publish"
        )
    if per_visitor:
        raise TeachError(
            "publishing from a shared server needs 'Sign in with Hugging Face', which only a Hugging Face Space "
            "offers; run SignSpace on your own computer to publish with your own token"
        )
    return hub.require_token()


def check_publish_ids(dataset_repo: str | None, model_repo: str | None) -> tuple[str, str]:
    from .errors import ConfigError
    from .hub import check_repo_id

    try:
        return check_repo_id((dataset_repo or "").strip(), "dataset repo"), check_repo_id(
            (model_repo or "").strip(), "model repo"
        )
    except ConfigError as exc:
        raise TeachError(str(exc)) from None


def deploy_command(model_repo: str, private: bool) -> str:
    owner, name = model_repo.split("/", 1)
    flags = " --private" if private else ""
    return f"python space/deploy.py --space_id {owner}/{name}-demo --model_id {model_repo}{flags}"


def publish(
    folder: TeachFolder, model_dir: Path, dataset_repo: str, model_repo: str, token: str, private: bool = True
) -> dict[str, str]:
    """The recordings with their landmark dataset, then the model, each as one commit; returns their URLs."""
    import datasets

    from . import hub
    from .build_dataset import BuildConfig
    from .build_dataset import publish as publish_dataset

    dataset_repo, model_repo = check_publish_ids(dataset_repo, model_repo)
    model_dir = Path(model_dir)
    dataset_dir = folder.work / "dataset"
    if not (model_dir / "config.json").is_file() or not dataset_dir.is_dir():
        raise TeachError("there is nothing to publish yet: press Train first")
    hub.require_reachable(
        "publish", f"Your signs and model stay in {folder.root}; publish again when the Hub can be reached"
    )
    report = json.loads((dataset_dir / "build_report.json").read_text())
    config = BuildConfig(
        data_dir=str(folder.root),
        output_dir=str(dataset_dir),
        features="landmarks",
        hub_dataset_id=dataset_repo,
        hub_private_repo=private,
        source_description="Recorded with a webcam in SignSpace's Teach tab; the clips are in clips/<sign>/.",
    )

    def add_clips(staging: Path) -> None:  # the recordings themselves: train images or landmarks from them later
        for clip in folder.clips():
            target = staging / "clips" / clip.sign / clip.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(clip.path, target)

    dataset_url = publish_dataset(
        config,
        datasets.load_from_disk(str(dataset_dir)),
        report,
        token,
        add_clips,
        remedy=f"your signs and model stay in {folder.root}; press Publish again",
    )
    with tempfile.TemporaryDirectory(prefix="signspace-model-") as staging:
        staged = Path(staging) / "model"
        shutil.copytree(model_dir, staged, ignore=shutil.ignore_patterns("checkpoint-*", ".*"))
        card = staged / "README.md"
        if card.is_file():  # the card was written before the model had a Hub name
            partial = model_dir.parent / f".{model_dir.name}.partial"
            text = card.read_text(encoding="utf-8")
            card.write_text(text.replace(str(partial), model_repo).replace(str(model_dir), model_repo), "utf-8")
        model_url = hub.push_folder(
            staged,
            model_repo,
            token=token,
            private=private,
            commit_message="Upload sign recognizer trained in SignSpace's Teach tab",
            remedy=f"the model is saved in {model_dir}; press Publish again",
        )
    return {"dataset": dataset_url, "model": model_url, "deploy": deploy_command(model_repo, private)}


# -- one visitor ---------------------------------------------------------------------------------------------------
@dataclass
class TeachSession:
    """A visitor's Teach-tab state: their folder, recorder, models and training job. On a shared Space the folder
    is theirs alone and ``close()`` (session end) removes it; locally the folder is the user's and stays."""

    folder: TeachFolder
    shelf: ModelShelf
    owner: str
    per_visitor: bool
    queue: TrainingQueue
    recorder: Recorder = field(default_factory=Recorder)
    job: Job | None = None
    result: TrainResult | None = None
    pending: tuple | None = None  # a recording the disk refused: kept until it is saved
    closed: bool = False
    _tracker: object = None

    def preview_tracker(self):
        """This visitor's VIDEO-mode tracker for the hands preview while recording (made on first use)."""
        if self._tracker is None:
            from .hands import HandTracker

            self._tracker = HandTracker(self.folder.hand_model)
        return self._tracker

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.queue.cancel_owner(self.owner)
        if self.job is not None and not self.job.finished:
            self.job.done_event.wait(timeout=30)  # a cancelled job stops within one training step
        self.shelf.close()
        if self._tracker is not None:
            self._tracker.close()
        if self.per_visitor:
            shutil.rmtree(self.folder.root, ignore_errors=True)

    def train(self, **kwargs) -> Job:
        check_ready(self.folder)  # a folder that cannot train says so at once, not after waiting in the queue
        self.job = self.queue.submit(
            str(self.folder.root), self.owner, lambda job: run_training(self.folder, job, **kwargs)
        )
        return self.job
