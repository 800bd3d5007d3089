"""MediaPipe's hand model file: where it comes from (an option, the environment, the cache, the copy shipped with
the app, a download) and the check that it is a real task bundle."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

from signspace.core.atomic import write_bytes_atomic
from signspace.core.cache import default_cache_dir
from signspace.core.errors import HandModelError

logger = logging.getLogger(__name__)
HAND_MODEL_ENV = "SIGNSPACE_HAND_MODEL"
# A pinned version of MediaPipe's official bundle (not `latest`): the same file every time.
HAND_MODEL_VERSION = "float16/1"
HAND_MODEL_URL = (
    f"https://storage.googleapis.com/mediapipe-models/hand_landmarker/hand_landmarker/{HAND_MODEL_VERSION}/"
    "hand_landmarker.task"
)
BUNDLE_MEMBERS = ("hand_detector.tflite", "hand_landmarks_detector.tflite")


def check_task_bundle(path: Path) -> Path:
    """A hand-landmarker ``.task`` file is a zip holding the detector and landmark models."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise HandModelError(
            f"hand model {path} does not exist; pass --hand_model with the path of hand_landmarker.task "
            f"(or set {HAND_MODEL_ENV})"
        )
    try:
        with zipfile.ZipFile(path) as bundle:
            names = set(bundle.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise HandModelError(
            f"hand model {path} is not a MediaPipe task bundle ({exc}); download hand_landmarker.task again from "
            f"{HAND_MODEL_URL}"
        ) from None
    missing = [member for member in BUNDLE_MEMBERS if member not in names]
    if missing:
        raise HandModelError(
            f"hand model {path} is a zip without {', '.join(missing)}: not a hand-landmarker bundle; use "
            f"hand_landmarker.task from {HAND_MODEL_URL}"
        )
    return path


def resolve_hand_model(
    option: str | os.PathLike | None = None,
    cache_dir: Path | None = None,
    download: bool = True,
    bundled: Path | None = None,
    url: str = HAND_MODEL_URL,
) -> Path:
    """The hand model file: ``option``, else ``$SIGNSPACE_HAND_MODEL``, else the cached download (made once), else
    ``bundled`` (a copy shipped with the app, so it starts offline), else a download from ``url``."""
    chosen = option or os.environ.get(HAND_MODEL_ENV)
    if chosen:
        return check_task_bundle(Path(chosen))
    target = (
        Path(cache_dir or default_cache_dir())
        / "mediapipe"
        / HAND_MODEL_VERSION.replace("/", "-")
        / "hand_landmarker.task"
    )
    if target.is_file():
        return check_task_bundle(target)
    if bundled is not None and Path(bundled).is_file():
        return check_task_bundle(Path(bundled))
    if not download:
        raise HandModelError(f"no hand model at {target}; pass --hand_model PATH or set {HAND_MODEL_ENV}")
    _download(url, target)
    return target


def _download(url: str, target: Path) -> None:
    """Fetch once, check it is a real bundle, then move it into the cache (never a half file there)."""
    from huggingface_hub.utils import httpx

    remedy = f"download {url} by hand and pass --hand_model PATH (or set {HAND_MODEL_ENV}), or place it at {target}"
    try:
        response = httpx.get(url, timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise HandModelError(
            f"could not download the MediaPipe hand model ({type(exc).__name__}: {exc}); {remedy}"
        ) from None
    staged = target.with_name(f".{target.name}.{os.getpid()}.download")
    staged.parent.mkdir(parents=True, exist_ok=True)
    try:
        staged.write_bytes(response.content)
        check_task_bundle(staged)
        write_bytes_atomic(target, staged.read_bytes())
    finally:
        staged.unlink(missing_ok=True)
    logger.info("downloaded the MediaPipe hand model to %s", target)
