import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import app
import app_config
import handlers
import httpx
import numpy as np
import pytest
import torch
from factories import FakePredictor, blank_video, make_tiny_vit, pattern_image
from hub_server import free_port

from signspace.serve.inference import Predictor

ROOT = Path(__file__).resolve().parents[2]

LIVE = handlers.LivePage.named()  # each component is its name: a handler's answer reads out["text"]


def live(*args, **kwargs):
    """``app.live_step``'s answer read by component: (label, text, session, overlay, crop)."""
    out = app.live_step(LIVE, *args, **kwargs)
    return tuple(out.get(name) for name in ("label", "text", "session", "overlay", "crop"))


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    folder = make_tiny_vit(tmp_path_factory.mktemp("app-model"), labels=("A", "B", "C"))
    return Predictor.from_pretrained(str(folder), precision="fp32")


@pytest.fixture(scope="module")
def served(predictor):
    """The real app on 127.0.0.1, with a small queue so overload is quick to provoke."""
    config = app.AppConfig(model="local", queue_size=2, concurrency=1, max_file_size="1mb")
    demo = app.build_demo(predictor, config)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **app.launch_kwargs(config, demo),
    )
    yield f"http://127.0.0.1:{port}/", demo
    demo.close()


@pytest.fixture
def client(served):
    from gradio_client import Client

    return Client(served[0], verbose=False)


def test_predict_endpoint_returns_the_predictors_answer(client, predictor, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "sign.png"
    pattern_image(1, (120, 90)).save(path)
    result = client.predict(handle_file(str(path)), api_name="/predict")
    expected = predictor.predict(str(path), unmirror=False).top(5)  # the same answer as the Predictor, not just labels
    assert {c["label"]: c["confidence"] for c in result["confidences"]} == pytest.approx(expected, abs=1e-6)
    assert result["label"] == max(expected, key=expected.get)


def test_one_off_answers_recheck_close_calls_in_fp32_while_the_stream_stays_fast(tmp_path):
    folder = make_tiny_vit(tmp_path / "m", labels=("A", "B", "C"))
    path = tmp_path / "sign.png"
    pattern_image(2, (120, 90)).save(path)
    exact = Predictor.from_pretrained(str(folder), precision="fp32").predict(str(path), unmirror=False).top(5)
    fast = Predictor.from_pretrained(  # every call is close
        str(folder), precision="int8", recheck_margin=float("inf"), recheck_calibration=0, cache_dir=tmp_path
    )
    threads = torch.get_num_threads()
    assert app.classify_file(fast, str(path)) == pytest.approx(exact, abs=1e-7)
    assert torch.get_num_threads() == threads  # the int8 path's one-thread setting is restored
    streamed = fast.predict(np.asarray(pattern_image(2, (120, 90))))
    assert streamed.precision == "int8"
    assert "int8 (uploads: close calls rechecked in fp32)" in app.model_info(fast)


@pytest.mark.parametrize(
    "name, payload",
    [
        ("noise.png", bytes(np.random.RandomState(0).randint(0, 256, 5000, dtype=np.uint8))),
        (
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        ),
        ("page.jpg", b"<html><body>not a picture</body></html>"),
    ],
    ids=["random-bytes", "svg", "html"],
)
def test_non_images_get_a_friendly_message(client, tmp_path, name, payload):
    from gradio_client import handle_file

    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(Exception, match="not an image SignSpace can read"):
        client.predict(handle_file(str(path)), api_name="/predict")


def test_upload_over_the_size_limit_is_refused_with_413(served):
    big = os.urandom(2 * 1024 * 1024)
    response = httpx.post(served[0] + "gradio_api/upload", files={"files": ("big.png", big, "image/png")}, timeout=30)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../../../../etc/passwd",
        "/ETC/PASSWD",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        str(ROOT / "space" / "app.py"),
        str(ROOT / "README.md"),
    ],
)
def test_files_outside_the_apps_temp_files_are_refused(served, path):
    response = httpx.get(served[0] + f"gradio_api/file={path}", timeout=10)
    assert response.status_code in (403, 404)
    assert b"root:" not in response.content and b"gradio" not in response.content.lower()[:200]


def test_overload_is_refused_politely_and_the_app_keeps_serving(served, predictor, tmp_path, monkeypatch):
    from gradio_client import Client, handle_file

    path = tmp_path / "sign.png"
    pattern_image(2, (60, 60)).save(path)
    real_predict = predictor.predict

    def slow_predict(*args, **kwargs):
        time.sleep(0.5)
        return real_predict(*args, **kwargs)

    monkeypatch.setattr(predictor, "predict", slow_predict)
    client = Client(served[0], verbose=False)
    jobs = [client.submit(handle_file(str(path)), api_name="/predict") for _ in range(8)]
    outcomes = []
    for job in jobs:
        try:
            job.result(timeout=60)
            outcomes.append("ok")
        except Exception as exc:  # gradio_client raises its own error types for a full queue
            outcomes.append(str(exc))
    refused = [o for o in outcomes if o != "ok"]
    assert outcomes.count("ok") >= 1 and refused, outcomes
    assert all("queue is full" in o.lower() or "too many" in o.lower() for o in refused), refused
    monkeypatch.setattr(predictor, "predict", real_predict)
    assert client.predict(handle_file(str(path)), api_name="/predict")["label"] in {"A", "B", "C"}


def test_a_streamed_frame_from_a_visitor_past_the_apps_limit_is_refused_in_one_line(predictor):
    from signspace.serve.live import LiveRoster

    roster = LiveRoster(max_sessions=1, clock=lambda: 0.0)
    frame = np.asarray(pattern_image(1, (64, 48)))
    served_session = app.live_step(LIVE, predictor, frame, None, 0.6, None, now=1.0, roster=roster)["session"]
    with pytest.raises(app.gr.Error, match="1 visitors are live here, the most this app serves at once"):
        app.live_step(LIVE, predictor, frame, None, 0.6, None, now=1.0, roster=roster)
    app.live_step(LIVE, predictor, frame, served_session, 0.6, None, now=1.2, roster=roster)  # the first goes on


def test_stream_is_wired_with_rate_time_limit_and_concurrency(served):
    demo = served[1]
    streams = [d for d in demo.config["dependencies"] if any(t[1] == "stream" for t in d["targets"])]
    assert len(streams) == 2  # the Live tab's webcam and the Teach tab's recorder
    for stream in streams:
        # ~12 frames a second: motion signs (the Teach tab's models) need frames close together
        assert stream["stream_every"] == 0.08 and stream["time_limit"] == 120 and stream["connection"] == "stream"
        assert demo.fns[stream["id"]].concurrency_limit == 1
    public = [d["api_name"] for d in demo.config["dependencies"] if d["api_visibility"] == "public"]
    # what API users (and gradio_client) can call; adapt_clip teaches the caller's own copy of a motion model
    assert public == ["predict", "predict_clip", "adapt_clip"]


def test_without_teach_an_image_model_streams_at_its_own_rate(tiny_vit):
    config = app.AppConfig(model="local", teach=False)
    demo = app.build_demo(Predictor.from_pretrained(str(tiny_vit), None, precision="fp32"), config)
    streams = [d for d in demo.config["dependencies"] if any(t[1] == "stream" for t in d["targets"])]
    assert [s["stream_every"] for s in streams] == [0.2]
    public = [d["api_name"] for d in demo.config["dependencies"] if d["api_visibility"] == "public"]
    assert public == ["predict"]


def _run_app(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "space" / "app.py"), *args], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.skipif(not app.STARTER_DIR.is_dir(), reason="space/asl-starter absent")
def test_with_no_model_given_and_no_hub_the_app_serves_the_starter_and_says_so(tmp_path):
    """A fresh machine with no network: `python space/app.py` starts with the starter shipped beside it (and the
    hand model shipped beside it) instead of stopping."""
    port = free_port()
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {**os.environ, "HF_ENDPOINT": dead, "HF_HOME": str(tmp_path), "SIGNSPACE_CACHE": str(tmp_path / "c")}
    env.pop("SIGNSPACE_HAND_MODEL", None)  # as on a fresh machine: the copy beside the app serves
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "space" / "app.py"), "--port", str(port), "--no-teach"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline, info = time.monotonic() + 90, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                info = httpx.get(f"http://127.0.0.1:{port}/config", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert info is not None, server.stdout.read() if server.poll() is not None else "no answer in 90 s"
        shown = json.dumps(info, ensure_ascii=False)
        assert "**Signs (3):** I love you, hello, thank you · *not a sign*: known, never typed" in shown
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    notes = [line for line in output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "cannot reach the Hugging Face Hub" in notes[0] and app.STARTER_NAME in notes[0]
    assert "Traceback" not in output


def test_the_signs_line_lists_each_word_the_model_types_once():
    """A variant types its sign's word (listed once); "not a sign" is a class the app never types (said apart)."""
    info = app.model_info(FakePredictor(labels=("hello", "hello", "not a sign", "thank you")))
    assert info.endswith("**Signs (2):** hello, thank you · *not a sign*: known, never typed")
    assert app.model_info(FakePredictor(labels=("a", "b"))).endswith("**Signs (2):** a, b")


def test_missing_local_model_folder_exits_fast_and_clearly(tmp_path, fresh_hub):
    result = _run_app("--model", str(tmp_path / "my-model"), "--port", str(free_port()))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "does not exist" in result.stderr and "my-model" in result.stderr
    assert fresh_hub.requests == []  # a folder path never waits on the Hub (and its retries): it fails at once


def test_unreachable_hub_exits_fast_with_how_to_run_locally(tmp_path):
    """A Hub that hangs up on every connection: the app gives up after its first try, not huggingface_hub's retry
    loop per file (counted, not timed)."""
    door = socket.create_server(("127.0.0.1", 0))
    knocks = []

    def hang_up():
        while True:
            try:
                connection, _ = door.accept()
            except OSError:  # closed: the test is over
                return
            knocks.append(1)
            connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    dead = f"http://127.0.0.1:{door.getsockname()[1]}"
    try:  # a model the user named: no starter instead of it, one clear line
        result = _run_app(
            "--model", "RavenOnur/Sign-Language", "--port", str(free_port()),
            env_extra={"HF_ENDPOINT": dead, "HF_HOME": str(tmp_path)},
        )  # fmt: skip
    finally:
        door.close()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot reach the Hugging Face Hub" in result.stderr and "RavenOnur/Sign-Language" in result.stderr
    assert "--model ./my-model" in result.stderr
    assert 1 <= len(knocks) <= 2, knocks


# --- hand crops in the live stream and uploads ----------------------------------------------------------------

from factories import ASL_DIR, HAND_MODEL  # noqa: E402
from PIL import Image  # noqa: E402

needs_hands = pytest.mark.skipif(
    not (HAND_MODEL.is_file() and ASL_DIR.is_dir()), reason="../shared hand model or photos absent"
)


@pytest.fixture(scope="module")
def cropping(tmp_path_factory):
    if not HAND_MODEL.is_file():
        pytest.skip("../shared hand model absent")
    folder = make_tiny_vit(tmp_path_factory.mktemp("crop-model"), labels=("A", "B", "C"))
    with Predictor.from_pretrained(
        str(folder), precision="fp32", hand_crop="on", hand_model=str(HAND_MODEL)
    ) as predictor:
        yield predictor


def hand_scene() -> np.ndarray:
    scene = Image.new("RGB", (640, 480), (40, 120, 60))
    photo = Image.open(sorted((ASL_DIR / "B").glob("*.jpg"))[0]).convert("RGB").resize((240, 240))
    scene.paste(photo, (200, 200))
    return np.asarray(scene)[:, ::-1].copy()  # the browser sends the mirrored preview


@needs_hands
def test_live_frames_show_the_overlay_and_the_crop_and_keep_one_tracker_per_visitor(cropping):
    label, text, session, overlay, crop = live(cropping, hand_scene(), None, 0.5, None, now=1.0)
    assert isinstance(label, dict) and set(label) <= {"A", "B", "C"} and len(label) == 3
    assert overlay.size[0] <= 320 and crop is not None and crop.size[0] == crop.size[1]
    tracker = session.tracker
    label, _, session, overlay, crop = live(cropping, np.full((480, 640, 3), 90, np.uint8), session, 0.5, None, now=1.1)
    assert label == handlers.NO_HAND and crop is None and overlay is not None
    assert session.tracker is tracker  # the visitor's VIDEO-mode tracker is reused, not rebuilt per frame
    _, _, other, _, _ = live(cropping, hand_scene(), None, 0.5, None, now=1.0)
    assert other.tracker is not tracker  # another visitor has their own
    session.close()
    other.close()
    assert tracker.closed and session.tracker is None


@needs_hands
def test_a_tracker_failure_is_a_no_hand_frame_not_a_broken_stream(cropping, monkeypatch):
    _, _, session, _, _ = live(cropping, hand_scene(), None, 0.5, None, now=1.0)

    def explode(*args, **kwargs):
        raise RuntimeError("mediapipe graph error")

    monkeypatch.setattr(session.tracker, "track", explode)
    label, _, session, overlay, crop = live(cropping, hand_scene(), session, 0.5, None, now=1.2)
    assert label == handlers.NO_HAND and crop is None and overlay is None
    session.close()


@needs_hands
def test_an_upload_without_a_hand_is_told_so(cropping, tmp_path):
    path = tmp_path / "wall.png"
    Image.fromarray(np.full((300, 300, 3), 200, np.uint8)).save(path)
    with pytest.raises(app.gr.Error, match="No hand found in that photo"):
        app.classify_file(cropping, str(path))
    photo = tmp_path / "hand.png"
    Image.fromarray(hand_scene()[:, ::-1]).save(photo)
    assert set(app.classify_file(cropping, str(photo))) == {"A", "B", "C"}


@needs_hands
def test_the_page_shows_the_hand_previews_only_for_crop_models(cropping, predictor):
    config = app.AppConfig(model="local")
    with_crop = app.build_demo(cropping, config).config
    without = app.build_demo(predictor, config).config
    ids = lambda cfg: {c.get("props", {}).get("elem_id") for c in cfg["components"]}  # noqa: E731
    visible = lambda cfg, elem: next(c for c in cfg["components"] if c.get("props", {}).get("elem_id") == elem)  # noqa: E731
    assert "signspace-crop" in ids(with_crop)
    assert "hand crop:** on" in app.model_info(cropping) and "hand crop" not in app.model_info(predictor)
    assert visible(with_crop, "signspace-crop")["props"].get("visible", True) is not False
    assert "signspace-crop" in ids(without)


# --- landmark sequence models ---------------------------------------------------------------------------------

from factories import photo_video  # noqa: E402


@pytest.fixture(scope="module")
def sequence_predictor(tmp_path_factory):
    if not HAND_MODEL.is_file():
        pytest.skip("../shared hand model absent")
    from signspace.models.sequence_model import SignSequenceConfig, SignSequenceModel

    folder = tmp_path_factory.mktemp("seq-app")
    torch.manual_seed(0)
    labels = ("B", "L")
    SignSequenceModel(
        SignSequenceConfig(
            sequence_length=8,
            hidden_size=16,
            num_labels=2,
            id2label=dict(enumerate(labels)),
            label2id={n: i for i, n in enumerate(labels)},
            window_seconds=0.5,
        )
    ).save_pretrained(folder)
    with Predictor.from_pretrained(str(folder), hand_model=str(HAND_MODEL)) as predictor:
        yield predictor


@needs_hands
def test_a_sequence_model_gets_the_landmark_stream_and_a_clip_upload(sequence_predictor, tmp_path):
    assert sequence_predictor.takes_clips and sequence_predictor.tracks_hands
    info = app.model_info(sequence_predictor)
    assert "hand landmarks, 8 frames over 0.5 s" in info
    config = app.build_demo(sequence_predictor, app.AppConfig(model="local")).config
    apis = {d.get("api_name") for d in config["dependencies"]}
    assert {"predict", "predict_clip"} <= apis
    frame = hand_scene()
    label, text, session, overlay, crop = live(sequence_predictor, frame, None, 0.5, None, now=1.0)
    assert isinstance(label, dict) and set(label) == {"B", "L"} and overlay is not None and crop is None
    label, *_ = live(sequence_predictor, np.full((480, 640, 3), 90, np.uint8), session, 0.5, None, now=1.05)
    assert isinstance(label, dict)  # the hand was in the window a moment ago: still a guess
    for step in range(12):
        label, text, session, *_ = live(
            sequence_predictor, np.full((480, 640, 3), 90, np.uint8), session, 0.0, None, now=1.1 + step * 0.1
        )
    assert label == handlers.NO_HAND  # the window is empty now
    tracker = session.tracker
    session.close()
    assert tracker.closed


@needs_hands
def test_a_clip_upload_is_tracked_and_classified_like_a_training_clip(sequence_predictor, tmp_path):
    from signspace.core.landmarks import track_clip
    from signspace.core.video import read_frames

    photos = sorted((ASL_DIR / "B").glob("*.jpg"))[:4]
    video = photo_video(tmp_path / "sign.mp4", photos, repeat=2)
    top = app.classify_clip(sequence_predictor, str(video))
    picked = read_frames(video, 64, "sign.mp4")
    with sequence_predictor.new_tracker() as tracker:
        sequence = track_clip(tracker, [np.asarray(i) for _, i, _ in picked], [t for *_, t in picked])
    expected = sequence_predictor.predict_landmarks(sequence, [t for *_, t in picked]).top(5)
    assert top == pytest.approx(expected)
    empty = photo_video(tmp_path / "wall.mp4", [Image.new("RGB", (64, 64), (200, 200, 200))] * 3)
    with pytest.raises(app.gr.Error, match="No hand found in that clip"):
        app.classify_clip(sequence_predictor, str(empty))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(app.gr.Error, match="cannot be decoded|not a video or image"):
        app.classify_clip(sequence_predictor, str(junk))
    long = blank_video(tmp_path / "hour.mp4", 200, 32, 32, rate=2)  # 100 s: stops decoding at the 60 s limit
    with pytest.raises(app.gr.Error, match=r"That clip cannot be used: the video is longer than 60 s"):
        app.classify_clip(sequence_predictor, str(long))
    huge = blank_video(tmp_path / "huge.mp4", 1, 8192, 5120)
    with pytest.raises(app.gr.Error, match=r"That clip cannot be used: its frames are 8192x5120 pixels"):
        app.classify_clip(sequence_predictor, str(huge))


# --- issue 11: limits on every path, friendly refusals, a cache that is cleaned -----------------------------------

import base64  # noqa: E402
import io  # noqa: E402

from factories import bomb_png_bytes  # noqa: E402


def _png_of_size(n_bytes: int) -> bytes:
    """A valid PNG padded with random pixels to about ``n_bytes``."""
    side = int((n_bytes / 3) ** 0.5) + 1
    buffer = io.BytesIO()
    Image.fromarray(np.random.RandomState(0).randint(0, 256, (side, side, 3), dtype=np.uint8)).save(
        buffer, "PNG", compress_level=0
    )
    return buffer.getvalue()


def _call_predict(base: str, payload: dict, **kwargs) -> httpx.Response:
    return httpx.post(f"{base}gradio_api/call/predict", json=payload, timeout=30, **kwargs)


def _inline(data: bytes) -> dict:
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    return {"data": [{"url": url, "meta": {"_type": "gradio.FileData"}}]}


def _result_text(base: str, response: httpx.Response) -> str:
    event = response.json()["event_id"]
    return httpx.get(f"{base}gradio_api/call/predict/{event}", timeout=30).text


def test_an_inline_data_url_over_the_limit_is_refused_like_an_upload(served):
    base = served[0]
    response = _call_predict(base, _inline(_png_of_size(1_500_000)))  # the app's limit is 1 MB
    assert response.status_code == 413 and "request too large" in response.text


def test_a_file_just_over_the_limit_inside_a_small_enough_request_is_refused_by_size(served):
    base = served[0]
    data = _png_of_size(1_010_000)  # base64 of it fits the request cap; the decoded file does not fit 1 MB
    assert len(data) > 1_000_000
    response = _call_predict(base, _inline(data))
    assert response.status_code == 200
    text = _result_text(base, response)
    assert (
        "That image is too large" in text
        and "/tmp" not in text
        and "gradio" not in text.lower().replace("gradio_api", "")
    )


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(served):
    base = served[0]

    def chunks():
        for _ in range(40):
            yield b"x" * 100_000

    response = httpx.post(
        f"{base}gradio_api/call/predict", content=chunks(), headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 413


def test_a_decompression_bomb_is_refused_in_our_words_without_server_paths(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png_bytes(9400, 9400))  # 1-bit, ~1 GB once decoded
    with pytest.raises(AppError) as caught:
        client.predict(handle_file(str(path)), api_name="/predict")
    message = str(caught.value)
    assert "That image is too large: 9400 x 9400 pixels, over 40 megapixels" in message
    assert "/tmp" not in message and "preprocess" not in message


def test_a_photo_claiming_too_many_pixels_is_refused_from_its_header_on_every_path(predictor, tmp_path):
    """A 277 KB PNG claiming 9400 x 9400 was decoded by /predict_clip (4.6 s, +717 MB) and by the Teach tab's photo
    upload; /predict refused it from the header."""
    from signspace.core.errors import TeachError
    from signspace.teach.folder import TeachFolder

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png_bytes(9400, 9400))
    with pytest.raises(app.gr.Error, match=r"That image is too large: 9400 x 9400 pixels, over 40 megapixels"):
        app.classify_file(predictor, str(bomb))
    folder = TeachFolder(tmp_path / "signs")
    folder.add_sign("hello")
    with pytest.raises(TeachError, match=r"^bomb.png: 9400 x 9400 pixels, over 40 megapixels; send a smaller photo"):
        folder.import_file("hello", bomb)
    assert folder.clips("hello") == []


@needs_hands
def test_a_photo_sent_as_a_clip_is_held_to_the_same_pixel_cap(sequence_predictor, tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png_bytes(9400, 9400))
    with pytest.raises(app.gr.Error) as caught:
        app.classify_clip(sequence_predictor, str(bomb))
    assert (
        caught.value.message == "That clip cannot be used: 9400 x 9400 pixels, over 40 megapixels; send a smaller photo"
    )


@pytest.mark.parametrize("route", ["gradio_api/queue/join", "gradio_api/run/predict"])
def test_a_call_to_an_event_the_page_does_not_have_is_a_404_in_one_line(served, route):
    url, _ = served
    body = {"fn_index": 999, "data": [None], "session_hash": "someone", "trigger_id": 1, "event_data": None}
    answer = httpx.post(url + route, json=body, timeout=10)
    assert answer.status_code == 404 and answer.json() == {
        "error": "there is no event 999 on this page; reload the page"
    }


def test_uploads_are_deleted_from_the_cache(predictor, tmp_path):
    config = app.AppConfig(model="local", delete_cache_every=1, delete_cache_age=1)
    demo = app.build_demo(predictor, config)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.launch_kwargs(config)
    )
    try:
        photo = tmp_path / "p.png"
        pattern_image(4, (64, 48)).save(photo)
        with photo.open("rb") as handle:
            uploaded = httpx.post(
                f"http://127.0.0.1:{port}/gradio_api/upload", files={"files": handle}, timeout=30
            ).json()[0]
        assert os.path.isfile(uploaded)
        deadline = time.monotonic() + 15
        while os.path.isfile(uploaded) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not os.path.isfile(uploaded)
    finally:
        demo.close()


@pytest.mark.parametrize(
    "damage, message",
    [
        ("empty-weights", r"model\.safetensors is empty, truncated or corrupt \(0 bytes\)"),
        ("no-processor", r"has no preprocessor_config\.json, so its input size and normalisation are unknown"),
        ("broken-config", r"config\.json is not valid JSON"),
    ],
)
def test_a_damaged_model_folder_is_one_clear_line_naming_the_file(tmp_path, damage, message):
    from signspace.models.modeling import UnsafeModelError

    folder = make_tiny_vit(tmp_path / "model")
    if damage == "empty-weights":
        (folder / "model.safetensors").write_bytes(b"")
    elif damage == "no-processor":
        (folder / "preprocessor_config.json").unlink()
    else:
        (folder / "config.json").write_text('{"model_type": "vit", ')
    with pytest.raises(UnsafeModelError, match=message):
        Predictor.from_pretrained(str(folder), precision="fp32")


def test_a_corrupt_cached_int8_model_is_rebuilt_not_fatal(tmp_path):
    folder = make_tiny_vit(tmp_path / "m", labels=("A", "B", "C"))
    first = Predictor.from_pretrained(str(folder), precision="int8", cache_dir=tmp_path)
    cached = first._run.path
    cached.write_bytes(b"\x00" * 100)  # damaged on disk
    again = Predictor.from_pretrained(str(folder), precision="int8", cache_dir=tmp_path)
    assert again.precision == "int8" and again._run.path == cached and cached.stat().st_size > 1000
    frame = np.asarray(pattern_image(1, (64, 64)))
    np.testing.assert_allclose(again.predict(frame).probabilities, first.predict(frame).probabilities, atol=1e-5)


def test_a_port_in_use_is_one_clear_line(tmp_path):
    import socket

    folder = make_tiny_vit(tmp_path / "m")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run_app("--model", str(folder), "--port", str(port), "--precision", "fp32")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "--port" in result.stderr


def test_a_data_dir_that_is_a_file_is_said_at_start_up(tmp_path):
    from signspace.core.errors import ConfigError

    (tmp_path / "notes.txt").write_text("not a folder")
    with pytest.raises(ConfigError, match=r"--data_dir .*notes.txt is a file; the Teach tab needs a folder"):
        app.parse_args(["--model", "m", "--data_dir", str(tmp_path / "notes.txt")])
    assert app.parse_args(["--model", "m", "--data_dir", str(tmp_path / "notes.txt"), "--no-teach"]).teach is False


def test_a_model_switch_mid_stream_starts_the_visitor_over():
    from types import SimpleNamespace

    frame = np.zeros((8, 8, 3), np.uint8)
    one, two = FakePredictor("crops"), FakePredictor("crops")  # kinds that track: each session holds a tracker
    visitor = SimpleNamespace(shelf=SimpleNamespace(predictor=one))
    label, text, first, *_ = live(None, frame, None, 0.5, visitor)
    assert first.predictor is one and len(one.trackers) == 1
    assert live(None, frame, first, 0.5, visitor)[2] is first  # the same model: the same session
    visitor.shelf.predictor = two
    other = live(None, frame, first, 0.5, visitor)[2]
    assert one.trackers[0].closed and other.predictor is two and not two.trackers[0].closed


def test_options_come_from_the_config_with_the_spaces_variables_as_defaults():
    on_space = {"SPACE_ID": "me/space", "MODEL_ID": "me/model", "GRADIO_SERVER_PORT": "7861"}
    config = app.parse_args([], environ=on_space)
    assert (config.model, config.revision, config.port, config.per_visitor) == ("me/model", None, 7861, True)
    assert app.parse_args(["--model", "other/m", "--port", "7000"], environ=on_space).port == 7000  # a flag wins
    default = app.parse_args([], environ={})
    expected = (app_config.DEFAULT_MODEL, app_config.DEFAULT_REVISION, False)
    assert (default.model, default.revision, default.per_visitor) == expected
    assert app.parse_args(["--no-teach", "--hand-crop", "on"], environ={}).teach is False
    assert default.adaptation == "nearest"
    assert app.parse_args([], environ={"SIGNSPACE_ADAPTATION": "finetune"}).adaptation == "finetune"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--threshold", "1.5"], "--threshold 1.5: a confidence between 0 and 1"),
        (["--concurrency", "0"], "--concurrency 0: must be above 0 (default 2)"),
        (["--port", "70000"], "--port 70000: a port number from 0 to 65535"),
    ],
)
def test_an_impossible_setting_is_one_line_naming_it(flags, message):
    from signspace.core.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        app.parse_args(flags, environ={})


def test_a_spaces_unknown_adaptation_method_is_one_line_naming_it():
    from signspace.core.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape("--adaptation tuned: one of head, nearest, finetune")):
        app.parse_args([], environ={"SIGNSPACE_ADAPTATION": "tuned"})
