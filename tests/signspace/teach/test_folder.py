"""The Teach tab's folder of signs and clips, and its recorder (signspace/teach/folder.py)."""

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from factories import (
    ASL_DIR,
    HAND_MODEL,
    blank_video,
    file_listing,
    webcam_frames,
    write_image,
    write_video,
)

from signspace.core.errors import RecordingError, TeachError
from signspace.core.video import read_frames, video_seconds
from signspace.data.scan import scan_data_dir
from signspace.teach.folder import TeachFolder, TeachLimits, check_sign_name

needs_hands = pytest.mark.skipif(
    not (ASL_DIR.is_dir() and HAND_MODEL.is_file()), reason="../shared photos or hand model absent"
)


# -- names -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, message",
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        (None, "needs a name"),
        (".", "cannot be a sign name"),
        ("..", "cannot be a sign name"),
        ("yes/no", "has a slash.*'yes-no'"),
        ("a\\b", "has a slash; a sign is one folder, so use e.g. 'a-b'"),
        (".hidden", "starts with a dot"),
        ("x" * 65, "keep it to 64"),
        ("tab\there", "control character"),
        ("hel\u200blo", r"'hel\\\\u200blo' has an invisible formatting character"),
        ("\u202eolleh", "invisible formatting character"),
        ("\ufeffhello", "invisible formatting character"),
        ("\U0001f44b" * 60, "takes 240 bytes \\(emoji and accents take several each\\); keep it to 200"),
    ],
)
def test_bad_sign_names_are_refused_and_nothing_is_written(tmp_path, name, message):
    folder = TeachFolder(tmp_path / "data")
    with pytest.raises(TeachError, match=message):
        folder.add_sign(name)
    assert not (tmp_path / "data").exists()


def test_names_differing_only_in_case_are_refused_like_the_builder_does(tmp_path):
    folder = TeachFolder(tmp_path)
    folder.add_sign("Hello")
    with pytest.raises(TeachError, match="differs from the existing sign 'Hello' only in letter case"):
        folder.add_sign("hello")
    folder.add_sign("thanks")
    with pytest.raises(TeachError, match="only in letter case"):
        folder.rename_sign("thanks", "HELLO")
    assert folder.signs() == ["Hello", "thanks"]
    with pytest.raises(TeachError, match="exists already"):
        folder.add_sign("Hello")


def test_a_name_at_the_byte_limit_can_be_added_renamed_and_deleted(tmp_path):
    folder = TeachFolder(tmp_path)
    name = "\U0001f44b" * 50  # 200 bytes: the longest allowed
    folder.add_sign(name)
    folder.delete_sign(folder.rename_sign(name, name[:-1] + "\u00e9" * 2))
    assert folder.signs() == []


def test_a_decomposed_name_on_disk_is_the_same_sign_as_its_composed_form(tmp_path):
    (tmp_path / "cafe\u0301").mkdir()  # written by macOS (NFD)
    with pytest.raises(TeachError, match="only in letter case"):
        TeachFolder(tmp_path).add_sign("CAF\u00c9")


def test_signs_cannot_be_deleted_or_renamed_while_the_folder_trains(tmp_path):
    folder = TeachFolder(tmp_path)
    folder.add_sign("hello")
    with folder.training():
        with pytest.raises(TeachError, match="cannot delete sign 'hello' while this folder is training; wait"):
            folder.delete_sign("hello")
        with pytest.raises(TeachError, match="cannot rename sign 'hello' while this folder is training"):
            folder.rename_sign("hello", "hi")
    assert folder.signs() == ["hello"]
    folder.delete_sign("hello")  # afterwards it works
    assert folder.signs() == []


def test_names_are_normalised_as_the_builder_normalises_folders():
    assert check_sign_name("  caf\u0065\u0301 ", []) == "caf\u00e9"  # NFC, trimmed: the same id on every OS


def test_rename_and_delete_a_sign(tmp_path):
    folder = TeachFolder(tmp_path)
    folder.add_sign("hello")
    folder.save_recording("hello", webcam_frames(), [0.1 * i for i in range(6)])
    assert folder.rename_sign("hello", "hi") == "hi"
    assert folder.signs() == ["hi"] and len(folder.clips("hi")) == 1
    folder.delete_sign("hi")
    assert folder.signs() == [] and not (tmp_path / "hi").exists()
    assert not list((tmp_path / ".signspace" / "trash").iterdir())  # nothing half-deleted left behind
    with pytest.raises(TeachError, match="there is no sign 'hi'"):
        folder.delete_sign("hi")


# -- clips -------------------------------------------------------------------------------------------------------
def test_a_recording_is_an_mp4_the_builder_reads_with_its_real_times(tmp_path):
    folder = TeachFolder(tmp_path)
    folder.add_sign("hello")
    times = [100.0, 100.08, 100.2, 100.25, 100.4, 100.55]  # uneven, like a browser stream
    clip = folder.save_recording("hello", webcam_frames(6, (65, 49)), times)  # odd sides: cut to even for H.264
    assert clip.path.parent == tmp_path / "hello" and clip.path.suffix == ".mp4"
    picked = read_frames(clip.path, 64, "clip")
    assert len(picked) == 6
    np.testing.assert_allclose([t for *_, t in picked], np.array(times) - 100.0, atol=0.002)
    assert picked[0][1].size == (64, 48)
    assert [i.source for i in _scan_items(tmp_path)] == [f"hello/{clip.name}"]  # the work folder is invisible
    assert video_seconds(clip.path) == pytest.approx(0.55, abs=0.002)


def _scan_items(root: Path):
    (root / "other").mkdir(exist_ok=True)
    write_image(root / "other" / "x.png")
    return [i for i in scan_data_dir(root, keypoints=True).items if i.label != "other"]


def test_recording_with_no_webcam_frames_says_so_and_writes_nothing(tmp_path):
    folder = TeachFolder(tmp_path)
    folder.add_sign("hello")
    with pytest.raises(TeachError, match="no webcam frames arrived.*allow the camera"):
        folder.save_recording("hello", [], [])
    assert file_listing(tmp_path) == ["hello"]


@pytest.mark.parametrize(
    "code, message",
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the folder is on a read-only disk.*--data_dir"),
        (errno.EACCES, "permission denied.*chmod"),
    ],
)
def test_a_full_disk_or_read_only_folder_is_a_clear_error_and_leaves_no_half_clip(tmp_path, monkeypatch, code, message):
    folder = TeachFolder(tmp_path)
    folder.add_sign("hello")
    kept = folder.save_recording("hello", webcam_frames(), [0.1 * i for i in range(6)])
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith(".mp4"):
            raise OSError(code, os.strerror(code))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(TeachError, match=f"cannot save the clip in .*hello: {message}.*Nothing was changed"):
        folder.save_recording("hello", webcam_frames(), [0.1 * i for i in range(6)])
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before and kept.path in after  # earlier clips intact, no temp file left
    monkeypatch.setattr(os, "mkdir", lambda *a, **k: (_ for _ in ()).throw(OSError(code, os.strerror(code))))
    with pytest.raises(TeachError, match=f"cannot add sign 'thanks'.*{message}"):
        folder.add_sign("thanks")


def test_limits_hold_for_recordings_and_uploads(tmp_path):
    limits = TeachLimits(signs=2, clips_per_sign=2, clip_seconds=1.0, total_bytes=10**9)
    folder = TeachFolder(tmp_path, limits)
    folder.add_sign("a")
    folder.add_sign("b")
    with pytest.raises(TeachError, match="holds 2 signs, the most allowed here"):
        folder.add_sign("c")
    for _ in range(2):
        folder.save_recording("a", webcam_frames(), [0.1 * i for i in range(6)])
    with pytest.raises(TeachError, match="sign 'a' has 2 clips, the most allowed here"):
        folder.save_recording("a", webcam_frames(), [0.1 * i for i in range(6)])
    long_video = write_video(tmp_path.parent / "long.mp4", n_frames=25)  # 2.4 s at 10 fps
    with pytest.raises(TeachError, match=r"long.mp4 lasts more than 1 s; .* at most 1 s here"):
        folder.import_file("b", long_video)
    hour = blank_video(tmp_path.parent / "hour.mp4", 300, 32, 32, rate=2)  # decoding stops just past 1 s
    with pytest.raises(TeachError, match=r"hour.mp4 lasts more than 1 s; .* at most 1 s here"):
        folder.import_file("b", hour)
    small = TeachFolder(tmp_path, TeachLimits(total_bytes=folder.usage_bytes() + 10))
    with pytest.raises(TeachError, match="MB allowed here; delete clips"):
        small.save_recording("b", webcam_frames(), [0.1 * i for i in range(6)])
    assert len(folder.clips("b")) == 0


def test_uploads_are_checked_before_they_are_copied(tmp_path):
    folder = TeachFolder(tmp_path / "data")
    folder.add_sign("a")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(TeachError, match="notes.txt: not a clip or photo"):
        folder.import_file("a", text)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"junk" * 100)
    with pytest.raises(TeachError, match="broken.mp4: not a video FFmpeg can decode"):
        folder.import_file("a", broken)
    fake_png = tmp_path / "fake.png"
    fake_png.write_bytes(b"not an image")
    with pytest.raises(TeachError, match="fake.png: cannot be read"):
        folder.import_file("a", fake_png)
    assert folder.clips("a") == []
    photo = folder.import_file("a", write_image(tmp_path / "photo.jpeg"))
    video = folder.import_file("a", write_video(tmp_path / "v.mp4"))
    assert [c.name for c in folder.clips("a")] == sorted([photo.name, video.name])
    assert photo.name.endswith(".jpg")
    with pytest.raises(TeachError, match="has no clip"):
        folder.delete_clip("a", "../a/" + photo.name)
    folder.delete_clip("a", photo.name)
    assert [c.name for c in folder.clips("a")] == [video.name]


# -- recorder ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "times, message",
    [
        ([0.0, 30000.0], "the recording's frames span 3e\\+04 s, over the 10 s a clip may last here"),
        ([0.0, 1e308], "span 1e\\+308 s"),
        ([0.0, float("inf")], "frame times do not increase"),
        ([1.0, 0.5], "frame times do not increase"),
    ],
)
def test_a_recording_whose_times_make_no_clip_is_refused_before_anything_is_allocated(tmp_path, times, message):
    """A two-frame recording 30,000 s apart was sized as a clip of 900,001 frames: 1.2 -> 2.94 GB of the server."""
    import tracemalloc

    folder = TeachFolder(tmp_path / "signs")
    folder.add_sign("hello")
    frames = [np.ones(258, np.float32)] * 2
    tracemalloc.start()
    try:
        with pytest.raises(RecordingError, match=message):
            folder.save_landmarks("hello", frames, times)
        with pytest.raises(RecordingError, match=message):
            folder.save_recording("hello", webcam_frames(2), times)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000 and file_listing(folder.root) == ["hello"]


# -- landmarks-only recordings (tracked in the visitor's browser) ---------------------------------------------------
def test_a_landmarks_recording_is_saved_as_evenly_spaced_keypoints_the_builder_reads(tmp_path):
    from factories import landmark_clip

    from signspace.core.landmarks import load_npy

    folder = TeachFolder(tmp_path / "signs")
    folder.add_sign("hello")
    clip = landmark_clip("circle", frames=25, seed=3)
    times = [100.0 + i * 0.08 + (0.02 if i % 3 == 0 else 0.0) for i in range(25)]  # a browser's uneven clock
    saved = folder.save_landmarks("hello", list(clip), times)
    stored = load_npy(saved.path, "hello/clip.npy")
    assert saved.path.suffix == ".npy" and saved.hands == "found" and len(stored) == round(1.92 * 30) + 1
    assert np.array_equal(stored[0], clip[0]) and np.array_equal(stored[-1], clip[-1])
    assert [c.hands for c in folder.clips("hello")] == ["found"]
    assert file_listing(folder.root) == ["hello", f"hello/{saved.path.name}"]  # no picture, no video
    folder.add_sign("thanks")
    folder.save_landmarks("thanks", list(clip), times)
    items = scan_data_dir(folder.root, keypoints=True).items
    assert {i.kind for i in items} == {"npy"} and f"hello/{saved.path.name}" in {i.source for i in items}
    with pytest.raises(TeachError, match="no hand landmarks arrived, so nothing was recorded"):
        folder.save_landmarks("hello", [], [])
    empty = folder.save_landmarks("hello", [np.zeros(258, np.float32)] * 5, [0.0, 0.1, 0.2, 0.3, 0.4])
    assert empty.hands == "none"
