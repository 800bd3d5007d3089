"""Model-input preprocessing shared by training (eval split) and the app, plus training augmentation.

Pixels travel as uint8 (4x smaller through the data loader and to the GPU); ``normalize`` turns a
batch into the model's float input on whatever device the batch already sits on. When training on a GPU,
the rotation and colour jitter move there too (``device_augmentation``); the loader workers then only
decode and crop.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from signspace.core.imaging import decode_image


@dataclass(frozen=True)
class InputSpec:
    """What a checkpoint expects: square input size, normalisation, and the eval crop fraction."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    crop_pct: float = 1.0

    @classmethod
    def from_processor(cls, processor) -> InputSpec:
        data_config = getattr(processor, "data_config", None)
        if data_config:  # timm checkpoints (TimmWrapperImageProcessor)
            size = int(data_config["input_size"][-1])
            return cls(
                size, tuple(data_config["mean"]), tuple(data_config["std"]), float(data_config.get("crop_pct", 1.0))
            )
        size = _edge(processor.size)
        mean, std = tuple(processor.image_mean), tuple(processor.image_std)
        crop = _edge(getattr(processor, "crop_size", None))
        if crop and getattr(processor, "do_center_crop", False):
            return cls(crop, mean, std, crop / size)
        return cls(size, mean, std, 1.0)


def _edge(size) -> int | None:
    """The edge length from an int, a dict or a SizeDict (height/width or shortest_edge)."""
    if size is None or isinstance(size, int):
        return size
    get = size.get if isinstance(size, dict) else lambda key: getattr(size, key, None)
    value = get("shortest_edge") or get("height") or get("width")
    return int(value) if value else None


def eval_pixels(image: Image.Image, spec: InputSpec) -> torch.Tensor:
    """Resize the shorter side, centre-crop to the model size: uint8 CxHxW. Used for eval and the app."""
    tensor = F.pil_to_tensor(image)
    resize_to = int(round(spec.size / spec.crop_pct))
    tensor = F.resize(tensor, [resize_to], interpolation=v2.InterpolationMode.BILINEAR, antialias=True)
    return F.center_crop(tensor, [spec.size, spec.size])


ROTATION_DEGREES = 10.0
JITTER: dict[str, Any] = {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.02}


def train_augmentation(spec: InputSpec, hflip: bool, rotate_and_jitter: bool = True) -> v2.Compose:
    """Random resized crop, and unless the batch gets them on the GPU (``device_augmentation``), a small
    rotation and colour jitter. No flip unless asked: it swaps the signing hand."""
    steps = [v2.RandomResizedCrop(spec.size, scale=(0.6, 1.0), ratio=(0.8, 1.25), antialias=True)]
    if rotate_and_jitter:
        steps += [v2.RandomRotation(ROTATION_DEGREES), v2.ColorJitter(**JITTER)]
    if hflip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


@functools.lru_cache(maxsize=1)
def device_augmentation() -> torch.nn.Module:
    """The same rotation and colour jitter for a float NxCxHxW batch in [0, 1], drawn per image, on the
    batch's device (kornia). Used on a GPU: on a CPU loader worker these two cost ~5 of ~6 ms per image
    (measured), which kept the loader far below a GPU's pace. On CPU-only runs the workers keep them."""
    import kornia.augmentation as K

    return torch.nn.Sequential(K.RandomRotation(ROTATION_DEGREES, p=1.0), K.ColorJitter(**JITTER, p=1.0))


@functools.lru_cache(maxsize=16)
def _stats(mean: tuple, std: tuple, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    as_tensor = lambda values: torch.tensor(values, device=device, dtype=dtype).view(1, 3, 1, 1)  # noqa: E731
    return as_tensor(mean), as_tensor(std)


def normalize(pixels: torch.Tensor, spec: InputSpec, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 (0-255) or float (0-1) NxCxHxW -> normalised float on the same device."""
    scale = 255.0 if pixels.dtype == torch.uint8 else 1.0  # folded into the statistics: one pass fewer
    mean, std = _stats(tuple(scale * m for m in spec.mean), tuple(scale * s for s in spec.std), pixels.device, dtype)
    return pixels.to(dtype, copy=True).sub_(mean).div_(std)  # in place on our own copy, never the caller's


def batch_transform(spec: InputSpec, train: bool, hflip: bool = False, rotate_and_jitter: bool = True):
    """A `datasets.with_transform` function: shared decode, then augmentation or eval crop, uint8 out.
    ``rotate_and_jitter=False`` leaves those two to ``device_augmentation`` (GPU training)."""
    augment = train_augmentation(spec, hflip, rotate_and_jitter) if train else None

    def transform(batch: dict) -> dict:
        pixels = []
        for image in batch["image"]:
            image = decode_image(image)
            pixels.append(augment(F.pil_to_tensor(image)) if augment else eval_pixels(image, spec))
        return {"pixel_values": pixels, "labels": batch["label"]}

    return transform


def collate(examples: list[dict]) -> dict:
    return {
        "pixel_values": torch.stack([e["pixel_values"] for e in examples]),
        "labels": torch.tensor([e["labels"] for e in examples], dtype=torch.long),
    }
