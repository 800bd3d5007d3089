"""The Live tab's webcam when the visitor's browser tracks the hands (``--tracking browser``, or ``auto`` with a
model that can take what the page sends): a ``gr.HTML`` running ``browser_tracker.js``, and the two events it raises.

What reaches the server (``signspace.browser``): landmark messages for motion models, never a picture; for image
models trained on hand crops, the landmarks and the hand crop at the model's input size, never the frame. Where the
browser cannot run the tracker (no WebAssembly, the files unreachable, no camera), the page says so and shows the
server-tracked webcam instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any, cast

import gradio as gr

from signspace.core.atomic import write_bytes_atomic
from signspace.core.errors import ConfigError
from signspace.core.hands import search_settings
from signspace.serve.browser import (
    ORT_WEB_CDN,
    ORT_WEB_FILES,
    PAGE_MODEL_MAX_BYTES,
    TASKS_VISION_CDN,
    TASKS_VISION_FILES,
    BrowserInput,
    LandmarkMessageError,
    Send,
    asset_folder,
)
from signspace.serve.inference import Predictor
from signspace.serve.live import MOTION_FRAME_SECONDS, NO_HAND, LiveRoster, session_for
from signspace.serve.pacing import Pacer

LANDMARKS = BrowserInput(Send.LANDMARKS)
SCRIPT = (Path(__file__).parent / "browser_tracker.js").read_text(encoding="utf-8")
WEB = Path(__file__).resolve().parent / "web"  # the page's modules (hand_tracking.mjs, page_model.mjs, ...)
TEMPLATE = """<div class="ss-feed">
  <div class="ss-view"><video playsinline muted></video><canvas class="ss-hands"></canvas></div>
  <figure class="ss-crop" hidden><canvas></canvas><figcaption>What the model sees</figcaption></figure>
  <p class="ss-now" hidden></p>
  <p class="ss-status">Starting the hand tracker in your browser…</p>
</div>"""
STYLE = """.ss-feed { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.ss-view { position: relative; max-width: 480px; flex: 1 1 320px; }
.ss-view video, .ss-view canvas { width: 100%; transform: scaleX(-1); }
.ss-view canvas { position: absolute; left: 0; top: 0; height: 100%; }
.ss-crop { margin: 0; width: 120px; font-size: 0.8em; }
.ss-crop canvas { width: 120px; }
.ss-status { font-size: 0.9em; flex-basis: 100%; }
.ss-now { font-weight: 600; flex-basis: 100%; margin: 0; }"""


def uses_browser(tracking: str, predictor: Predictor) -> bool:
    """``auto`` and ``browser``: the page tracks for every model that can take what it sends (motion models:
    landmarks; image models trained on hand crops: the crop); a model that sees whole frames needs the pictures."""
    if tracking == "browser" and predictor.browser_input is None:
        raise ConfigError(
            "--tracking browser needs a motion model or an image model trained on hand crops; this one sees whole "
            "frames, so use --tracking server (or auto)"
        )
    if predictor.hand_model is None:  # nothing to track with, in the page or here
        return False
    return tracking in ("browser", "auto") and predictor.browser_input is not None


def asset_urls(web_assets: str | None, hand_model: Path) -> dict[str, str]:
    """Where the page loads the tracker from: a local copy of the npm package (``--web_assets``, served by this
    app) or the package on a public CDN at the pinned version; the hand model is always this app's own file."""
    served = [hand_model]
    if web_assets:
        folder = asset_folder(
            web_assets,
            TASKS_VISION_FILES,
            "--web_assets",
            "a copy of the npm package @mediapipe/tasks-vision (the folder holding vision_bundle.mjs and wasm/)",
        )
        served.append(folder)
        bundle, wasm = _url(folder / "vision_bundle.mjs"), _url(folder / "wasm")
    else:
        bundle, wasm = f"{TASKS_VISION_CDN}/vision_bundle.mjs", f"{TASKS_VISION_CDN}/wasm"
    gr.set_static_paths([str(path) for path in [*served, WEB]])
    tracking = _url(WEB / "hand_tracking.mjs")  # the page's tracker module (the static Space's too)
    return {"bundle_url": bundle, "wasm_url": wasm, "model_url": _url(hand_model), "tracking_url": tracking}


def ort_url(ort_assets: str | None) -> str:
    """Where the page loads ONNX Runtime Web from: a local copy of its dist folder (``--ort_assets``, served by this
    app) or the package on a public CDN at the version package.json pins."""
    if not ort_assets:
        return f"{ORT_WEB_CDN}/ort.wasm.min.mjs"
    folder = asset_folder(
        ort_assets,
        ORT_WEB_FILES,
        "--ort_assets",
        "onnxruntime-web's dist folder (npm ci puts one in node_modules/onnxruntime-web/dist)",
    )
    gr.set_static_paths([str(folder)])
    return _url(folder / "ort.wasm.min.mjs")


class PageModels:
    """What a visitor's page needs to read a motion model's signs itself (``web/page_model.mjs``): the model's ONNX
    export as a file this app serves (written once per model), the live rules' settings, ONNX Runtime Web's URL; or
    why the server reads them instead (``{"why": ...}``, which the page says)."""

    def __init__(self, ort: str, folder: Path | None = None):
        self.ort = ort
        self.folder = Path(folder or tempfile.mkdtemp(prefix="signspace-page-models-"))
        self._made: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        gr.set_static_paths([str(self.folder), str(WEB)])

    def describe(self, predictor) -> dict:
        if predictor in self._made:
            return self._made[predictor]
        wants = predictor.browser_input
        if wants is None or wants.send is not Send.LANDMARKS:
            return {"why": "this model reads pictures"}
        model = predictor.page_model()
        if model is None:
            return {"why": "your own form of a sign is learnt here, on the server"}
        if len(model) > PAGE_MODEL_MAX_BYTES:
            limit = PAGE_MODEL_MAX_BYTES // 2**20
            return {"why": f"the model is {len(model) / 2**20:.0f} MB, over the {limit} MB a page loads"}
        path = self.folder / f"{hashlib.sha256(model).hexdigest()[:20]}.onnx"
        if not path.is_file():
            write_bytes_atomic(path, model)
        session = predictor.new_live_session()
        described = {
            "module_url": _url(WEB / "page_model.mjs"),
            "ort_url": self.ort,
            "model_url": _url(path),
            "max_bytes": PAGE_MODEL_MAX_BYTES,
            "settings": session.page_settings(),
            "memory": predictor.page_memory()["digest"],  # the visitor's clips it must read with ("": none)
        }
        session.close()
        self._made[predictor] = described
        return described


def _url(path: Path) -> str:
    return f"/gradio_api/file={Path(path).resolve().as_posix()}"


def browser_feed(
    urls: dict[str, str],
    mirror: bool,
    wants: BrowserInput = LANDMARKS,
    elem_id: str = "signspace-browser-feed",
    page_model: dict | None = None,
    keep_signs: bool = False,
    threshold: float = 0.6,
) -> gr.HTML:
    """The component; its ``submit`` carries the messages, its ``stop`` says the browser cannot track. ``wants``:
    what the starting model needs (each answer tells the page again, after a visitor picks another model).
    ``page_model``: ``PageModels.describe``'s answer, where the page may read a motion model's signs itself (then it
    sends one message per sign instead of its frames); ``keep_signs``: such messages carry the sign's frames too
    (what "That was ..." teaches). When the page cannot track it stops, and hides itself: its tab's note says why,
    beside the server-tracked webcam, and the stopped box would say it a second time."""
    feed = gr.HTML(
        value={},
        html_template=TEMPLATE,
        css_template=STYLE,
        js_on_load=SCRIPT,
        elem_id=elem_id,
        frame_ms=round(MOTION_FRAME_SECONDS * 1000),
        mirror=mirror,
        wants=wants.to_page(),
        search=search_settings(),
        page_model=page_model or {"why": "reading signs in the page is off (--classify server)"},
        keep_signs=keep_signs,
        threshold=threshold,  # until the server's first answer says the slider's
        **cast(dict[str, Any], urls),  # the tracker bundle's URLs, as template props
    )
    feed.stop(lambda: gr.update(visible=False), None, [feed], api_visibility="private")
    return feed


def live_feed(config, predictor: Predictor, roster: LiveRoster) -> tuple[gr.HTML, dict[str, Any]]:
    """The Live tab's page tracker for ``predictor`` (app_config.AppConfig ``config``), and ``browser_step``'s options
    for its messages: the limits (``--concurrency`` slots off the queue, a pacer that slows pages near the app's
    capacity, the roster of live visitors) and the models pages may read signs with themselves (None: ``--classify
    server``)."""
    urls = asset_urls(config.web_assets, predictor.hand_model)
    wants = predictor.browser_input.paced(config.stream_every)
    models = PageModels(ort_url(config.ort_assets)) if config.classify == "auto" else None
    described = models.describe(predictor) if models else None
    feed = browser_feed(
        urls, not config.unmirror, wants, page_model=described, keep_signs=config.teach, threshold=config.threshold
    )
    slots = threading.BoundedSemaphore(config.concurrency)
    options = {"frame_seconds": config.stream_every, "slots": slots, "pacer": Pacer(), "roster": roster}
    return feed, {**options, "page_models": models}


def server_webcam(label: str, **options) -> gr.Image:
    """The webcam whose frames stream to the server (server tracking, and the Teach tab's recorder): a mirrored
    preview, frames flipped back by the app."""
    return gr.Image(
        sources=["webcam"],
        streaming=True,
        type="numpy",
        label=label,
        webcam_options=gr.WebcamOptions(mirror=True),
        **options,
    )


def browser_step(
    page,
    base: Predictor,
    message,
    state,
    threshold: float,
    teach,
    frame_seconds: float,
    slots: threading.Semaphore | None = None,
    pacer: Pacer | None = None,
    roster: LiveRoster | None = None,
    page_models: PageModels | None = None,
):
    """One message with the visitor's chosen model: its top-3 (or "no hand"), the text, the session and the answer to
    the page (``page``: handlers.LivePage; its ``feed`` gets the answer). The answer acknowledges the message and says
    what the model wants next (``frame_seconds``: how often an image model's crops come). A refused message changes
    nothing and says why; the stream goes on.

    ``slots``: how many messages are classified at once. The event runs off Gradio's queue (its per-call overhead
    dwarfed the work), so this is where ``--concurrency`` holds: unbounded, a crowd's handlers ran side by side and
    each answer came slower (docs/benchmarks.md). ``pacer``: while the app is busy, the answer asks the page to send
    less often (more frames a message), so fewer of a crowd's messages queue. ``roster``: every visitor's live
    session; a new visitor past its limit is refused (the page says why and stays on its loop). ``page_models``: a
    page reading a motion model's signs itself sends ``{"sign": ...}`` once per sign (``SequenceSession.step_sign``);
    every answer says whether it still may (the visitor may have picked another model, or taught theirs here)."""
    predictor = teach.shelf.predictor if teach is not None else base
    if predictor.browser_input is None:
        if state is not None:  # the session of the model the visitor left
            state.close()
        refused = "this model sees whole frames, which this page does not send; pick another model in the Model list"
        return {page.text: "", page.session: None, page.feed: {"refused": refused}}
    wants = predictor.browser_input.paced(frame_seconds, pacer.current() if pacer else 1.0).to_page()
    try:
        state = session_for(predictor, state, roster)
    except LandmarkMessageError as exc:  # the app is full: nothing is kept for this visitor
        return {page.text: "", page.session: None, page.feed: {"refused": str(exc), "wants": wants}}
    answer: dict[str, Any] = {"wants": wants, "threshold": threshold}
    if page_models is not None:
        answer["page_model"] = page_models.describe(predictor)
    try:
        with slots or contextlib.nullcontext(), state.lock:
            if isinstance(message, dict) and "sign" in message:
                # the page's word counts only from the model this server offered it, read with the visitor's clips as
                # they are here; anything else is read here, and a page behind on the clips is sent them
                offered = answer.get("page_model", {})
                read_here = offered.get("model_url") is None or message.get("model_url") != offered["model_url"]
                behind = not read_here and message.get("memory", "") != offered["memory"]
                step, ack = state.step_sign(message["sign"], threshold, read_here or behind), True
                if behind:
                    answer["personal"] = predictor.page_memory()
            else:
                step = state.step_message(message, threshold)
                ack = message["frames"][-1]["t"]
    except LandmarkMessageError as exc:
        return {page.text: state.text, page.session: state, page.feed: {"refused": str(exc), **answer}}
    shown = NO_HAND if step.no_hand else step.top
    return {page.label: shown, page.text: step.text, page.session: state, page.feed: {"ack": ack, **answer}}


def browser_unavailable(message) -> tuple:
    """The page could not track (the reason in ``message``): show the server-tracked webcam instead."""
    reason = (message or {}).get("fallback", "unknown reason") if isinstance(message, dict) else "unknown reason"
    note = f"Tracking in your browser is not available ({reason[:300]}); your webcam's frames go to the server instead."
    return gr.update(visible=True), note
