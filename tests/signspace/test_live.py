import numpy as np
from factories import landmark_clip

from signspace.hands import Hand
from signspace.landmarks import LEFT, RIGHT
from signspace.live import HAND_GONE_SECONDS, REST_SECONDS, LiveSequenceSession, SignSegmenter, hand_speed


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

    def __init__(self, confidence=0.9):
        self.confidence, self.calls = confidence, []

    def predict_landmarks(self, sequence, times, start=None, end=None):
        from signspace.inference import Prediction
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
    session = LiveSequenceSession(window_seconds=1.0)
    session.tracker = Replay(landmark_clip("circle", frames=30, seed=1))
    committed = [session.step(predictor, np.zeros((8, 8, 3), np.uint8), t / 30, 0.6)[1] for t in range(45)]
    assert [w for w in committed if w] == ["circle"] and session.text == "circle"
    assert max(n for n, start, end in predictor.calls if start is None) >= 29  # the whole sign, not the window


def test_an_unconfident_sign_is_not_typed_and_editing_works_on_words():
    session = LiveSequenceSession(window_seconds=1.0)
    session.tracker = Replay(landmark_clip("circle", frames=30, seed=1))
    words = [session.step(FixedPredictor(0.55), np.zeros((8, 8, 3), np.uint8), t / 30, 0.6)[1] for t in range(45)]
    assert not any(words) and session.text == ""
    session.text = "hello thanks"
    session.backspace()
    assert session.text == "hello"
    session.clear()
    assert session.text == ""


def test_a_visitor_who_leaves_mid_sign_frees_their_tracker():
    session = LiveSequenceSession()
    tracker = Replay(landmark_clip("circle", frames=30, seed=1))
    session.tracker = tracker
    for t in range(10):
        session.step(FixedPredictor(), np.zeros((8, 8, 3), np.uint8), t / 30, 0.6)
    session.close()
    assert tracker.closed and session.tracker is None


def test_the_not_a_sign_class_is_never_typed_and_landmark_frames_need_no_tracker():
    class Background(FixedPredictor):
        labels = ["not a sign", "swipe"]  # what display_labels makes of the folder name "not-a-sign"

    clip = landmark_clip("circle", frames=30, seed=1)
    blank = np.zeros(258, np.float32)
    session = LiveSequenceSession(window_seconds=1.0)
    words = [session.step_landmarks(Background(0.95), clip[t] if t < 30 else blank, t / 30, 0.6)[1] for t in range(45)]
    assert not any(words) and session.text == "" and session.tracker is None
    session = LiveSequenceSession(window_seconds=1.0)
    predictor = FixedPredictor(0.05)  # the same sign, classified as the other (real) sign: typed
    words = [session.step_landmarks(predictor, clip[t] if t < 30 else blank, t / 30, 0.6)[1] for t in range(45)]
    assert [w for w in words if w] == ["swipe"]
