"""The page's copy of the live rules (space/web/sign_reader.mjs, with ONNX Runtime Web) types the words the server's
SequenceSession types: the same landmark streams through both, the same words at the same frames.

Runs the page's modules under Node with the npm packages README's install puts in node_modules; skips, naming the
command, where they are missing."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from factories import KEYPOINTS_DIR, SHIPPED_HAND_MODEL, landmark_clip, make_sequence_model, page_stream

from signspace.serve.inference import Predictor
from signspace.serve.pacing import FrameRate

ROOT = Path(__file__).resolve().parents[3]
NODE = shutil.which("node")
ORT_WEB = ROOT / "node_modules" / "onnxruntime-web" / "dist" / "ort.wasm.min.mjs"
pytestmark = pytest.mark.skipif(
    NODE is None or not ORT_WEB.is_file(), reason="Node.js or node_modules/onnxruntime-web missing (run `npm ci`)"
)
STARTER = ROOT / "space" / "asl-starter"


def play_in_python(predictor, stream, threshold):
    """The server's path: each frame as the page's message, through the visitor's SequenceSession; a {learn: word}
    entry is the Live tab's "That was word" (space/personal.py: the session goes on with the adapted copy)."""
    session = predictor.new_live_session()
    now = [0.0]
    session.rate = FrameRate(clock=lambda: now[0])  # the stream arrives as fast as the page took it, not faster
    typed, signs, last, learnt = [], [], None, 0
    for frame in stream:
        if "learn" in frame:
            if session.last_sign is not None:  # none: the Live tab says "Sign first"
                session.predictor = session.predictor.adapt([session.last_sign], [frame["learn"]])
                session.last_sign, learnt = None, len(session.predictor.personal_clips)
            continue
        now[0] = frame["t"]
        step = session.step_message({"frames": [frame]}, threshold)
        if step.committed:
            typed.append({"word": step.committed, "t": frame["t"]})
        if session.last_sign is not None and session.last_sign is not last:
            last = session.last_sign
            sign, times = last
            label, confidence = session.predictor.predict_landmarks(sign, times).best
            signs.append({"times": [times[0], times[-1]], "word": label, "confidence": confidence})
    return {"typed": typed, "signs": signs, "text": session.text, "learnt": learnt}


def play_in_node(predictor, streams, threshold, tmp_path, guess=True, memory=None):
    session = predictor.new_live_session()
    (tmp_path / "model.onnx").write_bytes(predictor.page_model())
    job = {
        "onnx": str(tmp_path / "model.onnx"),
        "settings": session.page_settings(),
        "threshold": threshold,
        "streams": streams,
        "guess": guess,
        "memory": memory,
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    script = Path(__file__).with_name("play_streams.mjs")
    done = subprocess.run(
        [NODE, str(script), str(tmp_path / "job.json"), str(ROOT)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def assert_same(python, page):
    assert [w["word"] for w in page["typed"]] == [w["word"] for w in python["typed"]]
    for ours, theirs in zip(page["typed"], python["typed"]):
        assert abs(ours["t"] - theirs["t"]) <= 0.081, (ours, theirs)  # the same frame, one frame apart at most
    assert len(page["signs"]) == len(python["signs"])
    for ours, theirs in zip(page["signs"], python["signs"]):
        assert ours["word"] == theirs["word"]
        assert ours["confidence"] == pytest.approx(theirs["confidence"], abs=1e-4)
        assert np.allclose(ours["times"], theirs["times"], atol=0.081)
    assert page["text"] == python["text"]
    assert page["learnt"] == python["learnt"]


def synthetic_streams():
    motions = ("circle", "rise", "swipe")
    clips = [landmark_clip(motions[n % 3], frames=26 + n % 7, seed=n) for n in range(12)]
    return [page_stream(clips[:6]), page_stream(clips[6:], rest_seconds=0.3)]


@pytest.fixture
def served(request):
    """A predictor of a model folder, closed after the test (a hand tracker left to the garbage collector can hang
    the interpreter's exit)."""
    opened = []

    def open_one(folder):
        opened.append(Predictor.from_pretrained(str(folder), hand_model=str(SHIPPED_HAND_MODEL)))
        return opened[-1]

    yield open_one
    for predictor in opened:
        predictor.close()


def test_the_page_types_what_the_server_types_on_synthetic_streams(tmp_path, served):
    make_sequence_model(tmp_path / "model")
    predictor = served(tmp_path / "model")
    streams, threshold = synthetic_streams(), 0.34  # a random model: a low bar, so that it types
    page = play_in_node(predictor, streams, threshold, tmp_path)
    python = [play_in_python(predictor, stream, threshold) for stream in streams]
    assert sum(len(p["typed"]) for p in python) >= 4  # the comparison has words to compare
    for ours, theirs in zip(page["results"], python):
        assert_same(theirs, ours)


def with_learning(clips, teach: dict[int, str], **options) -> list[dict]:
    """``page_stream`` of ``clips`` with the visitor's "That was word" for clip n (``teach``: n -> word) once its sign
    has ended, in the rest before the next clip."""
    stream = page_stream(clips, **options)
    for n in sorted(teach, reverse=True):
        stream.insert(len(page_stream(clips[: n + 1], **options)), {"learn": teach[n]})
    return stream


def test_the_page_learns_a_visitors_form_as_the_server_does(tmp_path, served):
    """The page's "That was ...": its own memory (personal_memory.mjs) and the server's adapted copy learn the same
    signs and then type the same words; the lesson changes what both type."""
    make_sequence_model(tmp_path / "model")
    predictor = served(tmp_path / "model")
    motions = ("circle", "rise", "swipe")
    clips = [landmark_clip(motions[n % 3], frames=26 + n % 7, seed=40 + n) for n in range(9)]
    # the first circle taught as "swipe", the first rise as "circle": later circles and rises read another way
    streams = [with_learning(clips, {0: "swipe", 1: "circle"}), with_learning(clips, {})]
    threshold = 0.34
    page = play_in_node(predictor, streams, threshold, tmp_path)
    python = [play_in_python(predictor, stream, threshold) for stream in streams]
    for ours, theirs in zip(page["results"], python):
        assert_same(theirs, ours)
    taught, plain = python
    assert taught["learnt"] == 2 and plain["learnt"] == 0
    changed = [a["word"] != b["word"] for a, b in zip(taught["signs"][2:], plain["signs"][2:])]
    assert any(changed), (taught["signs"], plain["signs"])  # the lesson counts, in the page as on the server
    later = [s["word"] for s, clip in zip(taught["signs"][2:], range(2, 9)) if clip % 3 == 0]
    assert later and all(word == "swipe" for word in later), later  # the same motion as the taught clip


def test_a_page_given_the_servers_copy_of_the_clips_types_what_the_adapted_server_types(tmp_path, served):
    """A Gradio Space learns "That was ..." on the server and hands the page the clips (page_memory): the page then
    types what the server's adapted copy types."""
    make_sequence_model(tmp_path / "model")
    predictor = served(tmp_path / "model")
    motions = ("circle", "rise", "swipe")
    clips = [landmark_clip(motions[n % 3], frames=26 + n % 7, seed=40 + n) for n in range(9)]
    times = [np.arange(len(c)) / 30 for c in clips[:2]]
    adapted = predictor.adapt(list(zip(clips[:2], times)), ["swipe", "circle"])
    stream, threshold = page_stream(clips[2:]), 0.34
    page = play_in_node(adapted, [stream], threshold, tmp_path, memory=adapted.page_memory())
    python = play_in_python(adapted, stream, threshold)
    assert_same(python, page["results"][0])
    assert python["text"] != play_in_python(predictor, stream, threshold)["text"]  # the clips change the words


def test_the_page_says_in_one_line_what_it_cannot_learn_from(tmp_path, served):
    make_sequence_model(tmp_path / "model")
    settings = served(tmp_path / "model").new_live_session().page_settings()
    module = (ROOT / "space" / "web" / "sign_reader.mjs").as_uri()
    code = (
        f"import {{ SignReader }} from {json.dumps(module)};\n"
        "const classify = async () => ({ logits: [0, 0, 0], features: [1] });"
        "const reader = new SignReader(JSON.parse(process.argv[1]), classify);"
        "const said = [];"
        "for (const word of ['nope', 'rise']) { try { said.push(await reader.learn(word)); }"
        " catch (error) { said.push(error.message); } }"
        "console.log(JSON.stringify([...said, reader.memory.size]));"
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", code, json.dumps(settings)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        '"nope" is not a sign of this model; pick one of circle, rise, swipe',
        "Sign first: when your sign ends, say here which one it was.",
        0,
    ]


def test_the_rules_are_the_servers_numbers_not_the_pages():
    """Every number the page follows comes from the session; sign_reader.mjs holds none of its own."""
    source = (ROOT / "space" / "web" / "sign_reader.mjs").read_text()
    from signspace.serve import live

    for name in ("HAND_GONE_SECONDS", "REST_SECONDS", "MIN_SIGN_SECONDS", "MOVING_SPEED", "RESTING_SPEED"):
        value = getattr(live, name)
        assert f"{value}" not in source.replace("1e-3", ""), (name, value)
        assert f"rules.{name.lower()}" in source or f"r.{name.lower()}" in source, name


@pytest.mark.skipif(not (KEYPOINTS_DIR / "asl-more-people").is_dir(), reason="../shared keypoints absent")
def test_the_starter_types_the_same_words_in_the_page_on_real_signers(tmp_path, served):
    """Real people's clips (asl-more-people, every sign, a few clips each) signed one after another; then again with
    each person's first clip of each sign taught to the page and to the server as "That was I love you"."""
    from signspace.core.landmarks import load_npy

    people = sorted(p for p in (KEYPOINTS_DIR / "asl-more-people").iterdir() if p.is_dir())
    streams, taught = [], []
    for person in people:
        clips = [
            load_npy(path, path.name) for sign in sorted(person.iterdir()) for path in sorted(sign.glob("*.npy"))[:3]
        ]
        streams.append(page_stream(clips))
        taught.append(with_learning(clips, {n: "I love you" for n in range(0, len(clips), 3)}))
    predictor = served(STARTER)
    page = play_in_node(predictor, streams + taught, 0.5, tmp_path, guess=False)
    python = [play_in_python(predictor, stream, 0.5) for stream in streams + taught]
    assert sum(len(p["typed"]) for p in python) >= 20
    for ours, theirs in zip(page["results"], python):
        assert_same(theirs, ours)
    plain, learnt = python[: len(streams)], python[len(streams) :]
    assert sum(r["learnt"] for r in learnt) >= 10 and [r["text"] for r in plain] != [r["text"] for r in learnt]
    assert page["window_ms"] < 50  # a sanity bound, not a speed target (bench/bench_page_reading.py page measures)
