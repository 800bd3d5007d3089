"""Teach-tab training, the model shelf, sessions and publishing (signspace/teach/session.py)."""

import errno
import json
import os
import time

import pytest
from factories import (
    ASL_DIR,
    HAND_MODEL,
    FakePredictor,
    hand_clip,
    webcam_frames,
    write_video,
)

from signspace.core.errors import SignSpaceError, TeachError, TrainingCancelled
from signspace.teach.folder import Hands, TeachFolder
from signspace.teach.jobs import Job, TrainingQueue
from signspace.teach.session import (
    ModelShelf,
    TeachSession,
    check_ready,
    publish,
    publish_token,
    run_training,
    trained_models,
)

needs_hands = pytest.mark.skipif(
    not (ASL_DIR.is_dir() and HAND_MODEL.is_file()), reason="../shared photos or hand model absent"
)


# -- readiness ---------------------------------------------------------------------------------------------------
def test_training_needs_two_signs_with_clips(tmp_path):
    folder = TeachFolder(tmp_path)
    with pytest.raises(TeachError, match="at least two signs .*has 0"):
        check_ready(folder)
    folder.add_sign("hello")
    folder.save_recording("hello", webcam_frames(), [0.1 * i for i in range(6)])
    with pytest.raises(TeachError, match="at least two signs .*has 1"):
        check_ready(folder)
    folder.add_sign("thanks")
    with pytest.raises(TeachError, match="'thanks' have no clips yet"):
        check_ready(folder)


def test_signs_whose_clips_all_lack_a_hand_cannot_train(tmp_path):
    folder = TeachFolder(tmp_path, hand_model=str(HAND_MODEL))
    for sign in ("a", "b"):
        folder.add_sign(sign)
        folder.save_recording(sign, webcam_frames(), [0.1 * i for i in range(6)])
    flagged = folder.clips()
    for clip in flagged:
        clip.hands = Hands.NONE  # as extraction flags clips without a hand
    folder.clips = lambda sign=None: flagged
    with pytest.raises(TeachError, match="no hand was found in any clip of 'a', 'b'"):
        check_ready(folder)


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
    from signspace.serve.inference import Predictor

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
    from signspace.data import build_dataset
    from signspace.train import finetune

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
    from signspace.data import build_dataset

    folder = TeachFolder(tmp_path / "signs")
    for sign in ("a", "b"):
        folder.add_sign(sign)
        folder.save_recording(sign, webcam_frames(), [0.1 * i for i in range(6)])

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(build_dataset, "build", full_disk)
    with pytest.raises(TeachError, match="cannot write the dataset in .*: the disk is full; free some space"):
        run_training(folder, Job("k", "me", None), num_proc=1)
    assert trained_models(folder) == [] and len(folder.clips()) == 2


# -- sessions, models, publishing --------------------------------------------------------------------------------
def test_the_shelf_loads_trained_models_on_first_pick_and_never_closes_the_shared_one(tmp_path):
    base = FakePredictor(model_id="base")
    shelf = ModelShelf(base, "app-model", load=lambda path: FakePredictor(model_id=path.name))
    shelf.add("signs-1", tmp_path / "signs-1", select=False)
    assert shelf.current == "app-model" and shelf.predictor is base
    shelf.select("signs-1")
    assert shelf.predictor.model_id == "signs-1"
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
        shelf = ModelShelf(FakePredictor(model_id="b"), "b")
        session = TeachSession(folder, shelf, "visitor", per_visitor, TrainingQueue())
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
    from signspace.core.hub import HubError

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
