"""Offline classification metrics (no evaluate.load: it fetches scripts from the Hub)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def classification_metrics(logits: np.ndarray, labels: np.ndarray, label_names: list[str]) -> dict:
    """Accuracy, macro precision/recall/F1, per-class table and confusion matrix (rows = true)."""
    predictions = np.asarray(logits).argmax(axis=-1)
    labels = np.asarray(labels)
    ids = list(range(len(label_names)))
    precision, recall, f1, support = precision_recall_fscore_support(labels, predictions, labels=ids, zero_division=0)
    # Macro averages over the signs present in this split: an absent sign has no recall to average.
    present = support > 0
    return {
        "accuracy": float(accuracy_score(labels, predictions)) if len(labels) else 0.0,
        "precision_macro": float(precision[present].mean()) if present.any() else 0.0,
        "recall_macro": float(recall[present].mean()) if present.any() else 0.0,
        "f1_macro": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(label_names, precision, recall, f1, support)
        },
        "confusion_matrix": confusion_matrix(labels, predictions, labels=ids).tolist(),
    }


def scalar_metrics(metrics: dict) -> dict:
    """The numbers the Trainer can log and compare (it rejects nested values)."""
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
