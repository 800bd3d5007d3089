"""The landmark half of the builder: one clip -> one sequence row, cached by the clip's bytes
(signspace/data/sequence_builder.py)."""

import numpy as np
from factories import landmark_clip, write_video

from signspace.data.scan import Source, WorkItem, file_item
from signspace.data.sequence_builder import SequenceSettings, _store_landmarks, cached_landmarks, decode_sequence


def npy_item(tmp_path, values) -> WorkItem:
    path = tmp_path / "hello" / "clip.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, values)
    return WorkItem("hello", path, "hello/clip.npy", "hello/clip.npy", Source.NPY)


def test_a_clip_without_a_hand_is_a_typed_skip_and_one_with_hands_is_a_row(tmp_path):
    settings = SequenceSettings(keypoints_fps=30.0)
    empty = decode_sequence(npy_item(tmp_path, np.zeros((12, 258), np.float32)), settings)
    assert empty.no_hand_clip and not empty.rows and empty.skip["reason"] == "no hand in any of its 12 frame(s)"
    clip = landmark_clip("circle", frames=20, seed=1)
    row = decode_sequence(npy_item(tmp_path, clip), settings).rows[0]
    assert row.hand_frames == 20 and np.allclose(row.times, np.arange(20) / 30.0) and row.label == "hello"


def test_an_unreadable_clip_is_a_skip_but_not_a_missing_hand(tmp_path):
    item = npy_item(tmp_path, np.zeros((3, 7), np.complex64))
    result = decode_sequence(item, SequenceSettings())
    assert result.skip is not None and not result.no_hand_clip


def test_the_landmark_cache_returns_what_was_stored_and_ignores_a_damaged_entry(tmp_path):
    video = write_video(tmp_path / "data" / "hello" / "take.mp4", n_frames=4)
    item = file_item("hello", video, "hello/take.mp4")
    settings = SequenceSettings(cache_dir=str(tmp_path / "cache"))
    assert item.kind is Source.VIDEO and cached_landmarks(item, settings) is None
    landmarks, times = landmark_clip("swipe", frames=4), np.arange(4) / 12
    _store_landmarks(item, settings, landmarks, times)
    hit = cached_landmarks(item, settings)
    assert hit is not None and np.array_equal(hit[0], landmarks) and np.allclose(hit[1], times)
    [entry] = (tmp_path / "cache").glob("*.npz")
    entry.write_bytes(b"damaged")
    assert cached_landmarks(item, settings) is None  # tracked again, never a crash
    other = SequenceSettings(cache_dir=str(tmp_path / "cache"), max_frames=8)
    _store_landmarks(item, settings, landmarks, times)
    assert cached_landmarks(item, other) is None  # other settings, other key
