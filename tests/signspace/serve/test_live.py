import itertools

import numpy as np
import pytest
from factories import FakePredictor, landmark_clip, make_tiny_vit

from signspace.core.hands import Hand
from signspace.core.landmarks import LEFT, RIGHT
from signspace.core.prediction import Prediction
from signspace.serve.browser import LandmarkMessageError
from signspace.serve.inference import Predictor
from signspace.serve.live import (
    HAND_GONE_SECONDS,
    MAX_TEXT,
    REST_SECONDS,
    HandshapeSession,
    LiveRoster,
    SequenceSession,
    SignSegmenter,
    Smoother,
    TextBuilder,
    hand_speed,
)
from signspace.serve.pacing import FrameRate


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


def fixed(confidence=0.9, labels=("circle", "swipe")):
    """Answers the first sign with ``confidence`` for any landmarks with a hand (the shared fake)."""
    return FakePredictor("motion", labels=labels, confidence=confidence)


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
    predictor = fixed()
    session = SequenceSession(predictor, window_seconds=1.0)
    session.tracker = Replay(landmark_clip("circle", frames=30, seed=1))
    committed = [session.step(np.zeros((8, 8, 3), np.uint8), t / 30, 0.6).committed for t in range(45)]
    assert [w for w in committed if w] == ["circle"] and session.text == "circle"
    assert max(n for n, start, end in predictor.calls if start is None) >= 29  # the whole sign, not the window


def test_an_unconfident_sign_is_not_typed_and_editing_works_on_words():
    session = SequenceSession(fixed(0.55), window_seconds=1.0)
    session.tracker = Replay(landmark_clip("circle", frames=30, seed=1))
    words = [session.step(np.zeros((8, 8, 3), np.uint8), t / 30, 0.6).committed for t in range(45)]
    assert not any(words) and session.text == ""
    session.text = "hello thanks"
    session.backspace()
    assert session.text == "hello"
    session.clear()
    assert session.text == ""


def test_a_visitor_who_leaves_mid_sign_frees_their_tracker():
    session = SequenceSession(fixed())
    tracker = Replay(landmark_clip("circle", frames=30, seed=1))
    session.tracker = tracker
    for t in range(10):
        session.step(np.zeros((8, 8, 3), np.uint8), t / 30, 0.6)
    session.close()
    assert tracker.closed and session.tracker is None


def test_the_not_a_sign_class_is_never_typed_and_landmark_frames_need_no_tracker():
    clip = landmark_clip("circle", frames=30, seed=1)
    blank = np.zeros(258, np.float32)
    background = fixed(0.95, labels=("not a sign", "swipe"))  # display_labels' word for "not-a-sign"
    session = SequenceSession(background, window_seconds=1.0)
    words = [session.step_landmarks(clip[t] if t < 30 else blank, t / 30, 0.6)[1] for t in range(45)]
    assert not any(words) and session.text == "" and session.tracker is None
    session = SequenceSession(fixed(0.05), window_seconds=1.0)  # classified as the other (real) sign: typed
    words = [session.step_landmarks(clip[t] if t < 30 else blank, t / 30, 0.6)[1] for t in range(45)]
    assert [w for w in words if w] == ["swipe"]


# --- image models: handshapes held steadily are typed ----------------------------------------------------------


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
    session = HandshapeSession(FakePredictor("frames", labels=("A", "B", "C")))
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
    from signspace.core.landmarks import RIGHT

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


def unhurried(session):
    """A session whose server clock moves a second per message: the frame rate by the server's clock never binds (the
    tests send a page's minutes of messages at once)."""
    session.rate = FrameRate(clock=itertools.count().__next__)
    return session


def test_browser_messages_type_the_same_word_as_the_same_frames_tracked_on_the_server():
    clip = landmark_clip("circle", frames=30, seed=1)
    by_frame = SequenceSession(fixed(), window_seconds=1.0)
    words = [
        by_frame.step_landmarks(clip[t] if t < 30 else np.zeros(258, np.float32), t / 12.5, 0.6)[1] for t in range(45)
    ]
    by_message = unhurried(SequenceSession(fixed(), window_seconds=1.0))
    steps = [by_message.step_message(browser_message(clip, start, 5), 0.6) for start in range(0, 45, 5)]
    assert [w for w in words if w] == ["circle"] and by_message.text == by_frame.text == "circle"
    assert [s.committed for s in steps if s.committed] == ["circle"]
    before = (len(by_message.frames), by_message.text)
    with pytest.raises(LandmarkMessageError, match="does not come after"):
        by_message.step_message(browser_message(clip, 0, 2), 0.6)  # replayed: refused, nothing changes
    assert (len(by_message.frames), by_message.text) == before


def crop_model():
    """An image model trained on hand crops: answers 'B' for a dark crop, 'A' for a light one (the shared fake)."""

    def answer(crop):
        return [0.1, 0.9] if np.asarray(crop).mean() < 128 else [0.9, 0.1]

    return FakePredictor("crops", labels=("A", "B"), answer=answer)


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
    from signspace.serve.browser import LandmarkMessageError

    predictor = crop_model()
    session = HandshapeSession(predictor, hold_seconds=1.0)
    steps = [session.step_message(crop_message(t * 0.2, shade=30), 0.6) for t in range(7)]  # 1.2 s of "B"
    assert [s.committed for s in steps if s.committed] == ["B"] and session.text == "B"
    assert all(crop.size == (16, 16) for crop in predictor.calls) and steps[-1].crop.size == (16, 16)
    gone = session.step_message(crop_message(1.6), 0.6)  # the hand left: no crop, "no hand", smoothing restarts
    assert gone.no_hand and predictor.calls[-1] is None and not session.smoother.history
    before = (session.last_time, len(predictor.calls), session.text)
    with pytest.raises(LandmarkMessageError, match="the crop is not a readable PNG image"):
        session.step_message({**crop_message(2.0, 30), "crop": "data:image/png;base64,AAAA"}, 0.6)
    with pytest.raises(LandmarkMessageError, match="does not come after"):
        session.step_message(crop_message(1.0, 30), 0.6)  # replayed
    assert (session.last_time, len(predictor.calls), session.text) == before  # refused: nothing changed


def test_a_sign_ended_by_a_gap_longer_than_the_window_is_still_typed():
    """A tab in the background mid-sign for over 10 s: the sign's frames were dropped before its end was classified
    (np.stack of nothing: HTTP 500, the word lost, the page stalled)."""
    clip = landmark_clip("circle", frames=30, seed=1)
    session = unhurried(SequenceSession(fixed(), window_seconds=1.0))
    for start in range(0, 14, 2):  # frames with a hand at t = 0.1 .. 1.2
        message = browser_message(clip, start, 2)
        for frame in message["frames"]:
            frame["t"] += 0.1
        session.step_message(message, 0.6)
    step = session.step_message({"frames": [{"t": 12.3, "hands": []}]}, 0.6)
    assert step.committed == "circle" and session.text == "circle"
    assert [t for t, _ in session.frames] == [12.3]  # what the sign needed is dropped once it was classified


def test_a_session_keeps_a_bounded_window_and_text_whatever_times_the_page_claims():
    session = SequenceSession(fixed(), window_seconds=1.0)
    clip = landmark_clip("circle", frames=30, seed=1)
    for index in range(3000):  # frames 1 ms apart (a clock that crawls): 10 s of them would be 10,000
        session.step_landmarks(clip[index % 30], index / 1000, 0.6, guess=False)
    assert len(session.frames) == session.frames.maxlen == 400  # 10 s at 40 frames a second: ~0.5 MB
    session.text = "word " * 1000
    assert len(session.text) == MAX_TEXT and session.text.endswith("word ")
    builder = TextBuilder(hold_seconds=0.0)
    builder.text = "x" * MAX_TEXT
    builder.update("hello", 0.0)
    assert builder.update("hello", 1.0) == "hello" and len(builder.text) == MAX_TEXT


class Wall:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def filled_session(frames=50):
    session = SequenceSession(fixed(), window_seconds=1.0)
    clip = landmark_clip("circle", frames=30, seed=1)
    for t in range(frames):
        session.step_landmarks(clip[t % 30], t / 30, 0.6)
    return session


def test_quiet_sessions_have_their_window_freed_and_the_app_serves_a_bounded_number_at_once():
    wall = Wall()
    roster = LiveRoster(max_sessions=2, quiet_seconds=30.0, clock=wall)
    first, second, third = filled_session(), filled_session(), filled_session()
    first.text = "kept"
    roster.admit(first)
    roster.admit(second)
    with pytest.raises(LandmarkMessageError, match="2 visitors are live here, the most this app serves at once"):
        roster.admit(third)  # a raw POST can invent any session id: each would hold its window for an hour
    assert len(third.frames) == 50  # refused: the roster holds nothing of it
    wall.now = 20.0
    roster.admit(second)  # still live
    wall.now = 31.0
    roster.admit(third)  # the first went quiet: its window is freed and its place taken
    assert len(first.frames) == 0 and first.text == "kept" and len(second.frames) == 50
    assert roster.active() == 2


def test_a_session_busy_with_a_message_is_never_freed_under_it():
    wall = Wall()
    roster = LiveRoster(quiet_seconds=30.0, clock=wall)
    busy = filled_session()
    roster.admit(busy)
    wall.now = 60.0
    with busy.lock:  # another visitor's request sweeps while this one is being served
        assert roster.active() == 1
    assert len(busy.frames) == 50
    assert roster.active() == 0 and len(busy.frames) == 0


def test_the_roster_keeps_no_session_alive():
    import gc

    roster = LiveRoster(max_sessions=1, clock=Wall())
    roster.admit(filled_session(5))  # nobody holds it: gone with its visitor
    gc.collect()
    second = filled_session(5)
    roster.admit(second)  # the first one's place is free
    assert roster.active() == 1


def page_sign(word="a", confidence=0.9, frames=4, start=1.0):
    """A sign the visitor's page read itself (sign_reader.mjs), as it tells the server."""
    clip = landmark_clip("circle", frames=frames, seed=3)
    stream = [
        {"t": start + i * 0.08, "hands": [{"handedness": "Right", "score": 0.9, "points": clip[i][RIGHT].tolist()}]}
        for i in range(frames)
    ]
    return {"word": word, "confidence": confidence, "frames": stream}


def test_a_sign_the_page_read_is_typed_and_kept_for_that_was():
    session = FakePredictor("motion").new_live_session()
    step = session.step_sign(page_sign("a", 0.8), threshold=0.6)
    assert (step.text, step.committed, step.top) == ("a", "a", {"a": 0.8})
    frames, times = session.last_sign
    assert frames.shape == (4, 258) and times.tolist() == pytest.approx([1.0, 1.08, 1.16, 1.24])
    session._sign_at = -1e9  # (the next sign, later by this server's clock)
    step = session.step_sign({"word": None, "confidence": 0.4}, threshold=0.6)  # read, not typed: no frames sent
    assert step.text == "a" and step.committed is None and session.last_sign[0].shape == (4, 258)


@pytest.mark.parametrize(
    ("sign", "message"),
    [
        ({"word": "zebra", "confidence": 0.9}, "'zebra' is not a sign of this model"),
        ({"word": "not a sign", "confidence": 0.9}, "'not a sign' is not a sign of this model"),
        ({"word": "a", "confidence": 7}, "a sign's confidence must be a number between 0 and 1"),
        ({"word": "a", "confidence": "high"}, "a sign's confidence must be a number between 0 and 1"),
        ("a", "'sign' must be an object with word, confidence and frames"),
        ({**page_sign(), "frames": page_sign(frames=2)["frames"] * 2}, "frame 2: time 1.0 does not come after 1.08"),
    ],
)
def test_a_malformed_sign_from_the_page_is_refused_and_changes_nothing(sign, message):
    session = FakePredictor("motion", labels=("a", "b", "not a sign")).new_live_session()
    with pytest.raises(LandmarkMessageError, match=message):
        session.step_sign(sign, threshold=0.6)
    assert session.text == "" and session.last_sign is None


def test_a_sign_with_more_frames_than_a_session_keeps_is_refused():
    session = FakePredictor("motion").new_live_session()
    too_many = session.frames.maxlen + 1
    with pytest.raises(LandmarkMessageError, match=f"holds {too_many} frames; send at most {too_many - 1}"):
        session.step_sign(page_sign(frames=too_many), threshold=0.6)


def test_signs_faster_than_a_sign_can_be_made_are_refused():
    session = FakePredictor("motion").new_live_session()
    session.step_sign({"word": "a", "confidence": 0.9}, threshold=0.6)
    with pytest.raises(LandmarkMessageError, match="signs arrive faster than one per 0.3 s"):
        session.step_sign({"word": "b", "confidence": 0.9}, threshold=0.6)
    assert session.text == "a"


@pytest.mark.parametrize(("confidence", "typed"), [(0.9, "b"), (0.5, "")])
def test_where_the_pages_model_is_not_the_visitors_the_server_reads_the_frames(confidence, typed):
    """The visitor taught their copy here: the page's word is not theirs, the frames are read by their model."""
    predictor = FakePredictor("motion", answer=lambda window: [1 - confidence, confidence])
    session = predictor.new_live_session()
    step = session.step_sign(page_sign("a", 0.99), threshold=0.6, read_here=True)
    assert session.text == typed and step.committed == (typed or None)
    with pytest.raises(LandmarkMessageError, match="non-empty 'frames' list"):
        session._sign_at = -1e9
        session.step_sign({"word": "a", "confidence": 0.9}, threshold=0.6, read_here=True)


def test_an_image_models_session_takes_no_signs_from_the_page():
    session = FakePredictor("crops").new_live_session()
    with pytest.raises(LandmarkMessageError, match="this model reads every frame here"):
        session.step_sign({"word": "a", "confidence": 0.9}, threshold=0.6)


def test_page_settings_are_the_sessions_own_numbers():
    session = FakePredictor("motion", labels=("a", "not a sign")).new_live_session()
    settings = session.page_settings()
    assert settings["labels"] == ["a", "not a sign"] and settings["window_seconds"] == session.window_seconds
    assert (
        settings["rules"]["max_frames"] == session.frames.maxlen
        and settings["rules"]["background_word"] == "not a sign"
    )
    assert settings["rules"]["keep_seconds"] == session.keep_seconds and settings["sequence_length"] == 16
