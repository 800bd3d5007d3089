"""Makers of test inputs: images in every awkward mode, small videos, sign folders."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ASL_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "asl-letters"
ASL_GROUP_PATTERN = r"^(.+?)_jpg\.rf\."
HAND_MODEL = ASL_DIR.parent.parent / "models" / "mediapipe-hand-landmarker" / "hand_landmarker.task"
KEYPOINTS_DIR = ASL_DIR.parent / "sign-keypoints"
# The hand model the app ships (space/): a motion predictor resolves one at load, and tests never download it.
SHIPPED_HAND_MODEL = Path(__file__).resolve().parent.parent / "space" / "hand_landmarker.task"


def pattern_image(seed: int, size=(64, 48)) -> Image.Image:
    """A distinct RGB image per seed (random blocks), so content hashes differ."""
    rng = np.random.RandomState(seed)
    blocks = rng.randint(0, 256, (size[1] // 8 + 1, size[0] // 8 + 1, 3), dtype=np.uint8)
    array = np.kron(blocks, np.ones((8, 8, 1), dtype=np.uint8))[: size[1], : size[0]]
    return Image.fromarray(array)


def jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, **kwargs)
    return buffer.getvalue()


def write_image(path: Path, seed: int = 0, size=(64, 48)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pattern_image(seed, size).save(path)
    return path


def _png(width: int, height: int, depth: int, colour: int, pixels: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"")


def bomb_png_bytes(width: int = 40_000, height: int = 40_000) -> bytes:
    """A valid-looking PNG header claiming a huge 1-bit image, with almost no data behind it."""
    return _png(width, height, 1, 0, b"\x00" * 64)


def short_png_bytes(side: int, rows: int, seed: int = 0) -> bytes:
    """An RGB PNG of ``side`` x ``side`` whose image data holds only ``rows`` rows (a well-formed zlib stream that
    ends early: Pillow decodes it without complaint, the missing rows black)."""
    rng = np.random.default_rng(seed)
    return _png(side, side, 8, 2, b"".join(b"\x00" + rng.bytes(side * 3) for _ in range(rows)))


def write_video(path: Path, n_frames: int = 12, seed: int = 0, size=(64, 48), faststart: bool = False) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for index in range(n_frames):
            frame = av.VideoFrame.from_ndarray(np.asarray(pattern_image(seed * 1000 + index, size)), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_sign_folders(root: Path, signs: dict[str, int], start_seed: int = 0) -> Path:
    """``{"hello": 6, "thanks": 5}`` -> root/hello/img_000.png … with distinct images."""
    seed = start_seed
    for sign, count in signs.items():
        for index in range(count):
            write_image(root / sign / f"img_{index:03d}.png", seed=seed)
            seed += 1
    return root


def make_tiny_vit(path: Path, labels=("a", "b"), seed: int = 0) -> Path:
    """A tiny random ViT with a 32-pixel input, saved like a Hub checkpoint (safetensors)."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(seed)
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    ViTForImageClassification(config).save_pretrained(path)
    ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(path)
    return path


def make_colour_dataset(root: Path, signs=("left", "right", "up"), per_sign: int = 10, size=(40, 40)) -> Path:
    """Sign folders whose images differ by colour, so a tiny model can learn them in a few steps."""
    import numpy as np
    from PIL import Image

    palette = [(220, 40, 40), (40, 200, 60), (40, 60, 220), (220, 200, 40), (160, 40, 200)]
    rng = np.random.RandomState(0)
    for index, sign in enumerate(signs):
        folder = root / sign
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(per_sign):
            base = np.array(palette[index % len(palette)], np.float32)
            noise = rng.normal(0, 25, (size[1], size[0], 3))
            Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(folder / f"{sign}_{n:03d}.png")
    return root


def fake_task_bundle(path: Path) -> Path:
    """A zip laid out like hand_landmarker.task (passes the bundle check; MediaPipe could not run it)."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("hand_detector.tflite", b"detector")
        bundle.writestr("hand_landmarks_detector.tflite", b"landmarks")
    return path


# A resting hand, 21 (x, y, z) points in frame fractions, roughly MediaPipe's layout (wrist first).
_HAND = np.array(
    [[0.0, 0.0, 0.0]]
    + [[0.02 * f - 0.04 + 0.01 * j * (f - 2) / 4, -0.03 - 0.025 * j, -0.01 * j] for f in range(5) for j in range(4)],
    np.float32,
)
MOTIONS = {
    "circle": lambda t: (0.5 + 0.15 * np.cos(2 * np.pi * t), 0.5 + 0.15 * np.sin(2 * np.pi * t)),
    "swipe": lambda t: (0.3 + 0.4 * t, 0.5 + 0.0 * t),
    "rise": lambda t: (0.5 + 0.0 * t, 0.75 - 0.4 * t),
}


def landmark_clip(
    motion: str, frames: int = 30, seed: int = 0, hand: str = "Right", missing: float = 0.0
) -> np.ndarray:
    """frames x 258 Holistic values: one hand moving along ``motion``, with jitter and some frames missing."""
    rng = np.random.RandomState(seed)
    out = np.zeros((frames, 258), np.float32)
    size = rng.uniform(0.8, 1.2)
    slot = slice(195, 258) if hand == "Right" else slice(132, 195)
    for i, t in enumerate(np.linspace(0, 1, frames)):
        if rng.rand() < missing:
            continue
        x, y = MOTIONS[motion](t)
        points = _HAND * size + np.array([x, y, 0.0], np.float32) + rng.normal(0, 0.003, (21, 3)).astype(np.float32)
        out[i, slot] = points.reshape(-1)
    return out


def make_landmark_folders(root: Path, per_sign: int = 8, motions=("circle", "swipe", "rise")) -> Path:
    """root/<motion>/clip_NNN.npy, the seed guide's step-4 layout."""
    for m, motion in enumerate(motions):
        (root / motion).mkdir(parents=True, exist_ok=True)
        for n in range(per_sign):
            np.save(root / motion / f"clip_{n:03d}.npy", landmark_clip(motion, frames=24 + n % 9, seed=100 * m + n))
    return root


def photo_video(path: Path, photos: list, size: int = 256, repeat: int = 1, rate: int = 10) -> Path:
    """An MP4 whose frames are real photos (so the tracker runs on real hands), each shown ``repeat`` times."""
    import av
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for photo in photos:
            image = photo if isinstance(photo, Image.Image) else Image.open(photo)
            frame = np.asarray(image.convert("RGB").resize((size, size)))
            for _ in range(repeat):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def make_signer_folders(
    root: Path, signers: dict[str, tuple[str, ...]], per_sign: int = 4, layout: str = "folders"
) -> Path:
    """Several people's clips: ``layout="folders"`` writes root/<signer>/<motion>/clip_N.npy (people's tutorial
    folders side by side); ``"names"`` writes root/<motion>/<signer>_N.npy."""
    for s, (signer, motions) in enumerate(signers.items()):
        for m, motion in enumerate(motions):
            folder = root / signer / motion if layout == "folders" else root / motion
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(per_sign):
                name = f"clip_{n}.npy" if layout == "folders" else f"{signer}_{n}.npy"
                np.save(folder / name, landmark_clip(motion, frames=20 + n, seed=1000 * s + 100 * m + n))
    return root


def make_sequence_model(path: Path, labels=("circle", "rise", "swipe")):
    """A small random SignSpace sequence model saved as finetune.py saves it."""
    import torch

    from signspace.models.sequence_model import SignSequenceConfig, SignSequenceModel

    torch.manual_seed(0)
    config = SignSequenceConfig(
        sequence_length=16,
        hidden_size=32,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)},
        window_seconds=1.2,
    )
    model = SignSequenceModel(config)
    model.save_pretrained(path)
    return model


def blank_video(path: Path, frames: int, width: int, height: int, rate: int = 10) -> Path:
    """A tiny H.264 file of large, empty frames (a 'dimension bomb': a few KB that decode to gigabytes)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "51"}
        frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
        for index in range(frames):
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def webcam_frames(n=6, size=(64, 48)) -> list[np.ndarray]:
    """What the Teach tab's recorder collects from the stream: ``n`` RGB frames."""
    return [np.asarray(pattern_image(i, size)) for i in range(n)]


def file_listing(root: Path) -> list[str]:
    """Every path under ``root``, relative: to assert that nothing was written or left half-written."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def hand_clip(path: Path, letter: str, start: int, photos: int = 6) -> Path:
    """A clip of real hand photos of one ASL letter (the tracker finds real hands in it)."""
    chosen = sorted((ASL_DIR / letter).glob("*.jpg"))[start : start + photos]
    return photo_video(path, chosen, size=256, repeat=2, rate=12)


def build_dataset_folder(data: Path, out: Path, **options) -> Path:
    """``data`` through the dataset builder (build_dataset.build, one process) into ``out``; ``options`` are
    BuildConfig's fields, e.g. ``features="landmarks"``."""
    from signspace.data.build_dataset import BuildConfig, build

    build(BuildConfig(data_dir=str(data), output_dir=str(out), num_proc=1, **options))
    return Path(out)


class FakeTracker:
    """A hand tracker that finds no hand (sessions that track get one from ``FakePredictor.new_tracker``)."""

    def __init__(self):
        self.closed = False

    def track(self, frame, timestamp_ms):
        return []

    def close(self):
        self.closed = True


class FakePredictor:
    """The one test double of a served model (``signspace.serve.contracts``: ServedModel and the live sessions'
    HandshapeModel / MotionModel), instead of one ad-hoc fake per test file that can drift from the real kinds.

    ``kind``: "motion" (a landmark-sequence model: tracks hands, takes clips, adapts, the page sends landmarks),
    "crops" (an image model trained on hand crops: the page sends the crop) or "frames" (an image model that sees
    whole frames). ``answer(x)``: the probabilities for a landmark window or a crop (default: ``confidence`` on the
    first sign); no hand (or no crop) answers ``no_hand``. Every call to a predict method is kept in ``calls``."""

    def __init__(
        self,
        kind="motion",
        labels=("a", "b"),
        confidence=0.9,
        answer=None,
        model_id="fake",
        hand_model=None,
        browser_input=None,
        page_onnx=None,
        memory_digest="",
    ):
        from signspace.serve.browser import BrowserInput, Send

        assert kind in ("motion", "crops", "frames"), kind
        self.kind, self.labels, self.model_id, self.revision = kind, list(labels), model_id, None
        self.precision, self.hand_model, self.unmirror, self.crop_margin = "fp32", hand_model, False, 0.25
        self.tracks_hands, self.shows_crop = kind != "frames", kind == "crops"
        self.takes_clips = self.adapts = kind == "motion"
        self.live_frame_seconds = 0.08 if kind == "motion" else None
        crops = BrowserInput(Send.CROP, side=16, resize=16, margin=0.25)
        sends = {"motion": BrowserInput(Send.LANDMARKS), "crops": crops}
        self.browser_input = browser_input or sends.get(kind)
        self.answer = answer or (lambda x: np.array([confidence, 1 - confidence, *[0.0] * (len(self.labels) - 2)]))
        self.calls, self.closed, self.trackers = [], False, []
        self.length, self.page_onnx = 16, page_onnx  # motion: the window; the ONNX the page gets (None: none)
        self.memory_digest = memory_digest  # the visitor's clips the page must read with (page_memory; "": none)

    def page_model(self):
        return self.page_onnx

    def page_memory(self) -> dict:
        return {"features": [], "labels": [], "digest": self.memory_digest}

    def describe(self) -> str:
        return {"motion": "**input:** hand landmarks", "crops": "**input:** hand crop", "frames": "**input:** frame"}[
            self.kind
        ]

    def close(self) -> None:
        self.closed = True

    def new_live_session(self):
        from signspace.serve.live import HandshapeSession, SequenceSession

        return SequenceSession(self) if self.kind == "motion" else HandshapeSession(self)

    def decode(self, source, unmirror=None):
        from signspace.core.imaging import decode_image

        return decode_image(source)

    def new_tracker(self):
        self.trackers.append(FakeTracker())
        return self.trackers[-1]

    def _prediction(self, x):
        from signspace.core.prediction import Prediction

        return Prediction(None if x is None else np.asarray(self.answer(x), np.float64), self.labels)

    def predict_landmarks(self, sequence, times, start=None, end=None):
        from signspace.core.landmarks import hands_present

        self.calls.append((len(sequence), start, end))
        return self._prediction(sequence if len(sequence) and hands_present(sequence).any() else None)

    def predict_crop(self, crop):
        self.calls.append(crop)
        return self._prediction(crop)

    def predict_image(self, image, hands=None):
        self.calls.append(image)
        return self._prediction(image)

    def predict_upload(self, path):
        return self.predict_image(path)

    def predict_clip(self, path):
        return self._prediction(path)


PAGE_FRAME_SECONDS = 0.08  # the page keeps a frame every 80 ms for a motion model (live.MOTION_FRAME_SECONDS)


def page_hands(values: np.ndarray) -> list[dict]:
    """One Holistic frame (258 values) as the page sends its hands: rounded to 4 decimals, pose dropped."""
    hands = []
    for side, slot in (("Left", slice(132, 195)), ("Right", slice(195, 258))):
        points = np.asarray(values[slot], np.float64)
        if np.abs(points).sum() > 0:
            hands.append({"handedness": side, "score": 0.9, "points": np.round(points, 4).tolist()})
    return hands


def page_stream(clips, fps: float = 30.0, rest_seconds: float = 0.6, start: float = 1.0) -> list[dict]:
    """Clips (frames x 258 at ``fps``) signed one after another, hands down for ``rest_seconds`` between them, as
    the page streams them: a frame every 80 ms (the clip's frame nearest in time) on the page's millisecond clock."""
    stream, now = [], start
    for clip in clips:
        length = (len(clip) - 1) / fps
        for offset in np.arange(0.0, length + 1e-9, PAGE_FRAME_SECONDS):
            stream.append({"t": round(float(now + offset), 3), "hands": page_hands(clip[int(round(offset * fps))])})
        now += length + PAGE_FRAME_SECONDS
        for offset in np.arange(0.0, rest_seconds, PAGE_FRAME_SECONDS):
            stream.append({"t": round(float(now + offset), 3), "hands": []})
        now += rest_seconds
    return stream
