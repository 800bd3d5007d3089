"""The Teach tab: add signs, record clips from the webcam, train, pick the new model in Live, publish.

UI wiring only: the folder, recording, training queue and publishing are in signspace.teach.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import tempfile
import time
from pathlib import Path

import gradio as gr
from browser_feed import asset_urls, browser_feed, browser_unavailable, server_webcam

from signspace.browser import LandmarkMessageError, parse_message
from signspace.errors import RecordingError, SignSpaceError, TeachError
from signspace.hands import draw_hands, resolve_hand_model
from signspace.imaging import ImageDecodeError, decode_image
from signspace.inference import Predictor
from signspace.jobs import TrainingQueue
from signspace.live import MOTION_FRAME_SECONDS
from signspace.scan import BACKGROUND_LABEL
from signspace.teach import (
    ModelShelf,
    SharedModel,
    TeachSession,
    on_hf_space,
    publish,
    publish_token,
    trained_models,
)
from signspace.teach_folder import LANDMARKS_SUFFIX, TeachFolder, TeachLimits

logger = logging.getLogger("app")
SHARED_SESSION_HOURS = 6  # a shared Space's visitor folder is removed after this even if no tab-close arrives
MAX_TAKES = 10  # clips recorded by one press of Record
LANDMARKS_GRACE_SECONDS = 0.6  # landmark messages arrive up to one send interval (0.32 s) after their frames
HAND_LABELS = {"found": "hand found", "none": "NO HAND: left out of training", "unchecked": "not checked yet"}

STORED_LANDMARKS = """**Stored: your hands' landmarks only.** Your hands are tracked in your browser while you record;
only their landmarks reach this Space, and each clip is kept as those landmarks (`<sign>/<clip>.npy`): no video or
picture of you leaves your device. (Such clips train motion models; image models need videos.)"""
STORED_VIDEOS = """**Stored: each clip as a video** (`<sign>/<clip>.mp4`, your webcam's frames, sent to {where});
its hands' landmarks are tracked from it when you train. Unlike landmarks, a video can also train an image model
later (`train/build_dataset.py`)."""
# What a recording keeps, on a shared Space where the browser tracks (the visitor chooses; landmarks only by default)
STORE_CHOICES = ("Landmarks only", "Landmarks and the video")
PRIVACY_SHARED = """**What is stored, and for how long.** Your clips may show your face and room. On this Space they are
kept in a folder of your session only (no other visitor can list or open them) and **deleted when you close this
tab** (at the latest {hours} hours after you opened the page), together with the models you train here. Nothing leaves
the Space unless you press *Publish*, which uploads your clips, their landmarks and your model to *your own*
Hugging Face account (private by default)."""
PRIVACY_LOCAL = """**Where your clips go.** Clips are saved on this computer in `{root}`, one folder per sign, in the
layout `train/build_dataset.py` reads, so you can train on them later with the scripts. The landmark cache and the
models you train are in `{work}`. Nothing is uploaded unless you press *Publish*."""
HOW_TO_TEACH = """**How to teach a sign.** 1 · Add a sign by name. 2 · Start the webcam below (its own record button),
then press **Record a clip**: after a 3-2-1 countdown, sign it once within 2 seconds. Record 10 or more clips per sign,
varying position and speed a little. 3 · Add at least one more sign, then press **Train** (10 to 40 s for 5 signs of 10
clips on 2 CPU cores). 4 · The Live tab switches to your model at once; earlier models stay in its *Model* list."""


@functools.lru_cache(maxsize=4)
def _hand_model(option: str | None) -> str | None:
    """Resolved once per app, not on every page load (a missing model may mean a download attempt)."""
    try:
        return str(resolve_hand_model(option))
    except SignSpaceError as exc:  # the page says so; recording still works, training will say it again
        logger.warning("no hand model for the Teach tab: %s", exc)
        return None


def visitor_root() -> Path:
    """Where a shared Space keeps each visitor's private folder. Served in place (``gr.set_static_paths``), so a
    replayed clip is never copied into Gradio's cache: it is gone once the visitor's folder is."""
    return Path(tempfile.gettempdir()) / "signspace-teach"


def discard_upload(path: Path) -> None:
    """Delete Gradio's cached copy of an upload once the clip is stored in the visitor's folder (a copy in the
    cache would outlive the folder); files elsewhere (a local user's own) are never touched."""
    upload_folder = Path(gr.utils.get_upload_folder()).resolve()
    if Path(path).resolve().is_relative_to(upload_folder):
        Path(path).unlink(missing_ok=True)


class Visitors:
    """The Teach tab's state shared by every visitor of one app (made by ``app.build_demo``): one training queue,
    the open sessions by Gradio session, and locally one folder object per data folder (so its lock is shared)."""

    def __init__(
        self,
        config,
        base,
        base_name: str,
        queue: TrainingQueue | None = None,
        root: Path | None = None,
        shared: dict[str, SharedModel] | None = None,
    ):
        self.config, self.base, self.base_name = config, base, base_name
        self.shared = shared or {}  # models every visitor may pick (the starter), loaded once for all
        self.queue = queue or TrainingQueue()  # one training at a time for the whole app
        self.root = root or visitor_root()  # a shared Space's private visitor folders live here
        self.sessions: dict[str, TeachSession] = {}
        self.folders: dict[Path, TeachFolder] = {}
        # A shared Space records what the Teach tab's motion models need, tracked in the browser: landmarks only.
        self.records_landmarks = config.per_visitor and config.tracking != "server"

    def open(self, request: gr.Request | None) -> TeachSession:
        """The visitor's session: their own temporary folder on a shared Space, else ``--data_dir``."""
        config = self.config
        owner = getattr(request, "session_hash", None) or "local"
        hand_model = _hand_model(getattr(self.base, "hand_model", None) or config.hand_model)
        if config.per_visitor:
            # The session id comes from the browser: hashed, it can name no other folder (no "../").
            private = self.root / hashlib.blake2b(owner.encode()).hexdigest()[:32]
            folder = TeachFolder(private, TeachLimits.public(), hand_model)
        else:  # every tab shares one folder object, and so its lock: two tabs never write the same clip name
            root = Path(config.data_dir).resolve()
            folder = self.folders.setdefault(root, TeachFolder(root, TeachLimits(), hand_model))

        def load(path: Path):
            return Predictor.from_pretrained(str(path), None, unmirror=config.unmirror, hand_model=hand_model)

        shelf = ModelShelf(self.base, self.base_name, load)
        for name, model in self.shared.items():
            shelf.add(name, model, select=False)
        if not config.per_visitor:  # models trained in earlier runs stay selectable
            for path in reversed(trained_models(folder)):
                shelf.add(path.name, path, select=False)
        session = TeachSession(folder, shelf, owner, config.per_visitor, self.queue)
        session.records_landmarks = self.records_landmarks
        previous = self.sessions.pop(owner, None)
        if previous is not None and previous is not session:
            previous.close()
        self.sessions[owner] = session
        return session

    def leave(self, request: gr.Request) -> None:
        """The visitor closed the tab (Gradio's unload event)."""
        session = self.sessions.get(getattr(request, "session_hash", None) or "local")
        if session is not None:
            self.close(session)

    def close(self, session: TeachSession) -> None:
        if self.sessions.get(session.owner) is session:
            del self.sessions[session.owner]
        session.close()


def sign_choices(session: TeachSession) -> list[tuple[str, str]]:
    clips = session.folder.clips(hands=False)
    return [(f"{s} · {sum(c.sign == s for c in clips)} clips", s) for s in session.folder.signs()]


def clip_choices(session: TeachSession, sign: str | None) -> list[tuple[str, str]]:
    if not sign or sign not in session.folder.signs():
        return []
    return [(f"{c.name} · {HAND_LABELS[c.hands]}", c.name) for c in session.folder.clips(sign)]


def _signs_update(session, value=None):
    choices = sign_choices(session)
    names = [v for _, v in choices]
    return gr.update(choices=choices, value=value if value in names else (names[0] if names else None))


def _clips_update(session, sign, value=None):
    choices = clip_choices(session, sign)
    return gr.update(choices=choices, value=value)


def _guard(fn):
    """A visitor's mistake (a TeachError, a full disk) is a one-line message on the page, not a traceback."""

    def wrapped(session, *args, **kwargs):
        if session is None:
            raise gr.Error("The page is still loading: try again in a moment.")
        try:
            return fn(session, *args, **kwargs)
        except SignSpaceError as exc:
            raise gr.Error(str(exc)) from None

    wrapped.__name__ = fn.__name__
    return wrapped


@_guard
def add_sign(session: TeachSession, name: str):
    label = session.folder.add_sign(name)
    return (
        _signs_update(session, label),
        "",
        _clips_update(session, label),
        f"Added **{label}**: now record clips of it.",
    )


@_guard
def add_background_sign(session: TeachSession):
    """The "not a sign" class: clips of hands doing anything but a sign, so the model can say so and type nothing."""
    label = session.folder.add_sign(BACKGROUND_LABEL)
    return (
        _signs_update(session, label),
        "",
        _clips_update(session, label),
        f"Added **{label}**: record your hands resting, scratching, reaching for the mouse, waving vaguely. The "
        "Live tab never types it, so idle motion stops becoming words.",
    )


@_guard
def rename_sign(session: TeachSession, sign: str | None, new_name: str):
    label = session.folder.rename_sign(sign, new_name)
    return _signs_update(session, label), "", _clips_update(session, label), f"Renamed **{sign}** to **{label}**."


@_guard
def delete_sign(session: TeachSession, sign: str | None):
    session.folder.delete_sign(sign)
    update = _signs_update(session)
    return update, _clips_update(session, update["value"]), None, f"Deleted **{sign}** and its clips."


def select_sign(session: TeachSession, sign: str | None):
    return _clips_update(session, sign), None


@_guard
def select_clip(session: TeachSession, sign: str | None, clip: str | None):
    if not sign or not clip:
        return None
    path = session.folder.root / sign / clip
    replayable = path.is_file() and path.suffix.lower() != LANDMARKS_SUFFIX  # landmarks only: nothing to replay
    return str(path) if replayable else None


@_guard
def delete_clip(session: TeachSession, sign: str | None, clip: str | None):
    session.folder.delete_clip(sign, clip)
    return _signs_update(session, sign), _clips_update(session, sign), None, f"Deleted clip {clip}."


def feed_landmarks(session: TeachSession | None, message, now: float | None = None) -> dict:
    """Landmark frames tracked in the visitor's browser (landmarks-only recording), kept while a recording runs, on
    this server's clock: the newest frame of a message was taken about now, the others as much earlier as the page's
    times say. The page's times order its frames and space them within a message, never the clip's length.
    Answers the page: ``ack``, or ``refused`` with the reason; a refused message changes nothing."""
    if session is None:
        return {"refused": "the page is still loading"}
    now = time.monotonic() if now is None else now
    try:
        frames = parse_message(message, session.page_time)
        session.rate.admit([at for at, _ in frames])
    except LandmarkMessageError as exc:
        return {"refused": str(exc)}
    newest = session.page_time = frames[-1][0]
    if not session.records_landmarks:  # the visitor chose the video: the recording is the server webcam's frames
        return {"ack": newest}
    for at, values in frames:
        session.recorder.feed(values, now - (newest - at))
    return {"ack": newest}


def landmarks_unavailable(session: TeachSession | None, message) -> tuple:
    """The page cannot track: record videos through the server instead, and say so (no choice left to offer)."""
    if session is not None:
        session.records_landmarks = False
    camera, note = browser_unavailable(message)
    return camera, gr.update(visible=True), gr.update(visible=False), note + " Clips are stored as videos."


def choose_storage(session: TeachSession | None, choice: str) -> tuple:
    """The visitor's choice where the browser tracks: landmarks only (no picture leaves the device), or the video
    too (the webcam's frames go to the Space, each clip is kept as a video, its landmarks tracked from it when
    training, and it can later train an image model). Not while a recording runs or waits to be saved again: its
    frames are of the other kind. Returns the choice shown, the server webcam, its hand preview, the storage note."""
    if session is None:
        return gr.update(value=STORE_CHOICES[0]), gr.update(), gr.update(), gr.update()
    busy = session.recorder.phase(time.monotonic())[0] != "idle" or session.pending is not None
    if busy:
        gr.Warning("A recording is running or waiting to be saved again: choose what to store after it is saved.")
        return gr.update(value=STORE_CHOICES[0 if session.records_landmarks else 1]), *(gr.update(),) * 3
    session.records_landmarks = landmarks = choice != STORE_CHOICES[1]
    note = STORED_LANDMARKS if landmarks else STORED_VIDEOS.format(where="this Space")
    return gr.update(), gr.update(visible=not landmarks), gr.update(visible=not landmarks), note


def feed_frame(session: TeachSession | None, frame, unmirror: bool = True, now: float | None = None):
    """A streamed webcam frame. During the countdown and the recording: the tracked hands are shown (so the visitor
    sees they are in view before the clip is saved), and while recording the frame is kept, in the camera's own
    view like Live's. Otherwise nothing runs."""
    now = time.monotonic() if now is None else now
    if session is None or frame is None or session.recorder.phase(now)[0] not in ("countdown", "recording"):
        return gr.update()
    if session.records_landmarks:  # the browser's landmarks are the recording (the webcam may still be streaming)
        return gr.update()
    import numpy as np

    try:
        image = decode_image(frame, mirror=unmirror)
    except ImageDecodeError:
        return gr.update()  # an odd frame is skipped, as in Live
    array = np.asarray(image)
    session.recorder.feed(array, now)
    if session.folder.hand_model is None:  # the page says there is none; the recording goes on without a preview
        return gr.update()
    try:
        hands = session.preview_tracker().track(array, int(now * 1000))
    except Exception:  # the preview is a help, never a reason to lose the recording
        logger.exception("hand preview failed on a frame")
        return gr.update()
    return draw_hands(image, hands, mirror=unmirror)


def record(session: TeachSession, sign: str | None, takes: int = 1, poll: float = 0.1):
    """``takes`` clips in a row: each a countdown, ~2 s of frames from the stream, then saved and checked for
    hands. A take the disk refuses stops the series (it stays kept, with the button to save it again)."""
    takes = max(1, min(int(takes or 1), MAX_TAKES))
    for take in range(1, takes + 1):
        try:
            session.folder.sign_dir(sign)
            session.recorder.arm(sign, time.monotonic())
        except TeachError as exc:
            raise gr.Error(str(exc)) from None
        series = f" ({take} of {takes})" if takes > 1 else ""
        while True:
            phase, left = session.recorder.phase(time.monotonic())
            if phase == "countdown":
                yield f"## Get ready{series}… {math.ceil(left)}", gr.update(), gr.update(), gr.update()
            elif phase == "recording":
                yield f"## ● Recording **{sign}**{series}… {left:.1f} s", gr.update(), gr.update(), gr.update()
            else:
                break
            time.sleep(poll)
        if session.records_landmarks:  # the page sends every ~0.3 s: wait for the recording's last frames
            time.sleep(LANDMARKS_GRACE_SECONDS)
        sign, frames, times = session.recorder.take()
        if not frames:
            raise gr.Error(
                "No webcam frames arrived, so nothing was recorded: allow the camera in the browser, start the "
                "webcam preview in this tab, then press Record again."
            )
        session.pending = (sign, frames, times)
        saved = save_pending(session)
        yield saved
        if session.pending is not None:  # not saved: stop here, the page offers to save it again
            return


def save_pending(session: TeachSession):
    """Save the recording kept in memory; if the disk refuses, it stays kept and the page offers to try again."""
    sign, frames, times = session.pending
    try:
        if session.records_landmarks:
            clip = session.folder.save_landmarks(sign, frames, times)
        else:
            clip = session.folder.add_recording(sign, frames, times)
    except RecordingError as exc:  # no disk could save it: saving again would only repeat this
        session.pending = None
        return f"**Could not save the clip:** {exc}.", gr.update(), gr.update(), gr.update(visible=False)
    except SignSpaceError as exc:
        return (
            f"**Could not save the clip:** {exc}. The recording is kept in this page: fix that, then press "
            "*Save the recording again*.",
            gr.update(),
            gr.update(),
            gr.update(visible=True),
        )
    session.pending = None
    if clip.problem:
        note = f" It could not be checked for hands yet ({clip.problem})."
    elif clip.hands == "none":
        note = " **No hand was found in it**: it is kept, but left out of training."
    else:
        note = ""
    return (
        f"Saved {clip.name} ({len(frames)} frames).{note}",
        _signs_update(session, sign),
        _clips_update(session, sign, clip.name),
        gr.update(visible=False),
    )


def retry_save(session: TeachSession | None, sign: str | None = None):
    """Save the kept recording again, into the sign selected now (it may have been renamed meanwhile)."""
    if session is None or session.pending is None:
        return "Nothing is waiting to be saved.", gr.update(), gr.update(), gr.update(visible=False)
    if sign:
        session.pending = (sign, *session.pending[1:])
    return save_pending(session)


@_guard
def upload_clips(session: TeachSession, sign: str | None, files: list | None):
    if not files:
        raise TeachError("no file received: choose videos or photos of this sign first")
    added, notes = [], []
    for file in files:
        path = Path(getattr(file, "name", file))
        try:
            clip = session.folder.add_file(sign, path)
        finally:  # stored (or refused): either way the cache keeps no copy
            discard_upload(path)
        if clip.problem:
            notes.append(f"{clip.name} could not be checked for hands yet ({clip.problem})")
        elif clip.hands == "none":
            notes.append(f"no hand in {clip.name} (kept, left out of training)")
        added.append(clip.name)
    message = f"Added {len(added)} file(s) to **{sign}**." + (" " + "; ".join(notes) + "." if notes else "")
    return _signs_update(session, sign), _clips_update(session, sign, added[-1]), None, message


def train(session: TeachSession, progress=gr.Progress()):  # noqa: B008 (Gradio's way to ask for a progress bar)
    """Queue the training; show the queue position, then its progress; finally the validation result."""
    try:
        job = session.train()
    except SignSpaceError as exc:
        raise gr.Error(str(exc)) from None
    try:
        while not job.done_event.wait(0.5):
            ahead = session.queue.position(job)
            if job.state == "queued":
                progress(0, desc=f"waiting: {ahead} training job(s) before yours")
                yield f"Waiting for the trainer: {ahead} job(s) before yours.", gr.update(), gr.update(), gr.update()
            else:
                progress(job.fraction, desc=job.stage)
                yield f"Training… {job.stage}", gr.update(), gr.update(), gr.update()
    finally:
        if not job.finished:  # the visitor left or the event was cancelled: free the trainer for the next one
            session.queue.cancel(job)
    if job.state == "cancelled":
        yield "Training cancelled; nothing was changed.", gr.update(), gr.update(), gr.update()
        return
    if job.state == "failed":
        error = job.error
        if isinstance(error, SignSpaceError):
            raise gr.Error(str(error))
        raise gr.Error(f"training failed ({type(error).__name__}: {error}); your clips are safe in the folder")
    result = session.result = job.result
    session.shelf.add(result.model_dir.name, result.model_dir)
    yield (
        result_markdown(result),
        str(result.confusion_image) if result.confusion_image else None,
        per_sign_rows(result),
        gr.update(choices=session.shelf.names(), value=result.model_dir.name),
    )


def result_markdown(result) -> str:
    if result.accuracy is None:
        score = "**Score unknown**"
    else:
        score = f"**Validation accuracy {result.accuracy:.0%}** on {result.validation_clips} clips kept aside"
    lines = [
        f"{score}. Model `{result.model_dir.name}` is now active in the Live tab.",
        f"Finding hands took {result.extraction_seconds:.0f} s, training {result.training_seconds:.0f} s.",
    ]
    if result.one_person_note:
        lines.append(f"- **{result.one_person_note}**")
    lines += [f"- {w}" for w in result.warnings]
    if result.excluded:
        lines.append(f"- Left out (no hand found): {', '.join(result.excluded)}")
    return "\n".join(lines)


def per_sign_rows(result) -> list[list]:
    return [[sign, "unknown" if acc is None else f"{acc:.0%}"] for sign, acc in result.per_sign.items()]


def cancel_training(session: TeachSession) -> str:
    if session.job is None or session.job.finished:
        return "No training is running."
    session.queue.cancel(session.job)
    return "Cancelling…"


def publish_clicked(
    session: TeachSession, dataset_repo: str, model_repo: str, private: bool, oauth_token: gr.OAuthToken | None
):
    try:
        token = publish_token(getattr(oauth_token, "token", None), session.per_visitor)
        if session.result is None:
            models = trained_models(session.folder)
            if not models:
                raise TeachError("there is nothing to publish yet: press Train first")
            model_dir = models[0]
        else:
            model_dir = session.result.model_dir
        urls = publish(session.folder, model_dir, dataset_repo, model_repo, token, private)
    except SignSpaceError as exc:
        raise gr.Error(str(exc)) from None
    return (
        f"Published the dataset ({urls['dataset']}) and the model ({urls['model']}).\n\n"
        f"Make a Space that runs it (from a clone of SignSpace, logged in with `hf auth login`):\n\n"
        f"```\n{urls['deploy']}\n```"
    )


def build_teach_tab(demo: gr.Blocks, config, session_state, model_picker, visitors: Visitors) -> None:
    """The tab's components and events; ``session_state`` holds the visitor's TeachSession (made on page load)."""
    if config.per_visitor:  # served in place: no copy in Gradio's cache outlives a visitor's folder
        gr.set_static_paths([str(visitors.root)])
    with gr.Tab("Teach", id="teach"):
        intro = gr.Markdown(elem_id="teach-intro")
        with gr.Row():
            with gr.Column(scale=1, min_width=240):
                new_name = gr.Textbox(label="New sign", placeholder="e.g. hello", elem_id="teach-new-sign")
                add_btn = gr.Button("Add sign", elem_id="teach-add-sign")
                add_background_btn = gr.Button(
                    'Add "not a sign" (record resting hands, scratching, reaching: never typed)',
                    size="sm",
                    elem_id="teach-add-background",
                )
                signs = gr.Radio(label="Signs", choices=[], elem_id="teach-signs")
                with gr.Accordion("Rename or delete the sign", open=False):
                    rename_to = gr.Textbox(label="New name")
                    rename_btn = gr.Button("Rename")
                    delete_sign_btn = gr.Button("Delete sign and its clips", variant="stop")
            with gr.Column(scale=2):
                hand_model = _hand_model(getattr(visitors.base, "hand_model", None) or config.hand_model)
                in_browser = visitors.records_landmarks and hand_model is not None
                where = "this Space" if config.per_visitor else "this app, in your signs folder"
                stored = STORED_LANDMARKS if in_browser else STORED_VIDEOS.format(where=where)
                store = gr.Radio(
                    list(STORE_CHOICES),
                    value=STORE_CHOICES[0],
                    label="What a recording keeps",
                    info="The video is needed to train image models later; it sends your webcam's frames here.",
                    visible=in_browser,
                    elem_id="teach-store",
                )
                teach_note = gr.Markdown(stored, elem_id="teach-stored")
                if in_browser:  # only landmarks leave the visitor's device
                    feed = browser_feed(
                        asset_urls(config.web_assets, Path(hand_model)),
                        mirror=not config.unmirror,
                        elem_id="teach-browser-feed",
                    )
                with gr.Row(visible=not in_browser) as server_camera:
                    camera = server_webcam("Webcam (start it, then press Record a clip)", elem_id="teach-camera")
                with gr.Row():
                    record_btn = gr.Button(
                        "Record a clip (3-2-1, then 2 s)", variant="primary", elem_id="teach-record", scale=3
                    )
                    takes = gr.Dropdown(
                        [1, 3, 5, 10], value=1, label="Clips in a row", scale=1, min_width=100, elem_id="teach-takes"
                    )
                with gr.Row():
                    status = gr.Markdown(elem_id="teach-status")
                    hands_seen = gr.Image(
                        visible=not in_browser,  # the browser draws them over its own preview
                        label="Hands seen while recording",
                        interactive=False,
                        height=140,
                        elem_id="teach-hands",
                        show_label=True,
                    )
                retry_btn = gr.Button("Save the recording again", visible=False, elem_id="teach-retry")
                with gr.Accordion("Upload clips or photos instead", open=False):
                    files = gr.File(file_count="multiple", file_types=["video", "image"], label="Clips or photos")
                    upload_btn = gr.Button("Add to the sign")
            with gr.Column(scale=2):
                clips = gr.Radio(label="Clips of this sign", choices=[], elem_id="teach-clips")
                player = gr.Video(label="Replay", interactive=False, height=220)
                delete_clip_btn = gr.Button("Delete this clip", variant="stop")
        with gr.Row():
            train_btn = gr.Button("Train", variant="primary", elem_id="teach-train")
            cancel_btn = gr.Button("Cancel training")
        train_status = gr.Markdown(elem_id="teach-train-status")
        with gr.Row():
            confusion = gr.Image(label="Validation: confusion matrix", interactive=False, height=320)
            per_sign = gr.Dataframe(
                headers=["sign", "validation accuracy"], label="Per sign", interactive=False, elem_id="teach-per-sign"
            )
        with gr.Accordion("Publish to the Hugging Face Hub", open=False):
            if config.per_visitor and on_hf_space():  # elsewhere Gradio would sign in with the server's own token
                gr.LoginButton()
            with gr.Row():
                dataset_repo = gr.Textbox(label="Dataset repo", placeholder="your-name/my-signs")
                model_repo = gr.Textbox(label="Model repo", placeholder="your-name/my-sign-model")
                private = gr.Checkbox(value=True, label="Private")
            publish_btn = gr.Button("Publish")
            publish_result = gr.Markdown()
        gr.Markdown(HOW_TO_TEACH)

    def on_load(request: gr.Request):
        session = visitors.open(request)
        privacy = (
            PRIVACY_SHARED.format(hours=SHARED_SESSION_HOURS)
            if config.per_visitor
            else PRIVACY_LOCAL.format(root=session.folder.root, work=session.folder.work)
        )
        if session.folder.hand_model is None:
            privacy += (
                "\n\n**No hand model is available**, so clips cannot be checked or trained: start the app "
                "with --hand_model PATH (MediaPipe's hand_landmarker.task)."
            )
        first = _signs_update(session)
        return (
            session,
            privacy,
            first,
            _clips_update(session, first["value"]),
            gr.update(choices=session.shelf.names(), value=session.shelf.current),
        )

    demo.load(on_load, outputs=[session_state, intro, signs, clips, model_picker], api_name=False)
    demo.unload(visitors.leave)

    add_btn.click(add_sign, [session_state, new_name], [signs, new_name, clips, status], api_name=False)
    add_background_btn.click(add_background_sign, [session_state], [signs, new_name, clips, status], api_name=False)
    new_name.submit(add_sign, [session_state, new_name], [signs, new_name, clips, status], api_name=False)
    rename_btn.click(rename_sign, [session_state, signs, rename_to], [signs, rename_to, clips, status], api_name=False)
    delete_sign_btn.click(delete_sign, [session_state, signs], [signs, clips, player, status], api_name=False)
    signs.change(select_sign, [session_state, signs], [clips, player], api_name=False)
    clips.change(select_clip, [session_state, signs, clips], [player], api_name=False)
    delete_clip_btn.click(delete_clip, [session_state, signs, clips], [signs, clips, player, status], api_name=False)
    camera.stream(
        lambda session, frame: feed_frame(session, frame, config.unmirror),
        [session_state, camera],
        [hands_seen],
        stream_every=min(config.stream_every, MOTION_FRAME_SECONDS),  # the Live tab's rate for motion signs
        time_limit=config.time_limit,
        concurrency_limit=config.concurrency,
        show_progress="hidden",
        api_name=False,
    )
    if in_browser:
        feed.submit(feed_landmarks, [session_state, feed], [feed], show_progress="hidden", api_name=False)
        feed.stop(
            landmarks_unavailable, [session_state, feed], [server_camera, hands_seen, store, teach_note], api_name=False
        )
        store.input(  # the visitor's own choice; a refused one is set back without firing again
            choose_storage, [session_state, store], [store, server_camera, hands_seen, teach_note], api_name=False
        )
    record_btn.click(
        record, [session_state, signs, takes], [status, signs, clips, retry_btn], api_name=False, concurrency_limit=None
    )
    retry_btn.click(retry_save, [session_state, signs], [status, signs, clips, retry_btn], api_name=False)
    upload_btn.click(upload_clips, [session_state, signs, files], [signs, clips, files, status], api_name=False)
    train_btn.click(
        train,
        [session_state],
        [train_status, confusion, per_sign, model_picker],
        api_name=False,
        concurrency_limit=None,
    )
    cancel_btn.click(cancel_training, [session_state], [train_status], api_name=False)
    publish_btn.click(
        publish_clicked, [session_state, dataset_repo, model_repo, private], [publish_result], api_name=False
    )
