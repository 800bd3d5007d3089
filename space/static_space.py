"""A static Space: the whole live loop in the visitor's page, nothing served but files (``deploy.py --static``).

The page (``web/static/index.html`` with ``web/static_page.mjs``) runs the Gradio Space's own modules: the hand
tracker (``web/hand_tracking.mjs``), the model's ONNX export in ONNX Runtime Web and the live rules
(``web/page_model.mjs``, ``web/sign_reader.mjs``). ``signspace.json`` carries every setting from the server's code:
the model's labels and window, the sign boundaries, the tracker's search, where the tracker and ONNX Runtime are.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from signspace.core.cards import render_static_space_card
from signspace.core.errors import ConfigError
from signspace.core.hands import search_settings
from signspace.serve.browser import (
    ORT_WEB_CDN,
    ORT_WEB_FILES,
    PAGE_MODEL_MAX_BYTES,
    TASKS_VISION_CDN,
    TASKS_VISION_FILES,
    asset_folder,
)
from signspace.serve.live import MOTION_FRAME_SECONDS

WEB = Path(__file__).resolve().parent / "web"
PAGE_FILES = ("hand_tracking.mjs", "sign_reader.mjs", "personal_memory.mjs", "page_model.mjs", "static_page.mjs")
HAND_MODEL_FILE = "hand_landmarker.task"
MODEL_FILE = "model.onnx"
STATIC_MAX_BYTES = 15 * 2**20  # what a visitor's first visit loads from the Space, the CDN's files aside


def stage_static(
    folder: Path,
    predictor,
    space_id: str,
    title: str,
    license: str,
    hand_model: Path,
    threshold: float,
    mirror: bool = True,
    tracker_dir: Path | None = None,
    ort_dir: Path | None = None,
) -> dict[str, int]:
    """Fill ``folder`` with the static Space for ``predictor`` (a motion model); answers each file's size in bytes.
    ``tracker_dir`` / ``ort_dir``: copies of the npm packages @mediapipe/tasks-vision and onnxruntime-web's dist
    to ship in the Space (default: both from a public CDN at the pinned versions). Refuses (ConfigError, before
    writing anything) a model the page cannot run, or files to serve over STATIC_MAX_BYTES besides those two."""
    model = predictor.page_model()
    if model is None:
        raise not_for_the_page(predictor.model_id)
    if len(model) > PAGE_MODEL_MAX_BYTES:
        raise ConfigError(
            f"{predictor.model_id}'s ONNX export is {len(model) / 2**20:.1f} MB, over the "
            f"{PAGE_MODEL_MAX_BYTES // 2**20} MB a page loads; deploy it as a Gradio Space (without --static)"
        )
    tracker_urls = _assets("tasks-vision", tracker_dir, TASKS_VISION_FILES, TASKS_VISION_CDN, "--bundle_tracker")
    ort_urls = _assets("onnxruntime-web", ort_dir, ORT_WEB_FILES, ORT_WEB_CDN, "--bundle_ort")
    session = predictor.new_live_session()
    settings = session.page_settings()
    session.close()
    config = {
        "model_id": predictor.model_id,
        "revision": predictor.revision,
        "frame_ms": round(MOTION_FRAME_SECONDS * 1000),
        "mirror": mirror,
        "threshold": threshold,
        "search": search_settings(),
        "tracker": {
            "bundle_url": f"{tracker_urls}/vision_bundle.mjs",
            "wasm_url": f"{tracker_urls}/wasm",
            "model_url": f"./{HAND_MODEL_FILE}",
        },
        "model": {
            "ort_url": f"{ort_urls}/ort.wasm.min.mjs",
            "model_url": f"./{MODEL_FILE}",
            "max_bytes": PAGE_MODEL_MAX_BYTES,
            "settings": settings,
        },
    }
    bundled = [name for name, given in (("the hand tracker", tracker_dir), ("ONNX Runtime Web", ort_dir)) if given]
    served = len(model) + Path(hand_model).stat().st_size + sum((WEB / n).stat().st_size for n in PAGE_FILES)
    if served > STATIC_MAX_BYTES:
        raise ConfigError(
            f"the static Space would serve {served / 2**20:.1f} MB besides the tracker and ONNX Runtime, over "
            f"{STATIC_MAX_BYTES // 2**20} MB; ship a smaller model"
        )
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(WEB / "static" / "index.html", folder / "index.html")
    for name in PAGE_FILES:
        shutil.copy2(WEB / name, folder / name)
    shutil.copy2(hand_model, folder / HAND_MODEL_FILE)
    (folder / MODEL_FILE).write_bytes(model)
    (folder / "signspace.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    shipped = ((tracker_dir, "tasks-vision", TASKS_VISION_FILES), (ort_dir, "onnxruntime-web", ORT_WEB_FILES))
    for source, target, names in shipped:
        for name in names if source else ():
            (folder / target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(source) / name, folder / target / name)
    assets_note = f"Shipped here too: {' and '.join(bundled)} (Apache-2.0 / MIT)." if bundled else ""
    card = render_static_space_card(
        space_id, predictor.model_id, predictor.revision, title, license, len(model) / 2**20, assets_note
    )
    (folder / "README.md").write_text(card, encoding="utf-8")
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def not_for_the_page(model_id: str) -> ConfigError:
    return ConfigError(
        f"{model_id} is not a motion model, and a static Space reads signs from hand landmarks in the page; deploy "
        "it as a Gradio Space (space/deploy.py without --static)"
    )


def _assets(name: str, folder: Path | None, files: tuple[str, ...], cdn: str, option: str) -> str:
    """Where the page loads an npm package from: the copy shipped in the Space (``name``/) or the CDN."""
    if folder is None:
        return cdn
    asset_folder(str(folder), files, option, f"a copy of the npm package {name}")
    return f"./{name}"  # relative to the page (a bare "name/..." would be an npm specifier to import())
