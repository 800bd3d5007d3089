"""The Teach tab's handlers: what each of its events does with the visitor's ``TeachSession`` (``signspace.teach``),
answered as ``{component: value}`` for the components in ``TeachPage``; a visitor's mistake is one line on the page."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import gradio as gr
import numpy as np
from browser_feed import browser_unavailable
from handlers import Page
from teach_text import (
    HAND_LABELS,
    STORE_CHOICES,
    STORED_LANDMARKS,
    STORED_VIDEOS,
    per_sign_rows,
    result_markdown,
)

from signspace.core.drawing import draw_hands
from signspace.core.errors import RecordingError, SignSpaceError, TeachError
from signspace.core.imaging import ImageDecodeError, decode_image
from signspace.core.labels import BACKGROUND_LABEL
from signspace.teach.folder import LANDMARKS_SUFFIX, Hands
from signspace.teach.jobs import JobState
from signspace.teach.recorder import Phase
from signspace.teach.session import TeachSession, TrainResult, publish_token

logger = logging.getLogger("app")
MAX_TAKES = 10  # clips recorded by one press of Record


def discard_upload(path: Path) -> None:
    """Delete Gradio's cached copy of an upload once the clip is stored in the visitor's folder (a copy in the
    cache would outlive the folder); files elsewhere (a local user's own) are never touched."""
    upload_folder = Path(gr.utils.get_upload_folder()).resolve()
    if Path(path).resolve().is_relative_to(upload_folder):
        Path(path).unlink(missing_ok=True)


def sign_choices(session: TeachSession) -> list[tuple[str, str]]:
    clips = session.folder.clips(hands=False)
    return [(f"{s} · {sum(c.sign == s for c in clips)} clips", s) for s in session.folder.signs()]


def clip_choices(session: TeachSession, sign: str | None) -> list[tuple[str, str]]:
    if not sign or sign not in session.folder.signs():
        return []
    return [(f"{c.name} · {HAND_LABELS[c.hands]}", c.name) for c in session.folder.clips(sign)]


@dataclass(frozen=True)
class TeachPage(Page):
    """The Teach tab's components its handlers update (``handlers.Page``)."""

    session: Any
    intro: Any
    new_name: Any
    signs: Any
    rename_to: Any
    clips: Any
    player: Any
    status: Any
    retry: Any
    files: Any
    store: Any
    note: Any
    server_camera: Any
    hands_seen: Any
    train_status: Any
    confusion: Any
    per_sign: Any
    model_picker: Any

    def listing(self, session: TeachSession, sign: str | None = None, clip: str | None = None) -> dict:
        """The sign list (``sign`` selected, else the first) and that sign's clips (``clip`` selected)."""
        choices = sign_choices(session)
        names = [value for _, value in choices]
        shown = sign if sign in names else (names[0] if names else None)
        return {
            self.signs: gr.update(choices=choices, value=shown),
            self.clips: gr.update(choices=clip_choices(session, shown), value=clip),
        }


def _guard(fn):
    """A visitor's mistake (a TeachError, a full disk) is a one-line message on the page, not a traceback."""

    def wrapped(page, session, *args, **kwargs):
        if session is None:
            raise gr.Error("The page is still loading: try again in a moment.")
        try:
            return fn(page, session, *args, **kwargs)
        except SignSpaceError as exc:
            raise gr.Error(str(exc)) from None

    wrapped.__name__ = fn.__name__
    return wrapped


@_guard
def add_sign(page: TeachPage, session: TeachSession, name: str):
    label = session.folder.add_sign(name)
    return {
        **page.listing(session, label),
        page.new_name: "",
        page.status: f"Added **{label}**: now record clips of it.",
    }


@_guard
def add_background_sign(page: TeachPage, session: TeachSession):
    """The "not a sign" class: clips of hands doing anything but a sign, so the model can say so and type nothing."""
    label = session.folder.add_sign(BACKGROUND_LABEL)
    return {
        **page.listing(session, label),
        page.status: f"Added **{label}**: record your hands resting, scratching, reaching for the mouse, waving "
        "vaguely. The Live tab never types it, so idle motion stops becoming words.",
    }


@_guard
def rename_sign(page: TeachPage, session: TeachSession, sign: str | None, new_name: str):
    label = session.folder.rename_sign(sign, new_name)
    return {**page.listing(session, label), page.rename_to: "", page.status: f"Renamed **{sign}** to **{label}**."}


@_guard
def delete_sign(page: TeachPage, session: TeachSession, sign: str | None):
    session.folder.delete_sign(sign)
    return {**page.listing(session), page.player: None, page.status: f"Deleted **{sign}** and its clips."}


def select_sign(page: TeachPage, session: TeachSession, sign: str | None):
    return {page.clips: gr.update(choices=clip_choices(session, sign), value=None), page.player: None}


@_guard
def select_clip(page: TeachPage, session: TeachSession, sign: str | None, clip: str | None):
    if not sign or not clip:
        return None
    path = session.folder.root / sign / clip
    replayable = path.is_file() and path.suffix.lower() != LANDMARKS_SUFFIX  # landmarks only: nothing to replay
    return str(path) if replayable else None


@_guard
def delete_clip(page: TeachPage, session: TeachSession, sign: str | None, clip: str | None):
    session.folder.delete_clip(sign, clip)
    return {**page.listing(session, sign), page.player: None, page.status: f"Deleted clip {clip}."}


def feed_landmarks(session: TeachSession | None, message, now: float | None = None) -> dict:
    """Landmark frames tracked in the visitor's browser (``TeachSession.feed_landmarks``); the page's answer."""
    if session is None:
        return {"refused": "the page is still loading"}
    return session.feed_landmarks(message, time.monotonic() if now is None else now)


def landmarks_unavailable(page: TeachPage, session: TeachSession | None, message) -> dict:
    """The page cannot track: record videos through the server instead, and say so (no choice left to offer)."""
    if session is not None:
        session.records_landmarks = False
    camera, note = browser_unavailable(message)
    return {
        page.server_camera: camera,
        page.hands_seen: gr.update(visible=True),
        page.store: gr.update(visible=False),
        page.note: note + " Clips are stored as videos.",
    }


def choose_storage(page: TeachPage, session: TeachSession | None, choice: str) -> dict:
    """The visitor's choice where the browser tracks: landmarks only (no picture leaves the device), or the video
    too (the webcam's frames go to the Space, each clip is kept as a video, its landmarks tracked from it when
    training, and it can later train an image model). Not while a recording runs or waits to be saved again: its
    frames are of the other kind."""
    if session is None:
        return {page.store: gr.update(value=STORE_CHOICES[0])}
    if session.recording_busy(time.monotonic()):
        gr.Warning("A recording is running or waiting to be saved again: choose what to store after it is saved.")
        return {page.store: gr.update(value=STORE_CHOICES[0 if session.records_landmarks else 1])}
    session.records_landmarks = landmarks = choice != STORE_CHOICES[1]
    return {
        page.server_camera: gr.update(visible=not landmarks),
        page.hands_seen: gr.update(visible=not landmarks),
        page.note: STORED_LANDMARKS if landmarks else STORED_VIDEOS.format(where="this Space"),
    }


def feed_frame(session: TeachSession | None, frame, unmirror: bool = True, now: float | None = None):
    """A streamed webcam frame (``TeachSession.webcam_frame``): kept while recording, its tracked hands shown during
    the countdown and the recording (so the visitor sees they are in view before the clip is saved)."""
    if session is None or frame is None:
        return gr.update()
    try:
        image = decode_image(frame, mirror=unmirror)  # in the camera's own view, like Live's
    except ImageDecodeError:
        return gr.update()  # an odd frame is skipped, as in Live
    hands = session.webcam_frame(np.asarray(image), time.monotonic() if now is None else now)
    return gr.update() if hands is None else draw_hands(image, hands, mirror=unmirror)


def record(page: TeachPage, session: TeachSession, sign: str | None, takes: int = 1, poll: float = 0.1):
    """``takes`` clips in a row (``TeachSession.record_take``: a countdown, ~2 s of frames), each saved and checked
    for hands. A take the disk refuses stops the series (it stays kept, with the button to save it again)."""
    takes = max(1, min(int(takes or 1), MAX_TAKES))
    for take in range(1, takes + 1):
        series = f" ({take} of {takes})" if takes > 1 else ""
        try:
            for phase, left in session.record_take(sign, poll=poll):
                if phase is Phase.COUNTDOWN:
                    yield {page.status: f"## Get ready{series}… {math.ceil(left)}"}
                else:
                    yield {page.status: f"## ● Recording **{sign}**{series}… {left:.1f} s"}
        except TeachError as exc:
            raise gr.Error(str(exc)) from None
        yield save_pending(page, session)
        if session.pending is not None:  # not saved: stop here, the page offers to save it again
            return


def save_pending(page: TeachPage, session: TeachSession) -> dict:
    """Save the recording kept in memory; if the disk refuses, it stays kept and the page offers to try again."""
    sign, frames, _ = session.pending
    try:
        clip = session.save_pending()
    except RecordingError as exc:  # no disk could save it: saving again would only repeat this
        return {page.status: f"**Could not save the clip:** {exc}.", page.retry: gr.update(visible=False)}
    except SignSpaceError as exc:
        return {
            page.status: f"**Could not save the clip:** {exc}. The recording is kept in this page: fix that, then "
            "press *Save the recording again*.",
            page.retry: gr.update(visible=True),
        }
    if clip.problem:
        note = f" It could not be checked for hands yet ({clip.problem})."
    elif clip.hands is Hands.NONE:
        note = " **No hand was found in it**: it is kept, but left out of training."
    else:
        note = ""
    return {
        **page.listing(session, sign, clip.name),
        page.status: f"Saved {clip.name} ({len(frames)} frames).{note}",
        page.retry: gr.update(visible=False),
    }


def retry_save(page: TeachPage, session: TeachSession | None, sign: str | None = None) -> dict:
    """Save the kept recording again, into the sign selected now (it may have been renamed meanwhile)."""
    if session is None or session.pending is None:
        return {page.status: "Nothing is waiting to be saved.", page.retry: gr.update(visible=False)}
    if sign:
        session.pending = (sign, *session.pending[1:])
    return save_pending(page, session)


@_guard
def upload_clips(page: TeachPage, session: TeachSession, sign: str | None, files: list | None):
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
        elif clip.hands is Hands.NONE:
            notes.append(f"no hand in {clip.name} (kept, left out of training)")
        added.append(clip.name)
    message = f"Added {len(added)} file(s) to **{sign}**." + (" " + "; ".join(notes) + "." if notes else "")
    return {**page.listing(session, sign, added[-1]), page.files: None, page.status: message}


def train(page: TeachPage, session: TeachSession, progress=gr.Progress()):  # noqa: B008 (Gradio's progress bar)
    """Queue the training; show the queue position, then its progress; finally the validation result."""
    try:
        job = session.train()
    except SignSpaceError as exc:
        raise gr.Error(str(exc)) from None
    try:
        while not job.done_event.wait(0.5):
            ahead = session.queue.position(job)
            if job.state is JobState.QUEUED:
                progress(0, desc=f"waiting: {ahead} training job(s) before yours")
                yield {page.train_status: f"Waiting for the trainer: {ahead} job(s) before yours."}
            else:
                progress(job.fraction, desc=job.stage)
                yield {page.train_status: f"Training… {job.stage}"}
    finally:
        if not job.finished:  # the visitor left or the event was cancelled: free the trainer for the next one
            session.queue.cancel(job)
    if job.state is JobState.CANCELLED:
        yield {page.train_status: "Training cancelled; nothing was changed."}
        return
    if job.state is JobState.FAILED:
        error = job.error
        if isinstance(error, SignSpaceError):
            raise gr.Error(str(error))
        raise gr.Error(f"training failed ({type(error).__name__}: {error}); your clips are safe in the folder")
    result = session.result = cast(TrainResult, job.result)
    session.shelf.add(result.model_dir.name, result.model_dir)
    yield {
        page.train_status: result_markdown(result),
        page.confusion: str(result.confusion_image) if result.confusion_image else None,
        page.per_sign: per_sign_rows(result),
        page.model_picker: gr.update(choices=session.shelf.names(), value=result.model_dir.name),
    }


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
        urls = session.publish(dataset_repo, model_repo, token, private)
    except SignSpaceError as exc:
        raise gr.Error(str(exc)) from None
    return (
        f"Published the dataset ({urls['dataset']}) and the model ({urls['model']}).\n\n"
        f"Make a Space that runs it (from a clone of SignSpace, logged in with `hf auth login`):\n\n"
        f"```\n{urls['deploy']}\n```"
    )
