"""The Live tab's browser-tracked webcam, without a browser (space/browser_feed.py); the page itself runs in
test_browser.py."""

from pathlib import Path
from types import SimpleNamespace

import browser_feed
import handlers
import pytest
from factories import FakePredictor, landmark_clip, make_sequence_model

from signspace.core.errors import ConfigError
from signspace.core.landmarks import RIGHT
from signspace.serve.browser import BrowserInput, Send
from signspace.serve.live import NO_HAND
from signspace.serve.pacing import Pacer

LIVE = handlers.LivePage.named()


def step(*args, **kwargs):
    """``browser_feed.browser_step``'s answer read by component: (label, text, session, answer to the page)."""
    out = browser_feed.browser_step(LIVE, *args, **kwargs)
    return tuple(out.get(name) for name in ("label", "text", "session", "feed"))


def motion_model():
    return FakePredictor("motion", hand_model="hand.task")


def crop_model(labels=("a", "b")):
    crops = BrowserInput(Send.CROP, side=224, resize=224, margin=0.25)
    return FakePredictor(
        "crops", labels=labels, hand_model="hand.task", browser_input=crops, answer=lambda crop: [0.3, 0.7]
    )


def frame_model():
    return FakePredictor("frames")


def test_auto_tracks_in_the_browser_wherever_the_model_can_and_browser_refuses_a_whole_frame_model():
    assert browser_feed.uses_browser("auto", motion_model()) and browser_feed.uses_browser("auto", crop_model())
    assert not browser_feed.uses_browser("auto", frame_model())
    assert not browser_feed.uses_browser("server", motion_model()) and not browser_feed.uses_browser(
        "server", crop_model()
    )
    with pytest.raises(ConfigError, match="needs a motion model or an image model trained on hand crops; this one"):
        browser_feed.uses_browser("browser", frame_model())


def test_a_local_copy_of_the_tracker_must_be_complete(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "vision_bundle.mjs").write_text("export {}")
    with pytest.raises(ConfigError, match=r"lacks wasm/vision_wasm_internal.js, wasm/vision_wasm_internal.wasm"):
        browser_feed.asset_urls(str(tmp_path / "web"), tmp_path / "hand.task")
    urls = browser_feed.asset_urls(None, tmp_path / "hand.task")
    assert urls["bundle_url"].startswith("https://cdn.jsdelivr.net/npm/@mediapipe/tasks-vision@1.1.0/")
    assert urls["model_url"] == f"/gradio_api/file={(tmp_path / 'hand.task').as_posix()}"  # the app's own file


@pytest.fixture
def predictor(tmp_path):
    from factories import HAND_MODEL

    from signspace.serve.inference import Predictor

    if not HAND_MODEL.is_file():
        pytest.skip("../shared hand model absent")
    make_sequence_model(tmp_path / "model", labels=("circle", "swipe"))
    with Predictor.from_pretrained(str(tmp_path / "model"), hand_model=str(HAND_MODEL)) as loaded:
        yield loaded


def test_landmark_messages_answer_the_page_and_a_bad_one_is_refused_without_losing_the_session(predictor):
    clip = landmark_clip("circle", frames=8, seed=0)
    hands = lambda i: [{"handedness": "Right", "score": 0.9, "points": clip[i][RIGHT].tolist()}]  # noqa: E731
    message = {"frames": [{"t": 1 + i / 12.5, "hands": hands(i)} for i in range(8)]}
    label, text, session, answer = step(predictor, message, None, 0.6, None, 0.2)
    landmarks = {"send": "landmarks", "every_ms": 320}
    expected = {"ack": pytest.approx(1 + 7 / 12.5), "wants": landmarks, "threshold": 0.6}
    assert set(label) == {"circle", "swipe"} and answer == expected
    _, _, same, refused = step(predictor, {"frames": "many"}, session, 0.6, None, 0.2)
    assert same is session and refused["refused"] == "a landmark message needs a non-empty 'frames' list"
    empty = {"frames": [{"t": 3.0 + i / 12.5, "hands": []} for i in range(16)]}
    label, *_ = step(predictor, empty, session, 0.6, None, 0.2)
    assert label == NO_HAND
    busy = Pacer(slowdown=2.0, window=1e9)  # a busy app: the answer asks the page to send half as often
    *_, answer = step(predictor, {"frames": [{"t": 5.0}]}, session, 0.6, None, 0.2, None, busy)
    assert answer["wants"] == {"send": "landmarks", "every_ms": 640}
    whole_frames = SimpleNamespace(shelf=SimpleNamespace(predictor=frame_model()))
    *_, answer = step(predictor, message, session, 0.6, whole_frames, 0.2)
    assert "this model sees whole frames, which this page does not send" in answer["refused"]


def test_the_page_says_why_it_falls_back_and_shows_the_server_webcam():
    camera, note = browser_feed.browser_unavailable({"fallback": "the webcam could not be opened: denied"})
    assert camera["visible"] is True and "(the webcam could not be opened: denied)" in note
    assert "unknown reason" in browser_feed.browser_unavailable("not a dict")[1]


def test_a_visitor_who_picks_a_hand_crop_model_is_told_to_send_crops_at_the_live_rate(predictor):
    message = {"frames": [{"t": 1.0, "hands": []}]}  # the page still sends what the motion model wanted
    picked = SimpleNamespace(shelf=SimpleNamespace(predictor=crop_model(labels=("A", "B"))))
    label, _, session, answer = step(predictor, message, None, 0.6, picked, 0.25)
    assert label == NO_HAND and answer["ack"] == 1.0
    crops = {"send": "crop", "every_ms": 250, "side": 224, "resize": 224, "margin": 0.25, "quality": 0.92}
    assert answer["wants"] == crops
    assert session.predictor is picked.shelf.predictor


class CountingSlots:
    """Stands in for the app's semaphore: counts who took a slot and gave it back."""

    def __init__(self):
        self.taken = self.given_back = 0

    def __enter__(self):
        self.taken += 1

    def __exit__(self, *exc):
        self.given_back += 1


def test_every_message_is_classified_inside_a_slot_and_gives_it_back_even_when_refused(predictor):
    slots = CountingSlots()
    message = {"frames": [{"t": 1.0, "hands": []}]}
    _, _, session, answer = step(predictor, message, None, 0.6, None, 0.2, slots)
    *_, replayed = step(predictor, message, session, 0.6, None, 0.2, slots)
    assert "ack" in answer and "does not come after" in replayed["refused"]
    assert slots.taken == slots.given_back == 2


def test_a_new_visitor_past_the_apps_limit_is_refused_and_nothing_is_kept_for_them(predictor):
    from signspace.serve.live import LiveRoster

    roster = LiveRoster(max_sessions=1, clock=lambda: 0.0)
    message = {"frames": [{"t": 1.0, "hands": []}]}
    _, _, first, answer = step(predictor, message, None, 0.6, None, 0.2, None, None, roster)
    assert "ack" in answer and first is not None
    label, text, second, refused = step(predictor, message, None, 0.6, None, 0.2, None, None, roster)
    assert second is None and "1 visitors are live here, the most this app serves at once" in refused["refused"]
    assert refused["wants"]["send"] == "landmarks"  # the page keeps its loop and tries again
    message = {"frames": [{"t": 2.0, "hands": []}]}
    *_, again = step(predictor, message, first, 0.6, None, 0.2, None, None, roster)
    assert "ack" in again  # the visitor already served is not turned away


def test_a_local_copy_of_onnx_runtime_web_must_be_complete(tmp_path):
    (tmp_path / "ort.wasm.min.mjs").write_text("export {}")
    with pytest.raises(ConfigError, match=r"lacks ort-wasm-simd-threaded.mjs, ort-wasm-simd-threaded.wasm; point it"):
        browser_feed.ort_url(str(tmp_path))
    assert browser_feed.ort_url(None) == "https://cdn.jsdelivr.net/npm/onnxruntime-web@1.31.1/dist/ort.wasm.min.mjs"


def test_the_page_gets_a_motion_models_onnx_as_a_file_of_this_app_and_its_rules(tmp_path):
    onnx = b"onnx bytes"
    models = browser_feed.PageModels("ort.mjs", folder=tmp_path)
    motion = FakePredictor("motion", page_onnx=onnx)
    described = models.describe(motion)
    served = Path(described["model_url"].removeprefix("/gradio_api/file="))
    assert served.parent == tmp_path.resolve() and served.read_bytes() == onnx
    assert described["settings"] == motion.new_live_session().page_settings() and described["ort_url"] == "ort.mjs"
    assert described["module_url"].endswith("/space/web/page_model.mjs")
    assert models.describe(motion) is described and len(list(tmp_path.iterdir())) == 1  # written once


@pytest.mark.parametrize(
    ("model", "why"),
    [
        (crop_model(), "this model reads pictures"),
        (FakePredictor("motion"), "your own form of a sign is learnt here, on the server"),  # page_model None
        (FakePredictor("motion", page_onnx=b"0" * (9 * 2**20)), "the model is 9 MB, over the 8 MB a page loads"),
    ],
)
def test_where_the_page_cannot_read_the_signs_it_is_told_why(model, why, tmp_path):
    assert browser_feed.PageModels("ort.mjs", folder=tmp_path).describe(model) == {"why": why}
    assert list(tmp_path.iterdir()) == []


def test_a_sign_from_a_page_the_server_offered_no_model_is_read_here_not_taken_on_its_word(tmp_path):
    """With --classify server (no page models) or a model the page may not read, a page claiming a word is not
    believed: the sign's frames are read here, and a sign without frames is refused."""
    motion = FakePredictor("motion", page_onnx=None, answer=lambda window: [0.1, 0.9])
    hand = landmark_clip("circle", frames=1, seed=0)[0][RIGHT].tolist()
    frames = [{"t": 1.0, "hands": [{"handedness": "Right", "score": 1, "points": hand}]}]
    for page_models in (None, browser_feed.PageModels("ort.mjs", folder=tmp_path)):
        label, text, session, _ = step(
            motion, {"sign": {"word": "a", "confidence": 0.99, "frames": frames}}, None, 0.6, None, 0.2,
            page_models=page_models,
        )  # fmt: skip
        assert (label, text) == ({"b": 0.9}, "b")
        session._sign_at = -1e9
        _, text, _, answer = step(
            motion, {"sign": {"word": "a", "confidence": 0.99}}, session, 0.6, None, 0.2, page_models=page_models
        )
        assert text == "b" and "'frames'" in answer["refused"]


def test_a_sign_the_page_read_is_typed_and_every_answer_says_whether_the_page_may_go_on(tmp_path):
    models = browser_feed.PageModels("ort.mjs", folder=tmp_path)
    motion = FakePredictor("motion", page_onnx=b"onnx", answer=lambda window: [0.1, 0.9])
    url = models.describe(motion)["model_url"]
    sign = {"word": "a", "confidence": 0.8, "frames": [{"t": 1.0, "hands": []}]}
    label, text, session, answer = step(
        motion, {"sign": sign, "model_url": url}, None, 0.6, None, 0.2, page_models=models
    )
    assert (label, text, answer["ack"], answer["page_model"]["model_url"]) == ({"a": 0.8}, "a", True, url)
    session._sign_at = -1e9
    hand = landmark_clip("circle", frames=1, seed=0)[0][RIGHT].tolist()
    sign = {
        "word": "a",
        "confidence": 0.8,
        "frames": [{"t": 2.0, "hands": [{"handedness": "Right", "score": 1, "points": hand}]}],
    }
    # a page still running another model: its word is not taken, the frames are read here
    label, text, _, answer = step(
        motion, {"sign": sign, "model_url": "old"}, session, 0.6, None, 0.2, page_models=models
    )
    assert (label, text) == ({"b": 0.9}, "a b")


def test_a_page_behind_on_the_visitors_clips_is_read_here_and_sent_them(tmp_path):
    """After "That was ..." the visitor's copy has clips the page lacks: the page's next sign is read here from its
    frames and the answer carries the clips; once the page names the same memory, its word is typed as read."""
    models = browser_feed.PageModels("ort.mjs", folder=tmp_path)
    motion = FakePredictor("motion", page_onnx=b"onnx", answer=lambda window: [0.1, 0.9], memory_digest="abc")
    described = models.describe(motion)
    assert described["memory"] == "abc"
    hand = landmark_clip("circle", frames=1, seed=0)[0][RIGHT].tolist()
    frames = [{"t": 1.0, "hands": [{"handedness": "Right", "score": 1, "points": hand}]}]
    sign = {"word": "a", "confidence": 0.8, "frames": frames}
    message = {"sign": sign, "model_url": described["model_url"], "memory": ""}
    label, text, session, answer = step(motion, message, None, 0.6, None, 0.2, page_models=models)
    assert (label, text) == ({"b": 0.9}, "b") and answer["personal"] == motion.page_memory()
    session._sign_at = -1e9
    label, text, _, answer = step(motion, {**message, "memory": "abc"}, session, 0.6, None, 0.2, page_models=models)
    assert (label, text) == ({"a": 0.8}, "b a") and "personal" not in answer
