"""Personal adaptation's arithmetic on a model's features (signspace/serve/adaptation.py); through a real predictor in
test_inference.py, through the page in tests/space/test_personal.py."""

import numpy as np
import pytest

from signspace.serve.adaptation import MAX_EXAMPLES, AdaptationError, PersonalMemory, fit_head

# A model whose last layer reads 4 features: sign 0 is feature 0, sign 1 feature 1, sign 2 feature 2.
WEIGHT = np.array([[4.0, 0, 0, 0], [0, 4.0, 0, 0], [0, 0, 4.0, 0]])
BIAS = np.zeros(3)
EVERYONE = {0: np.array([1.0, 0, 0, 0]), 1: np.array([0, 1.0, 0, 0]), 2: np.array([0, 0, 1.0, 0])}
# This visitor's form of sign 1 lands between everyone's sign 0 and an unused direction: the model says 0.
MINE = np.array([0.7, 0.0, 0.0, 0.7])


def jitter(vector, seed):
    return vector + np.random.default_rng(seed).normal(0, 0.03, vector.shape)


def logits(features):
    return features @ WEIGHT.T + BIAS


@pytest.mark.parametrize("method", ["head", "nearest"])
def test_a_visitors_form_is_learnt_from_three_clips_and_everyone_elses_forms_keep_their_answers(method):
    memory = PersonalMemory(WEIGHT, BIAS, method)
    assert logits(MINE).argmax() == 0  # wrong before
    for seed in range(3):
        memory.add(jitter(MINE, seed), 1)
    for seed in range(10, 20):
        mine = jitter(MINE, seed)
        assert memory.logits(mine, logits(mine)).argmax() == 1
        for sign, form in EVERYONE.items():  # the signs as everyone else makes them: unchanged answers
            theirs = jitter(form, seed)
            assert memory.logits(theirs, logits(theirs)).argmax() == sign


def test_without_clips_the_model_answers_as_trained():
    memory = PersonalMemory(WEIGHT, BIAS)
    assert np.array_equal(memory.logits(MINE, logits(MINE)), logits(MINE))


def test_the_refitted_head_keeps_the_models_bias_and_moves_towards_the_visitors_form():
    weight, bias = fit_head(WEIGHT, BIAS, np.stack([jitter(MINE, s) for s in range(3)]), np.array([1, 1, 1]))
    assert np.array_equal(bias, BIAS)  # a moved bias shifts every answer, everyone else's forms too
    assert abs(weight[2, 2] - WEIGHT[2, 2]) < 0.05  # what sign 2 reads is kept
    assert (weight[1] - WEIGHT[1])[3] > 0.5  # sign 1 now reads the visitor's direction too


def test_memory_is_bounded_and_methods_are_checked():
    memory = PersonalMemory(WEIGHT, BIAS, "nearest")
    for index in range(MAX_EXAMPLES + 5):
        memory.add(EVERYONE[index % 3], index % 3)
    assert len(memory) == MAX_EXAMPLES and memory.labels[0] == 5 % 3  # the oldest went first
    with pytest.raises(AdaptationError, match="adaptation method 'magic' is unknown; use one of head, nearest"):
        PersonalMemory(WEIGHT, BIAS, "magic")


@pytest.mark.parametrize("method", ["head", "nearest"])
def test_a_clip_added_after_the_memory_has_answered_counts_from_the_next_window(method):
    """What a memory works out once for every window (the refitted head, the clips as unit vectors) is redone when a
    clip comes: a visitor's second lesson is not read with the first alone."""
    memory = PersonalMemory(WEIGHT, BIAS, method)
    memory.add(jitter(EVERYONE[2], 0), 2)
    assert memory.logits(MINE, logits(MINE)).argmax() == 0  # their form of sign 1 is not taught yet
    for seed in range(3):
        memory.add(jitter(MINE, seed), 1)
    assert memory.logits(MINE, logits(MINE)).argmax() == 1
