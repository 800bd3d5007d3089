"""The answer type every predictor returns (signspace/core/prediction.py)."""

import numpy as np
import pytest

from signspace.core.prediction import Prediction, softmax


def test_top_and_best_read_the_probabilities_and_no_hand_answers_nothing():
    answer = Prediction(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"])
    assert answer.top(2) == {"b": 0.7, "c": 0.2} and answer.best == ("b", 0.7) and not answer.no_hand
    nothing = Prediction(None, ["a", "b", "c"])
    assert nothing.no_hand and nothing.top() == {} and nothing.best == (None, 0.0)


def test_softmax_is_stable_for_large_logits():
    probabilities = softmax(np.array([1000.0, 1000.0, -1000.0]))
    assert probabilities == pytest.approx([0.5, 0.5, 0.0]) and np.isfinite(probabilities).all()


def test_a_sign_and_its_variant_are_one_word_with_their_probabilities_summed():
    """build_dataset.py --variants: a second class for another form, typed as the same word."""
    answer = Prediction(np.array([0.3, 0.35, 0.35]), ["thanks", "hello", "thanks"])
    assert answer.best == ("thanks", pytest.approx(0.65))
    assert answer.top(2) == {"thanks": pytest.approx(0.65), "hello": pytest.approx(0.35)}
