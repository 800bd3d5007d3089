"""SignSpace webcam demo: live sign recognition in Gradio. The page's wiring and its request checks live here; the
models and their live sessions are in signspace.inference and signspace.live, the Teach tab in teach_tab.py.

    python space/app.py [--model REPO_ID_OR_DIR] [--revision REV] [--host 127.0.0.1] [--port 7860] [--help]

On a Hugging Face Space the model comes from the MODEL_ID / MODEL_REVISION variables.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import logging
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import browser_feed
import gradio as gr
import personal
import teach_tab
from PIL import Image, UnidentifiedImageError
from starlette.middleware import Middleware
from transformers import HfArgumentParser

from signspace import browser
from signspace.browser import LandmarkMessageError
from signspace.cli import parse_dataclasses
from signspace.errors import ConfigError, HandModelError, SignSpaceError, run_cli
from signspace.hands import resolve_hand_model
from signspace.hub import HubError
from signspace.imaging import MAX_PHOTO_PIXELS, ImageDecodeError, ImageTooLarge
from signspace.inference import HandCropMode, Precision, Predictor
from signspace.limits import RequestSizeLimit, UnknownEvent, UploadBudget, parse_size
from signspace.live import MAX_LIVE_SESSIONS, MOTION_FRAME_SECONDS, NO_HAND, LiveRoster, LiveSession, session_for
from signspace.modeling import is_local
from signspace.teach import SharedModel
from signspace.teach_folder import TeachLimits
from signspace.video import VIDEO_ERRORS, VideoTooLarge, VideoTooLong

DEFAULT_MODEL = "RavenOnur/Sign-Language"
DEFAULT_REVISION = "refs/pr/1"  # the safetensors conversion of its main branch's pickle weights
# Shipped with the app (beside this file, here and on a Space): a motion model any visitor can use at once, built by
# train/build_starter.py from 23 people, and MediaPipe's hand model, so the app starts with no network at all.
STARTER_DIR = Path(__file__).resolve().parent / "asl-starter"
STARTER_NAME = "ASL starter: hello, thank you, I love you"
BUNDLED_HAND_MODEL = Path(__file__).resolve().parent / "hand_landmarker.task"

HOW_TO = """**How to use.** Allow the webcam (where your browser tracks your hands, as with a motion model, it starts
by itself; otherwise press *Record*). The top guesses update several times a second, smoothed over the last frames.
**Handshape models** (letters, photos): hold a sign steady for about a second and it is typed; to type the same
letter twice, drop your hand or change sign in between. **Motion models** (landmark sequences, such as the ones the
Teach tab trains): sign once; the word is typed when your hands stop or leave the frame. The *Upload / snapshot*
tab classifies a single photo, *Upload a clip* a short video of one sign. Models trained on hand crops see only the
square around your hands (shown beside the webcam, with the tracked landmarks); with no hand in view they say so."""


def option(default, help: str, **extra):
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class AppConfig:
    """Every setting of the app, with its default, parsed once from the command line (``parse_args``)."""

    model: str | None = option(
        None,
        f"Hub id or local folder of the model (default: {DEFAULT_MODEL}; when the Hub cannot be reached, the ASL "
        "starter shipped with the app)",
    )
    revision: str | None = option(
        None, f"Hub revision (branch, tag, commit); default: main, or {DEFAULT_REVISION} for {DEFAULT_MODEL}"
    )
    precision: Precision = option("auto", "auto: int8 on a CPU for ViT-like models, else fp32")
    hand_crop: HandCropMode = option(
        "auto", "crop frames around the hands (auto: when the model was trained on hand crops, and for RavenOnur's)"
    )
    hand_model: str | None = option(
        None, "MediaPipe hand_landmarker.task (default: $SIGNSPACE_HAND_MODEL, else downloaded once)"
    )
    unmirror: bool = option(
        True,
        "the preview is mirrored; the model sees the camera's own view, like training photos (--no-unmirror "
        "if your training frames were recorded mirrored)",
    )
    teach: bool = option(True, "the Teach tab: record your own signs, train, publish (--no-teach hides it)")
    data_dir: str = option("signspace-signs", "the Teach tab's folder: one sub-folder of clips per sign")
    per_visitor: bool = option(
        False,
        "shared Space mode: each visitor records into a private folder removed when they leave, publishes "
        "with their own Hugging Face login, within tighter limits (on by default on a Space)",
    )
    tracking: Literal["auto", "browser", "server"] = option(
        "auto",
        "where hands are tracked live: browser (only landmarks, and a hand-crop model's crop, leave the visitor's "
        "device; not for models that see whole frames), server (the webcam's frames are sent), auto (the browser "
        "wherever the model allows, falling back to the server)",
    )
    web_assets: str | None = option(
        None,
        "a local copy of the npm package @mediapipe/tasks-vision (vision_bundle.mjs and wasm/) for the page's "
        f"tracker; default: the package {browser.TASKS_VISION_VERSION} from a public CDN",
    )
    zero_gpu: bool = option(False, "one-off answers borrow a ZeroGPU device (set on Spaces by deploy.py)")
    host: str = option("127.0.0.1", "address to serve on")
    port: int = option(7860, "port to serve on")
    threshold: float = option(0.6, "confidence needed to type a sign (the page has a slider)")
    stream_every: float = option(0.2, "seconds between webcam frames for handshape models")
    time_limit: int = option(120, "seconds a visitor's stream may run before it stops")
    queue_size: int = option(16, "waiting requests beyond this are politely refused")
    concurrency: int = option(2, "requests served at once (2 CPU cores on a free Space)")
    max_live: int = option(
        MAX_LIVE_SESSIONS, "visitors served live at once (each holds ~0.5 MB); more are asked to try again later"
    )
    max_file_size: str = option("10mb", "largest upload, e.g. 10mb")
    delete_cache_every: int = option(1800, "seconds between sweeps of Gradio's upload cache")
    delete_cache_age: int = option(3600, "cached uploads older than this many seconds are deleted")

    def __post_init__(self):
        self.chosen = self.model is not None  # no --model (nor MODEL_ID): offline, the starter serves instead
        self.model = self.model or DEFAULT_MODEL
        if self.revision is None and self.model == DEFAULT_MODEL:
            self.revision = DEFAULT_REVISION
        data_dir = Path(self.data_dir)
        if self.teach and not self.per_visitor and data_dir.exists() and not data_dir.is_dir():
            raise ConfigError(
                f"--data_dir {data_dir} is a file; the Teach tab needs a folder (one sub-folder per sign). Pass "
                "another path, or --no-teach"
            )
        parse_size(self.max_file_size)  # says how to write it
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"--threshold {self.threshold}: a confidence between 0 and 1, e.g. 0.6")
        positive = {"stream_every": self.stream_every, "time_limit": self.time_limit, "queue_size": self.queue_size}
        positive |= {"concurrency": self.concurrency, "delete_cache_every": self.delete_cache_every}
        positive |= {"max_live": self.max_live}
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"--{name} {value}: must be above 0 (default {getattr(AppConfig, name)})")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port {self.port}: a port number from 0 to 65535, e.g. 7860")

    @property
    def delete_cache(self) -> tuple[int, int]:
        return self.delete_cache_every, self.delete_cache_age


# What a Space (or the shell) sets instead of options; a flag given on the command line still wins.
ENVIRONMENT = {
    "model": "MODEL_ID",
    "revision": "MODEL_REVISION",
    "precision": "SIGNSPACE_PRECISION",
    "hand_crop": "SIGNSPACE_HAND_CROP",
    "data_dir": "SIGNSPACE_DATA_DIR",
    "tracking": "SIGNSPACE_TRACKING",
    "web_assets": "SIGNSPACE_WEB_ASSETS",
    "host": "GRADIO_SERVER_NAME",
    "port": "GRADIO_SERVER_PORT",
}


def environment_defaults(environ=os.environ) -> dict:
    defaults = {name: environ[variable] for name, variable in ENVIRONMENT.items() if environ.get(variable)}
    if "port" in defaults:
        defaults["port"] = int(defaults["port"])
    defaults["per_visitor"] = bool(environ.get("SPACE_ID"))
    defaults["zero_gpu"] = environ.get("SIGNSPACE_HARDWARE") == "zero-gpu"
    return defaults


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The usage text as written above, and every option's default."""


def parse_args(argv: list[str] | None = None, environ=os.environ) -> AppConfig:
    parser = HfArgumentParser(AppConfig, description=__doc__, formatter_class=HelpFormatter)
    parser.set_defaults(**environment_defaults(environ))
    (config,) = parse_dataclasses(parser, argv)
    return config


NOT_AN_IMAGE = "That file is not an image SignSpace can read (use JPEG, PNG, WebP or BMP)."


def too_large(detail: str) -> gr.Error:
    return gr.Error(
        f"That image is too large ({detail}); send a photo of at most "
        f"{MAX_PHOTO_PIXELS // 1_000_000} megapixels and {AppConfig.max_file_size}."
    )


class PhotoInput(gr.Image):
    """gr.Image whose upload check answers a non-image, an oversized file or a decompression bomb with a friendly
    message (never the server's paths), before anything is decoded."""

    is_template = True  # rendered by the ordinary Image front end
    max_bytes: int = 10_000_000

    def preprocess(self, payload):
        path, url = getattr(payload, "path", None), getattr(payload, "url", None) or ""
        if path and os.path.isfile(path):
            source, size = path, os.path.getsize(path)
        elif url.startswith("data:"):  # inline base64 images skip the upload route and its size check
            try:
                source = io.BytesIO(base64.b64decode(url.partition(",")[2], validate=True))
            except binascii.Error:
                raise gr.Error(NOT_AN_IMAGE) from None
            size = source.getbuffer().nbytes
        else:
            source = None
        if source is not None:
            if size > self.max_bytes:
                raise too_large(f"{size / 1e6:.1f} MB")
            check_pixels(source)
        try:
            return super().preprocess(payload)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large("too many pixels") from None
        except (UnidentifiedImageError, OSError, SyntaxError):  # what Pillow raises for non-images
            raise gr.Error(NOT_AN_IMAGE) from None


def check_pixels(path) -> None:
    """Refuse from the header alone: a 23 KB 1-bit PNG can claim 9,400 x 9,400 pixels (~1 GB once decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large("too many pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise gr.Error(NOT_AN_IMAGE) from None
    if width * height > MAX_PHOTO_PIXELS:
        raise too_large(f"{width} x {height} pixels")


def live_step(
    base: Predictor,
    frame,
    state: LiveSession | None,
    threshold: float,
    teach,
    now: float | None = None,
    roster: LiveRoster | None = None,
):
    """One streamed frame with the visitor's chosen model (the app's own, or one trained in the Teach tab) ->
    (top-3 smoothed or "no hand", text so far, session, overlay, crop). ``roster``: the app's live sessions (a full
    app says so instead of serving a new visitor)."""
    try:
        state = session_for(teach.shelf.predictor if teach is not None else base, state, roster)
    except LandmarkMessageError as exc:
        raise gr.Error(str(exc)) from None
    with state.lock:
        step = state.step(frame, time.monotonic() if now is None else now, threshold)
    return NO_HAND if step.no_hand else step.top, step.text, state, step.overlay, step.crop


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
    except ImageTooLarge:
        raise too_large("too many pixels") from None
    except ImageDecodeError:
        raise gr.Error(NOT_AN_IMAGE) from None
    if prediction.no_hand:
        raise gr.Error("No hand found in that photo: this model recognises hands, so show one clearly.")
    return prediction.top(5)


def snapshot_step(classify, path, teach, config: AppConfig):
    """The Upload / snapshot tab: the visitor's chosen model (a Teach-tab one), else the app's own through
    ``classify`` (which may borrow a ZeroGPU device)."""
    if teach is not None and teach.shelf.current != model_label(config):
        return classify_file(teach.shelf.predictor, path)
    return classify(path)


def model_info(predictor: Predictor) -> str:
    source = "local folder" if is_local(predictor.model_id) else f"revision `{predictor.revision or 'main'}`"
    return (
        f"**Model:** `{predictor.model_id}` ({source}) · {predictor.describe()}\n\n"
        f"**Signs ({len(predictor.labels)}):** {', '.join(predictor.labels)}"
    )


def pick_model(teach, name: str | None, state):
    """The Live tab's model list: switch the visitor to ``name`` (their live state starts over)."""
    if teach is None or not name:
        return gr.update(), gr.update(), state, gr.update(), gr.update()
    try:
        teach.shelf.select(name)
    except SignSpaceError as exc:
        raise gr.Error(str(exc)) from None
    if state is not None:
        state.close()
    predictor = teach.shelf.predictor
    return model_info(predictor), gr.update(visible=predictor.shows_crop), None, *personal.choices_update(predictor)


def build_demo(
    predictor: Predictor,
    config: AppConfig,
    snapshot_predictor: Predictor | None = None,
    gpu=lambda fn: fn,
    visitors: teach_tab.Visitors | None = None,
) -> gr.Blocks:
    """``predictor`` serves the live stream (CPU); ``snapshot_predictor`` and ``gpu`` let the one-off
    endpoint borrow a ZeroGPU device (``spaces.GPU``) without every frame queuing for it. ``visitors``: the Teach
    tab's shared state (made here unless given)."""
    snapshot_predictor = snapshot_predictor or predictor
    base_name = model_label(config)
    if config.teach:
        visitors = visitors or teach_tab.Visitors(config, predictor, base_name, shared=shared_models(config))
    classify = gpu(lambda path: classify_file(snapshot_predictor, path))
    roster = LiveRoster(config.max_live)  # every visitor's live session: what they hold is bounded
    with gr.Blocks(title="SignSpace — live sign recognition", delete_cache=config.delete_cache) as demo:
        gr.Markdown("# SignSpace — live sign recognition")
        info = gr.Markdown(model_info(predictor))
        # One per visitor; its hand tracker is closed when the visitor leaves (tab closed or idle for an hour).
        session = gr.State(None, time_to_live=3600, delete_callback=lambda state: state and state.close())
        # The visitor's Teach-tab session (folder, models, training job); made on page load, closed on unload (and
        # on a shared Space at the latest after some hours, should the browser never say it left).
        teach = gr.State(
            None,
            time_to_live=teach_ttl(config),
            delete_callback=lambda session: session and visitors.close(session),
        )
        with gr.Tab("Live webcam", id="live"):
            model_picker = gr.Dropdown(
                label="Model", choices=[base_name], value=base_name, visible=config.teach, elem_id="live-model"
            )
            in_browser = browser_feed.uses_browser(config.tracking, predictor)
            tracking_note = gr.Markdown(elem_id="signspace-tracking-note")
            with gr.Row():
                if in_browser:  # only hand landmarks (and an image model's hand crop) leave the visitor's device
                    urls = browser_feed.asset_urls(config.web_assets, predictor.hand_model)
                    wants = predictor.browser_input.paced(config.stream_every)
                    slots = threading.BoundedSemaphore(config.concurrency)  # the queue's limit, off the queue
                    pacer = browser.Pacer()  # near the app's capacity pages send less often, so fewer messages queue
                    feed = browser_feed.browser_feed(urls, mirror=not config.unmirror, wants=wants)
                with gr.Row(visible=not in_browser) as server_camera:  # the server tracks the streamed frames
                    camera = browser_feed.server_webcam("Webcam")
                    with gr.Column(visible=config.teach or predictor.tracks_hands, scale=0, min_width=180):
                        overlay = gr.Image(
                            label="Tracked hands", interactive=False, height=160, elem_id="signspace-overlay"
                        )
                        crop_view = gr.Image(
                            label="What the model sees",
                            interactive=False,
                            height=120,
                            elem_id="signspace-crop",
                            visible=predictor.shows_crop,
                        )
                with gr.Column():
                    live_label = gr.Label(num_top_classes=3, label="Now")
                    threshold = gr.Slider(
                        0.0, 1.0, value=config.threshold, step=0.05, label="Confidence needed to type"
                    )
                    text = gr.Textbox(label="Text", interactive=False, elem_id="signspace-text")
                    with gr.Row():
                        space_btn = gr.Button("Space")
                        back_btn = gr.Button("Backspace")
                        clear_btn = gr.Button("Clear")
            # "That was ...": the visitor's own copy of a motion model learns their form (kept on their Teach shelf)
            personal_row, that_was = personal.build_row(predictor, teach, session, info, config.teach, model_info)
            camera.stream(
                lambda frame, state, t, visitor: live_step(predictor, frame, state, t, visitor, roster=roster),
                inputs=[camera, session, threshold, teach],
                outputs=[live_label, text, session, overlay, crop_view],
                stream_every=stream_every(predictor, config),
                time_limit=config.time_limit,
                concurrency_limit=config.concurrency,
                show_progress="hidden",
                api_name=False,
            )
            if in_browser:
                feed.submit(
                    lambda message, state, t, visitor: browser_feed.browser_step(
                        predictor, message, state, t, visitor, config.stream_every, slots, pacer, roster
                    ),
                    inputs=[feed, session, threshold, teach],
                    outputs=[live_label, text, session, feed],
                    # a few ms a message: Gradio's queue (its own round trips and event stream per call) cost more than
                    # the work and turned a crowd over --queue_size away (docs/benchmarks.md); slots bound it instead
                    queue=False,
                    show_progress="hidden",
                    api_name=False,
                )
                feed.stop(
                    browser_feed.browser_unavailable,
                    inputs=[feed],
                    outputs=[server_camera, tracking_note],
                    api_name=False,
                )
            model_picker.change(
                pick_model,
                inputs=[teach, model_picker, session],
                outputs=[info, crop_view, session, personal_row, that_was],
                api_name=False,
            )
            for button, action in ((space_btn, "space"), (back_btn, "backspace"), (clear_btn, "clear")):
                button.click(
                    lambda state, a=action: edit_text(state, a),
                    inputs=[session],
                    outputs=[text, session],
                    api_name=False,
                )
        with gr.Tab("Upload / snapshot"):
            with gr.Row():
                # image_mode=None: the file goes to our shared decode untouched (EXIF, CMYK, 16-bit…).
                still = PhotoInput(
                    sources=["upload", "webcam", "clipboard"],
                    type="filepath",
                    image_mode=None,
                    label="Photo",
                    webcam_options=gr.WebcamOptions(mirror=False),
                )
                still.max_bytes = parse_size(config.max_file_size)
                still_label = gr.Label(num_top_classes=5, label="Prediction")
            gr.Button("Recognise", variant="primary").click(
                lambda path, visitor: snapshot_step(classify, path, visitor, config),
                inputs=[still, teach],
                outputs=[still_label],
                api_name="predict",
                concurrency_limit=config.concurrency,
            )
        if predictor.takes_clips or config.teach:
            with gr.Tab("Upload a clip"):
                with gr.Row():
                    clip = gr.Video(sources=["upload", "webcam"], label="A short video of one sign")
                    clip_label = gr.Label(num_top_classes=5, label="Prediction")
                gr.Button("Recognise clip", variant="primary").click(
                    lambda path, visitor: classify_clip(visitor.shelf.predictor if visitor else predictor, path),
                    inputs=[clip, teach],
                    outputs=[clip_label],
                    api_name="predict_clip",
                    concurrency_limit=config.concurrency,
                )
                if config.teach:  # the visitor's own copy of the model lives on their Teach shelf
                    with gr.Row():
                        clip_sign = gr.Textbox(label="That clip is the sign …", elem_id="clip-that-was")
                        learn_clip = gr.Button("Learn my form from this clip")
                    clip_note = gr.Markdown()
                    learn_clip.click(
                        personal.adapt_clip,
                        inputs=[teach, clip, clip_sign],
                        outputs=[clip_note],
                        api_name="adapt_clip",
                        concurrency_limit=config.concurrency,
                    )
        if config.teach:
            teach_tab.build_teach_tab(demo, config, teach, model_picker, visitors)
        gr.Markdown(HOW_TO)
    demo.queue(max_size=config.queue_size, default_concurrency_limit=config.concurrency)
    return demo


def teach_ttl(config: AppConfig) -> int | None:
    if not (config.teach and config.per_visitor):
        return None  # local: the folder is the user's and stays; the session ends with the tab
    return teach_tab.SHARED_SESSION_HOURS * 3600


def launch_kwargs(config: AppConfig, demo: gr.Blocks | None = None) -> dict:
    """Limits for every route: Gradio's max_file_size for its upload route, and a request-body cap for the rest
    (an inline base64 image is 4/3 of the file, plus JSON); with ``demo``, a call naming an event it does not have is
    a 404 with one line instead of Gradio's bare 500."""
    body_limit = parse_size(config.max_file_size) * 4 // 3 + 64_000
    middleware = [Middleware(RequestSizeLimit, max_bytes=body_limit)]
    if demo is not None:
        middleware.append(Middleware(UnknownEvent, known=lambda: demo.fns))
    if config.per_visitor:  # what one visitor may pile up in Gradio's cache (the Teach tab's storage limit, twice)
        budget = 2 * TeachLimits.public().total_bytes
        middleware.append(Middleware(UploadBudget, max_bytes=budget, behind_proxy=teach_tab.on_hf_space()))
    kwargs = {"max_file_size": config.max_file_size, "app_kwargs": {"middleware": middleware}}
    if config.teach and not config.per_visitor:  # replaying clips and showing results from --data_dir, wherever it is
        kwargs["allowed_paths"] = [str(Path(config.data_dir).resolve())]

    return kwargs


def edit_text(session: LiveSession | None, action: str):
    """Space, Backspace, Clear on the visitor's text (nothing typed yet: nothing to edit)."""
    return ("", session) if session is None else (session.edit(action), session)


def stream_every(predictor: Predictor, config: AppConfig) -> float:
    """Seconds between live frames: the config's, or closer together where a motion model may serve (the Teach tab
    trains them)."""
    limits = [config.stream_every, predictor.live_frame_seconds, MOTION_FRAME_SECONDS if config.teach else None]
    return min(limit for limit in limits if limit is not None)


def shared_models(config: AppConfig) -> dict[str, SharedModel]:
    """What every visitor may pick besides the app's own model: the starter shipped with the app."""
    if not STARTER_DIR.is_dir() or is_starter(config.model):
        return {}

    def load() -> Predictor:
        return Predictor.from_pretrained(
            str(STARTER_DIR), unmirror=config.unmirror, hand_model=hand_model_option(config)
        )

    return {STARTER_NAME: SharedModel(load)}


def model_label(config: AppConfig) -> str:
    """The app's own model as the Model list names it."""
    return STARTER_NAME if is_starter(config.model) else config.model


def is_starter(model: str) -> bool:
    return Path(model).resolve() == STARTER_DIR


def hand_model_option(config: AppConfig) -> str | None:
    """--hand_model, else the one found without a download ($SIGNSPACE_HAND_MODEL, the cache, the copy shipped beside
    the app); None: downloaded on first use."""
    if config.hand_model:
        return config.hand_model
    try:
        return str(resolve_hand_model(None, download=False, bundled=BUNDLED_HAND_MODEL))
    except HandModelError:
        return None


def load_model(config: AppConfig, announce=print, load=None) -> Predictor:
    """The model the app serves. With no --model and no Hub within reach, the starter shipped with the app serves
    instead of the app stopping, and ``announce`` says so in one line; a model the user named fails clearly.
    ``load(model, revision)``: how a model is loaded (``Predictor.from_pretrained`` with the config's options)."""

    def from_pretrained(model: str, revision: str | None) -> Predictor:
        options = dict(precision=config.precision, unmirror=config.unmirror, hand_crop=config.hand_crop)
        device = "cpu" if config.zero_gpu else None
        return Predictor.from_pretrained(model, revision, device=device, hand_model=config.hand_model, **options)

    load = load or from_pretrained
    try:
        return load(config.model, config.revision)
    except HubError as exc:
        if config.chosen or not STARTER_DIR.is_dir():
            raise
        announce(
            f"note: {str(exc).split('. ')[0]}; serving the ASL starter shipped with the app instead ({STARTER_NAME}). "
            "Pass --model for another model."
        )
        config.model, config.revision = str(STARTER_DIR), None
        return load(config.model, None)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = parse_args(argv)
    config.hand_model = hand_model_option(config)
    host, port = config.host, config.port
    predictor = load_model(config)
    snapshot, gpu = (predictor.for_gpu() if config.zero_gpu else None), (lambda fn: fn)
    if snapshot is not None:  # ZeroGPU: GPU time only inside spaces.GPU calls
        import spaces

        gpu = spaces.GPU(duration=20)
    demo = build_demo(predictor, config, snapshot, gpu)
    try:
        demo.launch(
            server_name=host, server_port=port, theme=gr.themes.Soft(), show_error=True, **launch_kwargs(config, demo)
        )
    except OSError as exc:
        if "port" not in str(exc).lower():
            raise
        raise SignSpaceError(
            f"port {port} on {host} is in use (another app, or this one already running); pass "
            "--port with a free port, e.g. --port 7861"
        ) from None
    finally:
        for each in (predictor, snapshot):
            if each is not None:
                each.close()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
