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


def signer_metrics(
    logits: np.ndarray, labels: np.ndarray, label_names: list[str], signers: list[str | None], trained: set[str]
) -> dict | None:
    """Accuracy on people the model never saw apart from new clips of people it trained on.

    ``signers``: who signed each evaluated clip; ``trained``: who signed the training clips. None when the
    signers are unknown. Each part says how many people and clips it was measured on, and each person's accuracy."""
    if not signers or any(signer is None for signer in signers):
        return None
    who = np.asarray(signers, dtype=object)
    predictions = np.asarray(logits).argmax(axis=-1)
    labels = np.asarray(labels)
    seen = np.array([signer in trained for signer in who], dtype=bool)
    parts: dict[str, dict] = {}
    for name, mask in (("unseen", ~seen), ("known", seen)):
        if not mask.any():
            parts[name] = None
            continue
        part = classification_metrics(np.asarray(logits)[mask], labels[mask], label_names)
        people = sorted(set(who[mask]))
        part["people"] = len(people)
        part["clips"] = int(mask.sum())
        part["per_signer"] = {
            person: float((predictions[who == person] == labels[who == person]).mean()) for person in people
        }
        parts[name] = part
    return {"trained_people": len(trained), **parts}
