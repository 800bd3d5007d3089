"""What every predictor answers: probabilities over the model's signs, or "no hand"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


@dataclass
class Prediction:
    probabilities: np.ndarray | None  # over labels, sums to 1; None: no hand found (models that need a hand)
    labels: list[str]
    seconds: float = 0.0
    precision: str = "fp32"  # what computed it: a rechecked close call says fp32
    hands: list | None = None  # the tracked hands (hands.Hand); None when the model needs no tracking
    crop: Image.Image | None = None  # the PIL crop the model saw (hand-crop models)

    @property
    def no_hand(self) -> bool:
        return self.probabilities is None

    def words(self) -> dict[str, float]:
        """Probability per word: classes shown as the same word (a sign and its variant, build_dataset.py
        --variants) are one answer, their probabilities summed."""
        merged: dict[str, float] = {}
        for label, probability in zip(self.labels, self.probabilities):
            merged[label] = merged.get(label, 0.0) + float(probability)
        return merged

    def top(self, k: int = 3) -> dict[str, float]:
        if self.probabilities is None:
            return {}
        return dict(sorted(self.words().items(), key=lambda kv: -kv[1])[:k])

    @property
    def best(self) -> tuple[str | None, float]:
        if self.probabilities is None:
            return None, 0.0
        return max(self.words().items(), key=lambda kv: kv[1])
