import errno
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from factories import ASL_DIR, HAND_MODEL, blank_video, pattern_image, photo_video, write_image, write_video

from signspace.errors import SignSpaceError, TeachError, TrainingCancelled
from signspace.jobs import Job, TrainingQueue
from signspace.scan import scan_data_dir
from signspace.teach import ModelShelf, TeachSession, check_ready, publish, publish_token, run_training, trained_models
from signspace.teach_folder import Recorder, TeachFolder, TeachLimits, check_sign_name
from signspace.video import read_frames, video_seconds

needs_hands = pytest.mark.skipif(
    not (ASL_DIR.is_dir() and HAND_MODEL.is_file()), reason="../shared photos or hand model absent"
)


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def frames(n=6, size=(64, 48)):
    return [np.asarray(pattern_image(i, size)) for i in range(n)]


def hand_clip(path: Path, letter: str, start: int, photos: int = 6) -> Path:
    """A clip of real hand photos of one ASL letter (the tracker finds real hands in it)."""
    chosen = sorted((ASL_DIR / letter).glob("*.jpg"))[start : start + photos]
    return photo_video(path, chosen, size=256, repeat=2, rate=12)


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
    folder.save_recording("hello", frames(), [0.1 * i for i in range(6)])
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
    clip = folder.save_recording("hello", frames(6, (65, 49)), times)  # odd sides: cut to even for H.264
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
    return [i for i in scan_data_dir(root, features="landmarks").items if i.label != "other"]


def test_recording_with_no_webcam_frames_says_so_and_writes_nothing(tmp_path):
    folder = TeachFolder(tmp_path)
    folder.add_sign("hello")
    with pytest.raises(TeachError, match="no webcam frames arrived.*allow the camera"):
        folder.save_recording("hello", [], [])
    assert listing(tmp_path) == ["hello"]


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
    kept = folder.save_recording("hello", frames(), [0.1 * i for i in range(6)])
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith(".mp4"):
            raise OSError(code, os.strerror(code))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(TeachError, match=f"cannot save the clip in .*hello: {message}.*Nothing was changed"):
        folder.save_recording("hello", frames(), [0.1 * i for i in range(6)])
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
        folder.save_recording("a", frames(), [0.1 * i for i in range(6)])
    with pytest.raises(TeachError, match="sign 'a' has 2 clips, the most allowed here"):
        folder.save_recording("a", frames(), [0.1 * i for i in range(6)])
    long_video = write_video(tmp_path.parent / "long.mp4", n_frames=25)  # 2.4 s at 10 fps
    with pytest.raises(TeachError, match=r"long.mp4 lasts more than 1 s; .* at most 1 s here"):
        folder.import_file("b", long_video)
    hour = blank_video(tmp_path.parent / "hour.mp4", 300, 32, 32, rate=2)  # decoding stops just past 1 s
    with pytest.raises(TeachError, match=r"hour.mp4 lasts more than 1 s; .* at most 1 s here"):
        folder.import_file("b", hour)
    small = TeachFolder(tmp_path, TeachLimits(total_bytes=folder.usage_bytes() + 10))
    with pytest.raises(TeachError, match="MB allowed here; delete clips"):
        small.save_recording("b", frames(), [0.1 * i for i in range(6)])
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
def test_recorder_counts_down_then_keeps_two_seconds_of_frames():
    recorder = Recorder(countdown=3.0, seconds=2.0)
    assert recorder.phase(0.0) == ("idle", 0.0)
    recorder.arm("hello", now=10.0)
    assert recorder.feed("early", 11.0) == "countdown"
    assert recorder.phase(12.5) == ("countdown", 0.5)
    for t in (13.0, 13.5, 14.9):
        assert recorder.feed(f"f{t}", t) == "recording"
    assert recorder.feed("late", 15.0) == "done"
    assert recorder.take() == ("hello", ["f13.0", "f13.5", "f14.9"], [13.0, 13.5, 14.9])
    assert recorder.phase(16.0) == ("idle", 0.0)


def test_a_second_record_press_during_a_recording_is_refused_and_frames_are_capped():
    recorder = Recorder(countdown=0.0, seconds=2.0, max_frames=3)
    recorder.arm("hello", now=0.0)
    with pytest.raises(TeachError, match="a recording is running already"):
        recorder.arm("thanks", now=1.0)
    for i in range(10):  # a client streaming far faster than the page asks
        recorder.feed(i, 0.1 * i)
    assert recorder.frames == [0, 1, 2] and recorder.sign == "hello"
    recorder.arm("thanks", now=5.0)  # a finished (or abandoned) recording does not block the next
    assert recorder.sign == "thanks" and recorder.frames == []


# -- readiness ---------------------------------------------------------------------------------------------------
def test_training_needs_two_signs_with_clips(tmp_path):
    folder = TeachFolder(tmp_path)
    with pytest.raises(TeachError, match="at least two signs .*has 0"):
        check_ready(folder)
    folder.add_sign("hello")
    folder.save_recording("hello", frames(), [0.1 * i for i in range(6)])
    with pytest.raises(TeachError, match="at least two signs .*has 1"):
        check_ready(folder)
    folder.add_sign("thanks")
    with pytest.raises(TeachError, match="'thanks' have no clips yet"):
        check_ready(folder)


def test_signs_whose_clips_all_lack_a_hand_cannot_train(tmp_path):
    folder = TeachFolder(tmp_path, hand_model=str(HAND_MODEL))
    for sign in ("a", "b"):
        folder.add_sign(sign)
        folder.save_recording(sign, frames(), [0.1 * i for i in range(6)])
    flagged = folder.clips()
    for clip in flagged:
        clip.hands = "none"  # as extraction flags clips without a hand
    folder.clips = lambda sign=None: flagged
    with pytest.raises(TeachError, match="no hand was found in any clip of 'a', 'b'"):
        check_ready(folder)


# -- one training at a time --------------------------------------------------------------------------------------
def _waiting_job(started: threading.Event, release: threading.Event):
    def run(job: Job):
        started.set()
        while not release.wait(0.01):
            job.report(0.5, "working")
        return "finished"

    return run


def test_the_queue_runs_one_job_at_a_time_and_shows_positions():
    queue = TrainingQueue()
    started, release = threading.Event(), threading.Event()
    first = queue.submit("folder-1", "visitor-1", _waiting_job(started, release))
    assert started.wait(5)
    second = queue.submit("folder-2", "visitor-2", lambda job: "second done")
    third = queue.submit("folder-3", "visitor-3", lambda job: "third done")
    assert (queue.position(first), queue.position(second), queue.position(third)) == (0, 1, 2)
    assert first.state == "running" and second.state == "queued"
    release.set()
    assert third.done_event.wait(5)
    assert [first.result, second.result, third.result] == ["finished", "second done", "third done"]


def test_two_tabs_training_the_same_folder_are_refused():
    queue = TrainingQueue()
    started, release = threading.Event(), threading.Event()
    queue.submit("my-folder", "tab-1", _waiting_job(started, release))
    with pytest.raises(TeachError, match="training already .*another tab"):
        queue.submit("my-folder", "tab-2", lambda job: None)
    release.set()


def test_a_visitor_who_leaves_frees_the_trainer_for_the_next():
    queue = TrainingQueue()
    started, never = threading.Event(), threading.Event()
    running = queue.submit("f1", "leaver", _waiting_job(started, never))
    assert started.wait(5)
    waiting = queue.submit("f2", "leaver", lambda job: "never runs")
    other = queue.submit("f3", "stayer", lambda job: "ran")
    queue.cancel_owner("leaver")
    assert other.done_event.wait(5) and other.result == "ran"
    assert running.state == "cancelled" and isinstance(running.error, TrainingCancelled)
    assert waiting.state == "cancelled" and waiting.result is None


def test_a_failing_job_is_reported_and_the_queue_goes_on():
    queue = TrainingQueue()
    failing = queue.submit("f1", "a", lambda job: 1 / 0)
    after = queue.submit("f2", "b", lambda job: "ok")
    assert after.done_event.wait(5)
    assert failing.state == "failed" and isinstance(failing.error, ZeroDivisionError) and after.result == "ok"


# -- training for real -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    """Two signs of real hand photos, three clips each, plus a clip with no hand, trained once."""
    root = tmp_path_factory.mktemp("teach") / "signs"
    if not (ASL_DIR.is_dir() and HAND_MODEL.is_file()):
        pytest.skip("../shared photos or hand model absent")
    folder = TeachFolder(root, hand_model=str(HAND_MODEL))
    for sign, letter in (("hello", "B"), ("yes", "Y")):
        folder.add_sign(sign)
        for n in range(4):
            folder.import_file(sign, hand_clip(root.parent / "src" / f"{sign}{n}.mp4", letter, 6 * n))
    folder.import_file("hello", write_video(root.parent / "src" / "empty.mp4", n_frames=8, size=(128, 96)))
    started = time.monotonic()
    result = run_training(folder, Job("k", "me", None), epochs=8, num_proc=1)
    return folder, result, time.monotonic() - started


@pytest.mark.slow
@needs_hands
def test_train_builds_with_the_builder_and_trains_a_model_the_app_loads(taught):
    from signspace.inference import Predictor

    folder, result, _ = taught
    assert result.labels == ["hello", "yes"]
    assert result.model_dir.parent == folder.work / "models" and trained_models(folder) == [result.model_dir]
    assert not list(result.model_dir.glob("checkpoint-*")) and not list(result.model_dir.parent.glob(".*partial"))
    assert result.accuracy is not None and 0 <= result.accuracy <= 1 and result.validation_clips >= 2
    assert set(result.per_sign) == {"hello", "yes"} and result.confusion_image.is_file()
    [empty] = [c for c in folder.clips("hello") if c.hands == "none"]
    assert result.excluded == [empty.key]  # kept in the folder, flagged, left out of training
    assert empty.path.is_file()
    assert result.people == 1 and result.one_person_note.startswith("Recorded by one person")
    assert "**Recorded by one person.**" in (result.model_dir / "README.md").read_text()  # the card says it too
    predictor = Predictor.from_pretrained(str(result.model_dir), None, hand_model=str(HAND_MODEL))
    clip = next(c for c in folder.clips("yes"))
    assert set(predictor.predict_clip(str(clip.path)).top(2)) == {"hello", "yes"}
    predictor.close()


@pytest.mark.slow
@needs_hands
def test_a_retrain_only_tracks_new_clips(taught):
    folder, _, _ = taught
    cache = folder.work / "landmarks"
    before = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz")}  # a tracked clip writes its entry
    folder.import_file("yes", hand_clip(folder.root.parent / "src" / "new.mp4", "Y", 30))
    result = run_training(folder, Job("k2", "me", None), epochs=2, num_proc=1)
    after = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz")}
    assert len(before) >= 9 and len(after) == len(before) + 1  # only the new clip was tracked
    assert all(after[name] == stamp for name, stamp in before.items())  # the others came from the cache
    assert result.model_dir != taught[1].model_dir and len(trained_models(folder)) == 2


@pytest.mark.slow
@needs_hands
def test_same_seed_same_metrics_as_the_scripts(taught, tmp_path):
    """The Teach tab trains with the scripts' own code: same folder, same seed, same numbers."""
    from signspace import build_dataset, finetune

    folder = taught[0]
    result = run_training(folder, Job("same-seed", "me", None), epochs=8, num_proc=1)  # the folder as it is now
    dataset = tmp_path / "dataset"
    build_dataset.main(
        [
            "--data_dir", str(folder.root), "--output_dir", str(dataset), "--features", "landmarks",
            "--val_size", "0.2", "--test_size", "0", "--num_proc", "1", "--hand_model", str(HAND_MODEL),
        ]
    )  # fmt: skip
    assert (
        finetune.main(
            ["--dataset_dir", str(dataset), "--output_dir", str(tmp_path / "model"), "--num_train_epochs", "8"]
        )
        == 0
    )
    ours = json.loads((result.model_dir / "metrics.json").read_text())
    scripts = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert ours["validation"]["confusion_matrix"] == scripts["validation"]["confusion_matrix"]
    assert ours["validation"]["accuracy"] == scripts["validation"]["accuracy"]
    assert ours["training"]["train_loss"] == pytest.approx(scripts["training"]["train_loss"], rel=1e-5)


@pytest.mark.slow
@needs_hands
def test_too_few_clips_trains_anyway_and_says_the_score_is_unknown(tmp_path):
    folder = TeachFolder(tmp_path / "signs", hand_model=str(HAND_MODEL))
    for sign, letter in (("hello", "B"), ("yes", "Y")):
        folder.add_sign(sign)
        folder.import_file(sign, hand_clip(tmp_path / f"{sign}.mp4", letter, 0))
    result = run_training(folder, Job("k", "me", None), epochs=2, num_proc=1)
    assert result.accuracy is None and result.confusion_image is None
    assert result.per_sign == {"hello": None, "yes": None}
    assert "score unknown" in result.warnings[0]
    assert (result.model_dir / "model.safetensors").is_file()


@pytest.mark.slow
@needs_hands
def test_a_cancelled_training_leaves_no_model(tmp_path):
    folder = TeachFolder(tmp_path / "signs", hand_model=str(HAND_MODEL))
    for sign, letter in (("hello", "B"), ("yes", "Y")):
        folder.add_sign(sign)
        folder.import_file(sign, hand_clip(tmp_path / f"{sign}.mp4", letter, 0))
    job = Job("k", "me", None)
    original = job.report

    def cancel_once_training(fraction, stage):
        if stage.startswith("training: step"):
            job.cancel_event.set()
        original(fraction, stage)

    job.report = cancel_once_training
    with pytest.raises(TrainingCancelled):
        run_training(folder, job, epochs=5, num_proc=1)
    assert trained_models(folder) == [] and not list((folder.work / "models").iterdir())
    assert len(folder.clips()) == 2


def test_a_full_disk_while_training_is_a_clear_error_and_leaves_no_model(tmp_path, monkeypatch):
    from signspace import build_dataset

    folder = TeachFolder(tmp_path / "signs")
    for sign in ("a", "b"):
        folder.add_sign(sign)
        folder.save_recording(sign, frames(), [0.1 * i for i in range(6)])

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(build_dataset, "build", full_disk)
    with pytest.raises(TeachError, match="cannot write the dataset in .*: the disk is full; free some space"):
        run_training(folder, Job("k", "me", None), num_proc=1)
    assert trained_models(folder) == [] and len(folder.clips()) == 2


# -- sessions, models, publishing --------------------------------------------------------------------------------
class FakePredictor:
    def __init__(self, name):
        self.name, self.closed = name, False

    def close(self):
        self.closed = True


def test_the_shelf_loads_trained_models_on_first_pick_and_never_closes_the_shared_one(tmp_path):
    base = FakePredictor("base")
    shelf = ModelShelf(base, "app-model", load=lambda path: FakePredictor(path.name))
    shelf.add("signs-1", tmp_path / "signs-1", select=False)
    assert shelf.current == "app-model" and shelf.predictor is base
    shelf.select("signs-1")
    assert shelf.predictor.name == "signs-1"
    with pytest.raises(TeachError, match="no model 'nope'"):
        shelf.select("nope")
    loaded = shelf.predictor
    shelf.close()
    assert loaded.closed and not base.closed


def test_a_shared_space_session_removes_its_folder_when_it_ends_but_a_local_one_keeps_it(tmp_path):
    for per_visitor in (True, False):
        root = tmp_path / str(per_visitor)
        folder = TeachFolder(root)
        folder.add_sign("hello")
        session = TeachSession(folder, ModelShelf(FakePredictor("b"), "b"), "visitor", per_visitor, TrainingQueue())
        session.close()
        assert root.exists() is not per_visitor


def test_publishing_needs_a_login_on_a_shared_space_and_a_real_repo_id(tmp_path, monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/signs")
    with pytest.raises(TeachError, match="your own Hugging Face account: press 'Sign in with Hugging Face'"):
        publish_token(None, per_visitor=True)
    monkeypatch.delenv("SPACE_ID")
    with pytest.raises(TeachError, match="only a Hugging Face Space offers; run SignSpace on your own computer"):
        publish_token(None, per_visitor=True)  # a shared server elsewhere never uses its own token for visitors
    assert publish_token("hf_visitor", per_visitor=True) == "hf_visitor"
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    from signspace.hub import HubError

    with pytest.raises(HubError, match="hf auth login"):
        publish_token(None, per_visitor=False)
    folder = TeachFolder(tmp_path / "signs")
    for bad in ("my-signs", "a/b/c", "", "user/name with space"):
        with pytest.raises(TeachError, match="not a Hub repo id; use the form 'user/name'"):
            publish(folder, tmp_path, bad, "user/model", "tok")
        with pytest.raises(TeachError, match="model repo=.*not a Hub repo id"):
            publish(folder, tmp_path, "user/data", bad, "tok")


@pytest.mark.slow
@needs_hands
def test_publish_uploads_clips_dataset_and_model_to_the_visitors_repos(taught, fresh_hub):
    folder, result, _ = taught
    urls = publish(folder, result.model_dir, "tester/my-signs", "tester/my-model", os.environ["HF_TOKEN"])
    files = fresh_hub.files("tester/my-signs", repo_type="dataset")
    assert {"README.md", "build_report.json", "data/train-00000-of-00001.parquet"} <= set(files)
    clips = {k for k in files if k.startswith("clips/")}
    assert clips == {f"clips/{c.sign}/{c.name}" for c in folder.clips()}
    model = fresh_hub.files("tester/my-model")
    assert {"config.json", "model.safetensors", "README.md"} <= set(model)
    assert not any(k.startswith("checkpoint-") for k in model)
    card = model["README.md"].decode()
    assert str(folder.root) not in card and "tester/my-model" in card
    assert fresh_hub.repo("tester/my-signs", "dataset").private and fresh_hub.repo("tester/my-model").private
    assert urls["deploy"] == (
        "python space/deploy.py --space_id tester/my-model-demo --model_id tester/my-model --private"
    )


@pytest.mark.slow
@needs_hands
def test_a_failed_publish_tells_the_page_user_to_press_publish_again(taught, fresh_hub):
    folder, result, _ = taught
    fresh_hub.fail(r"/api/repos/create", 403, times=10)
    with pytest.raises(SignSpaceError) as caught:
        publish(folder, result.model_dir, "tester/other-signs", "tester/other-model", os.environ["HF_TOKEN"])
    message = str(caught.value)
    assert f"your signs and model stay in {folder.root}; press Publish again" in message
    assert "--overwrite" not in message and "command" not in message
