"""Webcam-like 640x480 scenes made from the real close-up ASL photos (benchmarks and tests).

How a scene is made (documented in docs/benchmarks.md):
- the photo's hand region is the hand tracker's whole-photo box on the close-up, widened by half its size (or
  the middle 70 % of the photo when it finds nothing there, or a box under 20 % of the photo's height);
- that region alone is cut out, scaled so it is 15-30 % of the frame's height, and pasted at a random spot whose
  centre lies in the middle 60 % of the frame's width and 35-80 % of its height (where a signer's hands are);
- the background is, at random, another photo's corner blown up and blurred (a "room"), Gaussian noise over
  a flat colour, or a two-colour gradient;
- the scene is deterministic in (photo, seed).
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageFilter

FRAME = (640, 480)


def _background(rng: random.Random, other: Image.Image) -> Image.Image:
    kind = rng.choice(("room", "noise", "gradient"))
    width, height = FRAME
    if kind == "room":
        w, h = other.size
        corner = other.crop((0, 0, max(2, w // 3), max(2, h // 3))).resize(FRAME, Image.BILINEAR)
        return corner.filter(ImageFilter.GaussianBlur(6))
    nprng = np.random.RandomState(rng.randrange(2**31))
    if kind == "noise":
        base = np.array([rng.randrange(40, 220) for _ in range(3)], np.float32)
        return Image.fromarray(np.clip(base + nprng.normal(0, 30, (height, width, 3)), 0, 255).astype(np.uint8))
    a = np.array([rng.randrange(256) for _ in range(3)], np.float32)
    b = np.array([rng.randrange(256) for _ in range(3)], np.float32)
    t = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    return Image.fromarray(np.broadcast_to(a + (b - a) * t, (height, width, 3)).astype(np.uint8).copy())


def hand_region(photo: Image.Image, tracker, hands=None) -> tuple[float, float, float, float]:
    """The padded hand box of a close-up (from ``hands`` if given, else the tracker's whole-photo pass)."""
    from signspace.core.hands import hands_box

    width, height = photo.size
    if hands is None:
        hands = tracker.detect(np.asarray(photo)) if tracker is not None else []
    box = hands_box(hands, width, height) if hands else None
    if box and box[3] - box[1] >= 0.2 * height:  # a close-up's hand is large; a tiny box is a false find
        x0, y0, x1, y1 = box
        pad_x, pad_y = (x1 - x0) * 0.25, (y1 - y0) * 0.25
        return max(0, x0 - pad_x), max(0, y0 - pad_y), min(width, x1 + pad_x), min(height, y1 + pad_y)
    return width * 0.15, height * 0.15, width * 0.85, height * 0.85


def webcam_scene(
    photo: Image.Image,
    other: Image.Image,
    seed: int,
    region=None,
    tracker=None,
    height_fraction: tuple[float, float] = (0.15, 0.30),
) -> Image.Image:
    """``photo``'s hand small in a 640x480 frame over a background made from ``other``."""
    rng = random.Random(seed)
    photo = photo.convert("RGB")
    x0, y0, x1, y1 = region or hand_region(photo, tracker)
    target = rng.uniform(*height_fraction) * FRAME[1]
    scale = target / max(1.0, y1 - y0)
    region_image = photo.crop((round(x0), round(y0), round(x1), round(y1)))
    small = region_image.resize(
        (max(1, round(region_image.width * scale)), max(1, round(region_image.height * scale))), Image.BILINEAR
    )
    scene = _background(rng, other.convert("RGB"))
    cx = rng.uniform(0.2, 0.8) * FRAME[0]
    cy = rng.uniform(0.35, 0.8) * FRAME[1]
    scene.paste(small, (int(cx - small.width / 2), int(cy - small.height / 2)))
    return scene
