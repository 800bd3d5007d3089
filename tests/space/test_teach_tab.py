"""The Teach tab's handlers as the page calls them (no browser): what a visitor sees for each mistake."""

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import app
import gradio as gr
import handlers
import numpy as np
import pytest
import teach_handlers
import teach_text
from factories import ASL_DIR, HAND_MODEL, FakePredictor, pattern_image, write_video

from signspace.teach.folder import TeachFolder
from signspace.teach.jobs import Job, TrainingQueue
from signspace.teach.session import ModelShelf, TeachSession
from signspace.teach.visitors import Visitors

PAGE = teach_handlers.TeachPage.named()
LIVE = handlers.LivePage.named()  # each component is its name: a handler's answer reads out["status"]


def make_session(root: Path, per_visitor=False, queue=None, owner="tab-1") -> TeachSession:
    folder = TeachFolder(root)
    return TeachSession(folder, ModelShelf(FakePredictor(), "app-model"), owner, per_visitor, queue or TrainingQueue())


def run_record(session, sign, frames_to_feed=0, takes=1):
    """Drive the record generator as the page does, feeding up to ``frames_to_feed`` stream frames per take."""
    session.recorder.countdown, session.recorder.seconds = 0.05, 0.3
    outputs = []
    fed = 0
    for out in teach_handlers.record(PAGE, session, sign, takes=takes, poll=0.02):
        if outputs and "Recording" not in outputs[-1]["status"]:
            fed = 0  # a new take
        outputs.append(out)
        if "Recording" in out["status"] and fed < frames_to_feed:
            teach_handlers.feed_frame(session, np.asarray(pattern_image(fed, (64, 48))))
            fed += 1
    return outputs


def test_sign_name_mistakes_are_one_line_messages(tmp_path):
    session = make_session(tmp_path / "signs")
    for bad, message in (("", "needs a name"), ("..", "cannot be a sign name"), ("a/b", "has a slash")):
        with pytest.raises(gr.Error, match=message):
            teach_handlers.add_sign(PAGE, session, bad)
    teach_handlers.add_sign(PAGE, session, "Hello")
    with pytest.raises(gr.Error, match="only in letter case"):
        teach_handlers.add_sign(PAGE, session, "HELLO")
    out = teach_handlers.add_sign(PAGE, session, "thanks")
    assert out["signs"]["value"] == "thanks" and out["new_name"] == "" and "Added **thanks**" in out["status"]
    assert [v for _, v in out["signs"]["choices"]] == ["Hello", "thanks"]


def test_the_not_a_sign_class_is_one_click_and_a_folder_the_builder_reads(tmp_path):
    session = make_session(tmp_path / "signs")
    out = teach_handlers.add_background_sign(PAGE, session)
    assert out["signs"]["value"] == "not-a-sign" and "never types it" in out["status"]
    assert (tmp_path / "signs" / "not-a-sign").is_dir()
    with pytest.raises(gr.Error, match="already"):
        teach_handlers.add_background_sign(PAGE, session)


def test_a_click_before_the_page_has_loaded_says_so():
    with pytest.raises(gr.Error, match="still loading"):
        teach_handlers.add_sign(PAGE, None, "hello")


def test_recording_with_no_webcam_frames_says_how_to_fix_it(tmp_path):
    session = make_session(tmp_path / "signs")
    teach_handlers.add_sign(PAGE, session, "hello")
    with pytest.raises(gr.Error, match="No webcam frames arrived.*allow the camera"):
        run_record(session, "hello", frames_to_feed=0)
    assert session.folder.clips() == []


def test_recording_counts_down_then_saves_the_streamed_frames(tmp_path):
    session = make_session(tmp_path / "signs")
    teach_handlers.add_sign(PAGE, session, "hello")
    outputs = run_record(session, "hello", frames_to_feed=3)
    messages = [o["status"] for o in outputs]
    assert any("Get ready" in m for m in messages) and any("Recording **hello**" in m for m in messages)
    assert messages[-1].startswith("Saved ") and "frames" in messages[-1]
    [clip] = session.folder.clips("hello")
    signs, clips = outputs[-1]["signs"], outputs[-1]["clips"]
    assert clips["value"] == clip.name and signs["value"] == "hello"


def test_a_recording_the_disk_refuses_is_kept_and_saved_on_retry(tmp_path, monkeypatch):
    import errno
    import os

    session = make_session(tmp_path / "signs")
    teach_handlers.add_sign(PAGE, session, "hello")
    real_replace = os.replace

    def full_disk(src, dst):
        if str(dst).endswith(".mp4"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    outputs = run_record(session, "hello", frames_to_feed=3, takes=5)
    assert sum("Recording **hello** (1 of 5)" in o["status"] for o in outputs) > 0
    assert not any("(2 of 5)" in o["status"] for o in outputs)  # the series stops at the take the disk refused
    message, retry = outputs[-1]["status"], outputs[-1]["retry"]
    assert "Could not save the clip" in message and "the disk is full" in message and "kept" in message
    assert retry["visible"] is True and session.folder.clips() == []
    monkeypatch.setattr(os, "replace", real_replace)  # space freed
    out = teach_handlers.retry_save(PAGE, session)
    message, clips, retry = out["status"], out["clips"], out["retry"]
    [clip] = session.folder.clips("hello")
    assert message.startswith(f"Saved {clip.name} (3 frames)") and clips["value"] == clip.name
    assert retry["visible"] is False and session.pending is None
    assert teach_handlers.retry_save(PAGE, session)["status"] == "Nothing is waiting to be saved."


def test_a_shared_space_session_expires_even_if_the_browser_never_says_it_left(tmp_path):
    config = app.AppConfig(model="m", per_visitor=True)
    assert app.teach_ttl(config) == 6 * 3600 and app.teach_ttl(app.AppConfig(model="m")) is None
    visitors = Visitors(config, FakePredictor(), "m", root=tmp_path / "signspace-teach")
    session = visitors.open("gone")
    teach_handlers.add_sign(PAGE, session, "hello")
    visitors.close(session)  # what the State's delete_callback runs when its time is up
    assert not session.folder.root.exists() and "gone" not in visitors.sessions


def test_sign_in_is_offered_only_on_a_space(monkeypatch):
    """Off a Space, Gradio would fake the sign-in with the server's own token (and need the network to start)."""
    monkeypatch.delenv("SPACE_ID", raising=False)
    shared_server = app.build_demo(FakePredictor(model_id="x"), app.AppConfig(model="m", per_visitor=True))
    assert not any(isinstance(b, gr.LoginButton) for b in shared_server.blocks.values())
    monkeypatch.setenv("SPACE_ID", "someone/signs")
    monkeypatch.setattr("gradio.routes.attach_oauth", lambda app: None)  # the Space's OAuth server is not here
    space = app.build_demo(FakePredictor(model_id="x"), app.AppConfig(model="m", per_visitor=True))
    assert sum(isinstance(b, gr.LoginButton) for b in space.blocks.values()) == 1


def test_the_page_says_what_a_recording_stores(tmp_path):
    def note(config):
        demo = app.build_demo(FakePredictor(model_id="x"), config)
        return next(b.value for b in demo.blocks.values() if getattr(b, "elem_id", None) == "teach-stored")

    local = note(app.AppConfig(model="m", data_dir=str(tmp_path / "signs")))
    assert "Stored: each clip as a video" in local and "in your signs folder" in local
    shared_server_tracked = note(app.AppConfig(model="m", per_visitor=True, tracking="server"))
    assert "Stored: each clip as a video" in shared_server_tracked and "sent to this Space" in shared_server_tracked
    assert "landmarks only" in teach_text.STORED_LANDMARKS and "no video" in teach_text.STORED_LANDMARKS


def test_the_readme_install_brings_what_the_sign_in_needs_on_a_space(monkeypatch):
    """On a Space the sign-in button makes Gradio attach its OAuth routes at launch; without gradio[oauth]'s
    packages that crashed the app."""
    import fastapi
    from gradio import oauth

    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "someone/signs")
    # what a Space with hf_oauth sets in the environment, which gradio.oauth reads when first imported
    for name, value in {
        "OAUTH_CLIENT_ID": "id",
        "OAUTH_CLIENT_SECRET": "secret",
        "OAUTH_SCOPES": "openid profile",
        "OPENID_PROVIDER_URL": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setattr(oauth, name, value)
    server = fastapi.FastAPI()
    oauth.attach_oauth(server)
    assert {"/login/huggingface", "/login/callback"} <= {route.path for route in server.routes}


def test_a_sign_renamed_during_its_recording_loses_nothing(tmp_path):
    session = make_session(tmp_path / "signs")
    teach_handlers.add_sign(PAGE, session, "hello")
    session.recorder.countdown, session.recorder.seconds = 0.05, 0.3
    outputs = []
    for out in teach_handlers.record(PAGE, session, "hello", poll=0.02):
        outputs.append(out)
        if "Recording" in out["status"]:
            if not session.folder.clips() and session.folder.signs() == ["hello"]:
                teach_handlers.rename_sign(PAGE, session, "hello", "hi")  # another tab renames it meanwhile
            teach_handlers.feed_frame(session, np.asarray(pattern_image(len(outputs), (64, 48))))
    message, retry = outputs[-1]["status"], outputs[-1]["retry"]
    assert "Could not save the clip" in message and "there is no sign 'hello'" in message
    assert retry["visible"] is True
    message = teach_handlers.retry_save(PAGE, session, "hi")["status"]
    assert message.startswith("Saved ") and [c.sign for c in session.folder.clips()] == ["hi"]


def test_on_a_shared_space_no_copy_of_a_visitors_clips_outlives_their_folder(tmp_path, monkeypatch):
    from gradio import processing_utils

    config = app.AppConfig(model="m", per_visitor=True)
    visitors = Visitors(config, FakePredictor(), "m", root=tmp_path / "signspace-teach")
    demo = app.build_demo(FakePredictor(model_id="x"), config, visitors=visitors)
    session = visitors.open("visitor")
    teach_handlers.add_sign(PAGE, session, "hello")
    upload = Path(gr.utils.get_upload_folder()) / "test-upload" / "mine.mp4"
    write_video(upload, n_frames=6)
    elsewhere = write_video(tmp_path / "elsewhere.mp4", n_frames=6)
    teach_handlers.upload_clips(PAGE, session, "hello", [str(upload), str(elsewhere)])
    assert not upload.exists() and elsewhere.exists()  # Gradio's copy went as soon as the clip was stored
    [clip, _] = session.folder.clips("hello")
    player = next(b for b in demo.blocks.values() if isinstance(b, gr.Video) and b.label == "Replay")
    replay = teach_handlers.select_clip(PAGE, session, "hello", clip.name)
    served = processing_utils.move_files_to_cache(player.postprocess(replay), player, postprocess=True)
    assert served["path"] == str(clip.path)  # served from the visitor's folder, not copied into the cache
    visitors.close(session)
    assert not Path(served["path"]).exists()


def test_the_local_data_folder_is_served_for_replay_wherever_it_is(tmp_path):
    local = app.launch_kwargs(app.AppConfig(model="m", data_dir=str(tmp_path / "signs")))
    assert local["allowed_paths"] == [str((tmp_path / "signs").resolve())]
    shared = app.launch_kwargs(app.AppConfig(model="m", per_visitor=True))
    assert "allowed_paths" not in shared
    budgets = [m.kwargs["max_bytes"] for m in shared["app_kwargs"]["middleware"] if m.cls.__name__ == "UploadBudget"]
    assert budgets == [300_000_000]  # a shared Space bounds what one visitor piles up in Gradio's cache
    assert not any(m.cls.__name__ == "UploadBudget" for m in local["app_kwargs"]["middleware"])


@pytest.mark.skipif(not (ASL_DIR.is_dir() and HAND_MODEL.is_file()), reason="../shared photos or hand model absent")
def test_while_recording_the_page_shows_the_hands_it_sees_and_nothing_runs_otherwise(tmp_path):
    from PIL import Image

    session = make_session(tmp_path / "signs")
    session.folder.hand_model = str(HAND_MODEL)
    teach_handlers.add_sign(PAGE, session, "hello")
    photo = np.asarray(Image.open(sorted((ASL_DIR / "B").glob("*.jpg"))[0]).convert("RGB"))
    assert teach_handlers.feed_frame(session, photo, now=1.0) == gr.update()  # idle: no tracking, no frame kept
    assert session._tracker is None
    session.recorder.countdown, session.recorder.seconds = 1.0, 2.0
    session.recorder.arm("hello", now=10.0)
    countdown = teach_handlers.feed_frame(session, photo, now=10.5)
    recording = teach_handlers.feed_frame(session, photo, now=11.2)
    assert isinstance(countdown, Image.Image) and isinstance(recording, Image.Image)
    assert len(session.recorder.frames) == 1  # only the frame inside the 2 seconds
    red_banner = np.asarray(recording)[:18].reshape(-1, 3).mean(axis=0)
    assert not (red_banner[0] > 150 and red_banner[1] < 60)  # a hand was drawn, not the "no hand found" banner
    session.close()
    assert session._tracker.closed


def test_several_clips_in_a_row_each_with_its_countdown(tmp_path):
    session = make_session(tmp_path / "signs")
    teach_handlers.add_sign(PAGE, session, "hello")
    outputs = run_record(session, "hello", frames_to_feed=2, takes=3)
    messages = [o["status"] for o in outputs]
    assert any("Get ready (2 of 3)" in m for m in messages) and any("(3 of 3)" in m for m in messages)
    assert sum(m.startswith("Saved ") for m in messages) == 3 and len(session.folder.clips("hello")) == 3


def test_recording_needs_a_chosen_sign(tmp_path):
    session = make_session(tmp_path / "signs")
    with pytest.raises(gr.Error, match="there is no sign None; add it first"):
        list(teach_handlers.record(PAGE, session, None))


def test_training_with_one_sign_or_an_empty_sign_says_what_to_record(tmp_path):
    session = make_session(tmp_path / "signs")
    teach_handlers.add_sign(PAGE, session, "hello")
    with pytest.raises(gr.Error, match="at least two signs"):
        next(teach_handlers.train(PAGE, session, progress=lambda *a, **k: None))
    run_record(session, "hello", frames_to_feed=2)
    teach_handlers.add_sign(PAGE, session, "thanks")
    with pytest.raises(gr.Error, match="'thanks' have no clips yet"):
        next(teach_handlers.train(PAGE, session, progress=lambda *a, **k: None))


def test_two_tabs_of_one_visitor_cannot_train_the_same_folder_at_once(tmp_path):
    queue = TrainingQueue()
    first, second = (make_session(tmp_path / "signs", queue=queue, owner=o) for o in ("tab-1", "tab-2"))
    for sign in ("a", "b"):
        teach_handlers.add_sign(PAGE, first, sign)
        run_record(first, sign, frames_to_feed=2)
    release = threading.Event()

    def slow_training(folder, job, **kwargs):
        while not release.wait(0.01):
            job.report(0.5, "training")
        return None

    for session in (first, second):
        session.run = slow_training
        session.check = lambda folder: (folder.signs(), [])  # pattern clips have no hand: train them anyway
    running = teach_handlers.train(PAGE, first, progress=lambda *a, **k: None)
    assert next(running)["train_status"].startswith(("Training", "Waiting"))
    with pytest.raises(gr.Error, match="training already .*another tab"):
        next(teach_handlers.train(PAGE, second, progress=lambda *a, **k: None))
    running.close()  # the first tab closes mid-training: its job is cancelled and the trainer freed
    assert first.job.done_event.wait(5) and first.job.state == "cancelled"
    release.set()


def test_closing_the_tab_cancels_its_training_and_frees_the_queue(tmp_path):
    queue = TrainingQueue()
    session = make_session(tmp_path / "signs", per_visitor=True, queue=queue, owner="leaver")
    started = threading.Event()

    def forever(job: Job):
        started.set()
        while True:
            job.report(0.5, "training")
            time.sleep(0.01)

    session.job = queue.submit(str(session.folder.root), "leaver", forever)
    session.folder.add_sign("hello")
    assert started.wait(5)
    visitors = Visitors(app.AppConfig(model="m", per_visitor=True), FakePredictor(), "m", queue=queue)
    visitors.sessions["leaver"] = session
    visitors.leave("leaver")
    assert session.job.state == "cancelled" and not session.folder.root.exists()  # their recordings are gone
    after = queue.submit("other", "someone", lambda job: "ran")
    assert after.done_event.wait(5) and after.result == "ran"


def test_publishing_without_login_on_a_shared_space_or_with_a_bad_repo_id(tmp_path, monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/signs")
    shared = make_session(tmp_path / "shared", per_visitor=True)
    with pytest.raises(gr.Error, match="your own Hugging Face account: press 'Sign in with Hugging Face'"):
        teach_handlers.publish_clicked(shared, "me/signs", "me/model", True, None)
    token = SimpleNamespace(token="hf_visitor")
    with pytest.raises(gr.Error, match="nothing to publish yet: press Train first"):
        teach_handlers.publish_clicked(shared, "me/signs", "me/model", True, token)
    local = make_session(tmp_path / "local")
    local.result = SimpleNamespace(model_dir=tmp_path)
    with pytest.raises(gr.Error, match=r"dataset repo='my signs' is not a Hub repo id; use the form 'user/name'"):
        teach_handlers.publish_clicked(local, "my signs", "me/model", True, None)
    with pytest.raises(gr.Error, match=r"model repo='me' is not a Hub repo id"):
        teach_handlers.publish_clicked(local, "me/signs", "me", True, None)


def test_the_live_tab_switches_to_a_trained_model_and_back(tmp_path):
    base, trained = FakePredictor(labels=["a"], model_id="x"), FakePredictor(labels=["hello", "yes"], model_id="x")
    session = make_session(tmp_path / "signs")
    session.shelf = ModelShelf(base, "app-model", load=lambda path: trained)
    session.shelf.add("signs-1", tmp_path / "signs-1")

    class Live:
        closed = False

        def close(self):
            self.closed = True

    live = Live()
    out = app.pick_model(LIVE, session, "app-model", live)
    info, state, personal_row, that_was = out["info"], out["session"], out["personal_row"], out["that_was"]
    assert live.closed and state is None and "Signs (1)" in info
    assert personal_row["visible"] and that_was["choices"] == ["a"]  # "That was ..." offers the model's signs
    out = app.pick_model(LIVE, session, "signs-1", None)
    info, that_was = out["info"], out["that_was"]
    assert "hello, yes" in info and that_was["choices"] == ["hello", "yes"]
    with pytest.raises(gr.Error, match="no model 'gone'"):
        app.pick_model(LIVE, session, "gone", None)


def test_the_snapshot_tab_answers_with_the_visitors_chosen_model(tmp_path):
    calls = []
    own = lambda predictor, path: calls.append((predictor, path)) or {"x": 1.0}  # noqa: E731
    session = make_session(tmp_path / "signs")
    trained = FakePredictor()
    session.shelf.add("signs-1", trained, select=False)
    config = app.AppConfig(model="app-model")
    assert app.snapshot_step(lambda path: {"app": 1.0}, "p.jpg", session, config, own) == {"app": 1.0}
    assert app.snapshot_step(lambda path: {"app": 1.0}, "p.jpg", None, config, own) == {"app": 1.0}
    session.shelf.select("signs-1")
    assert app.snapshot_step(lambda path: {"app": 1.0}, "p.jpg", session, config, own) == {"x": 1.0}
    assert calls == [(trained, "p.jpg")]


def test_publish_is_handed_the_visitors_own_token_by_gradio():
    """Gradio injects the signed-in visitor's token by type hint; a hint it cannot read would silently drop it."""
    from gradio import utils

    assert utils.oauth_token_requirement(teach_handlers.publish_clicked) == "optional"


def test_on_a_shared_space_a_recording_is_the_landmarks_the_browser_sent_and_no_video(tmp_path):
    from factories import landmark_clip

    from signspace.core.landmarks import RIGHT

    config = app.AppConfig(model="m", per_visitor=True)
    visitors = Visitors(config, FakePredictor(), "m", root=tmp_path / "visitors")
    session = visitors.open("visitor")
    assert session.records_landmarks
    teach_handlers.add_sign(PAGE, session, "hello")
    session.recorder.countdown, session.recorder.seconds = 0.1, 0.5
    clip = landmark_clip("circle", frames=40, seed=2)
    sent = iter(range(40))

    def page():  # what the browser sends while the server counts down and records: 4 frames every 0.32 s
        batch = [next(sent) for _ in range(4)]
        hands = lambda i: [{"handedness": "Right", "score": 0.9, "points": clip[i][RIGHT].tolist()}]  # noqa: E731
        return {"frames": [{"t": 50 + i * 0.08, "hands": hands(i)} for i in batch]}

    outputs = []
    for out in teach_handlers.record(PAGE, session, "hello", poll=0.02):
        outputs.append(out)
        if "Recording" in out["status"] or "Get ready" in out["status"]:
            answer = teach_handlers.feed_landmarks(session, page())
            assert "ack" in answer, answer
            time.sleep(0.3)
    [clip_saved] = session.folder.clips("hello")
    assert clip_saved.path.suffix == ".npy" and clip_saved.hands == "found", outputs[-1]
    assert teach_handlers.select_clip(PAGE, session, "hello", clip_saved.name) is None  # landmarks: nothing to replay
    assert teach_handlers.feed_landmarks(session, {"frames": []}) == {
        "refused": "a landmark message needs a non-empty 'frames' list"
    }
    visitors.close(session)
    local = Visitors(app.AppConfig(model="m"), FakePredictor(), "m").records_landmarks
    server = Visitors(app.AppConfig(model="m", per_visitor=True, tracking="server"), FakePredictor(), "m")
    assert not local and not server.records_landmarks  # locally, and when told to, clips are videos as before


def test_a_recordings_length_is_the_servers_whatever_times_the_page_claims(tmp_path):
    """Two feed messages stamped t = 0 and t = 30000 made a 929 MB clip (and 3 GB of the server's memory); kept, the
    recording was offered to be saved again, and again."""
    from factories import landmark_clip

    from signspace.core.landmarks import RIGHT, load_npy
    from signspace.serve.pacing import FrameRate

    config = app.AppConfig(model="m", per_visitor=True)
    visitors = Visitors(config, FakePredictor(), "m", root=tmp_path / "visitors")
    session = visitors.open("visitor")
    teach_handlers.add_sign(PAGE, session, "hello")
    session.rate = FrameRate(clock=lambda: 0.0)
    hands = [{"handedness": "Right", "score": 0.9, "points": landmark_clip("circle")[0][RIGHT].tolist()}]
    session.recorder.countdown, session.recorder.seconds = 0.0, 2.0
    session.recorder.arm("hello", 100.0)
    assert "ack" in teach_handlers.feed_landmarks(session, {"frames": [{"t": 0, "hands": hands}]}, now=100.5)
    assert "ack" in teach_handlers.feed_landmarks(session, {"frames": [{"t": 30000, "hands": hands}]}, now=101.0)
    # one message spanning 30,000 s: its first frame would have been taken long before the recording began
    message = {"frames": [{"t": 30001, "hands": hands}, {"t": 60000, "hands": hands}]}
    assert "ack" in teach_handlers.feed_landmarks(session, message, now=101.5)
    assert session.recorder.times == [100.5, 101.0, 101.5]
    session.pending = session.recorder.take()
    status = teach_handlers.save_pending(PAGE, session)["status"]
    [clip] = session.folder.clips("hello")
    assert status.startswith("Saved") and len(load_npy(clip.path, "c")) == 31  # 1 s at 30 frames a second
    session.pending = ("hello", [np.ones(258, np.float32)] * 2, [0.0, 30000.0])  # what an old recorder kept
    out = teach_handlers.save_pending(PAGE, session)
    status, retry = out["status"], out["retry"]
    assert "span 3e+04 s, over the 6 s a clip may last here" in status and not retry["visible"]
    assert session.pending is None and len(session.folder.clips("hello")) == 1  # discarded, not offered again
    visitors.close(session)


def test_where_the_browser_tracks_the_visitor_may_keep_the_video_too_but_not_mid_recording(tmp_path):
    from factories import landmark_clip

    from signspace.core.landmarks import RIGHT

    config = app.AppConfig(model="m", per_visitor=True)
    visitors = Visitors(config, FakePredictor(), "m", root=tmp_path / "visitors")
    session = visitors.open("visitor")
    teach_handlers.add_sign(PAGE, session, "hello")
    out = teach_handlers.choose_storage(PAGE, session, "Landmarks and the video")
    camera, preview, note = out["server_camera"], out["hands_seen"], out["note"]
    assert not session.records_landmarks and camera["visible"] and preview["visible"]
    assert "Stored: each clip as a video" in note and "sent to this Space" in note
    hands = [{"handedness": "Right", "score": 0.9, "points": landmark_clip("circle")[0][RIGHT].tolist()}]
    session.recorder.countdown, session.recorder.seconds = 0.0, 5.0
    session.recorder.arm("hello", time.monotonic())
    assert "ack" in teach_handlers.feed_landmarks(session, {"frames": [{"t": 1.0, "hands": hands}]})
    assert session.recorder.frames == []  # the landmarks no longer make the recording: the webcam's frames do
    teach_handlers.feed_frame(session, np.asarray(pattern_image(0, (64, 48))))
    assert len(session.recorder.frames) == 1
    refused = teach_handlers.choose_storage(PAGE, session, "Landmarks only")  # mid-recording: refused
    assert refused["store"]["value"] == "Landmarks and the video" and not session.records_landmarks
    assert list(refused) == ["store"]  # nothing else changes
    session.recorder.take()
    out = teach_handlers.choose_storage(PAGE, session, "Landmarks only")
    camera, note = out["server_camera"], out["note"]
    assert session.records_landmarks and not camera["visible"] and note == teach_text.STORED_LANDMARKS
    session.recorder.arm("hello", time.monotonic())
    teach_handlers.feed_frame(session, np.asarray(pattern_image(0, (64, 48))))
    assert session.recorder.frames == []  # a still-streaming webcam never mixes pictures into landmarks
    visitors.close(session)


def test_the_choice_of_what_to_keep_is_offered_only_where_the_browser_records(tmp_path):
    def choice_shown(config):
        demo = app.build_demo(FakePredictor(model_id="x"), config)
        return next(b.visible for b in demo.blocks.values() if getattr(b, "elem_id", None) == "teach-store")

    from factories import fake_task_bundle

    hand = str(fake_task_bundle(tmp_path / "hand_landmarker.task"))  # the page tracks only with a hand model
    assert choice_shown(app.AppConfig(model="m", per_visitor=True, hand_model=hand))
    assert not choice_shown(app.AppConfig(model="m", per_visitor=True, tracking="server", hand_model=hand))
    assert not choice_shown(app.AppConfig(model="m", data_dir=str(tmp_path / "signs")))


def test_where_the_page_cannot_track_clips_are_stored_as_videos_and_it_says_why_once(tmp_path):
    """The Teach tab's fallback: the server-tracked webcam, the reason in the note, and every page tracker (this
    tab's and the Live tab's) hides itself when it stops, so the reason is not said twice."""
    from factories import fake_task_bundle

    config = app.AppConfig(model="m", per_visitor=True)
    visitors = Visitors(config, FakePredictor(), "m", root=tmp_path / "visitors")
    session = visitors.open("visitor")
    out = teach_handlers.landmarks_unavailable(PAGE, session, {"fallback": "the webcam could not be opened"})
    assert not session.records_landmarks and out["server_camera"]["visible"] and out["hands_seen"]["visible"]
    assert out["note"] == (
        "Tracking in your browser is not available (the webcam could not be opened); your webcam's frames go to "
        "the server instead. Clips are stored as videos."
    )
    assert out["store"]["visible"] is False  # no choice left to offer
    visitors.close(session)
    hand = str(fake_task_bundle(tmp_path / "hand_landmarker.task"))
    served = FakePredictor(model_id="x", hand_model=hand)
    demo = app.build_demo(served, app.AppConfig(model="m", per_visitor=True, hand_model=hand))
    feeds = {b._id: b for b in demo.blocks.values() if isinstance(b, gr.HTML) and b.elem_id.endswith("browser-feed")}
    assert {b.elem_id for b in feeds.values()} == {"signspace-browser-feed", "teach-browser-feed"}
    hides = [d for d in demo.fns.values() if [(t[0], t[1]) for t in d.targets] in ([(i, "stop")] for i in feeds)]
    hidden = {d.outputs[0]._id for d in hides if len(d.outputs) == 1 and d.fn() == gr.update(visible=False)}
    assert hidden == set(feeds)
