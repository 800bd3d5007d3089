import numpy as np
import pytest

from signspace.metrics import classification_metrics, scalar_metrics


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
