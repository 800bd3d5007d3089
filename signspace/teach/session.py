"""The Teach tab's training, model shelf, publishing and per-visitor session (the folder is ``folder.py``,
the job queue ``jobs.py``).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from signspace.core import hub
from signspace.core.errors import ConfigError, RecordingError, TeachError
from signspace.core.hands import HandTracker
from signspace.core.hub import check_repo_id
from signspace.core.labels import BACKGROUND_LABEL, display_labels
from signspace.serve.browser import LandmarkMessageError, parse_message
from signspace.serve.pacing import FrameRate
from signspace.teach.folder import EXTRACTION_LOCK, Clip, Hands, TeachFolder, disk_error
from signspace.teach.jobs import Job, TrainingQueue
from signspace.teach.recorder import Phase, Recorder

logger = logging.getLogger(__name__)

# A validation share and no test split: a folder of one person's clips keeps the most for training and still gets a
# score (the builder's own defaults, 0.15/0.15, are for datasets large enough to spare a test split).
VAL_SIZE = 0.2
MIN_CLIPS_FOR_SCORE = 2  # per sign: one to train on, one to validate with
LANDMARKS_GRACE_SECONDS = 0.6  # landmark messages arrive up to one send interval (0.32 s) after their frames


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
    excluded = [c.key for c in clips if c.hands is Hands.NONE]
    without_hand = [s for s in signs if all(c.hands is Hands.NONE for c in clips if c.sign == s)]
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
    # The training stack (transformers' Trainer, datasets, scikit-learn) is imported when Teach first trains, so
    # the app's start-up does not pay for it (issue 26).
    from transformers import TrainerCallback

    from signspace.data import build_dataset
    from signspace.train import finetune
    from signspace.train.dataset_io import load_sign_dataset
    from signspace.train.tasks import task_for

    signs, excluded = check_ready(folder)
    if num_proc is None:  # a second tracking process pays off only when there is tracking to do
        untracked = sum(c.hands is Hands.UNCHECKED for c in folder.clips())
        num_proc = min(2, os.cpu_count() or 1) if untracked >= 4 else 1
    work = folder.work
    dataset_dir, models = work / "dataset", work / "models"
    started = time.monotonic()

    def extracted(done: int, total: int) -> None:
        job.report(0.3 * done / max(total, 1), f"finding hands in clip {done} of {total}")

    job.report(0.0, "finding hands in the clips")
    config = build_dataset.BuildConfig(
        data_dir=str(folder.root),
        output_dir=str(dataset_dir),
        features="landmarks",
        val_size=VAL_SIZE,
        test_size=0,
        seed=seed,
        num_proc=num_proc,
        overwrite=True,
        landmark_cache=str(work / "landmarks"),
        signer=TEACH_SIGNER,
        hand_model=str(folder.hand_model) if folder.hand_model else None,
    )
    with EXTRACTION_LOCK:
        try:
            report = build_dataset.build(config, progress=extracted).report
        except OSError as exc:
            raise disk_error(exc, f"write the dataset in {dataset_dir}") from None
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
    dataset = load_sign_dataset(str(dataset_dir), None, None)  # as the script reads it: the same metrics
    task = task_for(dataset)
    options = dict(output_dir=str(partial), seed=seed, disable_tqdm=True, report_to="none", save_total_limit=1)
    if epochs:
        options["num_train_epochs"] = epochs
    args = finetune.training_arguments(task, finetune.has_validation_split(dataset), **options)
    training_started = time.monotonic()
    job.report(0.3, "training the sequence model")
    try:
        metrics = finetune.train(
            dataset, finetune.DataArguments(dataset_dir=str(dataset_dir)), finetune.ModelArguments(), args, [Progress()]
        )
        for checkpoint in partial.glob("checkpoint-*"):  # the app needs the final model only
            shutil.rmtree(checkpoint, ignore_errors=True)
        target = models / name
        os.replace(partial, target)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, OSError):
            raise disk_error(exc, f"write the model in {models}") from None
        raise
    training_seconds = time.monotonic() - training_started
    job.report(1.0, "done")

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


def keep_personal_clips(folder: TeachFolder, clips) -> list:
    """A visitor's "That was ..." clips ((frames x 258, times, sign as the page shows it)) as Teach clips of those
    signs (landmarks, ``DATA/<sign>/<clip>.npy``, added where missing): the Teach tab trains on them and publishes
    them like any recording. "not a sign" goes to the builder's ``not-a-sign`` folder."""
    saved = []
    for sequence, times, label in clips:
        sign = BACKGROUND_LABEL if label == display_labels([BACKGROUND_LABEL])[0] else label
        if sign not in folder.signs():
            folder.add_sign(sign)
        saved.append(folder.save_landmarks(sign, list(sequence), list(times)))
    return saved


def trained_models(folder: TeachFolder) -> list[Path]:
    """Models trained in this folder, newest first (a cancelled or crashed training leaves none)."""
    models = folder.work / "models"
    if not models.is_dir():
        return []
    found = [p for p in models.iterdir() if not p.name.startswith(".") and (p / "config.json").is_file()]
    return sorted(found, key=lambda p: p.name, reverse=True)


# -- the models a visitor can pick in the Live tab ----------------------------------------------------------------
class SharedModel:
    """A model every visitor may pick (the starter shipped with the app): loaded once, when first picked, and shared
    by every visitor's shelf; closed with the app, never with a visitor."""

    def __init__(self, load: Callable[[], object]):
        self._load, self._loaded, self._lock = load, None, threading.Lock()

    def get(self):
        with self._lock:  # two visitors picking it at once load it once
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def close(self) -> None:
        with self._lock:
            if self._loaded is not None:
                self._loaded.close()
                self._loaded = None


class ModelShelf:
    """The app's own model, the ones every visitor may pick (``SharedModel``), then the ones trained in the Teach tab
    (loaded when first picked)."""

    def __init__(self, base, base_name: str, load: Callable[[Path], object] | None = None):
        self.entries: dict[str, object] = {base_name: base}
        self.current = base_name
        self._load = load
        self._owned: list = []

    def names(self) -> list[str]:
        return list(self.entries)

    def add(self, name: str, model: object, select: bool = True) -> None:
        """``model``: a predictor, a ``SharedModel``, or the folder of a trained model (loaded on first use)."""
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

    def personalise(self, predictor) -> None:
        """The current model, adapted to this visitor (``SequencePredictor.adapt``), replaces it on this shelf only:
        every other visitor keeps the model as trained, and it is gone when this visitor's session closes."""
        self.entries[self.current] = predictor
        self._owned.append(predictor)  # an adapted copy closes only the trackers it made

    @property
    def predictor(self):
        entry = self.entries[self.current]
        return entry.get() if isinstance(entry, SharedModel) else entry

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
    import datasets  # the publishing stack, imported when Teach first publishes (as _train's)

    from signspace.data.build_dataset import BuildConfig
    from signspace.data.build_dataset import publish as publish_dataset

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
    records_landmarks: bool = False  # recordings tracked in the visitor's browser: landmarks stored, no video
    rate: FrameRate = field(default_factory=FrameRate)  # landmark frames from the browser: at most so many a second
    page_time: float | None = None  # the newest frame time the visitor's page sent (its clock: frames must come later)
    closed: bool = False
    _tracker: HandTracker | None = None
    check: Callable[[TeachFolder], object] = check_ready  # says at once what a folder that cannot train lacks
    run: Callable[..., TrainResult] = run_training

    def feed_landmarks(self, message, now: float) -> dict:
        """Landmark frames tracked in the visitor's browser (landmarks-only recording), kept while a recording runs,
        on this server's clock (``now``): the newest frame of a message was taken about now, the others as much
        earlier as the page's times say. The page's times order its frames and space them within a message, never
        the clip's length. Answers the page: ``ack``, or ``refused`` with the reason; a refused message changes
        nothing."""
        try:
            frames = parse_message(message, self.page_time)
            self.rate.admit([at for at, _ in frames])
        except LandmarkMessageError as exc:
            return {"refused": str(exc)}
        newest = self.page_time = frames[-1][0]
        if self.records_landmarks:  # else the visitor chose the video: the recording is the server webcam's frames
            for at, values in frames:
                self.recorder.feed(values, now - (newest - at))
        return {"ack": newest}

    def recording_busy(self, now: float) -> bool:
        """A recording runs, or one the disk refused waits to be saved again."""
        return self.recorder.phase(now)[0] is not Phase.IDLE or self.pending is not None

    def record_take(
        self, sign: str | None, poll: float = 0.1, clock: Callable[[], float] = time.monotonic, sleep=time.sleep
    ) -> Iterator[tuple[Phase, float]]:
        """One take: arms the recorder, yields (phase, seconds left) every ``poll`` seconds through the countdown
        and the recording, waits for the page's last landmark messages, then keeps the recording in ``pending``
        (``save_pending`` stores it). ``TeachError`` when no frame arrived."""
        self.folder.sign_dir(sign)
        self.recorder.arm(sign, clock())
        while (step := self.recorder.phase(clock()))[0].capturing:
            yield step
            sleep(poll)
        if self.records_landmarks:  # the page sends every ~0.3 s: the recording's last frames are on their way
            sleep(LANDMARKS_GRACE_SECONDS)
        sign, frames, times = self.recorder.take()
        if not frames:
            raise TeachError(
                "No webcam frames arrived, so nothing was recorded: allow the camera in the browser, start the "
                "webcam preview in this tab, then press Record again."
            )
        self.pending = (sign, frames, times)

    def save_pending(self) -> Clip:
        """Store the kept recording (landmarks or video, as it was recorded); it stays kept if the disk refuses,
        except a ``RecordingError``, which saving again would only repeat."""
        sign, frames, times = self.pending
        try:
            if self.records_landmarks:
                clip = self.folder.save_landmarks(sign, frames, times)
            else:
                clip = self.folder.add_recording(sign, frames, times)
        except RecordingError:
            self.pending = None
            raise
        self.pending = None
        return clip

    def webcam_frame(self, frame: np.ndarray, now: float) -> list | None:
        """A server-webcam frame: kept while a video recording runs; during the countdown and the recording, the
        hands the preview tracker finds in it (None: nothing to show, e.g. the browser's landmarks are the
        recording, or no hand model)."""
        if not self.recorder.phase(now)[0].capturing or self.records_landmarks:
            return None  # the browser's landmarks are the recording (the webcam may still be streaming)
        self.recorder.feed(frame, now)
        if self.folder.hand_model is None:  # the page says there is none; the recording goes on without a preview
            return None
        try:
            return self.preview_tracker().track(frame, int(now * 1000))
        except Exception:  # the preview is a help, never a reason to lose the recording
            logger.exception("hand preview failed on a frame")
            return None

    def publish(self, dataset_repo: str, model_repo: str, token: str, private: bool) -> dict[str, str]:
        """The clips and the model trained last in this session (locally, else the newest in the folder)."""
        if self.result is not None:
            model_dir = self.result.model_dir
        else:
            models = trained_models(self.folder)
            if not models:
                raise TeachError("there is nothing to publish yet: press Train first")
            model_dir = models[0]
        return publish(self.folder, model_dir, dataset_repo, model_repo, token, private)

    def preview_tracker(self):
        """This visitor's VIDEO-mode tracker for the hands preview while recording (made on first use)."""
        if self._tracker is None:
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
        self.check(self.folder)  # a folder that cannot train says so at once, not after waiting in the queue
        self.job = self.queue.submit(
            str(self.folder.root), self.owner, lambda job: self.run(self.folder, job, **kwargs)
        )
        return self.job
