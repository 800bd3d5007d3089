"""The Live tab's "That was …" and the /adapt_clip API (space/personal.py): a visitor's own copy of a motion model
learns their form, for them only, and is gone with their tab unless they keep the clips."""

import gradio as gr
import numpy as np
import personal
import pytest
from factories import ASL_DIR, HAND_MODEL, FakePredictor, landmark_clip, make_sequence_model, photo_video

from signspace.serve.inference import Predictor
from signspace.teach.folder import TeachFolder
from signspace.teach.jobs import TrainingQueue
from signspace.teach.session import ModelShelf, TeachSession

pytestmark = pytest.mark.skipif(not HAND_MODEL.is_file(), reason="../shared hand model absent")


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    folder = tmp_path_factory.mktemp("motion")
    make_sequence_model(folder, labels=("circle", "rise", "swipe"))
    with Predictor.from_pretrained(str(folder), hand_model=str(HAND_MODEL)) as loaded:
        yield loaded


def visitor(predictor, root, owner):
    return TeachSession(TeachFolder(root), ModelShelf(predictor, "motion"), owner, False, TrainingQueue())


def signed(session, clip, start=0.0):
    """The clip signed live, then the hands drop: the sign ends and is classified (typed or not)."""
    blank = np.zeros(258, np.float32)
    for index in range(len(clip) + 10):
        session.step_landmarks(clip[index] if index < len(clip) else blank, start + index / 25, 0.99)


def test_that_was_teaches_this_visitors_model_their_form_and_no_one_elses(predictor, tmp_path):
    me, other = visitor(predictor, tmp_path / "me", "me"), visitor(predictor, tmp_path / "other", "other")
    live = predictor.new_live_session()
    with pytest.raises(gr.Error, match="Sign first: when your sign ends"):
        personal.that_was(me, live, "rise")
    live.text = "hello"
    signed(live, landmark_clip("circle", seed=3))
    model, note = personal.that_was(me, live, "rise")
    assert model is me.shelf.predictor is live.predictor and model is not predictor
    assert len(model.memory) == 1 and "Learnt: that was **rise** (1 of your clips so far)" in note
    assert live.text == "hello" and live.last_sign is None  # the session goes on; that sign was used
    assert other.shelf.predictor is predictor and predictor.memory is None  # nobody else's model changed
    with pytest.raises(gr.Error, match="Sign first"):
        personal.that_was(me, live, "rise")  # each sign teaches once
    signed(live, landmark_clip("circle", seed=4), start=10.0)
    assert len(personal.that_was(me, live, "rise")[0].memory) == 2
    signed(live, landmark_clip("circle", seed=5), start=20.0)
    with pytest.raises(gr.Error, match="Pick which sign it was first"):
        personal.that_was(me, live, None)
    tracker = me.shelf.predictor.new_tracker()
    me.close()  # the tab closed: the visitor's copy (and what it made) is gone
    assert tracker.closed and predictor.still_tracker is not None


def test_a_space_set_to_finetune_trains_the_visitors_own_copy_and_reads_it_on_the_server(predictor, tmp_path):
    """--adaptation finetune: each lesson trains a copy of the model on every clip so far (nobody else's changes)."""
    me = visitor(predictor, tmp_path / "me", "me")
    live = predictor.new_live_session()
    signed(live, landmark_clip("circle", seed=3))
    model, note = personal.that_was(me, live, "rise", "finetune")
    assert model.adaptation == "finetune" and model.memory is None and model.model is not predictor.model
    assert "Learnt: that was **rise** (1 of your clips so far)" in note and live.predictor is model
    assert model.page_model() is None and predictor.page_model() is not None  # the page reads the others' model
    signed(live, landmark_clip("circle", seed=4), start=10.0)
    again, _ = personal.that_was(me, live, "rise", "finetune")
    assert len(again.personal_clips) == 2 and again.model is not model.model
    assert me.shelf.predictor is again and predictor.memory is None and predictor.adaptation is None
    me.close()


def test_a_visitor_keeps_their_clips_in_teach_as_landmark_clips_of_those_signs(predictor, tmp_path):
    me = visitor(predictor, tmp_path / "me", "me")
    with pytest.raises(gr.Error, match="There is nothing to keep yet"):
        personal.keep_clips(me)
    live = predictor.new_live_session()
    for start, label in ((0.0, "rise"), (10.0, "rise"), (20.0, "swipe")):
        signed(live, landmark_clip("circle", seed=int(start)), start)
        personal.that_was(me, live, label)
    note = personal.keep_clips(me)
    assert note.startswith("Kept 3 clip(s) in the Teach tab (rise, swipe)")
    assert me.folder.signs() == ["rise", "swipe"]
    assert [clip.path.suffix for clip in me.folder.clips()] == [".npy"] * 3
    assert {clip.hands for clip in me.folder.clips()} == {"found"}


def test_an_image_model_says_it_does_not_learn_forms(tmp_path):
    letters = FakePredictor("frames", labels=["A"])
    me = TeachSession(TeachFolder(tmp_path), ModelShelf(letters, "letters"), "me", False, TrainingQueue())
    with pytest.raises(gr.Error, match="Only motion models learn your form"):
        personal.that_was(me, None, "A")
    assert personal.choices_update(letters)[0]["visible"] is False
    assert personal.choices_update(letters)[1]["choices"] == []


@pytest.mark.skipif(not ASL_DIR.is_dir(), reason="../shared photos absent")
def test_a_labelled_video_teaches_the_model_through_the_clip_api(predictor, tmp_path):
    me = visitor(predictor, tmp_path / "me", "me")
    video = photo_video(tmp_path / "mine.mp4", sorted((ASL_DIR / "B").glob("*.jpg"))[:4], repeat=2)
    assert "Learnt: that was **swipe**" in personal.adapt_clip(me, str(video), "swipe")
    assert me.shelf.predictor.memory.labels == [2]
    with pytest.raises(gr.Error, match="'wave' is not a sign of this model"):
        personal.adapt_clip(me, str(video), "wave")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(gr.Error, match="cannot be decoded|cannot be used"):
        personal.adapt_clip(me, str(junk), "swipe")


def _handler(demo, name):
    """The function an event of the built app runs: by its API name, or by the element that triggers it."""
    for dependency in demo.config["dependencies"]:
        ids = {target[0] for target in dependency["targets"]}
        if dependency["api_name"] == name or any(demo.blocks[i].elem_id == name for i in ids if i in demo.blocks):
            return demo.fns[dependency["id"]].fn
    raise AssertionError(f"no event {name!r}")


@pytest.mark.skipif(not ASL_DIR.is_dir(), reason="../shared photos absent")
def test_the_apps_adaptation_option_is_how_both_the_live_tab_and_the_clip_api_learn(predictor, tmp_path):
    import app

    demo = app.build_demo(predictor, app.AppConfig(model="local", adaptation="finetune", data_dir=str(tmp_path)))
    me = visitor(predictor, tmp_path / "me", "me")
    video = photo_video(tmp_path / "mine.mp4", sorted((ASL_DIR / "B").glob("*.jpg"))[:4], repeat=2)
    assert "Learnt: that was **swipe**" in _handler(demo, "adapt_clip")(me, str(video), "swipe")
    assert me.shelf.predictor.adaptation == "finetune" and me.shelf.predictor.memory is None
    live = me.shelf.predictor.new_live_session()
    signed(live, landmark_clip("circle", seed=3))
    _handler(demo, "live-learn")(me, live, "rise")
    assert me.shelf.predictor.adaptation == "finetune" and len(me.shelf.predictor.personal_clips) == 2
    me.close()
