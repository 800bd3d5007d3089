import sys
from pathlib import Path

import numpy as np
import pytest
from factories import ASL_DIR, HAND_MODEL, pattern_image
from PIL import Image

from signspace.core import hands as hands_mod
from signspace.core.hands import Hand, HandTracker, crop_box, hand_crop, square_around, tiles

needs_model = pytest.mark.skipif(not HAND_MODEL.is_file(), reason="../shared hand model absent")
needs_photos = pytest.mark.skipif(not ASL_DIR.is_dir(), reason="../shared ASL photos absent")
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))


def make_hand(points_px, size, handedness="Right") -> Hand:
    width, height = size
    xy = np.asarray(points_px, np.float32) / (width, height)
    landmarks = np.zeros((21, 3), np.float32)
    landmarks[:, :2] = xy[np.arange(21) % len(xy)]
    return Hand(landmarks, np.zeros((21, 3), np.float32), handedness, 0.9)


def asl_photo(letter="B", index=0) -> Image.Image:
    return Image.open(sorted((ASL_DIR / letter).glob("*.jpg"))[index]).convert("RGB")


@pytest.fixture(scope="module")
def tracker():
    if not HAND_MODEL.is_file():
        pytest.skip("../shared hand model absent")
    with HandTracker(HAND_MODEL) as tracker:
        yield tracker


# --- crop geometry (pure) -----------------------------------------------------------------------------------


def test_crop_box_is_a_square_around_every_landmark_with_the_margin():
    hand = make_hand([(100, 100), (140, 180)], (640, 480))  # 40 x 80 px of landmarks
    x0, y0, x1, y1 = crop_box([hand], 640, 480, margin=0.25)
    assert x1 - x0 == y1 - y0 == 120  # longer side 80 * (1 + 2 * 0.25)
    assert (x0, y0) == (60, 80)


def test_crop_box_spans_both_hands():
    left, right = make_hand([(100, 200), (130, 240)], (640, 480)), make_hand([(400, 210), (440, 250)], (640, 480))
    x0, y0, x1, y1 = crop_box([left, right], 640, 480, margin=0.1)
    assert x0 <= 100 and x1 >= 440 and y0 <= 200 and y1 >= 250


def test_a_hand_cut_by_the_frame_edge_gets_a_box_shifted_inside_the_frame():
    hand = make_hand([(610, 440), (639, 479)], (640, 480))  # landmarks at the bottom-right corner
    x0, y0, x1, y1 = crop_box([hand], 640, 480, margin=0.5)
    assert (x1, y1) == (640, 480) and x0 >= 0 and y0 >= 0
    assert x1 - x0 == y1 - y0  # shifted, not cut: still square


def test_landmarks_outside_the_frame_and_a_box_larger_than_the_frame_are_clamped():
    hand = make_hand([(-50, -20), (700, 30)], (640, 480))  # MediaPipe reports points beyond the edges
    assert crop_box([hand], 640, 480) == (0, 0, 640, 480)


def test_no_hand_means_no_crop():
    assert crop_box([], 640, 480) is None
    assert hand_crop(pattern_image(0, (64, 48)), []) is None


def test_crop_is_never_enlarged_and_is_shrunk_to_max_side():
    image = pattern_image(1, (640, 480))
    small = hand_crop(image, [make_hand([(300, 200), (320, 220)], (640, 480))], margin=0.25)
    assert small.size == (30, 30)  # stays at its own pixels; the model's resize handles the rest
    big = hand_crop(image, [make_hand([(0, 0), (400, 400)], (640, 480))], margin=0.25, max_side=128)
    assert max(big.size) == 128
    box = crop_box([make_hand([(0, 0), (400, 400)], (640, 480))], 640, 480)
    np.testing.assert_array_equal(
        np.asarray(image.crop(box).resize(big.size, Image.BILINEAR)).shape, np.asarray(big).shape
    )


def test_square_around_respects_the_minimum_side():
    assert square_around((10, 10, 12, 12), 3.0, 640, 480, min_side=100) == (0, 0, 100, 100)


def test_frames_too_small_for_useful_tiles_get_none():
    assert tiles(10000, 10) == [] and tiles(200, 150) == []
    assert len(tiles(320, 240)) > 0


def test_tiles_cover_the_frame_at_each_scale_nearest_the_likely_spot_first():
    boxes = tiles(640, 480)
    for scale in hands_mod.TILE_SCALES:
        side = round(scale * 480)
        level = [b for b in boxes if b[2] - b[0] == side]
        covered = np.zeros((480, 640), bool)
        for x0, y0, x1, y1 in level:
            assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
            covered[y0:y1, x0:x1] = True
        assert covered.all()
        centres = [np.hypot((b[0] + b[2]) / 1280 - 0.5, (b[1] + b[3]) / 960 - 0.6) for b in level]
        assert centres == sorted(centres)
    assert boxes[0][2] - boxes[0][0] == round(0.6 * 480)  # large tiles first


def test_hand_records_round_trip():
    hand = make_hand([(1, 2), (3, 4)], (10, 10), "Left")
    again = Hand.from_record(hand.to_record())
    np.testing.assert_allclose(again.landmarks, hand.landmarks)
    assert again.handedness == "Left" and again.score == pytest.approx(0.9)


# --- the model file -----------------------------------------------------------------------------------------


# --- the tracker on real hands ------------------------------------------------------------------------------


@needs_photos
def test_a_close_up_photo_gives_21_landmarks_inside_the_frame(tracker):
    found = tracker.detect(np.asarray(asl_photo("B")))
    assert len(found) == 1
    hand = found[0]
    assert hand.landmarks.shape == hand.world.shape == (21, 3)
    assert hand.handedness in ("Left", "Right") and 0.3 <= hand.score <= 1
    assert (hand.landmarks[:, :2] > -0.1).all() and (hand.landmarks[:, :2] < 1.1).all()


def test_a_frame_with_no_hand_finds_none(tracker):
    assert tracker.detect(np.asarray(pattern_image(3, (640, 480)))) == []


@needs_photos
def test_two_hands_side_by_side_are_both_found(tracker):
    left, right = asl_photo("B", 0).resize((320, 320)), asl_photo("L", 1).resize((320, 320))
    scene = Image.new("RGB", (640, 320), "white")
    scene.paste(left, (0, 0))
    scene.paste(right, (320, 0))
    found = tracker.detect(np.asarray(scene))
    assert len(found) == 2
    centres = sorted(float(h.landmarks[:, 0].mean()) for h in found)
    assert centres[0] < 0.5 < centres[1]


@needs_photos
def test_a_small_hand_in_a_webcam_frame_is_found_by_the_tile_search(tracker):
    from scenes import hand_region, webcam_scene

    photo = asl_photo("B")
    region = hand_region(photo, tracker)
    misses = 0
    for seed in range(6):
        scene = webcam_scene(photo, asl_photo("C"), seed=seed, region=region, height_fraction=(0.15, 0.18))
        found = tracker.detect(np.asarray(scene))
        if not found:
            misses += 1
            continue
        x0, y0, x1, y1 = crop_box(found, 640, 480)
        assert (x1 - x0) < 240  # the crop is about the hand, not the whole frame
    assert misses <= 1


@pytest.mark.parametrize("shape", [(1, 1, 3), (10, 10000, 3), (10000, 10, 3)], ids=["1x1", "10000x10", "10x10000"])
def test_degenerate_frames_give_no_hand_without_crashing(tracker, shape):
    assert tracker.detect(np.full(shape, 128, np.uint8)) == []
    assert tracker.track(np.full(shape, 128, np.uint8), 1) == []


@needs_photos
def test_grey_and_transparent_images_are_tracked_like_their_rgb_versions(tracker):
    photo = asl_photo("B")
    grey = photo.convert("L")
    rgba = photo.convert("RGBA")
    expected = tracker.detect(np.asarray(grey.convert("RGB")))
    assert len(expected) == 1
    for variant in (np.asarray(grey), rgba):
        found = tracker.detect(variant)
        assert len(found) == 1
        np.testing.assert_allclose(
            found[0].landmarks[:, :2],
            tracker.detect(np.asarray(photo))[0].landmarks[:, :2] if variant is rgba else expected[0].landmarks[:, :2],
            atol=1e-4,
        )


@needs_photos
def test_video_mode_follows_a_small_hand_after_acquiring_it():
    from scenes import hand_region, webcam_scene

    with HandTracker(HAND_MODEL) as tracker:
        photo = asl_photo("B")
        scene = np.asarray(
            webcam_scene(
                photo, asl_photo("C"), seed=1, region=hand_region(photo, tracker), height_fraction=(0.15, 0.16)
            )
        )
        results = [tracker.track(scene, t * 66) for t in range(1, 16)]
    assert results[-1], "never acquired"
    first = next(i for i, r in enumerate(results) if r)
    assert all(results[first:])  # once found, followed on every later frame


@needs_photos
def test_two_visitors_trackers_do_not_share_state():
    photo = np.asarray(asl_photo("B").resize((480, 480)))
    empty = np.asarray(pattern_image(5, (480, 480)))
    with HandTracker(HAND_MODEL) as alice, HandTracker(HAND_MODEL) as bob:
        for t in range(1, 6):
            assert alice.track(photo, t * 66)
            assert bob.track(empty, t * 66) == []
        assert alice.track(photo, 400)


def test_a_closed_tracker_refuses_work():
    if not HAND_MODEL.is_file():
        pytest.skip("../shared hand model absent")
    tracker = HandTracker(HAND_MODEL)
    tracker.close()
    tracker.close()  # twice is harmless
    assert tracker.closed
    with pytest.raises(RuntimeError, match="closed"):
        tracker.detect(np.zeros((8, 8, 3), np.uint8))
