import numpy as np
import pytest
import torch
from factories import KEYPOINTS_DIR, landmark_clip

from signspace.core.hands import Hand
from signspace.core.landmarks import (
    FRAME_VALUES,
    LEFT,
    RIGHT,
    KeypointError,
    augment,
    frame_from_hands,
    from_saved,
    hands_present,
    load_npy,
    load_npy_frames,
    mirror,
    normalise,
    resample,
)

needs_keypoints = pytest.mark.skipif(not KEYPOINTS_DIR.is_dir(), reason="../shared sign keypoints absent")


def test_saved_arrays_with_the_face_drop_it_and_keep_pose_and_hands():
    with_face = np.arange(1662, dtype=np.float64)[None].repeat(3, 0)
    out = from_saved(with_face, "clip.npy")
    assert out.shape == (3, 258) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, :132], np.arange(132))
    np.testing.assert_array_equal(out[0, 132:], np.arange(132 + 1404, 1662))


@pytest.mark.parametrize(
    "array, found",
    [
        (np.zeros((30, 100)), r"shape \(30, 100\)"),
        (np.zeros((2, 3, 258)), r"shape \(2, 3, 258\)"),
        (np.zeros((0, 258)), "has no frames"),
        (np.array([["a"] * 258]), "expected frames x 258"),
    ],
)
def test_saved_arrays_of_another_layout_are_refused_by_name(array, found):
    with pytest.raises(KeypointError, match=rf"clip\.npy: .*{found}"):
        from_saved(array, "clip.npy")


def test_pickled_or_corrupt_npy_files_are_refused_without_unpickling(tmp_path):
    pickled = tmp_path / "evil.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(KeypointError, match="evil.npy: holds Python objects, not numbers"):
        load_npy(pickled, "evil.npy")
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(KeypointError, match="broken.npy: not a readable NumPy array"):
        load_npy(broken, "broken.npy")


def test_tutorial_per_frame_files_are_ordered_by_frame_number(tmp_path):
    for index in (0, 1, 2, 10, 11):
        np.save(tmp_path / f"{index}.npy", np.full(1662, index, np.float64))
    frames = load_npy_frames(list(tmp_path.glob("*.npy")), "clip")
    assert frames[:, 0].tolist() == [0, 1, 2, 10, 11]  # not 0, 1, 10, 11, 2


@needs_keypoints
def test_the_real_keypoint_sets_load_in_both_layouts():
    ksl = load_npy(next((KEYPOINTS_DIR / "ksl-13-signs" / "yes").glob("*.npy")), "ksl")
    asl = load_npy_frames(list((KEYPOINTS_DIR / "asl-3-signs" / "yes" / "0").glob("*.npy")), "asl")
    assert ksl.shape == (30, 258) and asl.shape == (30, 258)
    assert hands_present(ksl).any() and hands_present(asl).any()


def test_frame_from_hands_fills_slots_by_handedness():
    pts = np.random.RandomState(0).rand(21, 3).astype(np.float32)
    right = Hand(pts, pts, "Right", 0.9)
    left = Hand(pts + 1, pts, "Left", 0.8)
    frame = frame_from_hands([right, left])
    np.testing.assert_array_equal(frame[RIGHT], pts.reshape(-1))
    np.testing.assert_array_equal(frame[LEFT], (pts + 1).reshape(-1))
    assert not frame[:132].any()
    twins = frame_from_hands([Hand(pts, pts, "Right", 0.9), Hand(pts + 1, pts, "Right", 0.5)])
    assert hands_present(twins).all()  # a second "Right" takes the free slot rather than being lost
    assert not frame_from_hands([]).any()


def test_resample_spreads_frames_evenly_in_time_and_repeats_short_clips():
    sequence = np.arange(5, dtype=np.float32)[:, None].repeat(FRAME_VALUES, 1)
    times = np.arange(5) / 10
    assert resample(sequence, times, 5)[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert resample(sequence[:1], times[:1], 4)[:, 0].tolist() == [0, 0, 0, 0]  # one frame: a static sign
    assert resample(sequence, times, 3, start=0.2, end=0.4)[:, 0].tolist() == [2, 3, 4]
    assert resample(sequence, times, 9).shape == (9, FRAME_VALUES)


def test_mirror_swaps_the_hands_and_flips_x_and_is_its_own_inverse():
    clip = landmark_clip("swipe", seed=1, hand="Right")
    flipped = mirror(clip)
    assert hands_present(flipped)[:, 0].all() and not hands_present(flipped)[:, 1].any()
    np.testing.assert_allclose(
        flipped[:, LEFT].reshape(-1, 21, 3)[..., 0], 1 - clip[:, RIGHT].reshape(-1, 21, 3)[..., 0]
    )
    np.testing.assert_allclose(mirror(flipped), clip, atol=1e-6)


def test_augment_keeps_the_layout_and_absent_hands_absent_and_follows_the_seed():
    clip = landmark_clip("circle", seed=2)
    times = np.arange(len(clip)) / 30
    one = augment(clip, times, np.random.default_rng(5), 32, frame_dropout=0, hand_dropout=0)
    assert one.shape == (32, FRAME_VALUES)
    assert not hands_present(one)[:, 0].any()  # no left hand appears from nowhere
    assert hands_present(one)[:, 1].all()
    np.testing.assert_array_equal(
        one, augment(clip, times, np.random.default_rng(5), 32, frame_dropout=0, hand_dropout=0)
    )
    assert not np.array_equal(one, augment(clip, times, np.random.default_rng(6), 32, frame_dropout=0, hand_dropout=0))
    flipped = [augment(clip, times, np.random.default_rng(s), 8, hflip=True) for s in range(20)]
    assert any(hands_present(f)[:, 0].any() for f in flipped)  # --hflip mirrors some views
    assert not any(hands_present(augment(clip, times, np.random.default_rng(s), 8))[:, 0].any() for s in range(20))


def test_normalise_ignores_where_the_signer_sits_and_how_far_from_the_camera():
    clip = landmark_clip("circle", seed=3)
    moved = clip.copy()
    for slot in (LEFT, RIGHT):
        points = moved[:, slot].reshape(-1, 21, 3)
        present = np.abs(points).sum((1, 2)) > 0
        points[present, :, :2] = (points[present, :, :2] - 0.5) * 0.5 + [0.3, 0.6]  # half as big, elsewhere
        points[present, :, 2] *= 0.5  # MediaPipe's z shares x's scale
        moved[:, slot] = points.reshape(-1, 63)
    a, b = normalise(torch.from_numpy(clip)[None]), normalise(torch.from_numpy(moved)[None])
    assert a.shape == (1, len(clip), 136)
    torch.testing.assert_close(a[..., :63], b[..., :63], atol=1e-4, rtol=1e-3)  # empty left slot and ...
    torch.testing.assert_close(a, b, atol=2e-3, rtol=1e-3)  # ... shape, position and motion all agree
    assert not normalise(torch.zeros(1, 4, 258)).any()  # no hands: all zeros, no NaN
    with pytest.raises(KeypointError, match="only \\['hands'\\]"):
        normalise(torch.zeros(1, 4, 258), ("hands", "pose"))


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda p: np.save(p, np.zeros((3, 258), np.complex64)), "holds complex64 values; keypoints are real numbers"),
        (
            lambda p: np.save(p, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True),
            "holds Python objects, not numbers",
        ),
        (lambda p: p.write_text("hello"), "not a readable NumPy array"),
        (
            lambda p: p.write_bytes(_header_only({"descr": "<f4", "fortran_order": False, "shape": (10**9, 258)})),
            "claims 1000000000 frames of shape (1000000000, 258); one sign clip has at most 18000",
        ),
    ],
)
def test_saved_keypoints_that_are_not_a_clip_are_refused_before_reading(tmp_path, write, message):
    path = tmp_path / "clip.npy"
    write(path)
    with pytest.raises(KeypointError) as caught:
        load_npy(path, "hello/clip.npy")
    assert str(caught.value).startswith("hello/clip.npy: ") and message in str(caught.value)


def _header_only(header: dict) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()
