import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest
from factories import (
    ASL_DIR,
    ASL_GROUP_PATTERN,
    bomb_png_bytes,
    jpeg_bytes,
    make_sign_folders,
    pattern_image,
    write_image,
    write_video,
)
from PIL import Image

from signspace.core.atomic import OutputExistsError

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "train"))
import build_dataset  # noqa: E402


@pytest.fixture
def build(tmp_path):
    """Run the builder in-process; returns (DatasetDict, report)."""

    def run(data_dir, *extra, out=None):
        out = out or tmp_path / "out"
        argv = ["--data_dir", str(data_dir), "--output_dir", str(out), "--num_proc", "1", *map(str, extra)]
        assert build_dataset.main(argv) == 0
        return datasets.load_from_disk(str(out)), json.loads((out / "build_report.json").read_text())

    return run


def builder_cli(data_dir, output_dir, *args) -> subprocess.CompletedProcess:
    """train/build_dataset.py as a user runs it."""
    command = [sys.executable, str(ROOT / "train" / "build_dataset.py"), "--data_dir", str(data_dir)]
    return subprocess.run([*command, "--output_dir", str(output_dir), *args], capture_output=True, text=True)


def _groups_by_split(dataset_dict):
    return {split: set(ds["group"]) for split, ds in dataset_dict.items()}


def assert_no_leak(dataset_dict):
    groups = _groups_by_split(dataset_dict)
    splits = list(groups)
    for i, a in enumerate(splits):
        for b in splits[i + 1 :]:
            assert not groups[a] & groups[b], f"groups in both {a} and {b}: {groups[a] & groups[b]}"
    hashes = {
        split: {hashlib.sha256(np.asarray(img).tobytes()).hexdigest() for img in ds["image"]}
        for split, ds in dataset_dict.items()
    }
    for i, a in enumerate(splits):
        for b in splits[i + 1 :]:
            assert not hashes[a] & hashes[b], f"identical image in {a} and {b}"


def test_mixed_layouts_become_a_leak_free_dataset(tmp_path, build):
    data = tmp_path / "data"
    make_sign_folders(data, {"hello": 8, "thanks": 8})
    for clip in range(4):
        for frame in range(3):
            write_image(data / "hello" / f"clip{clip}" / f"{frame}.jpg", seed=500 + clip * 10 + frame)
    for video in range(3):
        write_video(data / "thanks" / f"take{video}.mp4", n_frames=12, seed=video + 1)
    dsd, report = build(data, "--frames_per_video", 4, "--image_size", 32)
    assert set(dsd) == {"train", "validation", "test"}
    assert dsd["train"].features["label"].names == ["hello", "thanks"]
    assert dsd["train"].features["image"] == datasets.Image()
    assert_no_leak(dsd)
    all_sources = [s for ds in dsd.values() for s in ds["source"]]
    video_frames = [s for s in all_sources if s.startswith("thanks/take0.mp4")]
    assert len(video_frames) == 4  # uniform over the 12 real frames, both ends included
    assert {s.split("#")[1] for s in video_frames} == {"frame=0", "frame=4", "frame=7", "frame=11"}
    assert report["total_images"] == 8 + 8 + 12 + 3 * 4
    image = dsd["train"][0]["image"]
    assert image.mode == "RGB" and min(image.size) <= 32


def test_same_seed_same_split_other_seed_differs(tmp_path, build):
    data = make_sign_folders(tmp_path / "data", {"a": 12, "b": 12, "single": 1})
    first, report = build(data, "--seed", 5, out=tmp_path / "o1")
    again, _ = build(data, "--seed", 5, out=tmp_path / "o2")
    other, _ = build(data, "--seed", 6, out=tmp_path / "o3")
    assert {k: v["source"] for k, v in first.items()} == {k: v["source"] for k, v in again.items()}
    assert {k: v["source"] for k, v in first.items()} != {k: v["source"] for k, v in other.items()}
    # The one-image sign is trained on, not dropped, and the user is told why it is not evaluated.
    assert "single/img_000.png" in first["train"]["source"]
    assert any("'single' (1 group)" in w for w in report["warnings"])


def test_bad_files_are_skipped_and_reported(tmp_path, build):
    data = make_sign_folders(tmp_path / "data", {"a": 4, "b": 4})
    (data / "a" / "zero.jpg").write_bytes(b"")
    full = jpeg_bytes(pattern_image(99, (256, 256)))
    (data / "a" / "half.jpg").write_bytes(full[: len(full) // 2])
    (data / "b" / "text.png").write_text("just some text, not a picture\n" * 20)
    (data / "b" / "noise.jpg").write_bytes(bytes(np.random.RandomState(1).randint(0, 256, 3000, dtype=np.uint8)))
    (data / "b" / "bomb.png").write_bytes(bomb_png_bytes())
    dsd, report = build(data)
    reasons = {entry["source"]: entry["reason"] for entry in report["skipped"]}
    assert reasons.keys() == {"a/zero.jpg", "a/half.jpg", "b/text.png", "b/noise.jpg", "b/bomb.png"}
    assert "empty" in reasons["a/zero.jpg"]
    assert "truncated" in reasons["a/half.jpg"]
    assert "not an image" in reasons["b/text.png"]
    assert "bomb" in reasons["b/bomb.png"] or "exceeds limit" in reasons["b/bomb.png"]
    assert sum(len(ds) for ds in dsd.values()) == 8


def test_videos_without_frames_or_lying_about_length(tmp_path, build):
    data = make_sign_folders(tmp_path / "data", {"a": 3, "b": 3})
    honest = write_video(tmp_path / "honest.mp4", n_frames=30, faststart=True)
    raw = honest.read_bytes()
    # Metadata (moov, up front) still promises 30 frames, but only part of the data is there.
    (data / "a" / "liar.mp4").write_bytes(raw[: len(raw) // 2])
    moov_end = raw.index(b"mdat") + 4
    (data / "b" / "hollow.mp4").write_bytes(raw[:moov_end])  # opens, no frame data at all
    (data / "b" / "garbage.mp4").write_bytes(b"\x00" * 500)
    import av

    with av.open(str(data / "a" / "liar.mp4")) as container:
        claimed = container.streams.video[0].frames
    dsd, report = build(data, "--frames_per_video", 100)
    liar_frames = [s for ds in dsd.values() for s in ds["source"] if s.startswith("a/liar.mp4")]
    assert claimed == 30 and 0 < len(liar_frames) < 30  # counted by real decodes, nothing invented
    reasons = {entry["source"]: entry["reason"] for entry in report["skipped"]}
    assert "yields no frames" in reasons["b/hollow.mp4"]
    assert "unreadable video" in reasons["b/garbage.mp4"]


def test_identical_images_never_straddle_splits(tmp_path, build):
    data = make_sign_folders(tmp_path / "data", {"a": 20, "b": 20})
    for copy in range(6):  # the same picture under six names: six groups unless merged
        write_image(data / "a" / f"dup_{copy}.png", seed=12345)
    dsd, report = build(data, "--seed", 0)
    assert_no_leak(dsd)
    assert report["duplicates"] == [{"sources": [f"a/dup_{i}.png" for i in range(6)], "labels": ["a"]}]


def test_tiny_dataset_keeps_train_and_warns(tmp_path, build, caplog):
    data = make_sign_folders(tmp_path / "data", {"a": 1, "b": 1})
    dsd, report = build(data)
    assert len(dsd["train"]) == 2 and set(dsd) == {"train"}
    assert any("validation split is empty" in w for w in report["warnings"])
    assert "validation split is empty" in caplog.text


def test_no_test_split_when_test_size_zero(tmp_path, build):
    data = make_sign_folders(tmp_path / "data", {"a": 6, "b": 6})
    dsd, report = build(data, "--test_size", 0)
    assert set(dsd) == {"train", "validation"} and set(report["counts"]) == {"train", "validation"}


def test_existing_output_needs_overwrite(tmp_path, build):
    data = make_sign_folders(tmp_path / "data", {"a": 3, "b": 3})
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"out already exists .*--overwrite"):
        build(data, out=out)
    assert (out / "precious.txt").read_text() == "mine"
    dsd, _ = build(data, "--overwrite", out=out)
    assert not (out / "precious.txt").exists() and len(dsd["train"]) > 0


def test_failure_while_saving_leaves_nothing_half_written(tmp_path, build, monkeypatch):
    data = make_sign_folders(tmp_path / "data", {"a": 3, "b": 3})
    out = tmp_path / "out"

    def explode(self, path, *args, **kwargs):
        Path(path, "half-written.arrow").write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(datasets.DatasetDict, "save_to_disk", explode)
    with pytest.raises(OSError, match="disk full"):
        build(data, out=out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "data"]


def test_killed_build_leaves_no_output_and_rerun_works(tmp_path):
    data = make_sign_folders(tmp_path / "data", {"a": 3, "b": 3})
    out = tmp_path / "out"
    killer = f"""
import os, signal, sys
from pathlib import Path
import datasets
sys.path.insert(0, {str(ROOT / "train")!r})
import build_dataset
def die(self, path, *a, **k):
    Path(path, 'half.arrow').write_bytes(b'x')
    os.kill(os.getpid(), signal.SIGKILL)
datasets.DatasetDict.save_to_disk = die
build_dataset.main(['--data_dir', {str(data)!r}, '--output_dir', {str(out)!r}, '--num_proc', '1'])
"""
    killed = subprocess.run([sys.executable, "-c", killer], capture_output=True)
    assert killed.returncode == -9
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.partial")]
    assert len(leftovers) == 1  # what the killed run was writing, off to the side
    rerun = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train" / "build_dataset.py"),
            "--data-dir",
            str(data),
            "--output-dir",
            str(out),
            "--num-proc",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert (out / "build_report.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.partial")]
    assert "total" in rerun.stdout and "train" in rerun.stdout  # the summary table


@pytest.mark.parametrize(
    "args, message",
    [
        (["--val_size", "1.5"], r"--val_size=1.5 must be in \[0, 1\)"),
        (["--group_pattern", "(unclosed"], "--group_pattern '\\(unclosed' is not a valid regex"),
        (["--group_pattern", "no_group"], "needs a capture group"),
        (["--push_to_hub", "--hub_dataset_id", "not-a-repo-id"], "is not a Hub repo id"),
        (["--split_by", "signer"], "--split_by signer needs --signer_pattern to know who signed each clip"),
        (["--signer_pattern", "^[^/]+/"], "needs a capture group for the signer"),
        (["--signer_pattern", "^(a)", "--signer", "me"], "not both"),
        (["--signer_pattern", "(unclosed"], "--signer_pattern '\\(unclosed' is not a valid regex"),
        (["--signer", "  "], "--signer is empty; give the name of the person who signed everything"),
        (["--test_signers", "bob"], "--test_signers needs --split_by signer"),
        (
            ["--split_by", "signer", "--signer_pattern", "^(.)", "--test_size", "0"],
            "holds people out in the test split; set --test_size above 0",
        ),
        (
            ["--split_by", "signer", "--signer_pattern", "^([^/]+)/"],
            "needs at least 2 people \\(one to train on, one to test on\\); found 1: a1",
        ),
    ],
)
def test_bad_options_fail_clearly(tmp_path, args, message):
    data = make_sign_folders(tmp_path / "data", {"a": 1, "b": 1})
    if "^([^/]+)/" in args:  # one person's folder holding both signs
        data = make_sign_folders(tmp_path / "people" / "a1", {"a": 2, "b": 2}).parent
    result = builder_cli(data, tmp_path / "o", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    import re

    assert re.search(message, result.stderr), result.stderr
    assert not (tmp_path / "o").exists()


def test_case_collision_fails_from_the_command_line(tmp_path):
    data = make_sign_folders(tmp_path / "data", {"A": 1, "a": 1})
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train" / "build_dataset.py"),
            "--data_dir",
            str(data),
            "--output_dir",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "differ only in letter case" in result.stderr and "Traceback" not in result.stderr


def test_all_files_of_a_sign_unreadable_is_a_clear_error(tmp_path, build):
    data = make_sign_folders(tmp_path / "data", {"a": 3, "b": 0})
    (data / "b").mkdir()
    (data / "b" / "broken.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"no readable image left for sign\(s\) 'b'"):
        build(data)


def test_stored_images_are_upright_rgb(tmp_path, build):
    data = make_sign_folders(tmp_path / "data", {"a": 2})
    exif = Image.Exif()
    exif[0x0112] = 6
    (data / "b").mkdir()
    Image.new("CMYK", (80, 40), (0, 0, 0, 0)).save(data / "b" / "rot.jpg", exif=exif)
    dsd, _ = build(data, "--val_size", 0, "--test_size", 0)
    stored = dict(zip(dsd["train"]["source"], dsd["train"]["image"]))["b/rot.jpg"]
    assert stored.mode == "RGB" and stored.size == (40, 80)


@pytest.mark.skipif(not ASL_DIR.is_dir(), reason=f"real photos not present at {ASL_DIR}")
def test_real_asl_letters_grouped_split_has_no_leak(tmp_path, build):
    dsd, report = build(ASL_DIR, "--group_pattern", ASL_GROUP_PATTERN, "--image_size", 64)
    assert report["labels"] == [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    assert_no_leak(dsd)
    sources = {split: {s.split("/")[1].split("_jpg")[0] for s in ds["source"]} for split, ds in dsd.items()}
    assert not sources["train"] & sources["validation"] and not sources["train"] & sources["test"]
    assert all(report["counts"][split][label] > 0 for split in report["counts"] for label in report["labels"])


def test_push_to_hub_uploads_parquet_splits_and_a_card(tmp_path, build, fresh_hub):
    import io

    import pyarrow.parquet as pq
    import yaml

    data = make_sign_folders(tmp_path / "data", {"hello": 6, "thanks": 6})
    build(data, "--push_to_hub", "--hub_dataset_id", "tester/my-signs", "--license", "cc-by-4.0")
    files = fresh_hub.files("tester/my-signs", repo_type="dataset")
    splits = sorted(name for name in files if name.startswith("data/"))
    assert splits == [f"data/{s}-00000-of-00001.parquet" for s in ("test", "train", "validation")]
    table = pq.read_table(io.BytesIO(files["data/train-00000-of-00001.parquet"]))
    assert {"image", "label", "group", "source"} <= set(table.column_names)
    restored = datasets.Dataset(table)  # the ClassLabel and Image features travel in the parquet metadata
    assert restored.features["label"].names == ["hello", "thanks"]
    card = files["README.md"].decode()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["license"] == "cc-by-4.0" and meta["task_categories"] == ["image-classification"]
    assert {c["split"] for c in meta["configs"][0]["data_files"]} == {"train", "validation", "test"}
    assert "hello, thanks" in card and "grouped" in card and "| hello |" in card


def test_same_image_under_two_signs_is_kept_together_and_flagged(tmp_path, build):
    data = make_sign_folders(tmp_path / "data", {"a": 10, "b": 10})
    write_image(data / "a" / "same.png", seed=777)
    write_image(data / "b" / "same.png", seed=777)  # a labelling mistake: one picture, two signs
    dsd, report = build(data)
    assert_no_leak(dsd)
    assert report["duplicates"] == [{"sources": ["a/same.png", "b/same.png"], "labels": ["a", "b"]}]
    assert any("appear under different signs" in w and "a/same.png" in w for w in report["warnings"])


# --- hands: tracking, crops, and a decoding process that dies ------------------------------------------------

from factories import HAND_MODEL  # noqa: E402

needs_hands = pytest.mark.skipif(
    not (HAND_MODEL.is_file() and ASL_DIR.is_dir()), reason="../shared hand model or photos absent"
)


def copy_photos(root: Path, letters=("A", "B"), per_letter=4) -> Path:
    for letter in letters:
        for photo in sorted((ASL_DIR / letter).glob("*.jpg"))[:per_letter]:
            (root / letter).mkdir(parents=True, exist_ok=True)
            (root / letter / photo.name).write_bytes(photo.read_bytes())
    return root


@needs_hands
def test_track_hands_stores_landmarks_beside_whole_images_and_counts_hands(tmp_path, build):
    data = copy_photos(tmp_path / "data")
    write_image(data / "B" / "no_hand.png", seed=7, size=(200, 200))
    dataset, report = build(data, "--track_hands", "--hand_model", HAND_MODEL, "--test_size", "0")
    rows = [row for split in dataset.values() for row in split]
    assert len(rows) == 9  # nothing left out: only --hand_crop drops no-hand frames
    by_source = {row["source"]: row for row in rows}
    assert by_source["B/no_hand.png"]["hands"] == []
    hand = next(r for r in rows if r["hands"])["hands"][0]
    assert np.asarray(hand["landmarks"]).shape == np.asarray(hand["world"]).shape == (21, 3)
    assert hand["handedness"] in ("Left", "Right") and 0.3 <= hand["score"] <= 1
    counts = report["hands"]["per_sign"]
    assert sum(counts["A"].values()) == 4 and sum(counts["B"].values()) == 5
    assert counts["B"]["0"] >= 1 and "B/no_hand.png" in report["hands"]["no_hand"]
    assert sum(len(r["hands"]) == 0 for r in rows) == counts["A"]["0"] + counts["B"]["0"]
    assert report["preprocessing"] == {"input": "image"}
    original = Image.open(data / "A" / sorted(os.listdir(data / "A"))[0])
    assert min(by_source[f"A/{sorted(os.listdir(data / 'A'))[0]}"]["image"].size) == min(256, min(original.size))


@needs_hands
def test_hand_crop_stores_crops_and_leaves_out_frames_without_a_hand(tmp_path, build):
    data = copy_photos(tmp_path / "data")
    scene = Image.new("RGB", (640, 480), (30, 90, 160))
    photo = Image.open(sorted((ASL_DIR / "A").glob("*.jpg"))[0]).convert("RGB").resize((200, 200))
    scene.paste(photo, (300, 200))
    scene.save(data / "A" / "webcam_scene.png")
    write_image(data / "B" / "no_hand.png", seed=7, size=(200, 200))
    dataset, report = build(data, "--hand_crop", "--hand_model", HAND_MODEL, "--test_size", "0")
    sources = {row["source"]: row for split in dataset.values() for row in split}
    assert "B/no_hand.png" not in sources and "B/no_hand.png" in report["hands"]["no_hand"]
    crop = sources["A/webcam_scene.png"]
    assert crop["image"].size[0] == crop["image"].size[1] <= 256  # a square about the hand, not the 640x480 frame
    assert report["preprocessing"]["input"] == "hand_crop"
    assert report["hands"]["hand_crop"] is True


@needs_hands
def test_hand_crop_on_a_video_names_each_frame_without_a_hand(tmp_path, build):
    import av

    data = copy_photos(tmp_path / "data", letters=("A",), per_letter=2)
    copy_photos(tmp_path / "data", letters=("B",), per_letter=2)
    frames = [
        np.asarray(Image.open(p).convert("RGB").resize((256, 256))) for p in sorted((ASL_DIR / "B").glob("*.jpg"))[:3]
    ]
    frames.insert(1, np.full((256, 256, 3), 200, np.uint8))  # a frame without a hand
    with av.open(str(data / "B" / "clip.mp4"), "w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width = stream.height = 256
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    dataset, report = build(data, "--hand_crop", "--hand_model", HAND_MODEL, "--test_size", "0", "--val_size", "0")
    kept = [s for s in dataset["train"]["source"] if s.startswith("B/clip.mp4")]
    assert "B/clip.mp4#frame=1" in report["hands"]["no_hand"]
    assert "B/clip.mp4#frame=1" not in kept and len(kept) >= 2


def test_a_bad_hand_model_fails_before_anything_is_written(tmp_path, capsys):
    data = make_sign_folders(tmp_path / "data", {"a": 3, "b": 3})
    bad = tmp_path / "hand.task"
    bad.write_bytes(b"not a bundle")
    code = build_dataset.cli_main(
        ["--data_dir", str(data), "--output_dir", str(tmp_path / "out"), "--hand_crop", "--hand_model", str(bad)]
    )
    assert code == 2
    assert f"hand model {bad} is not a MediaPipe task bundle" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and bad.read_bytes() == b"not a bundle"


def test_a_killed_decoding_process_fails_the_build_quickly_and_clearly(tmp_path):
    data = make_sign_folders(tmp_path / "data", {"a": 12, "b": 12})
    out = tmp_path / "out"
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT / "train")!r})
import build_dataset
from signspace.data import builder
real = builder.decode_item
def dying(item, settings):
    if item.source == "b/img_003.png":
        os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does
    return real(item, settings)
builder.decode_item = dying
sys.exit(build_dataset.cli())
"""
    done = subprocess.run(
        [sys.executable, "-c", script, "--data_dir", str(data), "--output_dir", str(out), "--num_proc", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "a decoding process died" in done.stderr
    named = done.stderr.split("while decoding ", 1)[1].split(";", 1)[0]  # the files in flight at that moment
    assert "b/img_003.png" in named.split(" or ")
    assert "fewer --num_proc (it was 2)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))


# --- landmark sequences ---------------------------------------------------------------------------------------

from factories import KEYPOINTS_DIR, landmark_clip, make_landmark_folders, photo_video  # noqa: E402


def test_saved_npy_keypoints_become_a_grouped_sequence_dataset(tmp_path, build):
    data = make_landmark_folders(tmp_path / "data", per_sign=8)
    np.save(data / "circle" / "empty.npy", np.zeros((20, 258), np.float32))  # a clip with no hand in any frame
    np.save(data / "swipe" / "wrong.npy", np.zeros((20, 99), np.float32))
    dataset, report = build(data, "--features", "landmarks", "--val_size", "0.25", "--test_size", "0.25")
    assert set(dataset["train"].features) == {"landmarks", "times", "label", "group", "source"}
    rows = [row for split in dataset.values() for row in split]
    assert len(rows) == 24
    row = next(r for r in rows if r["source"] == "rise/clip_003.npy")
    np.testing.assert_allclose(np.asarray(row["landmarks"]), landmark_clip("rise", frames=27, seed=203), atol=1e-6)
    np.testing.assert_allclose(row["times"], np.arange(27) / 30.0, atol=1e-6)  # --keypoints_fps 30
    groups = {split: set(part["group"]) for split, part in dataset.items()}
    assert not (groups["train"] & groups["validation"]) and not (groups["train"] & groups["test"])
    reasons = {entry["source"]: entry["reason"] for entry in report["skipped"]}
    assert reasons["circle/empty.npy"] == "no hand in any of its 20 frame(s)"
    assert "shape (20, 99)" in reasons["swipe/wrong.npy"]
    assert report["hands"]["no_hand_clips"] == ["circle/empty.npy"]
    assert report["preprocessing"]["input"] == "landmarks"


@pytest.mark.skipif(not KEYPOINTS_DIR.is_dir(), reason="../shared sign keypoints absent")
def test_the_real_tutorial_layout_builds_with_names_that_have_spaces(tmp_path, build):
    dataset, report = build(KEYPOINTS_DIR / "asl-3-signs", "--features", "landmarks", out=tmp_path / "asl3")
    assert dataset["train"].features["label"].names == ["house", "no", "yes"]
    total = sum(len(part) for part in dataset.values())
    assert total == 90 - len(report["hands"]["no_hand_clips"]) and len(report["hands"]["no_hand_clips"]) == 7
    assert np.asarray(dataset["train"][0]["landmarks"]).shape == (30, 258)


@needs_hands
def test_videos_and_photos_are_tracked_into_sequences(tmp_path, build):
    data = tmp_path / "data"
    b_photos = sorted((ASL_DIR / "B").glob("*.jpg"))[:4]
    l_photos = sorted((ASL_DIR / "L").glob("*.jpg"))[:4]
    photo_video(data / "B" / "take1.mp4", b_photos, repeat=2)
    photo_video(data / "L" / "take1.mp4", l_photos, repeat=2)
    photo_video(data / "L" / "one_frame.mp4", l_photos[:1])  # a 1-frame video
    (data / "B" / "still.jpg").write_bytes(b_photos[0].read_bytes())  # a photo is a one-frame clip
    dataset, report = build(
        data, "--features", "landmarks", "--val_size", "0", "--test_size", "0", "--hand_model", HAND_MODEL
    )
    by_source = {row["source"]: row for row in dataset["train"]}
    assert set(by_source) == {"B/take1.mp4", "L/take1.mp4", "L/one_frame.mp4", "B/still.jpg"}
    take = np.asarray(by_source["B/take1.mp4"]["landmarks"])
    assert take.shape == (8, 258) and (np.abs(take[:, 132:]).sum(1) > 0).sum() >= 6  # hands in most frames
    assert len(by_source["L/one_frame.mp4"]["times"]) == 1 and len(by_source["B/still.jpg"]["times"]) == 1
    times = by_source["B/take1.mp4"]["times"]
    assert times == sorted(times) and times[1] - times[0] == pytest.approx(0.1, abs=1e-3)  # 10 fps


@needs_hands
def test_a_video_with_a_broken_frame_in_the_middle_keeps_what_decodes(tmp_path, build):
    data = tmp_path / "data"
    photos = sorted((ASL_DIR / "B").glob("*.jpg"))[:6]
    video = photo_video(data / "B" / "take.mp4", photos, repeat=2)
    raw = bytearray(video.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 400] = bytes(400)  # damage the middle of the stream
    video.write_bytes(bytes(raw))
    photo_video(data / "L" / "take.mp4", sorted((ASL_DIR / "L").glob("*.jpg"))[:3])
    dataset, report = build(
        data, "--features", "landmarks", "--val_size", "0", "--test_size", "0", "--hand_model", HAND_MODEL
    )
    sources = set(dataset["train"]["source"])
    skipped = {entry["source"] for entry in report["skipped"]}
    assert "L/take.mp4" in sources
    assert ("B/take.mp4" in sources) != ("B/take.mp4" in skipped)  # kept with what decodes, or skipped with a reason


def test_landmarks_and_hand_crop_together_is_a_clear_error(tmp_path):
    data = make_landmark_folders(tmp_path / "data", per_sign=2)
    with pytest.raises(ValueError, match="--hand_crop makes image datasets"):
        build_dataset.main(
            ["--data_dir", str(data), "--output_dir", str(tmp_path / "o"), "--features", "landmarks", "--hand_crop"]
        )


def test_a_failed_publish_points_at_the_saved_dataset_and_how_to_publish_again(tmp_path, fresh_hub, capsys):
    data = make_sign_folders(tmp_path / "data", {"a": 4, "b": 4})
    out = tmp_path / "out"
    fresh_hub.fail(r"/api/repos/create", 403, times=10)
    code = build_dataset.cli_main(
        [
            "--data_dir",
            str(data),
            "--output_dir",
            str(out),
            "--num_proc",
            "1",
            "--push_to_hub",
            "--hub_dataset_id",
            "tester/signs",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert f"the dataset itself is saved in {out.resolve()}" in err and "again with --overwrite" in err
    assert "signspace-dataset-" not in err  # no deleted temporary folder
    assert (out / "dataset_dict.json").is_file()


# --- who signed ------------------------------------------------------------------------------------------------

from factories import make_signer_folders  # noqa: E402

BY_PERSON = ("--features", "landmarks", "--signer_pattern", "^([^/]+)/", "--split_by", "signer")
PEOPLE = {"ann": ("circle", "swipe"), "bob": ("circle", "swipe"), "cat": ("circle", "swipe"), "dan": ("circle",)}


def test_signer_folders_become_a_signer_column_and_whole_people_in_test(tmp_path, build):
    data = make_signer_folders(tmp_path / "data", PEOPLE, per_sign=6)
    dataset, report = build(data, *BY_PERSON, "--test_signers", "cat")
    assert set(dataset["train"].features) == {"landmarks", "times", "label", "group", "source", "signer"}
    by_split = {split: set(part["signer"]) for split, part in dataset.items()}
    assert "cat" not in by_split["train"] | by_split["validation"] and "cat" in by_split["test"]
    assert all(
        signer == source.split("/")[0]
        for part in dataset.values()
        for signer, source in zip(part["signer"], part["source"])
    )
    signers = report["signers"]
    assert signers["count"] == 4 and signers["unseen_in_test"] == ["cat"] and signers["split_by"] == "signer"
    assert signers["per_sign"] == {"circle": ["ann", "bob", "cat", "dan"], "swipe": ["ann", "bob", "cat"]}
    assert signers["per_split"]["train"] == ["ann", "bob", "dan"]


def test_clip_split_with_known_signers_reports_them_without_holding_anyone_out(tmp_path, build):
    data = make_signer_folders(tmp_path / "data", PEOPLE, per_sign=6, layout="names")
    dataset, report = build(data, "--features", "landmarks", "--signer_pattern", r"/([a-z]+)_\d+\.npy$")
    assert report["signers"]["unseen_in_test"] == [] and report["signers"]["split_by"] == "clip"
    assert set(dataset["test"]["signer"]) <= set(dataset["train"]["signer"])


def test_without_signers_there_is_no_signer_column(tmp_path, build, capsys):
    data = make_landmark_folders(tmp_path / "data", per_sign=4)
    dataset, report = build(data, "--features", "landmarks")
    assert "signer" not in dataset["train"].features and report["signers"] is None
    capsys.readouterr()
    _, report = build(data, "--features", "landmarks", "--signer", "me", out=tmp_path / "me")
    assert report["signers"]["count"] == 1 and report["signers"]["per_sign"]["circle"] == ["me"]
    assert "1 signer(s) (named by --signer)" in capsys.readouterr().out  # it said "named by --signer_pattern"


def test_data_health_answered_in_the_build_drop_one_persons_sign_make_anothers_a_variant(tmp_path, build):
    data = make_signer_folders(tmp_path / "data", PEOPLE, per_sign=3)
    dataset, report = build(
        data, "--features", "landmarks", "--signer_pattern", "^([^/]+)/", "--drop", "dan/circle",
        "--variants", "bob/swipe,cat/swipe",
    )  # fmt: skip
    assert dataset["train"].features["label"].names == ["circle", "swipe", "swipe (variant)"]
    rows = datasets.concatenate_datasets([dataset[s] for s in dataset])
    labels = rows.features["label"].names
    pairs = {(signer, labels[label]) for signer, label in zip(rows["signer"], rows["label"])}
    assert ("dan", "circle") not in pairs and {("bob", "swipe (variant)"), ("cat", "swipe (variant)")} <= pairs
    assert sum("left out by --drop dan/circle" in e["reason"] for e in report["skipped"]) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--drop", "dan/circle"], "--drop names people: give --signer_pattern too"),
        (["--signer_pattern", "^([^/]+)/", "--drop", "dan"], "--drop 'dan': write PERSON/SIGN"),
        (["--signer_pattern", "^([^/]+)/", "--drop", "a/b", "--variants", "a/b"], "in both --drop and --variants"),
    ],
)
def test_curation_options_are_checked_before_anything_is_read(tmp_path, args, message):
    from signspace.core.errors import ConfigError
    from signspace.data.build_dataset import BuildConfig

    with pytest.raises(ConfigError, match=message):
        BuildConfig(
            data_dir=str(tmp_path),
            output_dir=str(tmp_path / "o"),
            features="landmarks",
            **{a.lstrip("-"): v for a, v in zip(args[::2], args[1::2])},
        )


def test_a_signer_pattern_that_misses_files_writes_nothing(tmp_path):
    data = make_signer_folders(tmp_path / "data", PEOPLE, per_sign=2, layout="names")
    (data / "circle" / "unnamed.npy").write_bytes((data / "circle" / "ann_0.npy").read_bytes())
    result = builder_cli(data, tmp_path / "o", "--features", "landmarks", "--signer_pattern", r"/([a-z]+)_\d+\.npy$")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "found no signer in 1 of 15 clip path(s): circle/unnamed.npy" in result.stderr
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o*"))


@pytest.mark.skipif(not KEYPOINTS_DIR.is_dir(), reason="../shared sign keypoints absent")
def test_the_real_four_person_set_holds_a_person_out(tmp_path, build):
    dataset, report = build(KEYPOINTS_DIR / "asl-multi-signer", *BY_PERSON, out=tmp_path / "multi")
    held = report["signers"]["unseen_in_test"]
    assert len(held) == 1 and held[0] in ("prakhar1401", "surtecha")  # the two who signed the most signs
    assert held[0] not in set(dataset["train"]["signer"])
    assert report["signers"]["per_sign"]["iloveyou"] == ["prakhar1401", "surtecha"]
