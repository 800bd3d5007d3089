import io
import time
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from factories import make_tiny_vit, pattern_image

from signspace.core.hub import HubError
from signspace.models.modeling import UnsafeModelError
from signspace.models.transforms import batch_transform, collate, normalize
from signspace.serve.inference import Predictor


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_vit(tmp_path_factory.mktemp("m"), labels=("A", "B", "C"), seed=3)


@pytest.fixture(scope="module")
def fp32(model_dir):
    return Predictor.from_pretrained(str(model_dir), precision="fp32", unmirror=False)


def test_app_preprocessing_equals_training_eval_preprocessing(tmp_path, fp32):
    """The one decode + eval crop: the app sees exactly the tensor the model was evaluated on."""
    photo = pattern_image(11, (300, 200)).convert("CMYK")  # an awkward mode on purpose
    path = tmp_path / "p.jpg"
    photo.save(path)
    stored = datasets.Dataset.from_dict({"image": [str(path)], "label": [0]}).cast_column("image", datasets.Image())
    stored.set_transform(batch_transform(fp32.spec, train=False))
    training_input = normalize(collate([stored[0]])["pixel_values"], fp32.spec).numpy()
    assert np.array_equal(fp32.preprocess(str(path)), training_input)


def test_unmirror_flips_the_webcam_frame_back(model_dir):
    frame = np.asarray(pattern_image(5, (64, 48)))
    unmirroring = Predictor.from_pretrained(str(model_dir), precision="fp32", unmirror=True)
    assert np.array_equal(unmirroring.preprocess(frame), unmirroring.preprocess(frame[:, ::-1].copy(), unmirror=False))
    assert not np.array_equal(unmirroring.preprocess(frame), unmirroring.preprocess(frame, unmirror=False))


def test_int8_paths_agree_with_fp32(model_dir, fp32, tmp_path):
    frames = [np.asarray(pattern_image(i, (320, 240))) for i in range(12)]
    reference = np.stack([fp32.predict(f).probabilities for f in frames])
    for precision in ("int8", "int8-torch", "bf16"):
        fast = Predictor.from_pretrained(
            str(model_dir), precision=precision, unmirror=False, cache_dir=tmp_path / "cache"
        )
        assert fast.precision == precision
        probs = np.stack([fast.predict(f).probabilities for f in frames])
        assert np.abs(probs - reference).max() < 0.05, precision


@pytest.mark.parametrize("precision", ["int8", "int8-torch", "bf16"])
def test_recheck_answers_close_calls_with_fp32_and_leaves_clear_ones(model_dir, fp32, tmp_path, precision):
    frame = np.asarray(pattern_image(4, (320, 240)))
    exact = fp32.predict(frame).probabilities
    every_call_is_close = Predictor.from_pretrained(
        str(model_dir),
        precision=precision,
        unmirror=False,
        recheck_margin=float("inf"),
        cache_dir=tmp_path / "cache",
        recheck_calibration=0,
    )
    fast = every_call_is_close.predict(frame)
    assert fast.precision == precision and not np.allclose(fast.probabilities, exact, rtol=0, atol=1e-7)
    rechecked = every_call_is_close.predict(frame, recheck=True)
    assert rechecked.precision == "fp32" and np.allclose(rechecked.probabilities, exact, rtol=0, atol=1e-7)
    no_call_is_close = Predictor.from_pretrained(
        str(model_dir),
        precision=precision,
        unmirror=False,
        recheck_margin=0.0,
        cache_dir=tmp_path / "cache",
        recheck_calibration=0,
    )
    kept = no_call_is_close.predict(frame, recheck=True)
    assert kept.precision == precision and np.array_equal(kept.probabilities, fast.probabilities)


def test_recheck_margin_is_calibrated_on_the_first_calls(model_dir, fp32, tmp_path):
    """The margin becomes twice the largest logit-gap shift between int8 and fp32 seen while calibrating."""
    frames = [np.asarray(pattern_image(i, (320, 240))) for i in range(3)]
    int8 = Predictor.from_pretrained(
        str(model_dir),
        precision="int8",
        unmirror=False,
        recheck_margin=0.0,
        cache_dir=tmp_path / "cache",
        recheck_calibration=3,
    )
    assert [int8.predict(f, recheck=True).precision for f in frames] == ["fp32"] * 3
    shifts = [np.ptp(np.log(int8.predict(f).probabilities) - np.log(fp32.predict(f).probabilities)) for f in frames]
    assert min(shifts) > 0 and int8.recheck_margin == pytest.approx(2 * max(shifts), rel=1e-4)


def test_int8_onnx_is_built_once_and_cached(model_dir, tmp_path):
    Predictor.from_pretrained(str(model_dir), precision="int8", cache_dir=tmp_path / "cache")
    built = list((tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert len(built) == 1 and not list((tmp_path / "cache" / "onnx").glob(".*"))  # no temp leftovers
    stamp = built[0].stat().st_mtime_ns
    Predictor.from_pretrained(str(model_dir), precision="int8", cache_dir=tmp_path / "cache")
    assert built[0].stat().st_mtime_ns == stamp


def test_labels_come_from_the_model_config(fp32):
    assert fp32.labels == ["A", "B", "C"]
    assert set(fp32.predict(np.zeros((10, 10, 3), np.uint8)).top(2)) <= {"A", "B", "C"}


GREY = (np.arange(1200).reshape(30, 40) % 256).astype(np.uint8)


@pytest.mark.parametrize(
    "frame, same_as",
    [
        (GREY, np.stack([GREY] * 3, axis=-1)),  # grey: the same level in every channel
        (
            np.zeros((30, 40, 4), np.uint8),
            np.full((30, 40, 3), 255, np.uint8),
        ),  # fully transparent: composited on white
        (np.stack([GREY / 255.0] * 3, axis=-1).astype(np.float32), np.stack([GREY] * 3, axis=-1)),  # float in [0, 1]
    ],
    ids=["grey", "alpha", "float"],
)
def test_grey_alpha_and_float_frames_are_handled(fp32, frame, same_as):
    assert np.allclose(fp32.preprocess(frame), fp32.preprocess(same_as), atol=1e-6)
    np.testing.assert_allclose(fp32.predict(frame).probabilities, fp32.predict(same_as).probabilities, atol=1e-6)


def test_missing_local_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model folder .*nope does not exist"):
        Predictor.from_pretrained(str(tmp_path / "nope"))


def test_unreachable_hub_fails_fast_with_local_folder_hint(monkeypatch):
    from hub_server import free_port

    import signspace.core.hub as hub

    monkeypatch.setattr(hub, "hub_endpoint", lambda: f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    start = time.monotonic()
    with pytest.raises(HubError, match=r"cannot reach the Hugging Face Hub .*'someone/not-cached'.*--model ./my-model"):
        Predictor.from_pretrained("someone/not-cached")
    assert time.monotonic() - start < 5


def _repo_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_default_model_loads_its_safetensors_revision_only(fresh_hub, tmp_path, model_dir):
    files = _repo_files(model_dir)
    pickle_only = {k: v for k, v in files.items() if k != "model.safetensors"}
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(1)}, buffer)
    pickle_only["pytorch_model.bin"] = buffer.getvalue()
    fresh_hub.add_repo("RavenOnur/Sign-Language", pickle_only)  # main: pickle weights only, like the real repo
    fresh_hub.add_repo("RavenOnur/Sign-Language", files, branch="refs/pr/1")
    predictor = Predictor.from_pretrained("RavenOnur/Sign-Language", "refs/pr/1", precision="fp32", hand_crop="off")
    assert predictor.labels == ["A", "B", "C"]
    with pytest.raises(UnsafeModelError, match="has no safetensors weights"):
        Predictor.from_pretrained("RavenOnur/Sign-Language", "main", precision="fp32", hand_crop="off")


def test_wrong_model_id_is_a_clear_error(fresh_hub):
    with pytest.raises(HubError, match=r"could not load 'nobody/no-such-model'"):
        Predictor.from_pretrained("nobody/no-such-model", precision="fp32")


# --- hand crops ---------------------------------------------------------------------------------------------

from factories import ASL_DIR, HAND_MODEL  # noqa: E402
from PIL import Image  # noqa: E402

from signspace.core.errors import HandModelError  # noqa: E402
from signspace.serve.inference import wants_hand_crop  # noqa: E402

needs_hands = pytest.mark.skipif(
    not (HAND_MODEL.is_file() and ASL_DIR.is_dir()), reason="../shared hand model or photos absent"
)


def test_hand_crop_mode_follows_the_model_unless_told():
    class Config:
        signspace = {"input": "hand_crop", "crop_margin": 0.25}

    class Plain:
        pass

    assert wants_hand_crop("auto", Config(), "me/model") is True
    assert wants_hand_crop("auto", Plain(), "me/model") is False
    assert wants_hand_crop("auto", Plain(), "RavenOnur/Sign-Language") is True  # close-up photos, not recorded
    assert wants_hand_crop("off", Config(), "me/model") is False
    assert wants_hand_crop("on", Plain(), "me/model") is True
    with pytest.raises(ValueError, match="--hand_crop 'sometimes': use on, off or auto"):
        wants_hand_crop("sometimes", Plain(), "me/model")


def test_a_broken_hand_model_fails_when_the_app_loads_not_on_the_first_frame(model_dir, tmp_path):
    bad = tmp_path / "hand.task"
    bad.write_bytes(b"nope")
    with pytest.raises(HandModelError, match=r"hand\.task is not a MediaPipe task bundle"):
        Predictor.from_pretrained(str(model_dir), precision="fp32", hand_crop="on", hand_model=str(bad))


@needs_hands
def test_the_app_classifies_exactly_the_crop_the_builder_would_store(model_dir):
    from signspace.core.hands import HandTracker, hand_crop
    from signspace.core.imaging import decode_image

    photo = sorted((ASL_DIR / "B").glob("*.jpg"))[0]
    scene = Image.new("RGB", (640, 480), (40, 120, 60))
    scene.paste(Image.open(photo).convert("RGB").resize((240, 240)), (320, 200))
    frame = np.asarray(scene)
    plain = Predictor.from_pretrained(str(model_dir), precision="fp32", hand_crop="off")
    with Predictor.from_pretrained(
        str(model_dir), precision="fp32", hand_crop="on", hand_model=str(HAND_MODEL)
    ) as cropping:
        prediction = cropping.predict(frame, unmirror=False)
    with HandTracker(HAND_MODEL) as tracker:
        expected_crop = hand_crop(decode_image(frame), tracker.detect(frame))  # the builder's code path
    assert expected_crop is not None and prediction.crop.size == expected_crop.size
    np.testing.assert_array_equal(np.asarray(prediction.crop), np.asarray(expected_crop))
    np.testing.assert_allclose(prediction.probabilities, plain.predict(expected_crop).probabilities, atol=1e-6)
    assert len(prediction.hands) == 1 and max(prediction.crop.size) < 300  # the hand, not the 640x480 frame


@needs_hands
def test_a_crop_cut_in_the_browser_at_the_models_size_gets_the_servers_answer(model_dir):
    """What the page sends (browser_input: the crop resized to the eval size and centre-cut) is classified as the
    server classifies the same crop, with nothing left but the normalisation."""
    from signspace.models.transforms import eval_pixels

    photo = sorted((ASL_DIR / "B").glob("*.jpg"))[0]
    scene = Image.new("RGB", (640, 480), (40, 120, 60))
    scene.paste(Image.open(photo).convert("RGB").resize((240, 240)), (320, 200))
    with Predictor.from_pretrained(
        str(model_dir), precision="fp32", hand_crop="on", hand_model=str(HAND_MODEL)
    ) as cropping:
        served = cropping.predict(np.asarray(scene), unmirror=False)
        wants = cropping.browser_input
        assert (wants.send, wants.side, wants.resize, wants.margin) == ("crop", 32, 32, 0.25)
        as_sent = Image.fromarray(eval_pixels(served.crop, cropping.spec).permute(1, 2, 0).numpy())
        from_page = cropping.predict_crop(as_sent)
        assert cropping.predict_crop(None).no_hand
        with pytest.raises(ValueError, match=r"a browser crop must be 32 pixels square, not \(40, 32\)"):
            cropping.predict_crop(as_sent.resize((40, 32)))  # parse_crop refuses these; a direct caller is told
    assert from_page.crop.size == (32, 32) and from_page.hands is None
    np.testing.assert_allclose(from_page.probabilities, served.probabilities, atol=1e-6)
    whole_frame = Predictor.from_pretrained(str(model_dir), precision="fp32", hand_crop="off")
    assert whole_frame.browser_input is None  # it needs the picture itself, which a tracking page does not send


@needs_hands
def test_a_frame_without_a_hand_says_so_instead_of_guessing(model_dir):
    with Predictor.from_pretrained(
        str(model_dir), precision="fp32", hand_crop="on", hand_model=str(HAND_MODEL)
    ) as cropping:
        prediction = cropping.predict(np.full((480, 640, 3), 90, np.uint8))
    assert prediction.no_hand and prediction.top(3) == {} and prediction.best == (None, 0.0)
    session = cropping.new_live_session()
    session.smoother.update(np.array([0.9, 0.05, 0.05]))
    assert session.update(prediction, 0.5, now=1.0) == ({}, None)
    assert not session.smoother.history  # the hand left: the next sign starts fresh


def test_concurrent_one_off_answers_keep_the_calibration_consistent(model_dir, tmp_path):
    import threading

    import torch

    fast = Predictor.from_pretrained(str(model_dir), precision="int8", recheck_margin=0.0, cache_dir=tmp_path / "cache")
    exact = Predictor.from_pretrained(str(model_dir), precision="fp32", unmirror=False)
    threads_before = torch.get_num_threads()
    frames = [np.asarray(pattern_image(seed, (48, 48))) for seed in range(16)]
    answers = {}

    def worker(index):
        answers[index] = fast.predict(frames[index], unmirror=False, recheck=True)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert fast._calibration_left == 0  # 8 calibration calls counted exactly once each, never below zero
    rechecked = [i for i, a in answers.items() if a.precision == "fp32"]
    assert len(rechecked) >= 8
    for i in rechecked:
        np.testing.assert_allclose(answers[i].probabilities, exact.predict(frames[i]).probabilities, atol=1e-6)
    assert torch.get_num_threads() == threads_before


def sequence_answer(model, clip, times) -> np.ndarray:
    """What the PyTorch model itself answers for ``clip``'s window, in eval mode."""
    from signspace.core.landmarks import resample
    from signspace.core.prediction import softmax

    window = np.ascontiguousarray(resample(clip, times, model.config.sequence_length), np.float32)[None]
    with torch.inference_mode():
        return softmax(model.eval()(input_values=torch.from_numpy(window)).logits[0].numpy().astype(np.float64))


def test_a_sequence_predictor_answers_as_its_model_does_in_eval_mode(tmp_path):
    """It runs the model in ONNX Runtime: the same probabilities as the PyTorch model in eval mode, every time."""
    from factories import HAND_MODEL, landmark_clip, make_sequence_model

    if not HAND_MODEL.is_file():
        pytest.skip("../shared hand model absent")
    model = make_sequence_model(tmp_path / "model")
    clip, times = landmark_clip("circle"), np.arange(30) / 25
    with Predictor.from_pretrained(str(tmp_path / "model"), hand_model=str(HAND_MODEL)) as predictor:
        answers = [predictor.predict_landmarks(clip, times).probabilities for _ in range(2)]
        assert not any(module.training for module in predictor.model.modules())
    np.testing.assert_allclose(answers[0], sequence_answer(model, clip, times), atol=1e-5)
    np.testing.assert_array_equal(answers[0], answers[1])


def test_a_sequence_model_the_exporter_cannot_take_runs_in_pytorch_with_the_same_answers(tmp_path, caplog):
    from factories import HAND_MODEL, landmark_clip, make_sequence_model

    from signspace.models.sequence_model import SignSequenceModel
    from signspace.serve.inference import SequencePredictor

    class Unexportable(SignSequenceModel):
        def classify(self, input_values):
            if torch.jit.is_tracing():
                raise RuntimeError("an operator the ONNX exporter does not know")
            return super().classify(input_values)

    if not HAND_MODEL.is_file():
        pytest.skip("../shared hand model absent")
    make_sequence_model(tmp_path / "model")
    model = Unexportable.from_pretrained(tmp_path / "model").eval()
    clip, times = landmark_clip("swipe"), np.arange(30) / 25
    with SequencePredictor(model, hand_model=str(HAND_MODEL)) as predictor:
        answer = predictor.predict_landmarks(clip, times).probabilities
    assert "ONNX Runtime unavailable for the sequence model (an operator the ONNX exporter" in caplog.text
    np.testing.assert_allclose(answer, sequence_answer(model, clip, times), atol=1e-6)


@pytest.fixture
def adaptable(tmp_path):
    """A small sequence predictor, three clips of one person's "circle", what the model answers for the first, and
    a sign it did not answer: what the person says those clips were."""
    from factories import HAND_MODEL, landmark_clip, make_sequence_model

    if not HAND_MODEL.is_file():
        pytest.skip("../shared hand model absent")
    make_sequence_model(tmp_path / "model")
    times = np.arange(30) / 25
    mine = [landmark_clip("circle", seed=seed) for seed in range(3)]
    with Predictor.from_pretrained(str(tmp_path / "model"), hand_model=str(HAND_MODEL)) as predictor:
        before = predictor.predict_landmarks(mine[0], times).probabilities
        wanted = next(label for label in predictor.labels if label != predictor.labels[int(before.argmax())])
        yield predictor, times, mine, before, wanted


def test_an_adapted_copy_learns_a_persons_form_for_them_only(adaptable):
    """``adapt``: a few of one person's clips change that copy's answers; the original (everyone else's) keeps its
    own, and closing the copy leaves the original's trackers open."""
    from factories import landmark_clip

    from signspace.serve.adaptation import AdaptationError

    predictor, times, mine, before, wanted = adaptable
    adapted = predictor.adapt([(clip, times) for clip in mine], [wanted] * 3)
    assert adapted.predict_landmarks(landmark_clip("circle", seed=7), times).best[0] == wanted
    assert len(adapted.memory) == 3 and [c[2] for c in adapted.personal_clips] == [wanted] * 3
    # kept as the model's window (16 frames here), not the whole sign: a visitor's clips stay ~1 MB at the limit
    assert {clip.shape for clip, *_ in adapted.personal_clips} == {(16, 258)}
    long = landmark_clip("circle", frames=400, seed=4)
    assert predictor.adapt([(long, np.arange(400) / 40)], [wanted]).personal_clips[0][0].shape == (16, 258)
    np.testing.assert_array_equal(predictor.predict_landmarks(mine[0], times).probabilities, before)
    assert predictor.memory is None and "learnt your form from 3 of your clips" in adapted.describe()
    again = adapted.adapt([(landmark_clip("swipe"), times)], [predictor.labels[0]])
    assert len(again.memory) == 4 and len(adapted.memory) == 3  # adapting again adds, in a new copy
    with pytest.raises(AdaptationError, match="'waving' is not a sign of this model; pick one of circle"):
        predictor.adapt([(mine[0], times)], ["waving"])
    with pytest.raises(AdaptationError, match="that clip has no hand in it"):
        predictor.adapt([(np.zeros((30, 258), np.float32), times)], [wanted])
    tracker = adapted.new_tracker()
    adapted.close()
    assert tracker.closed and predictor.still_tracker is not None
    assert predictor.predict(np.zeros((64, 64, 3), np.uint8)).no_hand  # the original's upload tracker still works
    assert again.predict(np.zeros((64, 64, 3), np.uint8)).no_hand  # and the copies share it


def test_a_copy_adapted_on_features_gives_the_page_the_same_model_and_the_visitors_clips(adaptable):
    """A Gradio page reads with the visitor's clips too (space/browser_tracker.js): the same export, and the clips'
    features with a digest that changes with every lesson; a refitted layer or a fine-tuned model stays here."""
    predictor, times, mine, _, wanted = adaptable
    assert predictor.page_memory() == {"features": [], "labels": [], "digest": ""}
    one = predictor.adapt([(mine[0], times)], [wanted])
    two = one.adapt([(mine[1], times)], [wanted])
    assert one.page_model() == two.page_model() == predictor.page_model()
    memory = two.page_memory()
    np.testing.assert_array_equal(memory["features"], np.stack(two.memory.features))
    assert memory["labels"] == [predictor.labels.index(wanted)] * 2
    assert len({predictor.page_memory()["digest"], one.page_memory()["digest"], memory["digest"]}) == 3
    assert predictor.adapt([(mine[0], times)], [wanted], method="head").page_model() is None


def test_the_features_adaptation_reads_come_from_the_same_pass_as_the_logits(tmp_path):
    from factories import HAND_MODEL, landmark_clip, make_sequence_model

    if not HAND_MODEL.is_file():
        pytest.skip("../shared hand model absent")
    model = make_sequence_model(tmp_path / "model").eval()
    clip, times = landmark_clip("rise"), np.arange(30) / 25
    with Predictor.from_pretrained(str(tmp_path / "model"), hand_model=str(HAND_MODEL)) as predictor:
        logits, features = predictor._logits_and_features(clip, times)
    from signspace.core.landmarks import resample

    window = np.ascontiguousarray(resample(clip, times, model.config.sequence_length), np.float32)[None]
    with torch.inference_mode():
        expected_logits, expected_features = model.classify(torch.from_numpy(window))
    np.testing.assert_allclose(features, expected_features[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(logits, expected_logits[0].numpy(), atol=1e-5)
    head = model.head_layer
    np.testing.assert_allclose(
        features @ head.weight.detach().numpy().T + head.bias.detach().numpy(), logits, atol=1e-4
    )


def test_a_fine_tuned_copy_learns_from_the_clips_and_leaves_the_original_as_trained(adaptable):
    from factories import landmark_clip

    predictor, times, mine, before, wanted = adaptable
    weights = {name: p.detach().clone() for name, p in predictor.model.named_parameters()}
    tuned = predictor.adapt([(clip, times) for clip in mine], [wanted] * 3, method="finetune")
    assert tuned.model is not predictor.model and tuned.memory is None and tuned.adaptation == "finetune"
    assert tuned.predict_landmarks(landmark_clip("circle", seed=9), times).best[0] == wanted
    assert all(torch.equal(p, weights[name]) for name, p in predictor.model.named_parameters())
    np.testing.assert_array_equal(predictor.predict_landmarks(mine[0], times).probabilities, before)
    again = tuned.adapt([(landmark_clip("swipe"), times)], [predictor.labels[0]])
    assert again.original is predictor.model and len(again.personal_clips) == 4  # from the model as trained
    assert "learnt your form from 4 of your clips" in again.describe()
    tuned.close()
