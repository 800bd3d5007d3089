import numpy as np
import pytest
from factories import landmark_clip, make_tiny_vit

from signspace.browser import BrowserInput
from signspace.hands import Hand
from signspace.inference import Predictor
from signspace.landmarks import LEFT, RIGHT
from signspace.live import (
    HAND_GONE_SECONDS,
    REST_SECONDS,
    HandshapeSession,
    SequenceSession,
    SignSegmenter,
    Smoother,
    TextBuilder,
    hand_speed,
)
from signspace.prediction import Prediction


class Replay:
    """A stand-in tracker that returns the hands of recorded landmark frames, then none."""

    def __init__(self, frames):
        self.frames, self.index, self.closed = list(frames), 0, False

    def track(self, frame, timestamp_ms):
        if self.index >= len(self.frames):
            return []
        values = self.frames[self.index]
        self.index += 1
        hands = []
        for slot, side in ((LEFT, "Left"), (RIGHT, "Right")):
            points = values[slot].reshape(21, 3)
            if np.abs(points).sum():
                hands.append(Hand(points, np.zeros((21, 3), np.float32), side, 0.9))
        return hands

    def close(self):
        self.closed = True


class FixedPredictor:
    """Answers 'circle' with the given confidence for any landmarks with a hand."""

    labels = ["circle", "swipe"]
    unmirror, crop_margin = False, 0.25

    def __init__(self, confidence=0.9):
        self.confidence, self.calls = confidence, []

    def decode(self, frame):
        from signspace.imaging import decode_image

        return decode_image(frame)

    def predict_landmarks(self, sequence, times, start=None, end=None):
        from signspace.landmarks import hands_present

        self.calls.append((len(sequence), start, end))
        if not len(sequence) or not hands_present(sequence).any():
            return Prediction(None, self.labels)
        return Prediction(np.array([self.confidence, 1 - self.confidence]), self.labels)


def test_a_sign_ends_when_the_hands_leave():
    segmenter = SignSegmenter()
    ended = [segmenter.update(t / 30, t < 30, 2.0) for t in range(45)]
    found = [e for e in ended if e]
    assert len(found) == 1
    start, end = found[0]
    assert start == 0 and abs(end - 29 / 30) < 1e-9
    assert ended.index(found[0]) / 30 - end >= HAND_GONE_SECONDS - 1e-9


def test_a_sign_ends_when_the_hands_stop_moving_after_moving_but_not_while_still_from_the_start():
    segmenter = SignSegmenter()
    assert not any(segmenter.update(t / 30, True, 0.1) for t in range(60))  # resting hands: no sign yet
    results = [segmenter.update(2 + t / 30, True, 3.0 if t < 20 else 0.1) for t in range(60)]
    found = [r for r in results if r]
    assert len(found) == 1 and found[0][1] - found[0][0] > 0.5
    assert results.index(found[0]) / 30 - 20 / 30 >= REST_SECONDS - 1e-6


def test_a_brief_slow_moment_inside_a_sign_does_not_end_it():
    segmenter = SignSegmenter()
    speeds = [3.0] * 10 + [0.2] * 8 + [1.0] * 3 + [0.2] * 8 + [3.0] * 10  # two 0.27 s pauses, moderate in between
    assert not any(segmenter.update(t / 30, True, v) for t, v in enumerate(speeds))


def test_short_bursts_are_not_signs():
    segmenter = SignSegmenter()
    assert not any(segmenter.update(t / 30, t < 5, 3.0) for t in range(30))


def test_hand_speed_is_in_hand_sizes_per_second_and_unknown_without_both_frames():
    clip = landmark_clip("swipe", frames=30, seed=0)
    speed = hand_speed(clip[10], clip[11], 1 / 30)
    assert 2 < speed < 40
    assert hand_speed(np.zeros(258, np.float32), clip[11], 1 / 30) is None
    assert hand_speed(clip[10], clip[11], 0) is None


def test_the_session_commits_a_word_when_the_sign_ends_and_classifies_the_whole_sign():
    predictor = FixedPredictor()
    session = SequenceSession(predictor, window_seconds=1.0)
    session.tracker = Replay(landmark_clip("circle", frames=30, seed=1))
    committed = [session.step(np.zeros((8, 8, 3), np.uint8), t / 30, 0.6).committed for t in range(45)]
    assert [w for w in committed if w] == ["circle"] and session.text == "circle"
    assert max(n for n, start, end in predictor.calls if start is None) >= 29  # the whole sign, not the window


def test_an_unconfident_sign_is_not_typed_and_editing_works_on_words():
    session = SequenceSession(FixedPredictor(0.55), window_seconds=1.0)
    session.tracker = Replay(landmark_clip("circle", frames=30, seed=1))
    words = [session.step(np.zeros((8, 8, 3), np.uint8), t / 30, 0.6).committed for t in range(45)]
    assert not any(words) and session.text == ""
    session.text = "hello thanks"
    session.backspace()
    assert session.text == "hello"
    session.clear()
    assert session.text == ""


def test_a_visitor_who_leaves_mid_sign_frees_their_tracker():
    session = SequenceSession(FixedPredictor())
    tracker = Replay(landmark_clip("circle", frames=30, seed=1))
    session.tracker = tracker
    for t in range(10):
        session.step(np.zeros((8, 8, 3), np.uint8), t / 30, 0.6)
    session.close()
    assert tracker.closed and session.tracker is None


def test_the_not_a_sign_class_is_never_typed_and_landmark_frames_need_no_tracker():
    class Background(FixedPredictor):
        labels = ["not a sign", "swipe"]  # what display_labels makes of the folder name "not-a-sign"

    clip = landmark_clip("circle", frames=30, seed=1)
    blank = np.zeros(258, np.float32)
    session = SequenceSession(Background(0.95), window_seconds=1.0)
    words = [session.step_landmarks(clip[t] if t < 30 else blank, t / 30, 0.6)[1] for t in range(45)]
    assert not any(words) and session.text == "" and session.tracker is None
    session = SequenceSession(FixedPredictor(0.05), window_seconds=1.0)  # classified as the other (real) sign: typed
    words = [session.step_landmarks(clip[t] if t < 30 else blank, t / 30, 0.6)[1] for t in range(45)]
    assert [w for w in words if w] == ["swipe"]


# --- image models: handshapes held steadily are typed ----------------------------------------------------------


class Labels:
    """The part of a predictor a session's pure logic reads."""

    def __init__(self, labels):
        self.labels = labels


@pytest.fixture(scope="module")
def image_predictor(tmp_path_factory):
    folder = make_tiny_vit(tmp_path_factory.mktemp("m"), labels=("A", "B", "C"), seed=3)
    return Predictor.from_pretrained(str(folder), precision="fp32", unmirror=False)


def test_smoother_ignores_one_noisy_frame():
    smoother = Smoother(window=5)
    steady, noise = np.array([0.8, 0.1, 0.1]), np.array([0.0, 1.0, 0.0])
    for _ in range(4):
        smoother.update(steady)
    assert np.argmax(smoother.update(noise)) == 0


def test_text_builder_commits_a_held_sign_once():
    builder = TextBuilder(hold_seconds=1.0)
    for t in np.arange(0, 5, 0.2):  # a five-second hold
        builder.update("A", t)
    assert builder.text == "A"
    builder.update(None, 5.0)  # hand down
    for t in np.arange(5.2, 6.6, 0.2):
        builder.update("A", t)
    assert builder.text == "AA"
    builder.update("B", 7.0)
    builder.update("B", 7.5)  # not held long enough
    assert builder.text == "AA"
    builder.space()
    builder.backspace()
    builder.backspace()
    assert builder.text == "A"
    builder.clear()
    assert builder.text == ""


def test_live_session_needs_confidence_to_type():
    session = HandshapeSession(Labels(["A", "B", "C"]))
    unsure = Prediction(np.array([0.4, 0.35, 0.25]), ["A", "B", "C"])
    for t in np.arange(0, 3, 0.2):
        session.update(unsure, threshold=0.6, now=t)
    assert session.builder.text == ""
    sure = Prediction(np.array([0.9, 0.05, 0.05]), ["A", "B", "C"])
    for t in np.arange(3, 6, 0.2):
        top, _ = session.update(sure, threshold=0.6, now=t)
    assert session.builder.text == "A" and next(iter(top)) == "A"


@pytest.mark.parametrize(
    "frame",
    [
        None,
        np.zeros((5,), np.uint8),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((8, 8, 3), complex),
        np.zeros((0, 0, 3), np.uint8),
    ],
    ids=["none", "1d", "2ch", "complex", "empty"],
)
def test_bad_frames_give_neutral_output_and_the_session_continues(image_predictor, frame):
    session = image_predictor.new_live_session()
    step = session.step(frame, 0.0, 0.5)
    assert step.top == {} and step.text == "" and not step.no_hand
    assert len(session.step(np.zeros((20, 20, 3), np.uint8), 0.1, 0.5).top) == 3  # still serving


def test_edits_act_on_the_text_and_unknown_ones_are_refused(image_predictor):
    session = image_predictor.new_live_session()
    session.builder.text = "AB"
    assert session.edit("backspace") == "A" and session.edit("space") == "A " and session.edit("clear") == ""
    with pytest.raises(ValueError, match="unknown edit 'undo'"):
        session.edit("undo")


# --- frames tracked in the visitor's browser ---------------------------------------------------------------------


def browser_message(clip, start, count, offset=0.0):
    from signspace.landmarks import RIGHT

    frames = []
    for index in range(start, start + count):
        points = clip[index][RIGHT] if index < len(clip) else None
        hands = (
            []
            if points is None or not points.any()
            else [{"handedness": "Right", "score": 0.9, "points": points.tolist()}]
        )
        frames.append({"t": offset + index / 12.5, "hands": hands})
    return {"frames": frames}


def test_browser_messages_type_the_same_word_as_the_same_frames_tracked_on_the_server():
    from signspace.browser import LandmarkMessageError

    clip = landmark_clip("circle", frames=30, seed=1)
    by_frame = SequenceSession(FixedPredictor(), window_seconds=1.0)
    words = [
        by_frame.step_landmarks(clip[t] if t < 30 else np.zeros(258, np.float32), t / 12.5, 0.6)[1] for t in range(45)
    ]
    by_message = SequenceSession(FixedPredictor(), window_seconds=1.0)
    steps = [by_message.step_message(browser_message(clip, start, 5), 0.6) for start in range(0, 45, 5)]
    assert [w for w in words if w] == ["circle"] and by_message.text == by_frame.text == "circle"
    assert [s.committed for s in steps if s.committed] == ["circle"]
    before = (len(by_message.frames), by_message.text)
    with pytest.raises(LandmarkMessageError, match="does not come after"):
        by_message.step_message(browser_message(clip, 0, 2), 0.6)  # replayed: refused, nothing changes
    assert (len(by_message.frames), by_message.text) == before


class CropPredictor:
    """An image model trained on hand crops: answers 'B' for a dark crop, 'A' for a light one; keeps what it saw."""

    labels = ["A", "B"]
    browser_input = BrowserInput("crop", side=16, resize=16, margin=0.25)

    def __init__(self):
        self.crops = []

    def predict_crop(self, crop):
        self.crops.append(crop)
        if crop is None:
            return Prediction(None, self.labels)
        dark = np.asarray(crop).mean() < 128
        return Prediction(np.array([0.1, 0.9] if dark else [0.9, 0.1]), self.labels)


def crop_message(when, shade=None):
    """One frame at ``when`` seconds; with ``shade``, a hand and a 16-pixel crop of that grey."""
    import base64
    import io

    from PIL import Image

    if shade is None:
        return {"frames": [{"t": when, "hands": []}]}
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (shade,) * 3).save(buffer, format="PNG")
    hands = [{"handedness": "Right", "score": 0.9, "points": [0.5] * 63}]
    crop = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"frames": [{"t": when, "hands": hands}], "crop": crop}


def test_crops_from_the_browser_are_what_an_image_model_sees_and_a_held_sign_is_typed():
    from signspace.browser import LandmarkMessageError

    predictor = CropPredictor()
    session = HandshapeSession(predictor, hold_seconds=1.0)
    steps = [session.step_message(crop_message(t * 0.2, shade=30), 0.6) for t in range(7)]  # 1.2 s of "B"
    assert [s.committed for s in steps if s.committed] == ["B"] and session.text == "B"
    assert all(crop.size == (16, 16) for crop in predictor.crops) and steps[-1].crop.size == (16, 16)
    gone = session.step_message(crop_message(1.6), 0.6)  # the hand left: no crop, "no hand", smoothing restarts
    assert gone.no_hand and predictor.crops[-1] is None and not session.smoother.history
    before = (session.last_time, len(predictor.crops), session.text)
    with pytest.raises(LandmarkMessageError, match="the crop is not a readable PNG image"):
        session.step_message({**crop_message(2.0, 30), "crop": "data:image/png;base64,AAAA"}, 0.6)
    with pytest.raises(LandmarkMessageError, match="does not come after"):
        session.step_message(crop_message(1.0, 30), 0.6)  # replayed
    assert (session.last_time, len(predictor.crops), session.text) == before  # refused: nothing changed
