import resource

import numpy as np
import pytest
from factories import bomb_png_bytes, jpeg_bytes, pattern_image
from PIL import Image, ImageFile

from signspace.core.imaging import ImageDecodeError, decode_image, shrink_to_shorter_side


def test_rgb_jpeg_roundtrip_is_rgb_uint8(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_bytes(pattern_image(1)))
    image = decode_image(path)
    assert image.mode == "RGB" and image.size == (64, 48)
    assert np.asarray(image).dtype == np.uint8


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "RGBA", "LA", "1"])
def test_colour_modes_become_rgb(tmp_path, mode):
    source = pattern_image(2).convert(mode)
    path = tmp_path / f"x.{'jpg' if mode == 'CMYK' else 'png'}"
    source.save(path)
    image = decode_image(path)
    assert image.mode == "RGB" and np.asarray(image).shape == (48, 64, 3)
    reference = Image.open(path)
    if mode in ("RGBA", "LA"):  # composited on white, not alpha dropped
        reference = Image.alpha_composite(Image.new("RGBA", reference.size, "white"), reference.convert("RGBA"))
    expected = np.asarray(reference.convert("RGB")).astype(int)
    assert np.abs(np.asarray(image).astype(int) - expected).max() <= (2 if mode == "CMYK" else 0)


def test_cmyk_colours_survive(tmp_path):
    red = Image.new("RGB", (16, 16), (220, 20, 20)).convert("CMYK")
    path = tmp_path / "cmyk.jpg"
    red.save(path, quality=100)
    r, g, b = np.asarray(decode_image(path)).reshape(-1, 3).mean(axis=0)
    assert r > 180 and g < 60 and b < 60


def test_sixteen_bit_grey_keeps_its_levels(tmp_path):
    # A 16-bit ramp over the full range: clipping would turn almost all of it white.
    ramp = np.linspace(0, 65535, 256, dtype=np.uint16)[None, :].repeat(8, axis=0)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    out = np.asarray(decode_image(path))[0, :, 0]
    assert out.min() == 0 and out.max() == 255
    assert abs(int(out[128]) - 128) <= 1  # mid-grey stays mid-grey


def test_palette_with_transparency_composites_on_white(tmp_path):
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0] + [255, 0, 0] * 255)
    path = tmp_path / "p.png"
    image.save(path, transparency=0)
    assert np.asarray(decode_image(path)).min() == 255  # the fully transparent black became white


def test_rgba_alpha_composites_on_white(tmp_path):
    array = np.zeros((4, 4, 4), np.uint8)
    array[..., 3] = 0
    array[0, 0] = (10, 20, 30, 255)
    path = tmp_path / "rgba.png"
    Image.fromarray(array, "RGBA").save(path)
    out = np.asarray(decode_image(path))
    assert tuple(out[0, 0]) == (10, 20, 30) and tuple(out[1, 1]) == (255, 255, 255)


def test_exif_rotated_photo_is_stored_upright(tmp_path):
    # Stored landscape 64x32 with orientation 6 (rotate 90° clockwise to view): upright is 32x64.
    array = np.zeros((32, 64, 3), np.uint8)
    array[:, :8] = 255  # white band on the stored left edge -> top edge once upright
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(array).save(path, exif=exif, quality=100)
    out = np.asarray(decode_image(path))
    assert out.shape == (64, 32, 3)
    assert out[:6].mean() > 200 and out[-20:].mean() < 30


def test_zero_byte_file_is_refused_by_name(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"empty\.jpg: file is empty"):
        decode_image(path)


def test_truncated_jpeg_is_refused_and_pillow_setting_untouched(tmp_path):
    data = jpeg_bytes(pattern_image(3, (256, 256)))
    path = tmp_path / "half.jpg"
    path.write_bytes(data[: len(data) // 2])
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    with pytest.raises(ImageDecodeError, match=r"half\.jpg: .*truncated"):
        decode_image(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is before is False


@pytest.mark.parametrize(
    "payload", [b"hello, I am text\n" * 10, bytes(np.random.RandomState(0).randint(0, 256, 4096, dtype=np.uint8))]
)
def test_not_an_image_is_refused(tmp_path, payload):
    path = tmp_path / "fake.png"
    path.write_bytes(payload)
    with pytest.raises(ImageDecodeError, match=r"fake\.png: not an image Pillow can read"):
        decode_image(path)


def test_decompression_bomb_is_refused_without_allocating(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png_bytes())  # 1.6 G pixels claimed: ~4.8 GB as RGB
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageDecodeError, match=r"bomb\.png: .*(decompression bomb|exceeds limit)"):
        decode_image(path)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 100_000  # well under 100 MB, nowhere near the claimed size


def test_moderate_bomb_between_warning_and_error_limits_is_refused(tmp_path):
    # 100 M pixels: Pillow alone only warns here, then would allocate 300 MB on load.
    path = tmp_path / "warnbomb.png"
    path.write_bytes(bomb_png_bytes(10_000, 10_000))
    with pytest.raises(ImageDecodeError, match="warnbomb.png"):
        decode_image(path)


_RAMP = (np.arange(120).reshape(10, 12) * 2).astype(np.uint8)  # 0..238, every pixel different


def _alpha_on_white(rgb, alpha):
    alpha = alpha.astype(np.uint16)[..., None]
    return ((rgb.astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


@pytest.mark.parametrize(
    "array, expected",
    [
        (_RAMP, np.repeat(_RAMP[..., None], 3, 2)),
        (_RAMP[..., None], np.repeat(_RAMP[..., None], 3, 2)),
        (
            np.dstack([_RAMP, _RAMP[::-1], 255 - _RAMP, _RAMP]),
            _alpha_on_white(np.dstack([_RAMP, _RAMP[::-1], 255 - _RAMP]), _RAMP),
        ),
        (np.repeat(_RAMP[..., None], 3, 2).astype(np.float32) / 255, np.repeat(_RAMP[..., None], 3, 2)),
        (np.repeat(_RAMP[..., None], 3, 2).astype(np.uint16) * 257, np.repeat(_RAMP[..., None], 3, 2)),
        (np.repeat((_RAMP > 100)[..., None], 3, 2), np.repeat(((_RAMP > 100) * 255).astype(np.uint8)[..., None], 3, 2)),
    ],
    ids=["grey", "grey1", "rgba", "float", "uint16", "bool"],
)
def test_frames_of_any_common_layout_become_the_right_rgb_pixels(array, expected):
    out = decode_image(array)
    assert out.mode == "RGB" and out.size == (12, 10)
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_uint16_frame_is_scaled_not_clipped():
    frame = np.full((2, 2, 3), 32768, np.uint16)
    assert np.asarray(decode_image(frame))[0, 0, 0] == 128


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((10,), np.uint8),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((0, 5, 3), np.uint8),
        np.zeros((3, 3, 3), complex),
    ],
)
def test_odd_frames_raise_a_decode_error(array):
    with pytest.raises(ImageDecodeError, match="frame has"):
        decode_image(array)


def test_mirror_flips_left_right():
    array = np.zeros((4, 4, 3), np.uint8)
    array[:, 0] = 255
    out = np.asarray(decode_image(array, mirror=True))
    assert out[:, -1].min() == 255 and out[:, 0].max() == 0


def test_shrink_keeps_aspect_and_never_enlarges():
    assert shrink_to_shorter_side(Image.new("RGB", (400, 200)), 100).size == (200, 100)
    assert shrink_to_shorter_side(Image.new("RGB", (50, 80)), 100).size == (50, 80)


def test_jpeg_draft_decode_matches_full_decode_closely(tmp_path):
    # A smooth photo-like picture (blocky noise would measure resampling, not decoding).
    y, x = np.mgrid[0:768, 0:1024] / 100.0
    big = Image.fromarray(
        np.stack([np.sin(x) * 100 + 120, np.cos(y) * 100 + 120, (x + y) * 10 % 255], -1).astype(np.uint8)
    )
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_bytes(big))
    fast = np.asarray(decode_image(path, shorter_side=192), dtype=np.float32)
    full = np.asarray(shrink_to_shorter_side(Image.open(path).convert("RGB"), 192), dtype=np.float32)
    assert fast.shape == full.shape == (192, 256, 3)
    assert np.abs(fast - full).mean() < 3  # same picture; only resampling noise differs


def test_eight_bit_data_in_a_32_bit_container_is_not_darkened():
    # Mode "I" holding 0..255 (some TIFF/PNG writers do this) must not be scaled down as if 16-bit.
    source = Image.fromarray(np.array([[0, 128, 255]], dtype=np.int32), mode="I")
    assert np.asarray(decode_image(source))[0, :, 0].tolist() == [0, 128, 255]


def test_float_images_in_0_to_1_become_full_range():
    source = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), mode="F")
    assert np.asarray(decode_image(source))[0, :, 0].tolist() == [0, 128, 255]
