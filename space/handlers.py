"""The page's handlers: what each event of the webcam app does with the visitor's chosen model, and how a visitor's
mistake becomes one line on the page (``gr.Error``). ``app.py`` wires them to the layout."""

from __future__ import annotations

import base64
import binascii
import io
import os
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr
import personal
from app_config import AppConfig, model_label
from PIL import Image, UnidentifiedImageError

from signspace.core.errors import SignSpaceError
from signspace.core.hub import is_local
from signspace.core.imaging import ImageDecodeError, ImageTooLarge
from signspace.core.video import VIDEO_ERRORS, VideoTooLarge, VideoTooLong
from signspace.serve.browser import LandmarkMessageError
from signspace.serve.inference import Predictor
from signspace.serve.limits import check_photo_upload
from signspace.serve.live import BACKGROUND_WORD, NO_HAND, LiveRoster, LiveSession, session_for

NOT_AN_IMAGE = "That file is not an image SignSpace can read (use JPEG, PNG, WebP or BMP)."


def too_large(exc: ImageTooLarge) -> gr.Error:
    reason = str(exc).partition(": ")[2] or str(exc)  # without the file's name: never the server's paths
    return gr.Error(f"That image is too large: {reason}")


class PhotoInput(gr.Image):
    """gr.Image whose upload check (``limits.check_photo_upload``: size, then the pixel cap from the header) answers
    a non-image, an oversized file or a decompression bomb with one line (never the server's paths) before anything
    is decoded."""

    is_template = True  # rendered by the ordinary Image front end
    max_bytes: int = 10_000_000

    def preprocess(self, payload):
        path, url = getattr(payload, "path", None), getattr(payload, "url", None) or ""
        try:
            if path and os.path.isfile(path):
                check_photo_upload(path, os.path.getsize(path), self.max_bytes)
            elif url.startswith("data:"):  # inline base64 images skip the upload route and its size check
                try:
                    data = io.BytesIO(base64.b64decode(url.partition(",")[2], validate=True))
                except binascii.Error:
                    raise ImageDecodeError("photo: not base64") from None
                check_photo_upload(data, data.getbuffer().nbytes, self.max_bytes)
            return super().preprocess(payload)
        except ImageTooLarge as exc:
            raise too_large(exc) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise gr.Error("That image is too large: too many pixels") from None
        except (ImageDecodeError, UnidentifiedImageError, OSError, SyntaxError):  # what Pillow raises for non-images
            raise gr.Error(NOT_AN_IMAGE) from None


@dataclass(frozen=True)
class Page:
    """A tab's components that its handlers update: a handler answers ``{page.component: value}``, so no order has
    to match an outputs list. Tests make one whose components are their names (``named()``): ``out["text"]``."""

    @classmethod
    def named(cls):
        return cls(**{f.name: f.name for f in fields(cls)})


@dataclass(frozen=True)
class LivePage(Page):
    session: Any
    info: Any
    label: Any
    text: Any
    overlay: Any
    crop: Any
    personal_row: Any
    that_was: Any
    feed: Any = None  # the page's tracker, where the browser tracks


def live_step(
    page: LivePage,
    base: Predictor,
    frame,
    state: LiveSession | None,
    threshold: float,
    teach,
    now: float | None = None,
    roster: LiveRoster | None = None,
):
    """One streamed frame with the visitor's chosen model (the app's own, or one trained in the Teach tab): its
    top-3 smoothed (or "no hand"), the text so far, the session, overlay and crop. ``roster``: the app's live
    sessions (a full app says so instead of serving a new visitor)."""
    try:
        state = session_for(teach.shelf.predictor if teach is not None else base, state, roster)
    except LandmarkMessageError as exc:
        raise gr.Error(str(exc)) from None
    with state.lock:
        step = state.step(frame, time.monotonic() if now is None else now, threshold)
    return {
        page.label: NO_HAND if step.no_hand else step.top,
        page.text: step.text,
        page.session: state,
        page.overlay: step.overlay,
        page.crop: step.crop,
    }


def classify_clip(predictor, path: str | None) -> dict[str, float]:
    """A short video of one sign (or a photo) -> top-5, for landmark sequence models (also the /predict_clip API)."""
    if not path:
        raise gr.Error("No clip received: upload a short video of one sign first.")
    if not predictor.takes_clips:
        raise gr.Error(
            "This model recognises still handshapes, not clips: pick a motion-sign model in the Live tab's Model "
            "list (train one in the Teach tab), or use the Upload / snapshot tab."
        )
    try:
        prediction = predictor.predict_clip(path)
    except (VideoTooLong, VideoTooLarge, ImageTooLarge) as exc:  # the message says how long or large it may be
        raise gr.Error(f"That clip cannot be used: {str(exc).removeprefix(Path(path).name + ': ')}") from None
    except ImageDecodeError:
        raise gr.Error(
            "That file is not a video or image SignSpace can read (use MP4, WebM, MOV, JPEG or PNG)."
        ) from None
    except VIDEO_ERRORS:
        raise gr.Error("That video cannot be decoded (damaged, or a codec FFmpeg does not know).") from None
    if prediction.no_hand:
        raise gr.Error("No hand found in that clip: film the signing hands in view.")
    return prediction.top(5)


def classify_file(predictor: Predictor, path: str | None) -> dict[str, float]:
    """The non-streaming endpoint (gradio_client cannot call .stream()): one image file -> top-5."""
    if not path:
        raise gr.Error("No image received: upload a photo or take a snapshot first.")
    try:
        prediction = predictor.predict_upload(path)  # image models rerun close calls in fp32: exact answers
    except ImageTooLarge as exc:
        raise too_large(exc) from None
    except ImageDecodeError:
        raise gr.Error(NOT_AN_IMAGE) from None
    if prediction.no_hand:
        raise gr.Error("No hand found in that photo: this model recognises hands, so show one clearly.")
    return prediction.top(5)


def snapshot_step(classify, path, teach, config: AppConfig, classify_own=classify_file):
    """The Upload / snapshot tab: the visitor's chosen model (a Teach-tab one, through ``classify_own``), else the
    app's own through ``classify`` (which may borrow a ZeroGPU device)."""
    if teach is not None and teach.shelf.current != model_label(config):
        return classify_own(teach.shelf.predictor, path)
    return classify(path)


def model_info(predictor: Predictor) -> str:
    source = "local folder" if is_local(predictor.model_id) else f"revision `{predictor.revision or 'main'}`"
    words = list(dict.fromkeys(predictor.labels))  # a variant types its sign's word: listed once
    typed = [word for word in words if word != BACKGROUND_WORD]
    return (
        f"**Model:** `{predictor.model_id}` ({source}) · {predictor.describe()}\n\n"
        f"**Signs ({len(typed)}):** {', '.join(typed)}"
        + (f" · *{BACKGROUND_WORD}*: known, never typed" if len(typed) < len(words) else "")
    )


def pick_model(page: LivePage, teach, name: str | None, state) -> dict:
    """The Live tab's model list: switch the visitor to ``name`` (their live state starts over)."""
    if teach is None or not name:
        return {}
    try:
        teach.shelf.select(name)
    except SignSpaceError as exc:
        raise gr.Error(str(exc)) from None
    if state is not None:
        state.close()
    predictor = teach.shelf.predictor
    row, choices = personal.choices_update(predictor)
    return {
        page.info: model_info(predictor),
        page.crop: gr.update(visible=predictor.shows_crop),
        page.session: None,
        page.personal_row: row,
        page.that_was: choices,
    }


def edit_text(page: LivePage, session: LiveSession | None, action: str) -> dict:
    """Space, Backspace, Clear on the visitor's text (nothing typed yet: nothing to edit)."""
    return {page.text: "" if session is None else session.edit(action), page.session: session}
