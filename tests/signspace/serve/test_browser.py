"""Landmark messages from the visitor's browser: checked, turned into the model's frames, or refused in one line
(signspace/serve/browser.py)."""

import base64
import io

import numpy as np
import pytest
from factories import bomb_png_bytes, landmark_clip, pattern_image, short_png_bytes
from PIL import Image

from signspace.core.hands import Hand
from signspace.core.landmarks import LEFT, RIGHT, frame_from_hands
from signspace.serve.browser import (
    MAX_FRAMES_PER_MESSAGE,
    BrowserInput,
    LandmarkMessageError,
    Send,
    parse_crop,
    parse_frames,
    parse_message,
)


def hand(side="Right", seed=0, score=0.9):
    points = landmark_clip("circle", frames=1, seed=seed)[0][RIGHT].reshape(21, 3)
    return {"handedness": side, "score": score, "points": [round(float(v), 4) for v in points.reshape(-1)]}


def test_browser_frames_mean_what_the_python_trackers_frames_mean():
    right, left = hand("Right", 1), hand("Left", 2)
    [(when, values)] = parse_message({"frames": [{"t": 3.5, "hands": [right, left]}]})
    python_hands = [
        Hand(np.asarray(h["points"], np.float32).reshape(21, 3), np.zeros((21, 3)), h["handedness"], h["score"])
        for h in (right, left)
    ]
    assert when == 3.5 and np.array_equal(values, frame_from_hands(python_hands))  # one slot rule, one layout
    assert values[RIGHT].any() and values[LEFT].any()
    [(_, empty)] = parse_message({"frames": [{"t": 4.0, "hands": []}]})
    assert not empty.any()


@pytest.mark.parametrize(
    "message, error",
    [
        ("frames", "needs a non-empty 'frames' list"),
        ({"frames": []}, "needs a non-empty 'frames' list"),
        ({"frames": [{"t": 0.1 * i} for i in range(MAX_FRAMES_PER_MESSAGE + 1)]}, "send at most 16 at a time"),
        ({"frames": [{"t": "soon"}]}, "'t' must be the page's clock in seconds"),
        ({"frames": [{"t": float("nan")}]}, "'t' must be the page's clock in seconds"),
        # no page's clock reads 1e308, and nothing can come after it (1e308 + 0.08 == 1e308): the session was locked
        ({"frames": [{"t": 1e308}]}, "'t' must be the page's clock in seconds \\(0 to 1e\\+07"),
        ({"frames": [{"t": -1.0}]}, "'t' must be the page's clock in seconds"),
        ({"frames": [{"t": 1.0}, {"t": 1.0}]}, "frame 1: time 1.0 does not come after 1.0"),
        ({"frames": [{"t": 1.0, "hands": [hand()] * 3}]}, "'hands' must be a list of at most 2 hands"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "handedness": "Both"}]}]}, "handedness must be 'Left' or"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "score": 7}]}]}, "score must be between 0 and 1"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "points": [0.5] * 62}]}]}, "points must be 63 numbers"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "points": [1e9] * 63}]}]}, "coordinates lie outside"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "points": [0.5] * 62 + [True]}]}]}, "points must be 63 numbers"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "points": [0.5] * 62 + ["0.5"]}]}]}, "points must be 63 numbers"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "points": [0.5] * 62 + [float("nan")]}]}]}, "lie outside"),
        # JSON integers have no size limit; one too large for a float was an OverflowError (a server error)
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "points": [0.5] * 62 + [10**400]}]}]}, "lie outside"),
        ({"frames": [{"t": 1.0, "hands": [{**hand(), "score": 10**400}]}]}, "score must be between 0 and 1"),
        ({"frames": [{"t": 10**400}]}, "'t' must be the page's clock in seconds"),
        ({"frames": [{"t": 1.0, "hands": ["a hand"]}]}, "a hand must be an object"),
    ],
)
def test_a_bad_message_is_refused_in_one_line(message, error):
    with pytest.raises(LandmarkMessageError, match=error):
        parse_message(message)


def test_frames_must_come_after_the_ones_already_received():
    with pytest.raises(LandmarkMessageError, match="time 2.0 does not come after 2.5"):
        parse_message({"frames": [{"t": 2.0}]}, last_time=2.5)


# --- hand crops cut in the page, for image models ----------------------------------------------------------------

CROP = BrowserInput(Send.CROP, side=32, resize=36, margin=0.25)


def data_url(image_or_bytes, kind="jpeg"):
    data = image_or_bytes
    if isinstance(image_or_bytes, Image.Image):
        buffer = io.BytesIO()
        image_or_bytes.save(buffer, format=kind.upper())
        data = buffer.getvalue()
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def test_a_crop_of_the_models_size_arrives_as_the_pixels_the_page_cut():
    picture = pattern_image(4, (32, 32))
    crop = parse_crop({"frames": [{"t": 1.0}], "crop": data_url(picture, "png")}, CROP)
    assert crop.mode == "RGB" and np.array_equal(np.asarray(crop), np.asarray(picture))  # PNG: lossless
    jpeg = parse_crop({"frames": [{"t": 1.0}], "crop": data_url(picture)}, CROP)
    assert jpeg.size == (32, 32)
    assert parse_crop({"frames": [{"t": 1.0}]}, CROP) is None  # no hand in the last frame: no crop
    [(when, hands)] = parse_frames({"frames": [{"t": 2.0, "hands": [hand()]}]})
    assert when == 2.0 and hands[0].handedness == "Right" and hands[0].landmarks.shape == (21, 3)


@pytest.mark.parametrize(
    "crop, error",
    [
        (data_url(pattern_image(1, (64, 64))), "the crop is 64x64 pixels; this model takes 32x32"),
        (data_url(pattern_image(1, (32, 32)), "gif"), "must be a data URL of a JPEG or PNG"),
        ("https://example.com/me.jpg", "must be a data URL of a JPEG or PNG"),
        (["data:image/png;base64,"], "must be a data URL of a JPEG or PNG"),
        ("data:image/jpeg;base64,not base64!", "the crop is not a readable JPEG image"),
        (data_url(b"not a picture at all"), "the crop is not a readable JPEG image"),
        (data_url(bomb_png_bytes(), "png"), "the crop claims far more pixels than 32x32"),
        (data_url(bomb_png_bytes(2000, 2000), "png"), "the crop is 2000x2000 pixels; this model takes 32x32"),
        # a complete zlib stream holding 10 of 32 rows: Pillow decodes it, the rest black
        (data_url(short_png_bytes(32, 10), "png"), "does not hold the 32 rows its header promises"),
        (data_url(short_png_bytes(32, 33), "png"), "does not hold the 32 rows its header promises"),
        ("data:image/png;base64," + "A" * 8000, "the crop holds over 4096 bytes; send 32x32 pixels"),
    ],
)
def test_a_bad_crop_is_refused_in_one_line_before_its_pixels_are_decoded(crop, error):
    with pytest.raises(LandmarkMessageError, match=error):
        parse_crop({"frames": [{"t": 1.0}], "crop": crop}, CROP)


def test_the_page_is_told_what_the_model_needs_and_how_often():
    assert BrowserInput(Send.LANDMARKS).paced(0.2).to_page() == {"send": "landmarks", "every_ms": 320}
    assert BrowserInput(Send.LANDMARKS).paced(0.2, slowdown=2.0).to_page()["every_ms"] == 640
    assert CROP.paced(0.25, slowdown=1.5).to_page()["every_ms"] == 375
    assert CROP.paced(0.25).to_page() == {
        "send": "crop",
        "every_ms": 250,
        "side": 32,
        "resize": 36,
        "margin": 0.25,
        "quality": 0.92,
    }


def test_the_pages_onnx_runtime_is_the_version_package_json_pins():
    """The CDN URL the app and the static Space use, and the copy npm ci installs for the tests, are one version."""
    import json
    from pathlib import Path

    from signspace.serve.browser import ORT_WEB_CDN, ORT_WEB_VERSION

    root = Path(__file__).resolve().parents[3]
    assert json.loads((root / "package.json").read_text())["dependencies"]["onnxruntime-web"] == ORT_WEB_VERSION
    lock = json.loads((root / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/onnxruntime-web"]["version"] == ORT_WEB_VERSION
    assert f"onnxruntime-web@{ORT_WEB_VERSION}/dist" in ORT_WEB_CDN
