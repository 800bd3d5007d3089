"""The real page in headless Chromium, with a fake webcam playing a video made from photos.

Needs Debian's chromium (`apt-get install chromium`; .ci/run installs it) and the playwright package
(no browser download). Skips with the reason when either is missing.
"""

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from factories import ASL_DIR, HAND_MODEL, make_colour_dataset
from hub_server import free_port
from PIL import Image

from signspace.teach.visitors import Visitors

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
]

COLOURS = {"A": (220, 40, 40), "B": (40, 200, 60)}  # must match make_colour_dataset's palette order


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """Raw YUV 4:2:0 video, the format Chromium's fake camera reads."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
            y = 0.299 * r + 0.587 * g + 0.114 * b
            u = (b - y) * 0.564 + 128
            v = (r - y) * 0.713 + 128
            sub = lambda plane: plane.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))  # noqa: E731
            handle.write(b"FRAME\n")
            for plane in (y, sub(u), sub(v)):
                handle.write(np.clip(plane + 0.5, 0, 255).astype(np.uint8).tobytes())
    return path


def tinted_frames(colour, count, seed) -> list[np.ndarray]:
    """Real photos (when present) washed in a sign's colour: the test model tells the colours apart."""
    photos = sorted(ASL_DIR.glob("*/*.jpg"))[seed::97][:count] if ASL_DIR.is_dir() else []
    frames = []
    for index in range(count):
        base = np.full((240, 320, 3), colour, np.float32)
        if photos:
            photo = np.asarray(Image.open(photos[index % len(photos)]).convert("RGB").resize((320, 240)), np.float32)
            base = 0.85 * base + 0.15 * photo
        frames.append(base.astype(np.uint8))
    return frames


@pytest.fixture(scope="module")
def colour_model(tmp_path_factory):
    import build_dataset
    import finetune
    from factories import make_tiny_vit

    root = tmp_path_factory.mktemp("browser")
    data = make_colour_dataset(root / "data", signs=("A", "B", "C"), per_sign=12)
    assert build_dataset.main(["--data_dir", str(data), "--output_dir", str(root / "ds"), "--num_proc", "1"]) == 0
    base = make_tiny_vit(root / "base")
    assert (
        finetune.main(
            [
                "--dataset_dir",
                str(root / "ds"),
                "--output_dir",
                str(root / "model"),
                "--model_name_or_path",
                str(base),
                "--use_cpu",
                "--dataloader_num_workers",
                "0",
                "--num_train_epochs",
                "10",
                "--learning_rate",
                "2e-3",
                "--per_device_train_batch_size",
                "8",
                "--disable_tqdm",
                "true",
            ]
        )
        == 0
    )
    return root / "model"


def test_live_stream_in_a_real_browser(colour_model, tmp_path):
    import app

    from signspace.serve.inference import Predictor

    predictor = Predictor.from_pretrained(str(colour_model), precision="fp32", unmirror=True)
    config = app.AppConfig(model=str(colour_model), revision=None, threshold=0.4)
    config.data_dir = str(tmp_path / "signs")  # the Teach tab's folder: never the working directory in tests
    demo = app.build_demo(predictor, config)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    # 4 s of sign A then 4 s of sign B, looped by Chromium.
    video = write_y4m(tmp_path / "camera.y4m", tinted_frames(COLOURS["A"], 40, 0) + tinted_frames(COLOURS["B"], 40, 1))
    artefacts = ROOT / "artifacts"
    artefacts.mkdir(exist_ok=True)
    seen, text = [], ""
    try:
        with playwright.sync_playwright() as p:
            browser, page = open_page(p, video, port)
            start_camera(page)
            deadline = time.monotonic() + 40
            label_box = page.locator(".output-class").first
            text_box = page.locator("#signspace-text textarea")
            while time.monotonic() < deadline:
                if label_box.count():
                    current = label_box.inner_text().strip()
                    if current and (not seen or seen[-1] != current):
                        seen.append(current)
                text = text_box.input_value() if text_box.count() else ""
                if len(set(seen)) >= 2 and text:
                    break
                time.sleep(0.3)
            page.screenshot(path=str(artefacts / "browser-live-stream.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
    assert set(seen) >= {"A", "B"}, f"labels seen: {seen}"
    assert text and set(text.replace(" ", "")) <= {"A", "B", "C"}, f"text typed: {text!r}"


def hand_frames(letter: str, count: int, size=(320, 240)) -> list[np.ndarray]:
    """Real close-up photos of one ASL letter, centred on a plain webcam-sized frame, a different photo each frame."""
    photos = sorted((ASL_DIR / letter).glob("*.jpg"))
    frames = []
    for index in range(count):
        canvas = Image.new("RGB", size, (90, 90, 100))
        photo = Image.open(photos[index % len(photos)]).convert("RGB").resize((size[1], size[1]))
        canvas.paste(photo, ((size[0] - size[1]) // 2, 0))
        frames.append(np.asarray(canvas))
    return frames


def open_page(p, video: Path, port: int, path: str = "/"):
    browser = p.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    )
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"http://127.0.0.1:{port}{path}", wait_until="load")
    return browser, page


def open_teach_tab(page) -> None:
    page.get_by_role("tab", name="Teach").click()
    page.wait_for_function("() => document.querySelector('#teach-intro')?.innerText.includes('clips')", timeout=20_000)


def start_camera(page, container: str | None = None) -> None:
    camera = page.locator(container) if container else page
    camera.get_by_text("Click to Access Webcam").first.click()
    camera.locator('button[aria-label="capture photo"]').first.click(timeout=20_000)  # starts the stream


def record_clips(page, sign: str, count: int) -> None:
    page.locator("#teach-signs label", has_text=f"{sign} ·").first.click()
    status = page.locator("#teach-status")
    for n in range(count):
        page.locator("#teach-record").click()
        page.wait_for_function(
            "n => document.querySelector('#teach-status').innerText.includes('Saved')"
            " && document.querySelectorAll('#teach-clips label').length >= n",
            arg=n + 1,
            timeout=30_000,
        )
        assert "Saved" in status.inner_text()
    time.sleep(0.5)


@pytest.mark.skipif(not ASL_DIR.is_dir(), reason="../shared photos absent")
def test_teach_two_signs_record_train_and_recognise_live(tmp_path):
    """The whole loop in the page: add two signs, record clips of each from the webcam, train, see Live use it.
    Three browser launches, because Chromium's fake camera plays one file: letter B, then Y, then both."""
    import app
    from factories import make_tiny_vit

    from signspace.serve.inference import Predictor

    base = make_tiny_vit(tmp_path / "base")
    data = tmp_path / "my-signs"
    config = app.AppConfig(model=str(base), revision=None, data_dir=str(data), threshold=0.3)
    demo = app.build_demo(Predictor.from_pretrained(str(base), precision="fp32", unmirror=True), config)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    artefacts = ROOT / "artifacts"
    artefacts.mkdir(exist_ok=True)
    hello = write_y4m(tmp_path / "hello.y4m", hand_frames("B", 30))
    yes = write_y4m(tmp_path / "yes.y4m", hand_frames("Y", 30))
    both = write_y4m(tmp_path / "both.y4m", hand_frames("B", 30) + hand_frames("Y", 30))
    seen = []
    try:
        with playwright.sync_playwright() as p:
            browser, page = open_page(p, hello, port)
            open_teach_tab(page)
            for sign in ("hello", "yes"):
                page.locator("#teach-new-sign textarea, #teach-new-sign input").first.fill(sign)
                page.locator("#teach-add-sign").click()
                page.locator("#teach-signs label", has_text=f"{sign} ·").first.wait_for(timeout=10_000)
            start_camera(page, "#teach-camera")
            record_clips(page, "hello", 4)
            browser.close()

            browser, page = open_page(p, yes, port)  # a new tab: the folder (a local one) is still there
            open_teach_tab(page)
            page.locator("#teach-signs label", has_text="hello · 4 clips").first.wait_for(timeout=10_000)
            start_camera(page, "#teach-camera")
            record_clips(page, "yes", 4)
            page.locator("#teach-train").click()
            page.wait_for_function(
                "() => document.querySelector('#teach-train-status').innerText.includes('active in the Live tab')",
                timeout=120_000,
            )
            result = page.locator("#teach-train-status").inner_text()
            page.screenshot(path=str(artefacts / "browser-teach-trained.png"), full_page=True)
            browser.close()

            browser, page = open_page(p, both, port)
            page.locator("#live-model input").first.click()
            page.get_by_role("option", name=result.split("Model ")[1].split(" ")[0].strip("`")).click()
            # the switch loads the model (and exports it to ONNX): start the camera once it is in use, as a visitor
            # reading the page would
            page.wait_for_function("() => document.body.innerText.includes('input: hand landmarks')", timeout=30_000)
            start_camera(page)  # the Live tab's webcam (the tab shown first)
            label_box = page.locator(".output-class").first
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and not {"hello", "yes"} <= set(seen):
                if label_box.count():
                    current = label_box.inner_text().strip()
                    if current and (not seen or seen[-1] != current):
                        seen.append(current)
                time.sleep(0.2)
            page.screenshot(path=str(artefacts / "browser-teach-live.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
    clips = {sign: sorted(p.name for p in (data / sign).iterdir()) for sign in ("hello", "yes")}
    assert all(len(names) == 4 and all(n.endswith(".mp4") for n in names) for names in clips.values()), clips
    assert "Validation accuracy" in result or "Score unknown" in result, result
    assert {"hello", "yes"} <= set(seen), f"labels seen: {seen}"


WEB_ASSETS = ASL_DIR.parent.parent / "web" / "mediapipe-tasks-vision-1.1.0"
needs_web_tracker = pytest.mark.skipif(
    not (ASL_DIR.is_dir() and HAND_MODEL.is_file() and WEB_ASSETS.is_dir()),
    reason="../shared photos, hand model or web tracker absent",
)
ORT_DIST = ROOT / "node_modules" / "onnxruntime-web" / "dist"
needs_ort = pytest.mark.skipif(not ORT_DIST.is_dir(), reason="node_modules/onnxruntime-web missing (run `npm ci`)")


@pytest.fixture(scope="module")
def motion_model(tmp_path_factory):
    """hello (ASL B) and yes (ASL Y), four clips each of real hand photos, trained as the Teach tab trains."""
    from factories import hand_clip

    from signspace.teach.folder import TeachFolder
    from signspace.teach.jobs import Job
    from signspace.teach.session import run_training

    if not (ASL_DIR.is_dir() and HAND_MODEL.is_file()):
        pytest.skip("../shared photos or hand model absent")
    root = tmp_path_factory.mktemp("motion") / "signs"
    folder = TeachFolder(root, hand_model=str(HAND_MODEL))
    for sign, letter in (("hello", "B"), ("yes", "Y")):
        folder.add_sign(sign)
        for n in range(4):
            folder.import_file(sign, hand_clip(root.parent / "src" / f"{sign}{n}.mp4", letter, 6 * n))
    return run_training(folder, Job("k", "me", None), epochs=15, num_proc=1).model_dir


def serve(model, tmp_path, live=None, **options):
    import app

    from signspace.serve.inference import Predictor

    predictor = Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL))
    options = {"teach": False, **options}
    config = app.AppConfig(model=str(model), hand_model=str(HAND_MODEL), data_dir=str(tmp_path), **options)
    demo = app.build_demo(predictor, config, live=live or app.live_step)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return predictor, demo, port


def typed_text(page, words: set[str], seconds: float = 90) -> str:
    """The Live tab's text once it holds every one of ``words`` (or whatever it holds after ``seconds``)."""
    text_box, text = page.locator("#signspace-text textarea"), ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not words <= set(text.split()):
        text = text_box.input_value() if text_box.count() else ""
        time.sleep(0.5)
    return text


@needs_web_tracker
def test_the_browser_tracks_and_the_server_types_the_signs_without_receiving_a_picture(motion_model, tmp_path):
    import app

    server_frames = []
    counted = lambda *a, **k: server_frames.append(1) or app.live_step(*a, **k)  # noqa: E731
    predictor, demo, port = serve(
        motion_model,
        tmp_path,
        live=counted,
        tracking="browser",
        classify="server",
        web_assets=str(WEB_ASSETS),
        threshold=0.3,
    )
    rest = [np.full((240, 320, 3), 90, np.uint8)] * 12  # hands down: the sign ends
    video = write_y4m(tmp_path / "camera.y4m", hand_frames("B", 20) + rest + hand_frames("Y", 20) + rest)
    artefacts = ROOT / "artifacts"
    artefacts.mkdir(exist_ok=True)
    text, feed = "", {}
    try:
        with playwright.sync_playwright() as p:
            browser, page = open_page(p, video, port)  # the webcam starts by itself: no click, no upload
            text = typed_text(page, {"hello", "yes"})
            feed = page.evaluate("({...document.querySelector('[data-frames]')?.dataset})")
            status = page.locator(".ss-status").inner_text()
            page.screenshot(path=str(artefacts / "browser-tracking.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
        predictor.close()
    assert {"hello", "yes"} <= set(text.split()), f"typed {text!r}; page said {status!r}; feed {feed}"
    assert "only hand landmarks are sent" in status and int(feed.get("frames", 0)) > 10
    assert server_frames == [] and not list(predictor._trackers)  # no picture was tracked (or sent) to the server


@needs_web_tracker
@needs_ort
def test_the_page_reads_the_signs_itself_and_tells_the_server_only_the_words(motion_model, tmp_path):
    import app

    server_frames = []
    counted = lambda *a, **k: server_frames.append(1) or app.live_step(*a, **k)  # noqa: E731
    predictor, demo, port = serve(
        motion_model,
        tmp_path,
        live=counted,
        tracking="browser",
        web_assets=str(WEB_ASSETS),
        ort_assets=str(ORT_DIST),
        threshold=0.3,
    )
    rest = [np.full((240, 320, 3), 90, np.uint8)] * 12
    video = write_y4m(tmp_path / "camera.y4m", hand_frames("B", 20) + rest + hand_frames("Y", 20) + rest)
    text, feed, status = "", {}, ""
    try:
        with playwright.sync_playwright() as p:
            browser, page = open_page(p, video, port)
            text = typed_text(page, {"hello", "yes"})
            feed = page.evaluate("({...document.querySelector('[data-frames]')?.dataset})")
            status = page.locator(".ss-status").inner_text()
            browser.close()
    finally:
        demo.close()
        predictor.close()
    assert {"hello", "yes"} <= set(text.split()), f"typed {text!r}; page said {status!r}; feed {feed}"
    assert feed["reading"] == "page" and "only the words you sign are sent" in status, (status, feed)
    # no request per frame: one message per typed sign (the page read every frame itself)
    assert int(feed["frames"]) > 20 and int(feed["messages"]) == len(text.split()), feed
    assert server_frames == [] and float(feed["readerMs"]) >= 0


@needs_web_tracker
@needs_ort
def test_that_was_teaches_the_visitors_own_copy_in_the_page(motion_model, tmp_path):
    """A sign the page read and typed, then "That was … yes" and Learn: the visitor's copy learns it on the server
    (from the sign's frames the page sent with it); the next sign is read there and its answer gives the page the
    visitor's clip, and from then on the page reads with it: the looping clip's B is typed "yes", in the page."""
    predictor, demo, port = serve(
        motion_model,
        tmp_path,
        tracking="browser",
        web_assets=str(WEB_ASSETS),
        ort_assets=str(ORT_DIST),
        threshold=0.3,
        teach=True,
    )
    rest = [np.full((240, 320, 3), 90, np.uint8)] * 12
    video = write_y4m(tmp_path / "camera.y4m", hand_frames("B", 20) + rest)
    text = note = info = ""
    try:
        with playwright.sync_playwright() as p:
            browser, page = open_page(p, video, port)
            text = typed_text(page, {"hello"})
            page.locator("#live-that-was input").click()
            page.get_by_role("option", name="yes").click()
            page.locator("#live-learn").click()
            page.wait_for_function(
                "() => document.querySelector('#live-adapt-note')?.innerText.includes('Learnt')", timeout=30_000
            )
            note = page.locator("#live-adapt-note").inner_text()
            info = page.locator("body").inner_text()
            # the camera's clip loops: the next sign's answer brings the clip, the one after is read with it here
            page.wait_for_function(
                "() => document.querySelector('[data-frames]')?.dataset.memory === '1'", timeout=30_000
            )
            before = page.locator("#signspace-text textarea").input_value()  # what comes after: read with the clip
            after = ""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and after.split().count("yes") < 1:
                after = page.locator("#signspace-text textarea").input_value().removeprefix(before)
                time.sleep(0.5)
            reading = page.evaluate("document.querySelector('[data-frames]').dataset.reading")
            browser.close()
    finally:
        demo.close()
        predictor.close()
    assert "hello" in text, f"typed {text!r}"
    assert "Learnt: that was yes (1 of your clips so far)" in note and "learnt your form from 1 of your clips" in info
    assert "yes" in after.split() and "hello" not in after.split(), after  # the page read B with the clip
    assert reading == "page"  # still in the page: one message per sign, as before the lesson
    assert predictor.memory is None  # the app's own model, everyone else's, is unchanged


@needs_web_tracker
def test_a_page_that_cannot_load_the_tracker_says_so_and_falls_back_to_the_server(motion_model, tmp_path):
    broken = tmp_path / "web"
    shutil.copytree(WEB_ASSETS, broken)
    (broken / "vision_bundle.mjs").chmod(0o644)
    (broken / "vision_bundle.mjs").write_text("throw new Error('this copy is damaged');\n")
    predictor, demo, port = serve(motion_model, tmp_path, tracking="auto", web_assets=str(broken))
    video = write_y4m(tmp_path / "camera.y4m", hand_frames("B", 10))
    try:
        with playwright.sync_playwright() as p:
            browser, page = open_page(p, video, port)
            page.wait_for_function(
                "() => document.querySelector('#signspace-tracking-note')?.innerText.includes('not available')",
                timeout=30_000,
            )
            note = page.locator("#signspace-tracking-note").inner_text()
            page.locator("#signspace-browser-feed").wait_for(state="hidden", timeout=10_000)
            said = page.locator("body").inner_text().count("this copy is damaged")
            start_camera(page)  # the server-tracked webcam is shown instead, and works
            label_box = page.locator(".output-class").first
            label_box.wait_for(timeout=30_000)
            browser.close()
    finally:
        demo.close()
        predictor.close()
    assert "this copy is damaged" in note and "frames go to the server instead" in note
    assert said == 1, "the reason is said once, not again in the page's own (stopped) tracker box"


@needs_web_tracker
def test_on_a_shared_space_teach_records_landmarks_in_the_browser_and_trains_on_them(tmp_path):
    """Record and train on a shared Space: the page tracks the hands, the Space stores landmarks (.npy), no video.
    One visitor session (a shared Space gives every session its own folder), so one camera file: B, then Y."""
    import app
    from factories import make_tiny_vit

    from signspace.serve.inference import Predictor

    base = make_tiny_vit(tmp_path / "base")
    config = app.AppConfig(
        model=str(base), per_visitor=True, web_assets=str(WEB_ASSETS), hand_model=str(HAND_MODEL), threshold=0.3
    )
    predictor = Predictor.from_pretrained(str(base), precision="fp32", unmirror=True)
    visitors = Visitors(config, predictor, str(base), root=tmp_path / "visitors")
    demo = app.build_demo(predictor, config, visitors=visitors)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    video = write_y4m(tmp_path / "camera.y4m", hand_frames("B", 30) + hand_frames("Y", 30))
    try:
        with playwright.sync_playwright() as p:
            browser, page = open_page(p, video, port)
            open_teach_tab(page)
            page.wait_for_function(
                "() => document.querySelector('#teach-browser-feed .ss-status')?.innerText.includes('only hand')",
                timeout=60_000,
            )
            for name in ("hello", "yes"):
                page.locator("#teach-new-sign textarea, #teach-new-sign input").first.fill(name)
                page.locator("#teach-add-sign").click()
                page.locator("#teach-signs label", has_text=f"{name} ·").first.wait_for(timeout=10_000)
            record_clips(page, "hello", 3)
            record_clips(page, "yes", 3)
            stored = page.locator("#teach-stored").inner_text()
            page.locator("#teach-train").click()
            page.wait_for_function(
                "() => document.querySelector('#teach-train-status').innerText.includes('active in the Live')",
                timeout=120_000,
            )
            result = page.locator("#teach-train-status").inner_text()
            [session] = visitors.sessions.values()
            recorded = [p for p in session.folder.root.rglob("*") if p.is_file() and ".signspace" not in p.parts]
            page.locator("#teach-store label", has_text="Landmarks and the video").click()  # to train an image model
            page.wait_for_function(
                "() => document.querySelector('#teach-stored').innerText.includes('each clip as a video')",
                timeout=10_000,
            )
            camera_offered = page.locator("#teach-camera").is_visible()
            browser.close()
    finally:
        demo.close()
        predictor.close()
    assert "landmarks only" in stored and "no video" in stored
    assert len(recorded) == 6 and all(p.suffix == ".npy" for p in recorded), recorded
    assert "Validation accuracy" in result or "Score unknown" in result, result
    assert camera_offered and not session.records_landmarks  # the next clips come from the server webcam, as videos


@needs_web_tracker
def test_an_image_model_trained_on_hand_crops_gets_the_crop_the_server_would_cut_and_never_the_frame(tmp_path):
    """The page tracks, cuts the square around the hand and resizes it to the model's input; the server receives
    that crop (the model's size, the same pixels it would have cut itself, within the camera's and JPEG's loss)."""
    import app
    from factories import make_tiny_vit

    from signspace.core.hands import HandTracker, hand_crop
    from signspace.models.transforms import eval_pixels
    from signspace.serve.inference import Predictor

    model = make_tiny_vit(tmp_path / "model", labels=("B", "Y"))
    predictor = Predictor.from_pretrained(str(model), precision="fp32", hand_crop="on", hand_model=str(HAND_MODEL))
    received, classify = [], predictor.predict_crop
    predictor.predict_crop = lambda crop: received.append(crop) or classify(crop)  # what reached the model
    config = app.AppConfig(
        model=str(model),
        teach=False,
        hand_model=str(HAND_MODEL),
        web_assets=str(WEB_ASSETS),
        data_dir=str(tmp_path),
    )
    demo = app.build_demo(predictor, config)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    # One photo, small (a hand at arm's length: the page must search tiles, as the server does) and off centre (a
    # mirrored crop would miss it), still: every crop the page sends is of the same hand.
    scene = Image.new("RGB", (640, 480), (90, 90, 100))
    scene.paste(Image.open(sorted((ASL_DIR / "B").glob("*.jpg"))[0]).convert("RGB").resize((64, 64)), (380, 250))
    frame = np.asarray(scene)
    video = write_y4m(tmp_path / "camera.y4m", [frame] * 10)
    try:
        with playwright.sync_playwright() as p:
            browser, page = open_page(p, video, port)  # the webcam starts by itself
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len([c for c in received if c is not None]) < 5:
                time.sleep(0.5)
            status = page.locator(".ss-status").inner_text()
            feed = page.evaluate("({...document.querySelector('[data-frames]')?.dataset})")
            browser.close()
    finally:
        demo.close()
        predictor.close()
    crops = [c for c in received if c is not None]
    assert len(crops) >= 5, f"page said {status!r}; feed {feed}"
    assert "the square around your hands" in status and not list(predictor._trackers)  # the server tracked nothing
    assert all(crop.size == (32, 32) for crop in crops)
    with HandTracker(HAND_MODEL) as tracker:
        server_cut = eval_pixels(hand_crop(scene, tracker.detect(frame)), predictor.spec).permute(1, 2, 0).numpy()
    differences = [np.abs(np.asarray(crop, np.float32) - server_cut).mean() for crop in crops]
    background = np.abs(np.asarray((90, 90, 100), np.float32) - server_cut).mean()
    assert max(differences) < background / 2, (differences, background)  # the hand, where the server would cut


def serve_folder(folder: Path):
    """A plain static file server for ``folder`` (what a static Space is), in a thread; returns (server, port)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@needs_web_tracker
@needs_ort
def test_a_static_space_types_in_the_page_the_words_the_server_would(motion_model, tmp_path):
    """The static Space's folder behind a plain file server, the fake camera signing hello then yes: the page alone
    tracks, classifies and types; the landmark stream it saw, replayed through the server's SequenceSession, types
    the same words at the same frames. Its "That was ..." learns in the page (what it learns: test_sign_reader.py)."""
    import static_space

    from signspace.serve.inference import Predictor
    from signspace.serve.pacing import FrameRate

    predictor = Predictor.from_pretrained(str(motion_model), hand_model=str(HAND_MODEL))
    site = tmp_path / "site"
    try:
        sizes = static_space.stage_static(
            site, predictor, "me/page", "Page", "apache-2.0", HAND_MODEL, 0.3, tracker_dir=WEB_ASSETS, ort_dir=ORT_DIST
        )
        server, port = serve_folder(site)
        rest = [np.full((240, 320, 3), 90, np.uint8)] * 12
        video = write_y4m(tmp_path / "camera.y4m", hand_frames("B", 20) + rest + hand_frames("Y", 20) + rest)
        seen, status = {}, ""
        try:
            with playwright.sync_playwright() as p:
                browser, page = open_page(p, video, port, path="/index.html?record")
                try:
                    # both signs: on a loaded machine the page may be ready only after the clip's first B, and the
                    # fake camera loops the clip, so hello comes round again
                    page.wait_for_function(
                        "() => ['hello', 'yes'].every((word) => (window.signspace?.typed || []).some((w) => w.word "
                        "=== word))",
                        timeout=90_000,
                    )
                except playwright.Error:
                    typed = page.evaluate("() => window.signspace?.typed")
                    pytest.fail(f"the page said {page.locator('#status').inner_text()!r}; typed {typed}")
                seen = page.evaluate("() => window.signspace")
                status = page.locator("#status").inner_text()
                text = page.locator("#text").input_value()
                # "That was ...": nothing picked is one line; a pick teaches the page's copy the sign that just ended
                page.locator("#learn").click()
                unpicked = page.locator("#learn-note").inner_text()
                page.locator("#that-was").select_option("yes")
                page.locator("#learn").click()
                page.wait_for_function("() => window.signspace.learnt === 1", timeout=10_000)
                learnt = page.locator("#learn-note").inner_text()
                browser.close()
        finally:
            server.shutdown()
        session = predictor.new_live_session()
        clock = [0.0]
        session.rate = FrameRate(clock=lambda: clock[0])
        typed = []
        for frame in seen["stream"]:
            clock[0] = frame["t"]
            step = session.step_message({"frames": [frame]}, 0.3)
            if step.committed:
                typed.append({"word": step.committed, "t": frame["t"]})
    finally:
        predictor.close()
    assert "Everything runs in your browser" in status, status
    assert [w["word"] for w in seen["typed"]] == [w["word"] for w in typed] and {"hello", "yes"} <= set(text.split())
    assert all(abs(a["t"] - b["t"]) <= 0.081 for a, b in zip(seen["typed"], typed))
    assert seen["firstAnswerMs"] is not None and seen["frames"] > 20
    assert {"index.html", "model.onnx", "signspace.json", "hand_landmarker.task"} <= set(sizes)
    assert unpicked == "Pick which sign it was first."
    assert learnt.startswith("Learnt: that was yes (1 of your clips so far). Only for you, in this page"), learnt


@needs_web_tracker
@needs_ort
def test_a_page_that_cannot_run_the_model_says_why_and_the_server_reads_the_signs(motion_model, tmp_path):
    damaged = tmp_path / "ort"
    damaged.mkdir()
    for name in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"):
        (damaged / name).write_text("throw new Error('this copy is damaged');\n")
    predictor, demo, port = serve(
        motion_model, tmp_path, tracking="browser", web_assets=str(WEB_ASSETS), ort_assets=str(damaged), threshold=0.3
    )
    rest = [np.full((240, 320, 3), 90, np.uint8)] * 12
    video = write_y4m(tmp_path / "camera.y4m", hand_frames("B", 20) + rest)
    text, feed, status = "", {}, ""
    try:
        with playwright.sync_playwright() as p:
            browser, page = open_page(p, video, port)
            text = typed_text(page, {"hello"})
            feed = page.evaluate("({...document.querySelector('[data-frames]')?.dataset})")
            status = page.locator(".ss-status").inner_text()
            browser.close()
    finally:
        demo.close()
        predictor.close()
    assert "hello" in text, f"typed {text!r}; page said {status!r}"
    assert feed["reading"] == "server" and "this copy is damaged" in feed["readingWhy"]
    assert "Your signs are read on the server: ONNX Runtime Web could not be loaded" in status, status
