"""Tracking in the visitor's browser against tracking on the server (issue 16). One JSON line per figure.

    python bench/bench_browser.py cpu          # server CPU per live frame, both ways (motion model)
    python bench/bench_browser.py crowd        # simulated visitors at 12.5 frames/s on this machine, both ways
    python bench/bench_browser.py bytes        # upstream bytes per second per visitor, measured in Chromium
    python bench/bench_browser.py agreement    # the same clips through the browser's and Python's trackers

Needs ../shared (photos, hand model, web tracker) and, for bytes/agreement, Debian's chromium and playwright.
The motion model is trained here as the Teach tab trains (5 letters x 6 clips of real hand photos, seed 42).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
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

WEB_ASSETS = ASL_DIR.parent.parent / "web" / "mediapipe-tasks-vision-1.1.0"
LETTERS = ("B", "L", "Y", "V", "A")
FPS = 12.5


def train_model(work: Path) -> Path:
    from signspace.jobs import Job
    from signspace.teach import run_training
    from signspace.teach_folder import TeachFolder

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
                    "hands": [
                        {"handedness": h.handedness, "score": round(h.score, 3), "points": _rounded(h.landmarks)}
                        for h in hands
                    ],
                }
            )
            if len(batch) == per_message:
                messages.append({"frames": batch})
                batch = []
    return messages


def _rounded(points) -> list[float]:
    return [round(float(v), 4) for v in np.asarray(points).reshape(-1)]


def cpu(work: Path) -> None:
    """Server CPU per live frame: the whole server path of each mode, on one thread."""
    import app
    import browser_feed
    import torch

    from signspace.inference import Predictor

    torch.set_num_threads(2)
    model = train_model(work)
    predictor = Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL))
    frames = [scene(LETTERS[(i // 25) % len(LETTERS)], i) for i in range(200)]
    mirrored = [f[:, ::-1].copy() for f in frames]  # what the browser sends today: the mirrored preview
    session, costs = None, []
    for index, frame in enumerate(mirrored):
        started = time.process_time()
        _, _, session, _, _ = app.live_step(predictor, frame, session, 0.6, None, now=index / FPS)
        costs.append(time.process_time() - started)
    server_ms = float(np.median(costs[20:]) * 1000)
    session.close()
    messages = browser_messages(predictor, frames)
    state, costs = None, []
    for message in messages:
        started = time.process_time()
        _, _, state, _ = browser_feed.browser_step(predictor, message, state, 0.6, None)
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

    from signspace.inference import Predictor

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
                        _, _, state, answer = browser_feed.browser_step(predictor, shifted, state, 0.6, None)
                        if "refused" in answer:
                            errors.append(answer["refused"])
                    else:
                        _, _, state, _, _ = app.live_step(
                            predictor, mirrored[sent % len(mirrored)], state, 0.6, None, now=offset + sent / FPS
                        )
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


def bytes_per_second(work: Path, seconds: float) -> None:
    """Bytes the page sends upstream per second, in each mode, counted in Chromium (request bodies to the app)."""
    import app
    from hub_server import free_port
    from playwright.sync_api import sync_playwright
    from test_browser import hand_frames, open_page, start_camera, write_y4m

    from signspace.inference import Predictor

    model = train_model(work)
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
        "upstream_bytes_per_second_per_visitor",
        browser_rate / 1000,
        "KB/s sent by the page with browser tracking (headless Chromium, fake 320x240 camera)",
        server_rate / 1000,
        "server tracking: the webcam frames Gradio streams, same run",
        higher_is_better=False,
        goal="<= 20 KB/s",
        browser_frames_tracked=stats.get("frames"),
        browser_tracker_ms_last_frame=stats.get("trackerMs"),
    )


PAGE = """<!doctype html><script type="module">
import {FilesetResolver, HandLandmarker} from "./web/vision_bundle.mjs";
const fileset = await FilesetResolver.forVisionTasks("./web/wasm");
window.landmarker = await HandLandmarker.createFromOptions(fileset, {
  baseOptions: {modelAssetPath: "./hand_landmarker.task", delegate: "CPU"}, numHands: 2, runningMode: "VIDEO"});
window.track = async (urls, ms) => {
  const out = [];
  for (let i = 0; i < urls.length; i++) {
    const image = new Image(); image.src = urls[i]; await image.decode();
    const started = performance.now();
    const r = window.landmarker.detectForVideo(image, ms[i]);
    const took = performance.now() - started;
    const sides = r.handedness || r.handednesses || [];
    out.push({took, hands: r.landmarks.map((p, k) => ({handedness: sides[k][0].categoryName,
      score: sides[k][0].score, points: p.flatMap(q => [q.x, q.y, q.z])}))});
  }
  return out;
};
window.ready = true;
</script>"""


def agreement(work: Path) -> None:
    """The same clips through both trackers: per-landmark difference where both found a hand, and the share of clips
    whose predicted sign is the same."""
    import functools
    import http.server

    from PIL import Image
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM

    from signspace.browser import parse_message
    from signspace.inference import Predictor
    from signspace.landmarks import LEFT, RIGHT, track_clip

    model = train_model(work)
    predictor = Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL))
    site = Path(tempfile.mkdtemp())
    shutil.copytree(WEB_ASSETS, site / "web")
    shutil.copy(HAND_MODEL, site / "hand_landmarker.task")
    (site / "index.html").write_text(PAGE)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clips = [(letter, start) for letter in LETTERS for start in (36, 48, 60, 72)]  # photos the model never saw
    same, differences, found_py, found_web, both, took, mismatched_slots = 0, [], 0, 0, 0, [], 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        page.wait_for_function("() => window.ready === true", timeout=60_000)
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
        browser.close()
    server.shutdown()
    predictor.close()
    emit(
        "browser_python_same_predicted_sign",
        100 * same / len(clips),
        f"% of {len(clips)} clips (5 letters, photos the model never saw) whose predicted sign is the same",
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["cpu", "crowd", "bytes", "agreement"])
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "bench-browser"))
    parser.add_argument("--visitors", default="2,4,8,16,30,45")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.what == "cpu":
        cpu(work)
    elif args.what == "crowd":
        crowd(work, [int(n) for n in args.visitors.split(",")], args.seconds)
    elif args.what == "bytes":
        bytes_per_second(work, args.seconds)
    else:
        agreement(work)


if __name__ == "__main__":
    main()
