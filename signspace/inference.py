"""Inference for the webcam app: load safely, preprocess with the shared decode, predict fast, smooth.

No Gradio here: everything is testable without a browser. Precision paths:
- ``fp32``: plain PyTorch.
- ``int8``: the model exported to ONNX and its Linear layers dynamically quantised, run by ONNX
  Runtime (about 4x faster than fp32 for ViT-B on 2 CPU threads); built once, cached on disk.
- ``int8-torch``: PyTorch dynamic int8 of the Linear layers (no ONNX Runtime needed).
- ``bf16``: PyTorch CPU autocast.
``auto`` picks int8 on a CPU for Linear-heavy models (ViT) and fp32 otherwise (GPU, conv nets).
``predict(..., recheck=True)`` reruns close calls in fp32, so one-off answers equal fp32's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import warnings
import weakref
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .errors import ConfigError
from .imaging import ImageSource, decode_image
from .modeling import load_classifier, load_processor
from .scan import display_labels
from .transforms import InputSpec, eval_pixels, normalize

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "int8", "int8-torch", "bf16")
HAND_CROP_MODES = ("auto", "on", "off")
# Hub models trained on close-up hand photos without recording it in config.json: crop for them on "auto".
CLOSE_UP_MODELS = frozenset({"RavenOnur/Sign-Language"})
QUANT_RECIPE = "onnx-dynamic-int8:weight-matmuls:v1"  # part of the cache key: a new recipe rebuilds
# Close-call rechecks (one-off answers). The top-1/top-2 logit gap can only flip between precisions if it is
# smaller than how far the precisions move logits apart. That shift depends on the model (0.07-0.2 on real
# photos for plain ViTs, over 3 for a ViT whose head amplifies noise; docs/benchmarks.md), so it is
# measured: the first calls run both precisions, every recheck is another sample, and the margin stays at
# twice the largest shift seen (never below the floor).
RECHECK_MARGIN = 0.25
RECHECK_CALIBRATION_CALLS = 8
CACHE_DIR = Path(os.environ.get("SIGNSPACE_CACHE", Path.home() / ".cache" / "signspace"))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _model_fingerprint(model, extra: str) -> str:
    """Identifies the exact weights, so a cached ONNX file is never used for another model."""
    digest = hashlib.sha256(extra.encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        flat = tensor.detach().float().flatten()
        digest.update(flat[:: max(1, flat.numel() // 64)].numpy().tobytes())  # a sample of each tensor
        digest.update(str(tuple(tensor.shape)).encode())
    return digest.hexdigest()[:24]


class OnnxInt8Runner:
    """ONNX Runtime session over a dynamically int8-quantised export of the model."""

    def __init__(self, model, spec: InputSpec, threads: int, cache_dir: Path | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = self._build(model, spec, Path(cache_dir or CACHE_DIR))
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own error types (InvalidProtobuf, Fail) share no public base
            # A cached file damaged on disk (or cut short by a full disk) would fail every start: rebuild it once.
            logger.warning("cached int8 model %s is unusable (%s); rebuilding it", self.path, str(exc).splitlines()[0])
            self.path.unlink(missing_ok=True)
            self.path = self._build(model, spec, Path(cache_dir or CACHE_DIR))
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    @staticmethod
    def _build(model, spec: InputSpec, cache_dir: Path) -> Path:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        key = _model_fingerprint(model, f"{type(model).__name__}:{spec.size}:{QUANT_RECIPE}")
        target = cache_dir / "onnx" / f"{key}-int8.onnx"
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fp32_path = target.with_name(f".{key}-{os.getpid()}-fp32.onnx")
        tmp_path = target.with_name(f".{key}-{os.getpid()}-int8.onnx")
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    _LogitsOnly(model),
                    (torch.zeros(1, 3, spec.size, spec.size),),
                    str(fp32_path),
                    input_names=["pixel_values"],
                    output_names=["logits"],
                    opset_version=17,
                    dynamo=False,
                    dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
                )
                quantize_dynamic(
                    str(fp32_path),
                    str(tmp_path),
                    weight_type=QuantType.QInt8,
                    nodes_to_exclude=_activation_matmuls(fp32_path),
                )
            os.replace(tmp_path, target)  # atomic: a killed build never leaves a half file in the cache
        finally:
            for leftover in (fp32_path, tmp_path):
                leftover.unlink(missing_ok=True)
        logger.info("built int8 ONNX model in %.1f s: %s", time.perf_counter() - started, target)
        return target

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"pixel_values": pixels})[0]


def _activation_matmuls(onnx_path: Path) -> list[str]:
    """MatMuls between two activations (attention scores and mixing): kept in float, since quantising
    both sides on the fly costs accuracy and saves little; weight MatMuls carry the speed-up."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    weights = {initializer.name for initializer in graph.initializer}
    return [node.name for node in graph.node if node.op_type == "MatMul" and not any(i in weights for i in node.input)]


def linear_share(model) -> float:
    """Fraction of parameters in Linear layers: high for ViTs (int8 pays), low for conv nets (it does not)."""
    total = sum(p.numel() for p in model.parameters())
    linear = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters())
    return linear / max(1, total)


class _LogitsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values).logits


@dataclass
class Prediction:
    probabilities: np.ndarray | None  # over labels, sums to 1; None: no hand found (hand-crop models)
    labels: list[str]
    seconds: float = 0.0
    precision: str = "fp32"  # what computed it: a rechecked close call says fp32
    hands: list | None = None  # the tracked hands (hands.Hand); None when the model needs no tracking
    crop: object = None  # the PIL crop the model saw (hand-crop models)
    frame: object = None  # the decoded (unmirrored) frame the tracker saw (hand-crop models), for the overlay

    @property
    def no_hand(self) -> bool:
        return self.probabilities is None

    def top(self, k: int = 3) -> dict[str, float]:
        if self.probabilities is None:
            return {}
        order = np.argsort(-self.probabilities)[:k]
        return {self.labels[i]: float(self.probabilities[i]) for i in order}

    @property
    def best(self) -> tuple[str | None, float]:
        if self.probabilities is None:
            return None, 0.0
        index = int(np.argmax(self.probabilities))
        return self.labels[index], float(self.probabilities[index])


def wants_hand_crop(mode: str, config, model_id: str) -> bool:
    """``auto``: crop for models whose config.json records hand crops, and for known close-up models."""
    if mode not in HAND_CROP_MODES:
        raise ConfigError(f"--hand_crop {mode!r}: use on, off or auto")
    if mode != "auto":
        return mode == "on"
    recorded = (getattr(config, "signspace", None) or {}).get("input") == "hand_crop"
    return recorded or model_id in CLOSE_UP_MODELS


class Predictor:
    """Loads a classifier once; ``predict`` takes any frame or file the shared decode accepts."""

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
        hand_crop: str = "auto",
        hand_model: str | None = None,
    ):
        if precision not in PRECISIONS:
            raise ConfigError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.device != "cpu" and precision.startswith("int8"):
            raise ConfigError(f"precision {precision!r} runs on the CPU only; use fp32 or bf16 on {self.device}")
        self.processor = processor
        if precision == "auto":  # int8 only where the work is in Linear layers (ViT), not convolutions
            precision = "int8" if self.device == "cpu" and linear_share(model) > 0.5 else "fp32"
        self.threads = threads or min(4, os.cpu_count() or 1)
        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        self.model = model.eval().to(self.device)
        self.spec = InputSpec.from_processor(processor)
        # id2label keeps the folder names; the page and the typed text show them as words
        self.labels = display_labels([model.config.id2label[i] for i in range(model.config.num_labels)])
        self.unmirror = unmirror
        self.model_id, self.revision = model_id, revision
        self.hand_crop = wants_hand_crop(hand_crop, model.config, model_id)
        self.crop_margin = float((getattr(model.config, "signspace", None) or {}).get("crop_margin", 0.25))
        self.hand_model = self.still_tracker = None
        if self.hand_crop:
            from .hands import HandTracker, resolve_hand_model

            self.hand_model = resolve_hand_model(hand_model)  # fails now, clearly, not on the first frame
            self.still_tracker = HandTracker(self.hand_model)  # IMAGE mode, for uploads (calls are serialised)
        self._trackers = weakref.WeakSet()  # visitors' trackers, closed with the predictor at the latest
        self.precision = precision
        self._run = self._make_runner(precision)
        self.recheck_margin = recheck_margin
        self._calibration_left = RECHECK_CALIBRATION_CALLS
        # Gradio runs requests on several threads: the calibration state and PyTorch's process-wide thread count
        # are changed under one lock (rechecks are rare; live frames never take it).
        self._recheck_lock = threading.Lock()
        self._run_fp32 = self._torch_runner(self.model, torch.device(self.device), autocast=False)
        if self.precision == "int8" and self.device == "cpu":
            # ONNX Runtime owns the cores now. PyTorch only does ~1 ms of preprocessing per frame, but its
            # OpenMP threads keep spinning afterwards and stole up to 35 ms per frame from ORT (measured).
            torch.set_num_threads(1)

    kind = "images"

    @classmethod
    def from_pretrained(cls, model_id: str, revision: str | None = None, **kwargs):
        """The right predictor for the model: this class for image models, SequencePredictor for landmark ones."""
        from .modeling import is_sequence_model

        model = load_classifier(model_id, revision, flag="--model", strict=True)
        if is_sequence_model(model):
            return SequencePredictor(
                model,
                model_id=model_id,
                revision=revision,
                hand_model=kwargs.get("hand_model"),
                unmirror=kwargs.get("unmirror", False),
                threads=kwargs.get("threads"),
            )
        processor = load_processor(model_id, revision, flag="--model")
        return cls(model, processor, model_id=model_id, revision=revision, **kwargs)

    def _make_runner(self, precision: str):
        if precision == "int8":
            try:
                return OnnxInt8Runner(self.model, self.spec, self.threads)
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

    def new_tracker(self):
        """A VIDEO-mode tracker for one visitor's stream (the caller closes it when the visitor leaves)."""
        from .hands import HandTracker

        tracker = HandTracker(self.hand_model)
        self._trackers.add(tracker)
        return tracker

    def close(self) -> None:
        """Close the hand trackers. MediaPipe's must be closed before interpreter exit (its worker threads are
        gone by the time atexit handlers run, and one left to the garbage collector raises then)."""
        for tracker in [self.still_tracker, *list(self._trackers)]:
            if tracker is not None:
                tracker.close()

    def __enter__(self) -> "Predictor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def preprocess(self, source: ImageSource, unmirror: bool | None = None) -> np.ndarray:
        """Shared decode (EXIF, colour modes, mirror) then the same eval crop training used: 1x3xHxW float."""
        return self._pixels(decode_image(source, mirror=self.unmirror if unmirror is None else unmirror))

    def _pixels(self, image) -> np.ndarray:
        pixels = eval_pixels(image, self.spec).unsqueeze(0)
        return normalize(pixels, self.spec).numpy()

    def predict(
        self,
        source: ImageSource,
        unmirror: bool | None = None,
        recheck: bool = False,
        tracker=None,
        timestamp_ms: int | None = None,
    ) -> Prediction:
        """``unmirror`` overrides the default for sources that are not mirrored webcam frames (uploads).

        Hand-crop models: the hand tracker runs on the decoded frame (a visitor's own ``tracker`` in VIDEO mode
        when ``timestamp_ms`` is given, else the shared IMAGE-mode one); the model sees the same crop the builder
        stored, and a frame without a hand gets a Prediction with ``no_hand`` instead of a guess.

        ``recheck``: when the fast path's top two logits are closer than ``recheck_margin`` (or while the
        margin is still being calibrated), answer with fp32 instead: one extra fp32 pass on those calls only.
        For one-off answers; the live stream smooths over frames instead.
        """
        started = time.perf_counter()
        image = decode_image(source, mirror=self.unmirror if unmirror is None else unmirror)
        hands = crop = frame = None
        if self.hand_crop:
            from .hands import hand_crop

            frame, array = image, np.asarray(image)
            tracker = tracker or self.still_tracker
            hands = tracker.detect(array) if timestamp_ms is None else tracker.track(array, timestamp_ms)
            crop = hand_crop(image, hands, margin=self.crop_margin)
            if crop is None:
                return Prediction(None, self.labels, time.perf_counter() - started, self.precision, hands, None, frame)
            image = crop
        pixels = self._pixels(image)
        logits, precision = self._run(pixels)[0], self.precision
        if recheck and precision != "fp32":
            with self._recheck_lock:
                if self._calibration_left > 0 or _top_gap(logits) < self.recheck_margin:
                    with _torch_threads(self.threads):
                        exact = self._run_fp32(pixels)[0]
                    self._calibration_left = max(0, self._calibration_left - 1)
                    self.recheck_margin = max(self.recheck_margin, 2 * float(np.ptp(exact - logits)))
                    logits, precision = exact, "fp32"
        return Prediction(
            _softmax(logits.astype(np.float64)),
            self.labels,
            time.perf_counter() - started,
            precision,
            hands,
            crop,
            frame,
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


@dataclass
class Smoother:
    """Mean of the last ``window`` probability vectors: one noisy frame cannot flip the answer."""

    window: int = 5
    history: deque = field(default_factory=deque)

    def update(self, probabilities: np.ndarray) -> np.ndarray:
        self.history.append(np.asarray(probabilities, dtype=np.float64))
        while len(self.history) > self.window:
            self.history.popleft()
        return np.mean(self.history, axis=0)

    def reset(self) -> None:
        self.history.clear()


@dataclass
class TextBuilder:
    """Commits a sign to the text once it is held steadily for ``hold_seconds``; a long hold commits once.

    The same sign can be committed again only after the hand changes (another sign, or nothing
    confident), which is how a signer spells double letters.
    """

    hold_seconds: float = 1.0
    text: str = ""
    _candidate: str | None = None
    _since: float = 0.0
    _blocked: str | None = None

    def update(self, label: str | None, now: float) -> str | None:
        if label != self._candidate:
            self._candidate, self._since = label, now
            if label != self._blocked:
                self._blocked = None
            return None
        if label is None or label == self._blocked or now - self._since < self.hold_seconds:
            return None
        self.text += label if len(label) == 1 else (f" {label}" if self.text and not self.text.endswith(" ") else label)
        self._blocked = label
        return label

    def space(self) -> None:
        self.text += " "

    def backspace(self) -> None:
        self.text = self.text[:-1]

    def clear(self) -> None:
        self.text = ""
        self._blocked = None


@dataclass
class LiveSession:
    """Per-visitor state of the live stream (and the visitor's own hand tracker; ``close()`` frees it)."""

    smoother: Smoother = field(default_factory=Smoother)
    builder: TextBuilder = field(default_factory=TextBuilder)
    frames: int = 0
    started: float | None = None
    tracker: object = None

    def close(self) -> None:
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None

    def step(self, prediction: Prediction | None, threshold: float, now: float) -> tuple[dict[str, float], str | None]:
        """Smoothed top-3 for display and the letter committed by this frame, if any."""
        if prediction is None or prediction.no_hand:
            self.builder.update(None, now)
            if prediction is not None:
                self.smoother.reset()  # the hand left: the next sign starts fresh
            return {}, None
        self.frames += 1
        self.started = self.started or now
        smoothed = Prediction(self.smoother.update(prediction.probabilities), prediction.labels)
        label, confidence = smoothed.best
        committed = self.builder.update(label if confidence >= threshold else None, now)
        return smoothed.top(3), committed


class SequencePredictor:
    """A landmark sequence model: frames -> hand landmarks (the shared tracker) -> a resampled window -> signs.

    ``predict_landmarks`` classifies landmark frames with their times (a finished sign, a live window);
    ``predict_clip`` a video or photo file; ``predict`` a single photo (a one-frame clip, for the /predict API)."""

    kind = "landmarks"
    hand_crop = False
    precision = "fp32"  # ~2 ms per window on a CPU: nothing to gain from int8

    def __init__(
        self,
        model,
        model_id: str = "",
        revision: str | None = None,
        hand_model: str | None = None,
        unmirror: bool = False,
        threads: int | None = None,
    ):
        from .hands import HandTracker, resolve_hand_model

        self.model = model.eval().cpu()
        self.model_id, self.revision, self.unmirror = model_id, revision, unmirror
        # id2label keeps the folder names; the page and the typed text show them as words
        self.labels = display_labels([model.config.id2label[i] for i in range(model.config.num_labels)])
        self.length = int(model.config.sequence_length)
        self.window_seconds = float(model.config.window_seconds)
        self.hand_model = resolve_hand_model(hand_model)  # fails now, clearly, not on the first frame
        self.still_tracker = HandTracker(self.hand_model)
        self._trackers = weakref.WeakSet()
        self.threads = threads or min(4, os.cpu_count() or 1)

    new_tracker = Predictor.new_tracker
    close = Predictor.close
    __enter__ = Predictor.__enter__
    __exit__ = Predictor.__exit__

    def logits(
        self, sequence: np.ndarray, times: np.ndarray, start: float | None = None, end: float | None = None
    ) -> np.ndarray:
        from .landmarks import resample

        window = resample(sequence, times, self.length, start, end)
        with torch.inference_mode():
            return (
                self.model(input_values=torch.from_numpy(np.ascontiguousarray(window, np.float32))[None])
                .logits[0]
                .numpy()
            )

    def predict_landmarks(
        self, sequence: np.ndarray, times, start: float | None = None, end: float | None = None
    ) -> Prediction:
        """Landmark frames (frames x 258, Holistic layout) and their times; no hand in any frame -> ``no_hand``."""
        from .landmarks import hands_present

        started = time.perf_counter()
        sequence, times = np.asarray(sequence, np.float32), np.asarray(times, np.float64)
        if len(sequence) == 0 or not hands_present(sequence).any():
            return Prediction(None, self.labels, time.perf_counter() - started, self.precision, [])
        probabilities = _softmax(self.logits(sequence, times, start, end).astype(np.float64))
        return Prediction(probabilities, self.labels, time.perf_counter() - started, self.precision)

    def predict_clip(self, path, max_frames: int = 64) -> Prediction:
        """A video file (tracked in VIDEO mode, as the builder does) or a photo (a one-frame clip)."""
        from .imaging import IMAGE_EXTENSIONS
        from .landmarks import track_clip
        from .video import MAX_CLIP_SECONDS, read_frames

        name = Path(path).name
        if Path(path).suffix.lower() in IMAGE_EXTENSIONS:
            return self.predict(str(path), unmirror=False)
        picked = read_frames(Path(path), max_frames, name, max_seconds=MAX_CLIP_SECONDS)
        frames = [np.asarray(image) for _, image, _ in picked]
        times = [seconds for *_, seconds in picked]
        with self.new_tracker() as tracker:
            sequence = track_clip(tracker, frames, times)
        return self.predict_landmarks(sequence, times)

    def predict(
        self,
        source: ImageSource,
        unmirror: bool | None = None,
        recheck: bool = False,
        tracker=None,
        timestamp_ms: int | None = None,
    ) -> Prediction:
        """One photo as a one-frame clip (static signs; the /predict API)."""
        from .landmarks import frame_from_hands

        image = decode_image(source, mirror=self.unmirror if unmirror is None else unmirror)
        hands = self.still_tracker.detect(np.asarray(image))
        prediction = self.predict_landmarks(frame_from_hands(hands)[None], [0.0])
        prediction.hands = hands
        return prediction
