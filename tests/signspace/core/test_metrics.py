import numpy as np
import pytest

from signspace.core.metrics import classification_metrics, scalar_metrics, signer_metrics


def test_metrics_match_hand_computed_values():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    logits = np.eye(3)[predicted]
    m = classification_metrics(logits, labels, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["b"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["recall_macro"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert set(scalar_metrics(m)) == {"accuracy", "precision_macro", "recall_macro", "f1_macro"}


def test_signs_absent_from_a_split_do_not_drag_the_macro_average():
    m = classification_metrics(np.eye(3)[[0, 1]], np.array([0, 1]), ["a", "b", "never"])
    assert m["f1_macro"] == 1.0 and m["per_class"]["never"]["support"] == 0


def test_signer_metrics_split_new_people_from_known_people():
    labels = np.array([0, 1, 0, 1, 0, 1])
    predicted = np.array([0, 1, 0, 0, 1, 1])
    signers = ["ann", "ann", "cat", "cat", "dan", "dan"]
    m = signer_metrics(np.eye(2)[predicted], labels, ["a", "b"], signers, trained={"ann", "bob"})
    assert m["trained_people"] == 2
    assert m["known"]["accuracy"] == 1.0 and m["known"]["people"] == 1 and m["known"]["clips"] == 2
    assert m["unseen"]["accuracy"] == 0.5 and m["unseen"]["people"] == 2 and m["unseen"]["clips"] == 4
    assert m["unseen"]["per_signer"] == {"cat": 0.5, "dan": 0.5}


def test_signer_metrics_say_what_was_not_measured():
    logits, labels = np.eye(2)[[0, 1]], np.array([0, 1])
    assert signer_metrics(logits, labels, ["a", "b"], None, set()) is None
    assert signer_metrics(logits, labels, ["a", "b"], [None, None], set()) is None
    known_only = signer_metrics(logits, labels, ["a", "b"], ["me", "me"], {"me"})
    assert known_only["unseen"] is None and known_only["known"]["people"] == 1 and known_only["trained_people"] == 1
