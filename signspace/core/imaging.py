"""The one image decode function shared by the dataset builder, training and the webcam app.

Whatever arrives — a file path, raw bytes, a PIL image or a webcam frame as a NumPy array — leaves
as an upright, 3-channel, 8-bit RGB ``PIL.Image``: EXIF orientation applied, 16-bit levels scaled
(not clipped), alpha composited on white, optionally mirrored and shrunk to a shorter side.
Training and the app calling the same function is what keeps them seeing the same pixels.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from signspace.core.errors import SignSpaceError

ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray

# Pillow's own error types for unreadable files; nothing broader is caught, so real bugs still surface.
PILLOW_DECODE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    OSError,  # truncated or corrupt data ("image file is truncated", "broken data stream")
    SyntaxError,  # raised by several Pillow plugins for malformed headers
)

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".jfif", ".ppm", ".pgm"}
)


# The most pixels a photo sent to the app may have (uploads, the clip API, the Teach tab), and a video frame anywhere:
# a 7,000 x 5,700 photo; far below Pillow's bomb limit (~89 MP, ~1 GB decoded). A 277 KB PNG can claim 9,400 x
# 9,400 pixels, so the check reads the header before any pixel is decoded.
MAX_PHOTO_PIXELS = 40_000_000


class ImageDecodeError(SignSpaceError, ValueError):
    """An input that is not a usable image; the message names it and says why."""


class ImageTooLarge(ImageDecodeError):
    """An image over the pixel cap its caller sets (refused from the header, before decoding)."""


def _open_checked(data: str | os.PathLike | bytes | io.BytesIO) -> Image.Image:
    """Open lazily and refuse decompression bombs before any pixel buffer is allocated."""
    with warnings.catch_warnings():
        # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that: make it an error so an
        # oversized image is refused from its header, before .load() allocates gigabytes.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)


def check_pixels(image: Image.Image, max_pixels: int | None, label: str) -> None:
    """The pixel cap, from the header of an image opened by ``_open_checked`` (nothing decoded yet)."""
    if max_pixels is not None and image.width * image.height > max_pixels:
        raise ImageTooLarge(
            f"{label}: {image.width} x {image.height} pixels, over {max_pixels // 1_000_000} megapixels; "
            "send a smaller photo"
        )


def check_header(source: str | os.PathLike | bytes | io.BytesIO, max_pixels: int, label: str) -> None:
    """Refuse from the header alone what ``decode_image`` would refuse for its size: a 23 KB 1-bit PNG can claim
    9,400 x 9,400 pixels (~1 GB once decoded). ``ImageDecodeError`` for what is no image at all."""
    try:
        with _open_checked(source) as image:
            check_pixels(image, max_pixels, label)
    except ImageDecodeError:
        raise
    except PILLOW_DECODE_ERRORS as exc:
        if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
            raise ImageTooLarge(f"{label}: too many pixels; send a smaller photo") from None
        raise ImageDecodeError(f"{label}: not an image Pillow can read") from None


def _to_uint8_rgb_array(array: np.ndarray) -> np.ndarray:
    """Any HxW / HxWxC frame (uint8, uint16, float 0..1, bool) as HxWx3 uint8."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageDecodeError(f"frame has shape {array.shape}; expected HxW, HxWx1, HxWx3 or HxWx4")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageDecodeError(f"frame has shape {array.shape}; it has no pixels")
    if array.dtype == np.uint8:
        pass
    elif array.dtype == np.uint16:
        array = ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)  # 65535 -> 255, levels kept
    elif array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        array = np.nan_to_num(array.astype(np.float32))
        scale = 255.0 if array.size and float(array.max()) <= 1.0 else 1.0
        array = np.clip(array * scale + 0.5, 0, 255).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.integer):
        array = np.clip(array, 0, 255).astype(np.uint8)
    else:
        raise ImageDecodeError(f"frame has dtype {array.dtype}; expected an integer or float image")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.uint16)
        array = ((array[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def _pil_to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        levels = np.asarray(image)
        if mode == "I" and levels.size and levels.max() <= 255:
            levels = levels.astype(np.uint8)  # 8-bit data stored in a 32-bit container
        else:
            levels = np.clip(levels, 0, 65535).astype(np.uint16)
        return Image.fromarray(_to_uint8_rgb_array(levels))
    if mode == "F":
        return Image.fromarray(_to_uint8_rgb_array(np.asarray(image)))
    if mode == "P" and "transparency" in image.info or mode in ("PA", "LA"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image if mode == "RGB" else image.convert("RGB")


def shrink_to_shorter_side(image: Image.Image, size: int) -> Image.Image:
    """Resize so the shorter side is ``size``; never enlarges (that adds bytes, not information)."""
    width, height = image.size
    shorter = min(width, height)
    if shorter <= size:
        return image
    scale = size / shorter
    new_size = (max(size, round(width * scale)), max(size, round(height * scale)))
    # Antialiased bilinear (Pillow widens the filter when shrinking): what ViT processors use, and
    # about twice as fast as bicubic, which dominated build time.
    return image.resize(new_size, Image.Resampling.BILINEAR, reducing_gap=3.0)


def decode_image(
    source: ImageSource,
    *,
    shorter_side: int | None = None,
    mirror: bool = False,
    name: str | None = None,
    max_pixels: int | None = None,
) -> Image.Image:
    """Decode ``source`` fully into an upright RGB uint8 image.

    Raises ``ImageDecodeError`` naming the input (``name`` or the path) for anything Pillow cannot
    decode: empty, truncated or random bytes, a decompression bomb, an odd array shape; ``ImageTooLarge`` for a
    file whose header claims more than ``max_pixels`` (the app's paths pass ``MAX_PHOTO_PIXELS``).
    """
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else type(source).__name__)
    try:
        if isinstance(source, np.ndarray):
            image = Image.fromarray(_to_uint8_rgb_array(source))
        else:
            if isinstance(source, Image.Image):
                image = source
            else:
                if isinstance(source, (str, os.PathLike)) and Path(source).stat().st_size == 0:
                    raise ImageDecodeError(f"{label}: file is empty (0 bytes)")
                if isinstance(source, bytes) and not source:
                    raise ImageDecodeError(f"{label}: no bytes")
                image = _open_checked(source)
                check_pixels(image, max_pixels, label)
                if shorter_side and image.format == "JPEG":
                    # DCT-domain downscale: decodes a 4x smaller JPEG ~4x faster, still >= target size.
                    image.draft("RGB", (shorter_side, shorter_side))
            image.load()  # decode everything now: a truncated file fails here, not mid-training
            image = ImageOps.exif_transpose(image) if image.getexif().get(0x0112, 1) != 1 else image
            image = _pil_to_rgb(image)
    except (ImageDecodeError, FileNotFoundError):  # already clear; FileNotFoundError is an OSError to keep apart
        raise
    except PILLOW_DECODE_ERRORS as exc:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, UnidentifiedImageError):
            reason = "not an image Pillow can read"
        raise ImageDecodeError(f"{label}: {reason}") from exc
    if mirror:
        image = ImageOps.mirror(image)
    if shorter_side:
        image = shrink_to_shorter_side(image, shorter_side)
    return image


def encode_jpeg(image: Image.Image, quality: int = 95) -> bytes:
    """Stored form of a validated image: small and fast to decode during training."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
