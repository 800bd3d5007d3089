"""Every setting of the webcam app in one visible block (``AppConfig``), what a Space sets instead of options
(``ENVIRONMENT``), and the models the app ships with. Parsed once, by ``parse_args``."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from starlette.middleware import Middleware

from signspace.core.cli import dataclass_parser, parse_dataclasses
from signspace.core.errors import ConfigError, HandModelError
from signspace.core.hand_model import resolve_hand_model
from signspace.serve import browser
from signspace.serve.adaptation import DEFAULT_METHOD, METHODS, Method
from signspace.serve.inference import HandCropMode, Precision, Predictor
from signspace.serve.limits import RequestSizeLimit, UnknownEvent, UploadBudget, parse_size
from signspace.serve.live import MAX_LIVE_SESSIONS, MOTION_FRAME_SECONDS
from signspace.teach.folder import TeachLimits
from signspace.teach.session import on_hf_space
from signspace.teach.visitors import SHARED_SESSION_HOURS

if TYPE_CHECKING:
    import gradio as gr

USAGE = """SignSpace webcam demo: live sign recognition in Gradio.

    python space/app.py [--model REPO_ID_OR_DIR] [--revision REV] [--host 127.0.0.1] [--port 7860] [--help]

On a Hugging Face Space the model comes from the MODEL_ID / MODEL_REVISION variables.
"""

DEFAULT_MODEL = "RavenOnur/Sign-Language"
DEFAULT_REVISION = "refs/pr/1"  # the safetensors conversion of its main branch's pickle weights
# Shipped with the app (beside this file, here and on a Space): a motion model any visitor can use at once, built by
# train/build_starter.py from 23 people, and MediaPipe's hand model, so the app starts with no network at all.
STARTER_DIR = Path(__file__).resolve().parent / "asl-starter"
STARTER_NAME = "ASL starter: hello, thank you, I love you"
BUNDLED_HAND_MODEL = Path(__file__).resolve().parent / "hand_landmarker.task"


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
    classify: Literal["auto", "server"] = option(
        "auto",
        "where a motion model reads the signs when the page tracks: auto (in the visitor's page, with ONNX Runtime "
        "Web: no request per frame; the server where the browser cannot), server (every frame's landmarks are sent)",
    )
    ort_assets: str | None = option(
        None,
        "a local copy of onnxruntime-web's dist folder (e.g. node_modules/onnxruntime-web/dist) for the page's "
        f"classifier; default: the package {browser.ORT_WEB_VERSION} from a public CDN",
    )
    adaptation: Method = option(
        DEFAULT_METHOD,
        "how *That was ...* learns a visitor's form of a sign: nearest (their clips as neighbours in the model's "
        "features: instant, and a page that reads the signs keeps reading them), finetune (a copy of the model "
        "trained on their clips: about a second of server CPU a lesson, 4-8 points better for people of a source "
        "the model never saw, and their signs are read on the server from then on), head (the last layer refitted); "
        'docs/benchmarks.md, "Personal adaptation"',
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
        if self.adaptation not in METHODS:  # a Space's SIGNSPACE_ADAPTATION is not checked by the parser
            raise ConfigError(f"--adaptation {self.adaptation}: one of {', '.join(METHODS)} (default {DEFAULT_METHOD})")
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
    "classify": "SIGNSPACE_CLASSIFY",
    "adaptation": "SIGNSPACE_ADAPTATION",
    "ort_assets": "SIGNSPACE_ORT_ASSETS",
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
    parser = dataclass_parser(AppConfig, description=USAGE, formatter_class=HelpFormatter)
    parser.set_defaults(**environment_defaults(environ))
    (config,) = parse_dataclasses(parser, argv)
    return config


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


def teach_ttl(config: AppConfig) -> int | None:
    if not (config.teach and config.per_visitor):
        return None  # local: the folder is the user's and stays; the session ends with the tab
    return SHARED_SESSION_HOURS * 3600


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
        middleware.append(Middleware(UploadBudget, max_bytes=budget, behind_proxy=on_hf_space()))
    kwargs = {"max_file_size": config.max_file_size, "app_kwargs": {"middleware": middleware}}
    if config.teach and not config.per_visitor:  # replaying clips and showing results from --data_dir, wherever it is
        kwargs["allowed_paths"] = [str(Path(config.data_dir).resolve())]

    return kwargs


def stream_every(predictor: Predictor, config: AppConfig) -> float:
    """Seconds between live frames: the config's, or closer together where a motion model may serve (the Teach tab
    trains them)."""
    limits = [config.stream_every, predictor.live_frame_seconds, MOTION_FRAME_SECONDS if config.teach else None]
    return min(limit for limit in limits if limit is not None)
