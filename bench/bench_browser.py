"""Tracking in the visitor's browser against tracking on the server (issue 16). One JSON line per figure.

    python bench/bench_browser.py cpu          # server CPU per live frame, both ways (motion model)
    python bench/bench_browser.py crowd        # simulated visitors at 12.5 frames/s on this machine, both ways
    python bench/bench_browser.py crowd-http   # the same visitors through Gradio's HTTP routes, against its own floor
    python bench/bench_browser.py bytes        # upstream bytes per second per visitor, measured in Chromium
    python bench/bench_browser.py agreement    # the same clips through the browser's and Python's trackers
    python bench/bench_browser.py crops --crop_model DIR   # an image model on hand crops: cut in the page or here
    python bench/bench_browser.py cpu|bytes --crop_model DIR  # the same figures for that image model

Needs ../shared (photos, hand model, web tracker) and, for bytes/agreement/crops, Debian's chromium and playwright.
The motion model is trained here as the Teach tab trains (5 letters x 6 clips of real hand photos, seed 42). The
hand-crop model is bench_hand_crop.py's (EfficientNet-Lite0 on the ASL photos' hand crops):
``python bench/bench_hand_crop.py --workdir DIR`` leaves it in DIR/model-crop.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "space"), str(ROOT / "space"), str(ROOT / "bench")]

from common import emit  # noqa: E402
from factories import ASL_DIR, HAND_MODEL, hand_clip  # noqa: E402
from handlers import LivePage  # noqa: E402

LIVE = LivePage.named()  # the Live handlers' answers, read by component name

WEB_ASSETS = ASL_DIR.parent.parent / "web" / "mediapipe-tasks-vision-1.1.0"
LETTERS = ("B", "L", "Y", "V", "A")
FPS = 12.5
FRAME_SECONDS = 0.2  # the app's --stream_every: how often an image model's page sends a crop


def train_model(work: Path) -> Path:
    from signspace.teach.folder import TeachFolder
    from signspace.teach.jobs import Job
    from signspace.teach.session import run_training

    done = work / "model.txt"
    if done.is_file() and Path(done.read_text()).is_dir():
        return Path(done.read_text())
    folder = TeachFolder(work / "signs", hand_model=str(HAND_MODEL))
    for letter in LETTERS:
        folder.add_sign(letter.lower())
        for n in range(6):
            folder.import_file(letter.lower(), hand_clip(work / "src" / f"{letter}{n}.mp4", letter, 6 * n))
    model = run_training(folder, Job("bench", "bench", None), num_proc=1).model_dir
    done.write_text(str(model))
    return model


def scene(letter: str, index: int, size=(640, 480)) -> np.ndarray:
    """A webcam-sized frame with a real hand photo in it (a different photo each frame)."""
    from PIL import Image

    photos = sorted((ASL_DIR / letter).glob("*.jpg"))
    canvas = Image.new("RGB", size, (90, 90, 100))
    photo = Image.open(photos[index % len(photos)]).convert("RGB").resize((size[1] // 2, size[1] // 2))
    canvas.paste(photo, (size[0] // 3 + 4 * (index % 8), size[1] // 4))
    return np.asarray(canvas)


def browser_messages(predictor, frames: list[np.ndarray], per_message: int = 4) -> list[dict]:
    """What the page would send for ``frames``: tracked (here by the Python tracker) and written as messages."""
    messages, batch = [], []
    with predictor.new_tracker() as tracker:
        for index, frame in enumerate(frames):
            hands = tracker.track(frame, int(index * 1000 / FPS))
            batch.append(
                {
                    "t": 1000 + index / FPS,
                    "hands": [_hand_record(h) for h in hands],
                }
            )
            if len(batch) == per_message:
                messages.append({"frames": batch})
                batch = []
    return messages


def _hand_record(hand) -> dict:
    """A tracked hand as the page's message writes it (score to 1/1000, coordinates to 1/10,000)."""
    return {"handedness": hand.handedness, "score": round(hand.score, 3), "points": _rounded(hand.landmarks)}


def _rounded(points) -> list[float]:
    return [round(float(v), 4) for v in np.asarray(points).reshape(-1)]


def cpu(work: Path) -> None:
    """Server CPU per live frame: the whole server path of each mode, on one thread."""
    import app
    import browser_feed
    import torch

    from signspace.serve.inference import Predictor

    torch.set_num_threads(2)
    model = train_model(work)
    predictor = Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL))
    frames = [scene(LETTERS[(i // 25) % len(LETTERS)], i) for i in range(200)]
    mirrored = [f[:, ::-1].copy() for f in frames]  # what the browser sends today: the mirrored preview
    session, costs = None, []
    for index, frame in enumerate(mirrored):
        started = time.process_time()
        session = app.live_step(LIVE, predictor, frame, session, 0.6, None, now=index / FPS)["session"]
        costs.append(time.process_time() - started)
    server_ms = float(np.median(costs[20:]) * 1000)
    session.close()
    messages = browser_messages(predictor, frames)
    state, costs = None, []
    for message in messages:
        started = time.process_time()
        state = browser_feed.browser_step(LIVE, predictor, message, state, 0.6, None, FRAME_SECONDS)["session"]
        costs.append((time.process_time() - started) / len(message["frames"]))
    browser_ms = float(np.median(costs[5:]) * 1000)
    predictor.close()
    emit(
        "server_cpu_ms_per_live_frame_motion_model",
        browser_ms,
        "CPU ms per frame on the server with browser tracking (landmark messages of 4 frames), median",
        server_ms,
        "server tracking: decode + VIDEO-mode tracker + window, same run, same frames",
        higher_is_better=False,
        goal="<= 5 ms",
    )


def crowd(work: Path, visitors: list[int], seconds: float) -> None:
    """``n`` visitors, each a thread sending at 12.5 frames/s (landmark messages of 4 frames, or one picture a frame)
    into one app process on this machine; answer time from send to answer, p95 over all answers."""
    import app
    import browser_feed
    import torch

    from signspace.serve.inference import Predictor

    torch.set_num_threads(1)  # the app serves visitors on threads: one each, as Gradio's workers do
    model = train_model(work)
    predictor = Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL))
    frames = [scene(LETTERS[(i // 25) % len(LETTERS)], i) for i in range(100)]
    messages = browser_messages(predictor, frames)
    mirrored = [f[:, ::-1].copy() for f in frames]
    lock = threading.Semaphore(2)  # the app's concurrency limit (2 on a free Space)

    def visitor(mode: str, seed: int, stop: float, times: list, errors: list) -> None:
        state, sent, offset = None, 0, seed * 1e4
        period = 4 / FPS if mode == "browser" else 1 / FPS
        next_at = time.perf_counter() + (seed % 10) * 0.01
        while time.perf_counter() < stop:
            wait = next_at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            started = time.perf_counter()
            try:
                with lock:
                    if mode == "browser":
                        message = messages[sent % len(messages)]
                        shifted = {
                            "frames": [
                                {**f, "t": f["t"] + offset + (sent // len(messages)) * 100} for f in message["frames"]
                            ]
                        }
                        answered = browser_feed.browser_step(LIVE, predictor, shifted, state, 0.6, None, FRAME_SECONDS)
                        state, answer = answered["session"], answered["feed"]
                        if "refused" in answer:
                            errors.append(answer["refused"])
                    else:
                        state = app.live_step(
                            LIVE, predictor, mirrored[sent % len(mirrored)], state, 0.6, None, now=offset + sent / FPS
                        )["session"]
            except Exception as exc:  # noqa: BLE001 (counted, reported)
                errors.append(repr(exc))
            times.append(time.perf_counter() - started)
            sent += 1
            next_at += period
        if state is not None:
            state.close()

    for mode in ("server", "browser"):
        for n in visitors:
            times, errors = [], []
            stop = time.perf_counter() + seconds
            threads = [threading.Thread(target=visitor, args=(mode, i, stop, times, errors)) for i in range(n)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            p95 = float(np.percentile(times, 95) * 1000)
            rate = len(times) * (4 if mode == "browser" else 1) / seconds / n
            print(
                json.dumps(
                    {
                        "mode": mode,
                        "visitors": n,
                        "p95_ms": round(p95, 1),
                        "frames_per_s_each": round(rate, 2),
                        "errors": len(errors),
                    }
                ),
                flush=True,
            )
    predictor.close()


def bytes_per_second(work: Path, seconds: float, crop_model: Path | None = None) -> None:
    """Bytes the page sends upstream per second, in each mode, counted in Chromium (request bodies to the app);
    ``crop_model``: an image model on hand crops instead of the motion model."""
    import app
    from hub_server import free_port
    from playwright.sync_api import sync_playwright
    from test_browser import hand_frames, open_page, start_camera, write_y4m

    from signspace.serve.inference import Predictor

    model = crop_model or train_model(work)
    video = write_y4m(work / "camera.y4m", hand_frames("B", 30) + hand_frames("Y", 30))
    results = {}
    for mode in ("server", "browser"):
        predictor = Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL))
        config = app.AppConfig(
            model=str(model), teach=False, tracking=mode, web_assets=str(WEB_ASSETS), hand_model=str(HAND_MODEL)
        )
        demo = app.build_demo(predictor, config)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        sent = []
        with sync_playwright() as p:
            browser, page = open_page(p, video, port)
            if mode == "server":
                start_camera(page)
            time.sleep(3)  # the tracker or the stream starts
            page.on("request", lambda r, into=sent: into.append(len(r.post_data_buffer or b"")))
            time.sleep(seconds)
            stats = (
                page.evaluate("({...document.querySelector('[data-frames]')?.dataset})") if mode == "browser" else {}
            )
            browser.close()
        demo.close()
        predictor.close()
        results[mode] = (sum(sent) / seconds, stats)
    (browser_rate, stats), (server_rate, _) = results["browser"], results["server"]
    emit(
        "upstream_bytes_per_second_per_visitor" + ("_hand_crop_model" if crop_model else ""),
        browser_rate / 1000,
        "KB/s sent by the page with browser tracking (headless Chromium, fake 320x240 camera)",
        server_rate / 1000,
        "server tracking: the webcam frames Gradio streams, same run",
        higher_is_better=False,
        goal="<= 20 KB/s (landmarks)",
        browser_frames_tracked=stats.get("frames"),
        browser_tracker_ms_last_frame=stats.get("trackerMs"),
    )


@contextlib.contextmanager
def tracker_page():
    """Headless Chromium on the bench page (``page_tracker``), served over HTTP from a temporary folder."""
    import functools
    import http.server

    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM

    site = Path(tempfile.mkdtemp())
    shutil.copytree(WEB_ASSETS, site / "web")
    shutil.copy(HAND_MODEL, site / "hand_landmarker.task")
    (site / "index.html").write_text(page_tracker())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.wait_for_function("() => window.ready === true", timeout=60_000)
            yield page
            browser.close()
    finally:
        server.shutdown()


def agreement(work: Path) -> None:
    """The same clips through both trackers: per-landmark difference where both found a hand, and the share of clips
    whose predicted sign is the same."""

    from PIL import Image

    from signspace.core.landmarks import LEFT, RIGHT, track_clip
    from signspace.serve.browser import parse_message
    from signspace.serve.inference import Predictor

    model = train_model(work)
    predictor = Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL))
    clips = [(letter, start) for letter in LETTERS for start in (36, 48, 60, 72)]  # photos the model never saw
    same, differences, found_py, found_web, both, took, mismatched_slots = 0, [], 0, 0, 0, [], 0
    with tracker_page() as page:
        base_ms = 0
        for letter, start in clips:
            frames = [scene(letter, start + i) for i in range(12)]
            times = [i / FPS for i in range(12)]
            with predictor.new_tracker() as tracker:
                python = track_clip(tracker, frames, times)
            urls = []
            for frame in frames:
                buffer = io.BytesIO()
                Image.fromarray(frame).save(buffer, format="PNG")
                urls.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
            stamps = [base_ms + int(t * 1000) for t in times]
            base_ms = stamps[-1] + 10_000  # a new clip: far later, as after a pause
            result = page.evaluate("([u, m]) => window.track(u, m)", [urls, stamps])
            took += [r["took"] for r in result]
            message = {"frames": [{"t": t + 1, "hands": r["hands"]} for t, r in zip(times, result)]}
            web = np.stack([values for _, values in parse_message(message)])
            for a, b in zip(python, web):
                has_a, has_b = bool(np.abs(a).sum()), bool(np.abs(b).sum())
                found_py += has_a
                found_web += has_b
                if has_a and has_b:
                    both += 1
                    slots_a = [bool(a[slot].any()) for slot in (LEFT, RIGHT)]
                    slots_b = [bool(b[slot].any()) for slot in (LEFT, RIGHT)]
                    mismatched_slots += slots_a != slots_b  # a hand called left by one tracker, right by the other
                    for slot, in_a, in_b in zip((LEFT, RIGHT), slots_a, slots_b):
                        if in_a and in_b:  # x and y as fractions of the frame, z relative: one hand, 21 points
                            differences.append(float(np.abs(a[slot] - b[slot]).mean()))
            same += (
                predictor.predict_landmarks(python, times).best[0] == predictor.predict_landmarks(web, times).best[0]
            )
    predictor.close()
    emit(
        "browser_python_same_predicted_sign",
        100 * same / len(clips),
        f"% of {len(clips)} clips (5 letters; held-out photos of the training source, not new people): same sign",
        95.0,
        "the issue's goal (95 %)",
        higher_is_better=True,
        mean_landmark_difference=round(float(np.mean(differences)), 4) if differences else None,
        frames_with_hand_python=found_py,
        frames_with_hand_browser=found_web,
        frames_both=both,
        frames_hand_in_other_slot=mismatched_slots,
        frames=len(clips) * 12,
        browser_tracker_ms_median=round(float(np.median(took)), 1),
    )


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc), to tell the app's cost from the clients'."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def post_json(reader, writer, path: str, body: bytes) -> dict:
    """One keep-alive HTTP/1.1 POST and its JSON answer, by hand: a few hundred microseconds of the client's CPU,
    so the clients sharing these 2 cores take little from the app they measure (httpx threads took ~half)."""
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    payload = await reader.readexactly(int(headers.get("content-length") or headers.get("Content-Length")))
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {payload[:200]!r}")
    return json.loads(payload)


def crowd_http(work: Path, visitors: list[int], seconds: float) -> None:
    """The crowd through Gradio itself: the app in its own process (``space/app.py``, browser tracking), each
    visitor a keep-alive connection posting landmark messages exactly as the page does (the off-queue route, one
    message in flight, the frames gathered meanwhile: ``_crowd_round``). Baseline, in the same run: the same crowd
    against a Gradio app with the same inputs and outputs whose handler does nothing, i.e. Gradio's own cost."""
    from signspace.serve.inference import Predictor

    model = train_model(work)
    with Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL)) as predictor:
        frames = [scene(LETTERS[(i // 25) % len(LETTERS)], i) for i in range(100)]
        messages = browser_messages(predictor, frames)
    app_command = [str(ROOT / "space" / "app.py"), "--model", str(model), "--hand_model", str(HAND_MODEL)]
    app_command += ["--web_assets", str(WEB_ASSETS), "--no_teach", "--tracking", "browser"]
    floor = {}
    for name, command in (("floor", [__file__, "serve-floor"]), ("app", app_command)):
        with _served(command) as (server, port, fn_index, feed):
            for n in visitors:
                row = _crowd_round(server, port, fn_index, feed, messages, n, seconds)
                if name == "floor":
                    floor[n] = row
                    continue
                emit(
                    "app CPU per landmark frame through Gradio's HTTP",
                    row.pop("cpu_ms_per_frame"),
                    "ms",
                    floor[n]["cpu_ms_per_frame"],
                    "Gradio's own: the same inputs and outputs, a handler that does nothing",
                    higher_is_better=False,
                    **row,
                    floor_p95_ms=floor[n]["p95_ms"],
                )


@contextlib.contextmanager
def _served(command: list[str]):
    """A Gradio app in its own process; yields it with its port and the feed's submit event."""
    import subprocess

    import httpx
    from hub_server import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, *command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                config = httpx.get(f"http://127.0.0.1:{port}/config", timeout=5).json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"{command[0]} did not start") from None
                time.sleep(1)
        feed = next(
            c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "signspace-browser-feed"
        )
        index, event = next(
            (i, d) for i, d in enumerate(config["dependencies"]) if [feed, "submit"] in [list(t) for t in d["targets"]]
        )
        if event.get("queue", True) is not False:
            raise RuntimeError("the feed's event runs through Gradio's queue; this bench posts to the off-queue route")
        yield server, port, event.get("id", index), feed
    finally:
        server.terminate()
        server.wait(30)


def _crowd_round(server, port: int, fn_index: int, feed: int, messages: list[dict], n: int, seconds: float) -> dict:
    """``n`` visitors for ``seconds``, each sending as browser_tracker.js does: a frame every 1/12.5 s joins a
    buffer (the newest 16 kept); every 0.32 s (or as often as the last answer asked), unless the last message is
    unanswered, the buffer goes as one message. A slow server gets fewer, larger messages; no frame is lost."""
    import asyncio
    import uuid

    from signspace.serve.browser import MAX_FRAMES_PER_MESSAGE

    stream = [frame for message in messages for frame in message["frames"]]
    times, sizes, errors, paces = [], [], [], []

    async def visitor(seed: int, start: float, stop: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        session, taken, tick = uuid.uuid4().hex[:10], 0, start + (seed * 0.618 % 1) * 4 / FPS  # spread phases
        every = 4 / FPS  # until an answer says otherwise (pacing.Pacer)
        try:
            while True:
                tick = max(tick, time.perf_counter())
                await asyncio.sleep(tick - time.perf_counter())
                if tick >= stop:
                    break
                made = int((tick - start) * FPS)  # frames the camera has given since the start
                batch = range(max(taken, made - MAX_FRAMES_PER_MESSAGE), made)
                taken = made
                if not batch:
                    tick += every
                    continue
                frames = [
                    {**stream[i % len(stream)], "t": 1000 + seed * 1e4 + i / FPS} for i in batch
                ]  # the page's clock: increasing
                body = {"data": [{"frames": frames}, None, 0.6, None], "event_data": {}, "fn_index": fn_index}
                body |= {"trigger_id": feed, "session_hash": session}
                started = time.perf_counter()
                try:
                    answer = await post_json(reader, writer, "/gradio_api/run/predict", json.dumps(body).encode())
                    page_answer = answer["data"][-1] if isinstance(answer["data"][-1], dict) else {}
                    if page_answer.get("refused"):
                        errors.append(page_answer["refused"])
                    every = page_answer.get("wants", {}).get("every_ms", every * 1000) / 1000
                except (OSError, RuntimeError, ValueError, asyncio.IncompleteReadError) as exc:
                    errors.append(repr(exc))
                answered = time.perf_counter()
                times.append(answered - started)
                sizes.append(len(frames))
                paces.append(every)
                while tick <= answered:  # the page tries every_ms and skips while a message is unanswered
                    tick += every
        finally:
            writer.close()

    async def crowd() -> None:
        start = time.perf_counter()
        await asyncio.gather(*(visitor(i, start, start + seconds) for i in range(n)))

    app_cpu, clients_cpu = process_cpu_seconds(server.pid), time.process_time()
    asyncio.run(crowd())
    app_cpu, clients_cpu = process_cpu_seconds(server.pid) - app_cpu, time.process_time() - clients_cpu
    return {
        "visitors": n,
        "cpu_ms_per_frame": 1000 * app_cpu / max(1, sum(sizes)),
        "app_cpu_ms_per_message": round(1000 * app_cpu / max(1, len(times)), 2),
        "p95_ms": round(float(np.percentile(times, 95) * 1000), 1),
        "median_ms": round(float(np.median(times) * 1000), 1),
        "frames_per_s_each": round(sum(sizes) / seconds / n, 2),
        "frames_per_message": round(float(np.mean(sizes)), 2),
        "asked_every_ms_mean": round(float(np.mean(paces)) * 1000),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "app_cores_busy": round(app_cpu / seconds, 2),
        "clients_cores_busy": round(clients_cpu / seconds, 2),
    }


def serve_floor(port: int) -> None:
    """The crowd's baseline: the Live feed's event with its inputs and outputs, the handler doing nothing."""
    import browser_feed
    import gradio as gr

    with gr.Blocks() as demo:
        feed = browser_feed.browser_feed({"bundle_url": "", "wasm_url": "", "model_url": ""}, mirror=True)
        session, teach, threshold = gr.State(None), gr.State(None), gr.Slider(0, 1, 0.6)
        label, text = gr.Label(), gr.Textbox()
        feed.submit(
            lambda message, state, t, visitor: ({"A": 0.5}, "", state, {"ack": message["frames"][-1]["t"]}),
            inputs=[feed, session, threshold, teach],
            outputs=[label, text, session, feed],
            queue=False,
        )
    demo.launch(server_port=port)


# --- image models trained on hand crops ---------------------------------------------------------------------------


def crop_url(crop, kind: str = "JPEG", quality: int = 92) -> str:
    """A crop as the page sends it: a data URL (the page's JPEG quality is CROP_QUALITY, 0.92)."""
    buffer = io.BytesIO()
    crop.save(buffer, format=kind, **({"quality": quality} if kind == "JPEG" else {}))
    return f"data:image/{kind.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def crop_messages(predictor, frames: list[np.ndarray]) -> list[dict]:
    """What the page sends a hand-crop model every FRAME_SECONDS: the frame's hands and, when there is one, the
    crop at the model's input size (cut here with the server's own code, so the pixels are the server's)."""
    from PIL import Image

    from signspace.core.hands import hand_crop
    from signspace.models.transforms import eval_pixels

    messages = []
    for index, frame in enumerate(frames):
        hands = predictor.still_tracker.detect(frame)
        records = [_hand_record(h) for h in hands]
        message = {"frames": [{"t": index * FRAME_SECONDS, "hands": records}]}
        crop = hand_crop(Image.fromarray(frame), hands, margin=predictor.crop_margin)
        if crop is not None:
            message["crop"] = crop_url(Image.fromarray(eval_pixels(crop, predictor.spec).permute(1, 2, 0).numpy()))
        messages.append(message)
    return messages


def cpu_crops(crop_model: Path) -> None:
    """Server CPU per live frame for an image model on hand crops: the model alone, the whole browser-tracking path
    (a message: checks, base64 and JPEG decode, normalisation, model, smoothing) and the server-tracking path."""
    import app
    import browser_feed
    import torch

    from signspace.serve.inference import Predictor

    torch.set_num_threads(2)
    predictor = Predictor.from_pretrained(str(crop_model), hand_model=str(HAND_MODEL))
    assert predictor.hand_crop, f"{crop_model} does not record hand crops in its config.json"
    frames = [scene(LETTERS[(i // 10) % len(LETTERS)], i) for i in range(60)]
    messages = [m for m in crop_messages(predictor, frames) if "crop" in m]
    run_model, model = predictor._run, []

    def timed_model(pixels):  # the model's own share of each frame, timed inside the same call
        started = _clocks()
        try:
            return run_model(pixels)
        finally:
            model.append(_clocks() - started)

    predictor._run = timed_model
    session, server = None, []
    for index, frame in enumerate(frames):
        model.clear()
        started = _clocks()
        session = app.live_step(LIVE, predictor, frame[:, ::-1].copy(), session, 0.6, None, now=index * 0.2)["session"]
        if model:  # a frame with a hand
            server.append((_clocks() - started, sum(model)))
    session.close()
    page, state = [], None
    for message in messages:
        model.clear()
        started = _clocks()
        answered = browser_feed.browser_step(LIVE, predictor, message, state, 0.6, None, FRAME_SECONDS)
        state, answer = answered["session"], answered["feed"]
        page.append((_clocks() - started, sum(model)))
        assert "ack" in answer, answer
    predictor.close()

    def median_ms(values) -> float:
        return round(float(np.median(values[5:]) * 1000), 2)

    emit(
        "server_cpu_ms_per_live_frame_hand_crop_model_beyond_the_model",
        median_ms([total[0] - own[0] for total, own in page]),
        "CPU ms per crop message beyond the model, on the request's thread (browser tracking), median",
        median_ms([total[1] - own[1] for total, own in server]),
        "server tracking: decode + VIDEO-mode tracker + crop + resize beyond the model, whole process, same frames",
        higher_is_better=False,
        goal="<= 2 ms",
        model_alone_ms=median_ms([own[1] for _, own in page]),
        model_alone_ms_on_the_request_thread=median_ms([own[0] for _, own in page]),
        browser_tracking_total_ms=median_ms([total[1] for total, _ in page]),
        server_tracking_total_ms=median_ms([total[1] for total, _ in server]),
        crop_side=predictor.spec.size,
        crop_bytes_mean=round(float(np.mean([len(m["crop"]) for m in messages]))),
        note="PyTorch's OpenMP threads spin ~5 ms after each pass (5.1 ms of CPU measured): the model's cost, so the "
        "figure counts the request's own thread, where all of the crop path's work runs",
    )


def _clocks() -> np.ndarray:
    """(this thread's, the whole process's) CPU seconds so far."""
    return np.array([time.thread_time(), time.process_time()])


def page_tracker() -> str:
    """The bench page: the Live tab's own tracking and crop code, taken from space/browser_tracker.js (from its
    tracker options to the drawing code: the small-hand search, the crop), so what is measured is what the page does.
    ``track(urls, ms)`` tracks frames as one stream; ``reset()`` starts another; ``cut(url, hands, wants, type)``."""
    from signspace.core.hands import search_settings

    script = (ROOT / "space" / "browser_tracker.js").read_text()
    helpers = script[script.index("// hands.HandTracker's options") : script.index("const BONES")]
    return """<!doctype html><script type="module">
import {FilesetResolver, HandLandmarker} from "./web/vision_bundle.mjs";
const search = SEARCH;
let wants = null;
const cropCanvas = document.createElement("canvas");
let landmarker = null;
let stills = null;
HELPERS
const fileset = await FilesetResolver.forVisionTasks("./web/wasm");
landmarker = await HandLandmarker.createFromOptions(fileset, trackerOptions("./hand_landmarker.task", "VIDEO"));
stills = await HandLandmarker.createFromOptions(fileset, trackerOptions("./hand_landmarker.task", "IMAGE"));
const load = async (url) => { const image = new Image(); image.src = url; await image.decode(); return image; };
window.track = async (urls, ms) => {
  const out = [];
  for (let i = 0; i < urls.length; i++) {
    const image = await load(urls[i]);
    const started = performance.now();
    const hands = trackFrame(image, ms[i]);
    out.push({ took: performance.now() - started, hands });
  }
  return out;
};
window.reset = () => { follow = null; nextTile = 0; };
window.cut = async (url, hands, asked, type) => {
  wants = asked;
  cutCrop(await load(url), hands);
  return cropCanvas.toDataURL(type, asked.quality);
};
window.ready = true;
</script>""".replace("SEARCH", json.dumps(search_settings())).replace("HELPERS", helpers)


def crops(work: Path, crop_model: Path) -> None:
    """One webcam-like scene per test photo of the crop model's dataset (bench_hand_crop.py's grouped split; photos
    from the training photos' source, not unseen people): the server's answer (Python tracker, crop, resize) against
    the page's crop from the same landmarks (JPEG as sent, and lossless PNG: the resampling alone) and the page's
    crop from its own tracker (the whole browser path)."""

    import datasets
    from PIL import Image
    from scenes import hand_region, webcam_scene

    from signspace.core.hands import Hand
    from signspace.models.transforms import eval_pixels
    from signspace.serve.browser import parse_crop
    from signspace.serve.inference import Predictor

    predictor = Predictor.from_pretrained(str(crop_model), precision="fp32", hand_model=str(HAND_MODEL))
    wants = predictor.browser_input.paced(FRAME_SECONDS)
    test = datasets.load_from_disk(str(crop_model.parent / "asl-tracked"))["test"]
    others = [test[(i * 7 + 3) % len(test)]["image"] for i in range(len(test))]
    scenes = [
        webcam_scene(
            row["image"],
            other,
            seed=i,
            region=hand_region(row["image"], None, [Hand.from_record(h) for h in row["hands"]]),
        )
        for i, (row, other) in enumerate(zip(test, others))
    ]
    names = predictor.labels
    counts = {
        k: 0
        for k in (
            "scenes",
            "server_hand",
            "page_hand",
            "same_hands_jpeg",
            "same_hands_png",
            "own_tracker",
            "noise",
            "right_server",
            "right_same_hands_jpeg",
            "right_own_tracker",
        )
    }
    pixel_jpeg, pixel_png, jpeg_bytes, tops = [], [], [], []
    with tracker_page() as page:
        for index, (picture, label) in enumerate(zip(scenes, test["label"])):
            frame = np.asarray(picture)
            truth = names[label]
            served = predictor.predict(frame, unmirror=False)
            url = crop_url(picture, "PNG")
            page.evaluate("() => window.reset()")
            stream = page.evaluate(
                "([u, m]) => window.track(u, m)", [[url] * 8, [index * 10_000 + 80 * k for k in range(8)]]
            )
            page_hands = stream[-1]["hands"]
            counts["scenes"] += 1
            counts["server_hand"] += not served.no_hand
            counts["page_hand"] += bool(page_hands)
            counts["right_server"] += served.best[0] == truth
            tops.append(served.best[1])
            if page_hands:
                sent = page.evaluate(
                    "([u, h, w, t]) => window.cut(u, h, w, t)", [url, page_hands, wants.to_page(), "image/jpeg"]
                )
                own = predictor.predict_crop(parse_crop({"crop": sent}, wants))
            else:
                own = predictor.predict_crop(None)
            counts["own_tracker"] += own.best[0] == served.best[0]
            counts["right_own_tracker"] += own.best[0] == truth
            if served.no_hand:
                continue
            python_hands = [_hand_record(h) for h in served.hands]
            server_pixels = eval_pixels(served.crop, predictor.spec).permute(1, 2, 0).numpy().astype(np.float32)
            # The model's own noise floor: the server's crop with every value moved by -1, 0 or +1 grey level.
            jitter = np.random.RandomState(index).randint(-1, 2, server_pixels.shape)
            nudged = Image.fromarray(np.clip(server_pixels + jitter, 0, 255).astype(np.uint8))
            counts["noise"] += predictor.predict_crop(nudged).best[0] == served.best[0]
            for kind, into, key in (
                ("image/jpeg", pixel_jpeg, "same_hands_jpeg"),
                ("image/png", pixel_png, "same_hands_png"),
            ):
                sent = page.evaluate(
                    "([u, h, w, t]) => window.cut(u, h, w, t)", [url, python_hands, wants.to_page(), kind]
                )
                crop = parse_crop({"crop": sent}, wants)
                into.append(float(np.abs(np.asarray(crop, np.float32) - server_pixels).mean()))
                answer = predictor.predict_crop(crop).best[0]
                counts[key] += answer == served.best[0]
                if kind == "image/jpeg":
                    jpeg_bytes.append(len(sent))
                    counts["right_same_hands_jpeg"] += answer == truth
    predictor.close()
    with_hand = counts["server_hand"]
    emit(
        "browser_crop_same_predicted_sign",
        100 * counts["same_hands_jpeg"] / with_hand,
        f"% of {with_hand} scenes with a hand whose page crop (same landmarks, JPEG as sent) gets the server's answer",
        100 * counts["noise"] / with_hand,
        "the server's own crop moved by +-1 grey level: how often this model keeps its answer (its noise floor)",
        higher_is_better=True,
        median_server_top_probability=round(float(np.median(tops)), 3),
        same_answer_lossless_png_pct=round(100 * counts["same_hands_png"] / with_hand, 1),
        same_answer_own_tracker_pct=round(100 * counts["own_tracker"] / counts["scenes"], 1),
        mean_pixel_difference_jpeg=round(float(np.mean(pixel_jpeg)), 2),
        mean_pixel_difference_png=round(float(np.mean(pixel_png)), 2),
        crop_data_url_bytes_mean=round(float(np.mean(jpeg_bytes))),
        accuracy_server_pct=round(100 * counts["right_server"] / counts["scenes"], 1),
        accuracy_page_same_hands_pct=round(100 * counts["right_same_hands_jpeg"] / counts["scenes"], 1),
        accuracy_page_own_tracker_pct=round(100 * counts["right_own_tracker"] / counts["scenes"], 1),
        **{k: v for k, v in counts.items() if k in ("scenes", "server_hand", "page_hand")},
        who="webcam-like scenes of held-out photos from the training photos' own source: not unseen people",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["cpu", "crowd", "crowd-http", "bytes", "agreement", "crops", "serve-floor"])
    parser.add_argument("--crop_model", default=None, help="an image model trained on hand crops (cpu, bytes, crops)")
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "bench-browser"))
    parser.add_argument("--visitors", default="2,4,8,16,30,45")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--port", type=int, default=7860, help="serve-floor: where crowd-http's baseline app listens")
    args = parser.parse_args()
    if args.what == "serve-floor":
        return serve_floor(args.port)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    crop_model = Path(args.crop_model) if args.crop_model else None
    if args.what == "crops" or (crop_model and args.what == "cpu"):
        if crop_model is None:
            parser.error("crops needs --crop_model DIR (python bench/bench_hand_crop.py --workdir DIR trains one)")
        crops(work, crop_model) if args.what == "crops" else cpu_crops(crop_model)
    elif args.what == "cpu":
        cpu(work)
    elif args.what == "crowd":
        crowd(work, [int(n) for n in args.visitors.split(",")], args.seconds)
    elif args.what == "crowd-http":
        crowd_http(work, [int(n) for n in args.visitors.split(",")], args.seconds)
    elif args.what == "bytes":
        bytes_per_second(work, args.seconds, crop_model)
    else:
        agreement(work)


if __name__ == "__main__":
    main()
