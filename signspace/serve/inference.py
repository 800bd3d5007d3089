"""The predictors: one object per kind of model, one interface for the app.

Every kind loads safely, decodes a frame with the shared decode, answers a ``Prediction`` and starts a visitor's
live session (``live.py``). What differs by kind lives in the kind's class, never in the callers:
- ``ImagePredictor``: one image -> a handshape (optionally the hand crop the builder stored). Precisions:
  ``fp32``; ``int8`` (ONNX Runtime, ``onnx_runner.py``); ``int8-torch`` (PyTorch dynamic int8, no ONNX Runtime);
  ``bf16`` (CPU autocast); ``auto`` picks int8 on a CPU for Linear-heavy models (ViT), else fp32. One-off answers
  rerun close calls in fp32, so they equal fp32's.
- ``SequencePredictor``: tracked hand landmarks over time -> a motion sign.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import threading
import time
import warnings
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import torch
from PIL import Image

from signspace.core import kinds
from signspace.core.cache import default_cache_dir
from signspace.core.errors import ConfigError
from signspace.core.hand_model import resolve_hand_model
from signspace.core.hands import CROP_MARGIN, Hand, HandTracker, hand_crop
from signspace.core.imaging import IMAGE_EXTENSIONS, MAX_PHOTO_PIXELS, ImageSource, decode_image
from signspace.core.labels import display_labels
from signspace.core.landmarks import FRAME_VALUES, frame_from_hands, hands_present, resample, track_clip
from signspace.core.prediction import Prediction, softmax
from signspace.core.video import MAX_CLIP_SECONDS, read_frames
from signspace.models.modeling import load_classifier, load_processor
from signspace.models.transforms import InputSpec, eval_pixels, normalize
from signspace.serve.adaptation import (
    DEFAULT_METHOD,
    MAX_EXAMPLES,
    AdaptationError,
    Method,
    PersonalMemory,
    check_method,
    finetune_copy,
)
from signspace.serve.browser import BrowserInput, Send
from signspace.serve.live import MOTION_FRAME_SECONDS, HandshapeSession, LiveSession, SequenceSession
from signspace.serve.onnx_runner import OnnxInt8Runner, OnnxRunner, linear_share, onnx_bytes

logger = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "int8", "int8-torch", "bf16"]
HandCropMode = Literal["auto", "on", "off"]
PRECISIONS, HAND_CROP_MODES = get_args(Precision), get_args(HandCropMode)
# Hub models trained on close-up hand photos without recording it in config.json: crop for them on "auto".
CLOSE_UP_MODELS = frozenset({"RavenOnur/Sign-Language"})
# Close-call rechecks (one-off answers). The top-1/top-2 logit gap can only flip between precisions if it is
# smaller than how far the precisions move logits apart. That shift depends on the model (0.07-0.2 on real
# photos for plain ViTs, over 3 for a ViT whose head amplifies noise; docs/benchmarks.md), so it is
# measured: the first calls run both precisions, every recheck is another sample, and the margin stays at
# twice the largest shift seen (never below the floor).
RECHECK_MARGIN = 0.25
RECHECK_CALIBRATION_CALLS = 8


class Predictor:
    """A loaded model of some kind. ``Predictor.from_pretrained`` picks the kind from the model itself.

    Capabilities the app asks instead of a kind's name: ``tracks_hands`` (live frames go through the visitor's own
    hand tracker), ``shows_crop`` (the model sees a hand crop worth showing), ``takes_clips`` (a video of one sign
    can be classified), ``browser_input`` (what a page that tracks the hands itself sends for this model:
    landmarks, or hand crops; None when it needs whole pictures), ``live_frame_seconds`` (the longest gap between
    live frames the kind works with)."""

    tracks_hands = False
    shows_crop = False
    takes_clips = False
    adapts = False  # learns a visitor's form of a sign from their clips (``adapt``)
    browser_input: BrowserInput | None = None
    live_frame_seconds: float | None = None  # None: any rate
    crop_margin = CROP_MARGIN
    precision = "fp32"

    def __init__(self, model, model_id: str, revision: str | None, unmirror: bool, threads: int | None):
        self.model_id, self.revision, self.unmirror = model_id, revision, unmirror
        # id2label keeps the folder names; the page and the typed text show them as words
        self.labels = display_labels([model.config.id2label[i] for i in range(model.config.num_labels)])
        self.threads = threads or min(4, os.cpu_count() or 1)
        self.hand_model: Path | None = None
        self.still_tracker: HandTracker | None = None
        self._trackers: weakref.WeakSet[HandTracker] = weakref.WeakSet()  # visitors', closed with us at the latest

    @classmethod
    def from_pretrained(cls, model_id: str, revision: str | None = None, **options) -> Predictor:
        """The predictor for the model's kind (as transformers' Auto classes dispatch once, here)."""
        model = load_classifier(model_id, revision, flag="--model", strict=True)
        predictor = kinds.for_model(model).predictor_class()
        return predictor.from_model(model, model_id, revision, **options)

    def _start_tracking(self, hand_model: str | os.PathLike | None) -> None:
        self.hand_model = resolve_hand_model(hand_model)  # fails now, clearly, not on the first frame
        self.still_tracker = HandTracker(self.hand_model)  # IMAGE mode, for uploads (calls are serialised)

    def decode(self, source: ImageSource, unmirror: bool | None = None) -> Image.Image:
        """The one decode of a frame or file (EXIF, colour modes; live frames unmirrored unless told otherwise). A
        file over the app's photo cap (MAX_PHOTO_PIXELS) is refused from its header, on every path that sends one."""
        mirror = self.unmirror if unmirror is None else unmirror
        name = Path(source).name if isinstance(source, (str, os.PathLike)) else None  # never the server's paths
        return decode_image(source, mirror=mirror, max_pixels=MAX_PHOTO_PIXELS, name=name)

    def new_tracker(self) -> HandTracker:
        """A VIDEO-mode tracker for one visitor's stream (the caller closes it when the visitor leaves)."""
        tracker = HandTracker(self.hand_model)
        self._trackers.add(tracker)
        return tracker

    def close(self) -> None:
        """Close the hand trackers. MediaPipe's must be closed before interpreter exit (its worker threads are
        gone by the time atexit handlers run, and one left to the garbage collector raises then)."""
        for tracker in [self.still_tracker, *list(self._trackers)]:
            if tracker is not None:
                tracker.close()

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def predict(self, source: ImageSource, unmirror: bool | None = None) -> Prediction:
        """One photo or frame."""
        raise NotImplementedError

    def predict_upload(self, path: str | os.PathLike) -> Prediction:
        """A one-off answer for a photo file (already in the camera's own orientation)."""
        return self.predict(path, unmirror=False)

    def predict_clip(self, path: str | os.PathLike) -> Prediction:
        """A video of one sign (kinds with ``takes_clips``)."""
        raise NotImplementedError(f"{type(self).__name__} does not classify clips")

    def new_live_session(self) -> LiveSession:
        """One visitor's live stream with this model."""
        raise NotImplementedError

    def describe(self) -> str:
        """What the model takes, for the page (Markdown)."""
        raise NotImplementedError

    def page_model(self) -> bytes | None:
        """The model as ONNX for the visitor's page to classify with; None: this kind is classified here."""
        return None

    def page_memory(self) -> dict:
        """A visitor's clips for the page's memory (motion models adapt); none here."""
        return {"features": [], "labels": [], "digest": ""}

    def for_gpu(self) -> Predictor | None:
        """A copy for one-off answers on a borrowed GPU (ZeroGPU), or None when the kind needs none."""
        return None


def wants_hand_crop(mode: str, config, model_id: str) -> bool:
    """``auto``: crop for models whose config.json records hand crops, and for known close-up models."""
    if mode not in HAND_CROP_MODES:
        raise ConfigError(f"--hand_crop {mode!r}: use on, off or auto")
    if mode != "auto":
        return mode == "on"
    recorded = kinds.for_preprocessing(getattr(config, "signspace", None)).crops_hands
    return recorded or model_id in CLOSE_UP_MODELS


class ImagePredictor(Predictor):
    """An image classifier: one frame (or the crop around its hands) -> a handshape."""

    def __init__(
        self,
        model,
        processor,
        precision: str = "auto",
        threads: int | None = None,
        unmirror: bool = False,
        model_id: str = "",
        revision: str | None = None,
        device: str | None = None,
        recheck_margin: float = RECHECK_MARGIN,
        recheck_calibration: int = RECHECK_CALIBRATION_CALLS,
        hand_crop: str = "auto",
        hand_model: str | os.PathLike | None = None,
        cache_dir: Path | None = None,
    ):
        if precision not in PRECISIONS:
            raise ConfigError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        super().__init__(model, model_id, revision, unmirror, threads)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.device != "cpu" and precision.startswith("int8"):
            raise ConfigError(f"precision {precision!r} runs on the CPU only; use fp32 or bf16 on {self.device}")
        self.processor = processor
        self.cache_dir = Path(cache_dir or default_cache_dir())
        if precision == "auto":  # int8 only where the work is in Linear layers (ViT), not convolutions
            precision = "int8" if self.device == "cpu" and linear_share(model) > 0.5 else "fp32"
        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        self.model = model.eval().to(self.device)
        self.spec = InputSpec.from_processor(processor)
        self.hand_crop = wants_hand_crop(hand_crop, model.config, model_id)
        self.tracks_hands = self.shows_crop = self.hand_crop  # the hands are tracked to cut the crop shown
        self.crop_margin = float((getattr(model.config, "signspace", None) or {}).get("crop_margin", CROP_MARGIN))
        # A hand-crop model takes the crop cut in the page, at its input size (eval_pixels's shorter side, then the
        # centre square); a whole-frame one needs the picture itself.
        self.browser_input = (
            BrowserInput(
                Send.CROP,
                side=self.spec.size,
                resize=int(round(self.spec.size / self.spec.crop_pct)),
                margin=self.crop_margin,
            )
            if self.hand_crop
            else None
        )
        if self.hand_crop:
            self._start_tracking(hand_model)
        self.precision = precision
        self._run = self._make_runner(precision)
        self.recheck_margin = recheck_margin
        self._calibration_left = recheck_calibration
        # Gradio runs requests on several threads: the calibration state and PyTorch's process-wide thread count
        # are changed under one lock (rechecks are rare; live frames never take it).
        self._recheck_lock = threading.Lock()
        self._run_fp32 = self._torch_runner(self.model, torch.device(self.device), autocast=False)
        if self.precision == "int8" and self.device == "cpu":
            # ONNX Runtime owns the cores now. PyTorch only does ~1 ms of preprocessing per frame, but its
            # OpenMP threads keep spinning afterwards and stole up to 35 ms per frame from ORT (measured).
            torch.set_num_threads(1)

    @classmethod
    def from_model(cls, model, model_id: str, revision: str | None, **options) -> ImagePredictor:
        processor = load_processor(model_id, revision, flag="--model")
        return cls(model, processor, model_id=model_id, revision=revision, **options)

    def _make_runner(self, precision: str):
        if precision == "int8":
            try:
                return OnnxInt8Runner(self.model, self.spec, self.threads, self.cache_dir)
            except (ImportError, RuntimeError, OSError) as exc:  # no onnxruntime, or an unexportable model
                logger.warning("ONNX int8 unavailable (%s); using PyTorch dynamic int8", exc)
                self.precision = precision = "int8-torch"
        if precision == "int8-torch":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao eager quantisation is deprecated but still shipped
                quantised = torch.ao.quantization.quantize_dynamic(
                    self.model.cpu(), {torch.nn.Linear}, dtype=torch.qint8
                )
            return self._torch_runner(quantised, torch.device("cpu"), autocast=False)
        return self._torch_runner(self.model, torch.device(self.device), autocast=precision == "bf16")

    @staticmethod
    def _torch_runner(model, device: torch.device, autocast: bool):
        def run(pixels: np.ndarray) -> np.ndarray:
            tensor = torch.from_numpy(pixels).to(device)
            with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                return model(pixel_values=tensor).logits.float().cpu().numpy()

        return run

    def preprocess(self, source: ImageSource, unmirror: bool | None = None) -> np.ndarray:
        """Shared decode (EXIF, colour modes, mirror) then the same eval crop training used: 1x3xHxW float."""
        return self._pixels(self.decode(source, unmirror))

    def _pixels(self, image: Image.Image) -> np.ndarray:
        pixels = eval_pixels(image, self.spec).unsqueeze(0)
        return normalize(pixels, self.spec).numpy()

    def predict(self, source: ImageSource, unmirror: bool | None = None, recheck: bool = False) -> Prediction:
        """``unmirror`` overrides the default for sources that are not mirrored webcam frames (uploads).

        Hand-crop models track the hand with the shared IMAGE-mode tracker. ``recheck``: see ``predict_image``."""
        image = self.decode(source, unmirror)
        hands = self.still_tracker.detect(np.asarray(image)) if self.hand_crop else None
        return self.predict_image(image, hands, recheck)

    def predict_upload(self, path: str | os.PathLike) -> Prediction:
        return self.predict(path, unmirror=False, recheck=True)

    def predict_image(self, image: Image.Image, hands: list[Hand] | None = None, recheck: bool = False) -> Prediction:
        """A decoded frame (and, for hand-crop models, its tracked ``hands``): the model sees the same crop the
        builder stored, and a frame without a hand gets a Prediction with ``no_hand`` instead of a guess.

        ``recheck``: when the fast path's top two logits are closer than ``recheck_margin`` (or while the
        margin is still being calibrated), answer with fp32 instead: one extra fp32 pass on those calls only.
        For one-off answers; the live stream smooths over frames instead.
        """
        started = time.perf_counter()
        crop = None
        if self.hand_crop:
            crop = hand_crop(image, hands or [], margin=self.crop_margin)
            if crop is None:
                return Prediction(None, self.labels, time.perf_counter() - started, self.precision, hands)
            image = crop
        return self._classify(self._pixels(image), started, recheck, hands, crop)

    def predict_crop(self, crop: Image.Image | None) -> Prediction:
        """A hand crop cut and resized to the model's input in the visitor's browser (``browser_input``; checked by
        ``browser.parse_crop``): only the normalisation is left to do. None: no hand."""
        started = time.perf_counter()
        if crop is None:
            return Prediction(None, self.labels, 0.0, self.precision, [])
        if crop.size != (self.spec.size, self.spec.size):
            raise ValueError(f"a browser crop must be {self.spec.size} pixels square, not {crop.size}")
        # channel-first in one numpy copy: pil_to_tensor's view made normalising 5x slower, and torch's own copy of
        # it (.contiguous) cost 0.14 ms more than numpy's (docs/benchmarks.md)
        channels_first = np.ascontiguousarray(np.asarray(crop).transpose(2, 0, 1))
        pixels = normalize(torch.from_numpy(channels_first).unsqueeze(0), self.spec).numpy()
        return self._classify(pixels, started, False, None, crop)

    def _classify(self, pixels: np.ndarray, started: float, recheck: bool, hands, crop) -> Prediction:
        logits, precision = self._run(pixels)[0], self.precision
        if recheck and precision != "fp32":
            with self._recheck_lock:
                if self._calibration_left > 0 or _top_gap(logits) < self.recheck_margin:
                    with _torch_threads(self.threads):
                        exact = self._run_fp32(pixels)[0]
                    self._calibration_left = max(0, self._calibration_left - 1)
                    self.recheck_margin = max(self.recheck_margin, 2 * float(np.ptp(exact - logits)))
                    logits, precision = exact, "fp32"
        probabilities = softmax(logits.astype(np.float64))
        return Prediction(probabilities, self.labels, time.perf_counter() - started, precision, hands, crop)

    def new_live_session(self) -> HandshapeSession:
        return HandshapeSession(self)

    def describe(self) -> str:
        precision = self.precision
        if precision != "fp32":
            precision += " (uploads: close calls rechecked in fp32)"
        crop = " · **hand crop:** on" if self.hand_crop else ""
        return f"**precision:** {precision} · **input:** {self.spec.size}px{crop}"

    def for_gpu(self) -> ImagePredictor:
        """An fp32 copy on CUDA (module-level ``.to("cuda")`` is allowed on ZeroGPU; GPU time only in its calls)."""
        return ImagePredictor(
            copy.deepcopy(self.model),
            self.processor,
            precision="fp32",
            device="cuda",
            model_id=self.model_id,
            revision=self.revision,
            hand_crop="on" if self.hand_crop else "off",
            hand_model=self.hand_model,
        )


def _top_gap(logits: np.ndarray) -> float:
    top_two = np.partition(logits, -2)[-2:]
    return float(top_two[1] - top_two[0])


@contextmanager
def _torch_threads(threads: int):
    """All cores for an fp32 pass even where the int8 path keeps PyTorch to one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SequencePredictor(Predictor):
    """A landmark sequence model: frames -> hand landmarks (the shared tracker) -> a resampled window -> signs.

    ``predict_landmarks`` classifies landmark frames with their times (a finished sign, a live window);
    ``predict_clip`` a video or photo file; ``predict`` a single photo (a one-frame clip, for the /predict API);
    ``adapt`` a copy that has learnt one person's form of some signs from a few of their clips (``adaptation.py``).
    """

    tracks_hands = True
    takes_clips = True
    adapts = True
    memory: PersonalMemory | None = None  # a visitor's own clips (``adapt``); None: the model as trained
    adaptation: Method | None = None  # how this copy learnt them (``adapt``)
    original: object | None = None  # the model as trained, where this copy's model is a fine-tuned one
    personal_clips: tuple = ()  # (frames x 258, times, label) of those clips, so the visitor can keep them
    _shared_tracker: HandTracker | None = None  # an adapted copy's upload tracker: the original's
    _page_onnx: bytes | None = None  # page_model's export, made on first use
    browser_input = BrowserInput(Send.LANDMARKS)
    live_frame_seconds = MOTION_FRAME_SECONDS
    precision = "fp32"  # ~1 ms per window on a CPU (ONNX Runtime): nothing to gain from int8

    def __init__(
        self,
        model,
        model_id: str = "",
        revision: str | None = None,
        hand_model: str | os.PathLike | None = None,
        unmirror: bool = False,
        threads: int | None = None,
    ):
        super().__init__(model, model_id, revision, unmirror, threads)
        self.model = model.eval().cpu()
        self.length = int(model.config.sequence_length)
        self.window_seconds = float(model.config.window_seconds)
        self._run = self._make_runner()
        self._start_tracking(hand_model)

    def _make_runner(self):
        """ONNX Runtime on one thread: every live message of every visitor runs the model once, and PyTorch's
        per-op overhead was most of its cost (onnx_runner.OnnxRunner). PyTorch where the export fails."""
        example = torch.zeros(1, self.length, FRAME_VALUES)
        try:  # the features too: what personal adaptation reads, in the same pass
            return OnnxRunner(self.model, example, "input_values", with_features=True)
        except (ImportError, RuntimeError, OSError) as exc:  # no onnxruntime, or a model the exporter cannot take
            logger.warning("ONNX Runtime unavailable for the sequence model (%s); using PyTorch", exc)

        def run(window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            with torch.inference_mode():
                logits, features = self.model.classify(torch.from_numpy(window))
                return logits.numpy(), features.numpy()

        return run

    @classmethod
    def from_model(
        cls,
        model,
        model_id: str,
        revision: str | None,
        hand_model: str | os.PathLike | None = None,
        unmirror: bool = False,
        threads: int | None = None,
        **image_options,
    ) -> SequencePredictor:
        """``image_options`` (precision, hand crop, device) are the image kind's: a sequence model runs in fp32 on
        the CPU (~1 ms a window in ONNX Runtime) and always sees the tracked hands, so they do not apply."""
        return cls(model, model_id, revision, hand_model, unmirror, threads)

    def logits(
        self, sequence: np.ndarray, times: np.ndarray, start: float | None = None, end: float | None = None
    ) -> np.ndarray:
        logits, features = self._logits_and_features(sequence, times, start, end)
        return logits if self.memory is None else self.memory.logits(features, logits)

    def _logits_and_features(self, sequence, times, start=None, end=None) -> tuple[np.ndarray, np.ndarray]:
        window = np.ascontiguousarray(resample(sequence, times, self.length, start, end), np.float32)
        logits, features = self._run(window[None])
        return logits[0], features[0]

    def adapt(self, clips, labels: list[str], method: Method | None = None) -> SequencePredictor:
        """A copy of this predictor that has also learnt from ``clips`` ((frames x 258, times) pairs: signs a person
        made, e.g. the sign the Live tab just saw) labelled ``labels`` (sign names as ``self.labels`` shows them).
        Nothing is written. ``nearest`` (default) and ``head`` adapt on the model's features (milliseconds; the copy
        shares the model and its ONNX session); ``finetune`` trains a copy of the model (about a second, and its own
        ONNX export). Adapting a copy again adds the new clips to the ones it learnt from. Closing the copy closes
        only what it made."""
        method = method or self.adaptation or DEFAULT_METHOD
        check_method(method)
        kept = list(self.personal_clips)
        for (sequence, times), label in zip(clips, labels, strict=True):
            if label not in self.labels:
                raise AdaptationError(f"{label!r} is not a sign of this model; pick one of {', '.join(self.labels)}")
            sequence, times = np.asarray(sequence, np.float32), np.asarray(times, np.float64)
            if len(sequence) == 0 or not hands_present(sequence).any():
                raise AdaptationError("that clip has no hand in it, so it cannot teach the model your form")
            # kept as the model reads it (its window length over the clip's own span): a sign of 400 frames would be
            # 0.4 MB a clip, 25 MB a visitor at the limit; this is 33 KB a clip, and the same features
            window = np.linspace(times[0], times[-1], self.length)
            kept.append((resample(sequence, times, self.length).astype(np.float32), window, label))
        kept = kept[-MAX_EXAMPLES:]
        view = copy.copy(self)
        view.personal_clips, view.adaptation = tuple(kept), method
        view.still_tracker = None  # the upload tracker stays this one's: closed with it, not with the copy
        view._shared_tracker = self.still_tracker or self._shared_tracker
        view._trackers = weakref.WeakSet()
        view.original = self.original or self.model
        if method == "finetune":  # from the model as trained, on every clip so far: repeated adapting never drifts
            indices = [self.labels.index(label) for *_, label in kept]
            view.model = finetune_copy(view.original, [(v, t) for v, t, _ in kept], indices)
            view._run, view.memory = view._make_runner(), None
            return view
        view.model, view._run = view.original, self._run if self.model is view.original else None
        if view._run is None:  # a fine-tuned copy adapted again on features: back to the model as trained
            view._run = view._make_runner()
        view.memory = PersonalMemory(*view._head(), method)
        for sequence, times, label in kept:
            view.memory.add(view._logits_and_features(sequence, times)[1], self.labels.index(label))
        return view

    def page_model(self) -> bytes | None:
        """The model as ONNX for the visitor's page (``space/web/sign_reader.mjs`` runs it in ONNX Runtime Web and
        types what this predictor's sessions would), exported once, with the features personal adaptation reads.
        A copy that learnt a visitor's clips with ``nearest`` gives the same export (the page keeps the clips itself,
        ``space/web/personal_memory.mjs``, from ``page_memory``); None for ``head`` and ``finetune`` copies: a refitted
        layer or a fine-tuned model lives here, on the server."""
        if self.personal_clips and (self.memory is None or self.memory.method != "nearest"):
            return None
        if self._page_onnx is None:
            example = torch.zeros(1, self.length, FRAME_VALUES)
            self._page_onnx = onnx_bytes(self.model, example, "input_values", with_features=True)
        return self._page_onnx

    def page_memory(self) -> dict:
        """The visitor's clips as the page's memory (``space/web/personal_memory.mjs``) takes them: their features
        and label indices, and a digest naming this memory ("" when there is none), which the page's sign messages
        repeat so that a page with an older memory is not taken at its word."""
        if self.memory is None or not len(self.memory):
            return super().page_memory()
        features, labels = np.stack(self.memory.features), np.asarray(self.memory.labels, np.int64)
        digest = hashlib.sha256(features.tobytes() + labels.tobytes()).hexdigest()[:16]
        return {"features": features.tolist(), "labels": labels.tolist(), "digest": digest}

    def _head(self) -> tuple[np.ndarray, np.ndarray]:
        layer = self.model.head_layer
        return layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()

    def predict_landmarks(
        self, sequence: np.ndarray, times, start: float | None = None, end: float | None = None
    ) -> Prediction:
        """Landmark frames (frames x 258, Holistic layout) and their times; no hand in any frame -> ``no_hand``."""
        started = time.perf_counter()
        sequence, times = np.asarray(sequence, np.float32), np.asarray(times, np.float64)
        if len(sequence) == 0 or not hands_present(sequence).any():
            return Prediction(None, self.labels, time.perf_counter() - started, self.precision, [])
        probabilities = softmax(self.logits(sequence, times, start, end).astype(np.float64))
        return Prediction(probabilities, self.labels, time.perf_counter() - started, self.precision)

    def predict_clip(self, path: str | os.PathLike, max_frames: int = 64) -> Prediction:
        """A video file (tracked in VIDEO mode, as the builder does) or a photo (a one-frame clip)."""
        path = Path(path)
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return self.predict(str(path), unmirror=False)
        return self.predict_landmarks(*self.track_video(path, max_frames))

    def track_video(self, path: Path, max_frames: int = 64) -> tuple[np.ndarray, list[float]]:
        """A video of one sign as (frames x 258 landmark values, times), as the builder tracks a clip."""
        picked = read_frames(path, max_frames, path.name, max_seconds=MAX_CLIP_SECONDS)
        frames = [np.asarray(image) for _, image, _ in picked]
        times = [seconds for *_, seconds in picked]
        with self.new_tracker() as tracker:
            return track_clip(tracker, frames, times), times

    def predict(self, source: ImageSource, unmirror: bool | None = None) -> Prediction:
        """One photo as a one-frame clip (static signs; the /predict API)."""
        tracker = self.still_tracker or self._shared_tracker
        hands = tracker.detect(np.asarray(self.decode(source, unmirror)))
        prediction = self.predict_landmarks(frame_from_hands(hands)[None], [0.0])
        prediction.hands = hands
        return prediction

    def new_live_session(self) -> SequenceSession:
        return SequenceSession(self, window_seconds=self.window_seconds)

    def describe(self) -> str:
        count = len(self.personal_clips)
        personal = f" · **learnt your form from {count} of your clips**" if count else ""
        return (
            f"**input:** hand landmarks, {self.length} frames over {self.window_seconds:.1f} s (motion signs)"
            + personal
        )
