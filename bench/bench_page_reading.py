"""The whole live loop in the visitor's page (issue 27). One JSON line per figure.

    python bench/bench_page_reading.py requests   # requests per frame per visitor: the page reads signs vs the server
    python bench/bench_page_reading.py page       # the static page in Chromium: tracker and classifier ms per frame,
                                                  # a window's ms, the first answer after the camera starts
    python bench/bench_page_reading.py bundle     # the static Space's bytes without the CDN's files (the starter)
    python bench/bench_page_reading.py words      # the words the page types against the server's, on real people
    python bench/bench_page_reading.py crops      # hand-crop image models: the export's size and a crop's ms in
                                                  # ONNX Runtime Web against the server's ONNX Runtime, same file
    python bench/bench_page_reading.py learn      # "That was ..." learnt in the page: the words it types after
                                                  # learning against the server's adapted copy, and what the
                                                  # memory adds to a window

Needs ../shared (photos, hand model, web tracker, keypoints), Debian's chromium with playwright, Node.js and
`npm ci`'s node_modules. ``requests`` and ``page`` use bench_browser.py's motion model (5 letters x 6 clips of real
hand photos, trained as the Teach tab trains) and a fake 320x240 camera signing B then Y, hands down between;
``page`` and ``bundle`` also load the ASL starter shipped in space/asl-starter (the model a visitor meets).
``crops`` needs ../shared/models/efficientnet-lite0-in1k (the ViT is built with random weights: size and speed only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / d) for d in (".", "tests", "tests/space", "tests/space/web", "space", "bench")]

from bench_browser import HAND_MODEL, WEB_ASSETS, train_model  # noqa: E402
from common import emit  # noqa: E402

ORT_DIST = ROOT / "node_modules" / "onnxruntime-web" / "dist"
STARTER = ROOT / "space" / "asl-starter"


def camera(work: Path) -> Path:
    from test_browser import hand_frames, write_y4m

    rest = [np.full((240, 320, 3), 90, np.uint8)] * 12
    return write_y4m(work / "camera.y4m", hand_frames("B", 20) + rest + hand_frames("Y", 20) + rest)


def requests(work: Path, seconds: float) -> None:
    """The Gradio app with the page tracking: requests the page makes per frame it tracks, reading the signs itself
    (``--classify auto``) against sending landmarks for the server to read (``--classify server``), same run."""
    import app
    from hub_server import free_port
    from playwright.sync_api import sync_playwright
    from test_browser import open_page

    from signspace.serve.inference import Predictor

    model, video, results = train_model(work), camera(work), {}
    for classify in ("auto", "server"):
        predictor = Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL))
        config = app.AppConfig(
            model=str(model),
            teach=False,
            tracking="browser",
            classify=classify,
            web_assets=str(WEB_ASSETS),
            ort_assets=str(ORT_DIST),
            hand_model=str(HAND_MODEL),
            threshold=0.3,
        )
        demo = app.build_demo(predictor, config)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        posts = []
        with sync_playwright() as p:
            browser, page = open_page(p, video, port)
            page.wait_for_function("() => Number(document.querySelector('[data-frames]')?.dataset.frames) > 0")
            before = page.evaluate("Number(document.querySelector('[data-frames]').dataset.frames)")
            page.on("request", lambda r, into=posts: r.method == "POST" and into.append(r.url))
            time.sleep(seconds)
            stats = page.evaluate("({...document.querySelector('[data-frames]').dataset})")
            text = page.locator("#signspace-text textarea").input_value()
            browser.close()
        demo.close()
        predictor.close()
        frames = int(stats["frames"]) - before
        results[classify] = {"per_frame": len(posts) / frames, "per_second": len(posts) / seconds, "frames": frames}
        results[classify].update(reading=stats.get("reading"), words=len(text.split()), window_ms=stats.get("windowMs"))
    page_reads, server_reads = results["auto"], results["server"]
    emit(
        "requests_per_frame_per_visitor_page_reading",
        page_reads["per_frame"],
        "requests per tracked frame with the page reading the signs (headless Chromium, Gradio app, one visitor)",
        server_reads["per_frame"],
        "the page tracking, the server reading (landmark messages), same run",
        higher_is_better=False,
        goal="0 requests per frame (one per typed sign)",
        page=page_reads,
        server=server_reads,
        seconds=seconds,
    )


def static_site(work: Path, model: Path) -> tuple[Path, dict]:
    import static_space

    from signspace.serve.inference import Predictor

    predictor = Predictor.from_pretrained(str(model), hand_model=str(HAND_MODEL))
    site = Path(tempfile.mkdtemp(dir=work))
    sizes = static_space.stage_static(
        site, predictor, "bench/page", "Bench", "apache-2.0", HAND_MODEL, 0.3, tracker_dir=WEB_ASSETS, ort_dir=ORT_DIST
    )
    predictor.close()
    return site, sizes


def page(work: Path, seconds: float) -> None:
    """The static page in headless Chromium (``--disable-gpu``: WebAssembly on this VM's CPU), per kept frame: the
    tracker's ms and the reader's (a running guess, the sign boundaries and, when a sign ends, its reading), for the
    starter and for the Teach-trained letters model; against the Gradio page's tracker alone (the server reads)."""
    from playwright.sync_api import sync_playwright
    from test_browser import open_page, serve_folder

    video = camera(work)
    for name, model in (("starter", STARTER), ("letters", train_model(work))):
        site, _ = static_site(work, model)
        server, port = serve_folder(site)
        with sync_playwright() as p:
            browser, tab = open_page(p, video, port, path="/index.html")
            tab.wait_for_function("() => window.signspace?.frames > 0", timeout=60_000)
            time.sleep(seconds)
            seen = tab.evaluate("() => window.signspace")
            browser.close()
        server.shutdown()
        tracker, reader = statistics.median(seen["trackerMs"]), statistics.median(seen["readerMs"])
        emit(
            f"page_reader_ms_per_frame_{name}",
            reader,
            "ms per kept frame in the page: running guess, sign boundaries, a sign's reading (median)",
            tracker,
            "the page's hand tracker on the same frames (what the page spent before this issue)",
            higher_is_better=False,
            goal="classifier <= 2 ms a window",
            window_ms=seen["windowMs"],
            reader_p95_ms=float(np.percentile(seen["readerMs"], 95)),
            tracker_plus_reader_ms=tracker + reader,
            frames_per_second=seen["frames"] / (seconds + seen["firstAnswerMs"] / 1000),
            first_answer_ms=seen["firstAnswerMs"],
            typed=[w["word"] for w in seen["typed"]],
        )


def bundle(work: Path) -> None:
    _, sizes = static_site(work, STARTER)
    shipped = sum(size for name, size in sizes.items() if not name.startswith(("tasks-vision/", "onnxruntime-web/")))
    everything = sum(sizes.values())
    emit(
        "static_space_megabytes_without_cdn_files",
        shipped / 2**20,
        "MB a static Space of the ASL starter serves, the tracker and ONNX Runtime Web from the CDN",
        everything / 2**20,
        "the same Space shipping both (--bundle_tracker, --bundle_ort)",
        higher_is_better=False,
        goal="<= 15 MB",
        files={name: size for name, size in sizes.items() if "/" not in name},
    )


def person_clips(person: Path, per_sign: int = 10) -> list[tuple[str, np.ndarray]]:
    """(sign folder, frames x 258) for a person's first ``per_sign`` clips of each sign, in either layout the shared
    keypoints use: one .npy per clip (asl-more-people) or a folder of one .npy per frame (asl-multi-signer)."""
    from signspace.core.landmarks import load_npy, load_npy_frames
    from signspace.data.scan import clip_files

    found = []
    for sign in sorted(s for s in person.iterdir() if s.is_dir()):
        for clip in sorted(c for c in sign.iterdir() if c.is_dir() or c.suffix == ".npy")[:per_sign]:
            name = f"{person.name}/{sign.name}/{clip.name}"
            frames = load_npy_frames(clip_files(clip, {".npy"}), name) if clip.is_dir() else load_npy(clip, name)
            found.append((sign.name, frames))
    return found


def people() -> list[Path]:
    """The people of asl-more-people and asl-multi-signer (who signed more than one clip per sign)."""
    from factories import KEYPOINTS_DIR

    return [
        p for group in ("asl-more-people", "asl-multi-signer") for p in sorted((KEYPOINTS_DIR / group).iterdir())
        if p.is_dir()
    ]  # fmt: skip


def page_against_server(predictor, streams: list, work: Path) -> tuple[float, int, dict, list]:
    """The streams through the page's modules (Node, ONNX Runtime Web) and the server's SequenceSession, threshold
    0.5: (% of the server's typed words the page types too, same word and frame; 0 if the counts differ), the
    server's word count, and each side's results."""
    from test_sign_reader import play_in_node, play_in_python

    node = play_in_node(predictor, streams, 0.5, Path(tempfile.mkdtemp(dir=work)), guess=False)
    python = [play_in_python(predictor, stream, 0.5) for stream in streams]
    pairs = [(a, b) for ours, theirs in zip(node["results"], python) for a, b in zip(ours["typed"], theirs["typed"])]
    same = sum(a["word"] == b["word"] and abs(a["t"] - b["t"]) <= 0.081 for a, b in pairs)
    counts = [(len(o["typed"]), len(t["typed"])) for o, t in zip(node["results"], python)]
    total = sum(t for _, t in counts)
    return (100 * same / max(1, total) if all(o == t for o, t in counts) else 0.0), total, node, python


def words(work: Path) -> None:
    """Every person of asl-more-people and asl-multi-signer, every clip signed one after another: the words the
    page's modules (Node, ONNX Runtime Web) type against the server's SequenceSession, the starter serving."""
    from factories import page_stream

    from signspace.serve.inference import Predictor

    streams = [page_stream([clip for _, clip in person_clips(person)]) for person in people()]
    predictor = Predictor.from_pretrained(str(STARTER), hand_model=str(HAND_MODEL))
    started = time.perf_counter()
    agreed, total, node, _ = page_against_server(predictor, streams, work)
    predictor.close()
    emit(
        "page_words_as_the_server_types_them",
        agreed,
        "% of the server's typed words the page types too, same word, same frame (+-1)",
        100.0,
        "the server's own SequenceSession on the same streams",
        higher_is_better=True,
        goal="100 % (exact)",
        streams=len(streams),
        frames=sum(len(s) for s in streams),
        words=total,
        node_window_ms=node["window_ms"],
        seconds=time.perf_counter() - started,
    )


def learn(work: Path) -> None:
    """Every person of asl-more-people and asl-multi-signer teaches the page and the server the first of their clips
    of each sign ("That was <the sign>"), then signs the other nine: the words the page types with what it learnt
    against the server's adapted copy (the starter serving); and the memory's ms per window with 30 clips in it
    (the most a visitor keeps), against the window itself, both in Node."""
    from test_sign_reader import with_learning

    from signspace.serve.inference import Predictor

    words_of = {"hello": "hello", "thanks": "thank you", "iloveyou": "I love you"}
    streams = []
    for person in people():
        signs, clips = zip(*person_clips(person))
        firsts = {n: words_of.get(sign, "not a sign") for n, sign in enumerate(signs) if n == signs.index(sign)}
        streams.append(with_learning(list(clips), firsts))
    predictor = Predictor.from_pretrained(str(STARTER), hand_model=str(HAND_MODEL))
    started = time.perf_counter()
    agreed, total, _, python = page_against_server(predictor, streams, work)
    emit(
        "page_words_after_learning_as_the_server_types_them",
        agreed,
        "% of the adapted server's typed words the page types too after learning the same clips, same word and frame",
        100.0,
        "the server's SequenceSession with its adapted copy (SequencePredictor.adapt) on the same streams",
        higher_is_better=True,
        goal="100 % (exact)",
        streams=len(streams),
        clips_learnt=sum(r["learnt"] for r in python),
        words=total,
        seconds=time.perf_counter() - started,
    )
    script, model = work / "time_memory.mjs", work / "starter.onnx"
    script.write_text(TIME_MEMORY)
    model.write_bytes(predictor.page_model())
    settings = predictor.new_live_session().page_settings()
    predictor.close()
    length = str(settings["sequence_length"])
    done = subprocess.run(
        ["node", str(script), str(ROOT), json.dumps(settings["personal"]), str(model), length],
        capture_output=True,
        text=True,
        check=True,
    )
    memory_ms, window_ms = json.loads(done.stdout)
    emit(
        "page_memory_ms_per_window",
        memory_ms,
        f"ms the visitor's memory adds to a window's answer, {settings['personal']['max_examples']} clips of the "
        "starter's features in it (Node; median of 2000 after 2000)",
        window_ms,
        "the window itself through the starter in ONNX Runtime Web (Node; median of 50 after 100)",
        higher_is_better=False,
    )


# personal_memory.mjs's cost per window, full (max_examples clips of the model's features; values: any), and the
# window itself through page_model.mjs, warmed up: [memory ms, window ms], medians.
TIME_MEMORY = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [root, settings, model, length] = process.argv.slice(2);
const from = (path) => import(pathToFileURL(`${root}/${path}`).href);
const { PersonalMemory } = await from("space/web/personal_memory.mjs");
const { loadClassifier, windowMilliseconds } = await from("space/web/page_model.mjs");
const ort = await from("node_modules/onnxruntime-web/dist/ort.wasm.min.mjs");
const classify = await loadClassifier(ort, new Uint8Array(readFileSync(model)), Number(length));
const windowMs = await windowMilliseconds(classify, Number(length), 258, 50, 100);
const size = (await classify(new Float32Array(Number(length) * 258))).features.length;
const memory = new PersonalMemory(JSON.parse(settings));
const features = (n) => Array.from({ length: size }, (_, i) => Math.sin(n * 131 + i));
for (let n = 0; n < memory.settings.max_examples; n++) memory.add(features(n), n % 4);
const took = [];
for (let i = 0; i < 4000; i++) {
  const window = features(i % 7 === 0 ? i % memory.settings.max_examples : 1000 + i);  // near a clip, or not
  const started = performance.now();
  memory.logits(window, [0.1, 0.2, 0.3, 0.4]);
  if (i >= 2000) took.push(performance.now() - started);
}
took.sort((a, b) => a - b);
process.stdout.write(JSON.stringify([took[took.length >> 1], windowMs]));
"""


# One model file through ONNX Runtime Web under Node, as page_model.mjs configures it (WebAssembly, one thread).
TIME_IN_NODE = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [model, root, shape, warmUp, count] = process.argv.slice(2);
const ort = await import(pathToFileURL(`${root}/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs`).href);
ort.env.wasm.numThreads = 1;
const bytes = new Uint8Array(readFileSync(model));
const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
const dims = JSON.parse(shape);
const values = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i));
const feed = { [session.inputNames[0]]: new ort.Tensor("float32", values, dims) };
const took = [];
for (let i = 0; i < Number(warmUp) + Number(count); i++) {
  const started = performance.now();
  await session.run(feed);
  if (i >= Number(warmUp)) took.push(performance.now() - started);
}
process.stdout.write(JSON.stringify(took));
"""


def image_exports(work: Path) -> list[tuple[str, str, Path]]:
    """The ONNX file the app would serve for each image model: ViT-B/16 (finetune's default family) in int8 (what
    ``--precision auto`` runs for it), EfficientNet-Lite0 (a small timm backbone) in fp32 (what auto keeps for conv
    nets) and in int8."""
    import torch
    from transformers import AutoModelForImageClassification, ViTConfig, ViTForImageClassification

    from signspace.models.transforms import InputSpec
    from signspace.serve.onnx_runner import OnnxInt8Runner, onnx_bytes

    spec = InputSpec(224, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    vit = ViTForImageClassification(ViTConfig(num_labels=24)).eval()
    lite = AutoModelForImageClassification.from_pretrained(
        str(ROOT.parent / "shared" / "models" / "efficientnet-lite0-in1k"), num_labels=24, ignore_mismatched_sizes=True
    ).eval()
    lite_fp32 = work / "efficientnet-lite0-fp32.onnx"
    lite_fp32.write_bytes(onnx_bytes(lite, torch.zeros(1, 3, 224, 224), "pixel_values"))
    return [
        ("vit-base-16", "int8", OnnxInt8Runner._build(vit, spec, work)),
        ("efficientnet-lite0", "fp32", lite_fp32),
        ("efficientnet-lite0", "int8", OnnxInt8Runner._build(lite, spec, work)),
    ]


def crops(work: Path, count: int = 20, warm_up: int = 5) -> None:
    """Should a hand-crop image model classify in the page too? Per model: its export's size against the page's
    limit, and one 224x224 crop's ms in ONNX Runtime Web (Node, WebAssembly, one thread) against the server's ONNX
    Runtime (one thread) on the same file, same run."""
    import onnxruntime as ort

    from signspace.serve.browser import PAGE_MODEL_MAX_BYTES

    script = work / "time_in_node.mjs"
    script.write_text(TIME_IN_NODE)
    shape = [1, 3, 224, 224]
    values = np.sin(np.arange(np.prod(shape), dtype=np.float32)).reshape(shape)
    for name, precision, path in image_exports(work):
        done = subprocess.run(
            ["node", str(script), str(path), str(ROOT), json.dumps(shape), str(warm_up), str(count)],
            capture_output=True,
            text=True,
            check=True,
        )
        page_ms = statistics.median(json.loads(done.stdout))
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: values}
        took = []
        for i in range(warm_up + count):
            started = time.perf_counter()
            session.run(None, feed)
            if i >= warm_up:
                took.append(1000 * (time.perf_counter() - started))
        size = path.stat().st_size
        emit(
            f"page_crop_ms_{name}_{precision}",
            page_ms,
            "ms for one 224x224 hand crop in ONNX Runtime Web (Node, WebAssembly SIMD, one thread; median)",
            statistics.median(took),
            "the server's ONNX Runtime on the same file (one thread; median)",
            higher_is_better=False,
            megabytes=size / 2**20,
            within_page_limit=size <= PAGE_MODEL_MAX_BYTES,
            page_limit_megabytes=PAGE_MODEL_MAX_BYTES / 2**20,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["requests", "page", "bundle", "words", "crops", "learn"])
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "bench-browser"))
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    {
        "requests": lambda: requests(work, args.seconds),
        "page": lambda: page(work, args.seconds),
        "bundle": lambda: bundle(work),
        "words": lambda: words(work),
        "crops": lambda: crops(work),
        "learn": lambda: learn(work),
    }[args.what]()


if __name__ == "__main__":
    main()
