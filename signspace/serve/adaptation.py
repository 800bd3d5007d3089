"""Personal adaptation: a sequence model learns one visitor's form of a sign from a few of their clips, in
milliseconds, for them only.

A visitor who signs another form than the people a model learnt from is wrong most of the time, and more training
people help them slowly (docs/benchmarks.md, "Signer independence"). What they can give is a few clips labelled by
themselves ("That was *thank you*"). The model's last layer reads a feature vector per clip
(``SignSequenceModel.classify``); the default adaptation works on those vectors alone, so it needs no training data,
no gradient through the model and nothing on disk, and it runs on every window at the cost of a small matrix product.

Three ways were measured (``bench/bench_adaptation.py``, docs/benchmarks.md "Personal adaptation"); ``nearest`` is the
default: for the people of a source the starter's recipe never saw that it serves under 80 % (12-18 of 23, 56 %
right) it gives 83 % with one clip per word and 90 % with three (means over three training seeds), in a tenth of a
millisecond and in the page too; fine-tuning the whole model gives 91 / 94 % at 0.7-1 s on the server (the app's
``--adaptation finetune``), and costs people of other forms over twice as much (for the one new person of a known
source under 80 %, 34 % right, both reach about 49 % / 60 %). Where a visitor's form is another sign of most
people's, any method that learns it reads theirs as the visitor's sign too: an adapted copy is its visitor's alone.
The three:
- ``head``: the last layer refitted to the visitor's clips, pulled towards the model's own weights (so the signs
  they gave no clip of, and other people's forms, keep their answers): a logistic regression with a prior;
- ``nearest``: their clips as nearest neighbours in feature space, trusted in proportion to how close a window is to
  one of them, the model's own answer elsewhere;
- ``finetune``: a few steps of training a copy of the whole model on their clips (augmented as in training), pulled
  towards its own weights: it can move the features themselves, where a form the features do not separate defeats
  the two others (``finetune_copy``; a second or so, and the copy's own ONNX export).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from signspace.core.errors import SignSpaceError

Method = Literal["head", "nearest", "finetune"]
METHODS = get_args(Method)
# instant, read in the page too, least cost to other people's forms; finetune serves the people it is for better,
# on the server (docs/benchmarks.md, "Personal adaptation"; the app's --adaptation)
DEFAULT_METHOD: Method = "nearest"
MEMORY_METHODS = ("head", "nearest")  # adapt on the features alone; finetune trains a copy of the model
MAX_EXAMPLES = 30  # per visitor: 10 signs x 3 clips, ~1 MB kept as the model's windows; the oldest go first
HEAD_PRIOR = 0.05  # pull towards the model's own last layer (per weight, relative to the clips' loss)
HEAD_STEPS = 300
NEAREST_FLOOR = 0.7  # cosine similarity below which a visitor's clip says nothing about a window
NEAREST_TEMPERATURE = 0.05
FINETUNE_STEPS = 40  # a second or so on 2 cores for a few clips
FINETUNE_RATE = 3e-4
FINETUNE_ANCHOR = 1e-2  # pull towards the model's own weights (L2-SP): what it knew of everyone else's forms


class AdaptationError(SignSpaceError, ValueError):
    """Clips that cannot teach the model (no hand in them, an unknown sign); the message says what to give."""


@dataclass
class PersonalMemory:
    """One visitor's labelled clips, as the model's features, and what the model's answer becomes with them."""

    weight: np.ndarray  # the model's last layer: labels x features
    bias: np.ndarray
    method: Method = DEFAULT_METHOD
    features: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    _fitted: tuple[np.ndarray, np.ndarray] | None = None
    _known: np.ndarray | None = None  # the clips' features as unit vectors, made once for every window after

    def __post_init__(self):
        check_method(self.method)
        if self.method not in MEMORY_METHODS:
            raise AdaptationError(f"{self.method!r} trains a copy of the model (finetune_copy), not a memory")

    def add(self, features: np.ndarray, label: int) -> None:
        """One more clip of the visitor's (its features) labelled ``label``; the oldest goes past MAX_EXAMPLES."""
        self.features.append(np.asarray(features, np.float64))
        self.labels.append(int(label))
        del self.features[:-MAX_EXAMPLES], self.labels[:-MAX_EXAMPLES]
        self._fitted = self._known = None

    def __len__(self) -> int:
        return len(self.labels)

    def logits(self, features: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """The answer for one window (its features and the model's own logits) once this visitor's clips count."""
        if not self.labels:
            return logits
        if self.method == "head":
            weight, bias = self._head()
            return np.asarray(features, np.float64) @ weight.T + bias
        return self._nearest(np.asarray(features, np.float64), np.asarray(logits, np.float64))

    def _head(self) -> tuple[np.ndarray, np.ndarray]:
        if self._fitted is None:
            self._fitted = fit_head(self.weight, self.bias, np.stack(self.features), np.asarray(self.labels))
        return self._fitted

    def _nearest(self, features: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self._known is None:
            self._known = _unit(np.stack(self.features))
        similarity = self._known @ _unit(features)
        best = float(similarity.max())
        trust = np.clip((best - NEAREST_FLOOR) / (1 - NEAREST_FLOOR), 0.0, 1.0)
        if trust == 0.0:
            return logits
        closest = np.full(len(logits), -np.inf)
        np.maximum.at(closest, self.labels, similarity)  # per sign, its closest clip of the visitor's
        personal = _softmax(np.where(np.isfinite(closest), closest / NEAREST_TEMPERATURE, -np.inf))
        mixed = (1 - trust) * _softmax(logits) + trust * personal
        return np.log(np.maximum(mixed, 1e-12))


def check_method(method: str) -> None:
    if method not in METHODS:
        raise AdaptationError(f"adaptation method {method!r} is unknown; use one of {', '.join(METHODS)}")


def fit_head(
    weight: np.ndarray, bias: np.ndarray, features: np.ndarray, labels: np.ndarray, prior: float = HEAD_PRIOR
) -> tuple[np.ndarray, np.ndarray]:
    """The last layer refitted to the visitor's clips: mean cross-entropy on them plus ``prior`` times the squared
    distance to the model's own weights, by gradient descent (full batch, a few hundred steps of a labels x
    features matrix: milliseconds). Clips are weighted so each sign counts alike, however many clips it has. The
    bias stays the model's: moved, it shifts every answer towards the visitor's signs, everyone else's forms too."""
    w0, b = np.asarray(weight, np.float64), np.asarray(bias, np.float64)
    w = w0.copy()
    counts = np.bincount(labels, minlength=len(b))
    sample_weight = 1.0 / counts[labels]
    sample_weight /= sample_weight.sum()
    targets = np.eye(len(b))[labels]
    scale = float(np.mean(np.sum(features**2, axis=1))) + 1.0  # a step size the features' size cannot blow up
    rate = 1.0 / scale
    for _ in range(HEAD_STEPS):
        probabilities = _softmax_rows(features @ w.T + b)
        error = (probabilities - targets) * sample_weight[:, None]
        w -= rate * (error.T @ features + prior * scale * (w - w0))
    return w, b


def _unit(values: np.ndarray) -> np.ndarray:
    return values / np.maximum(np.linalg.norm(values, axis=-1, keepdims=True), 1e-12)


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - np.max(values))
    return shifted / shifted.sum()


def _softmax_rows(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def finetune_copy(model, clips, labels: list[int], steps: int = FINETUNE_STEPS, seed: int = 0):
    """A copy of ``model`` (a SignSequenceModel) trained for ``steps`` on ``clips`` ((frames x 258, times)) labelled
    ``labels``, each step on a fresh augmented view of every clip, with the loss pulled towards the model's own
    weights. The original is untouched."""
    import copy

    import torch

    from signspace.core.landmarks import augment

    tuned = copy.deepcopy(model).train()
    anchor = [parameter.detach().clone() for parameter in tuned.parameters()]
    optimiser = torch.optim.AdamW(tuned.parameters(), lr=FINETUNE_RATE, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    length = model.config.sequence_length
    targets = torch.as_tensor(labels)
    generator = torch.random.fork_rng()  # dropout's draws: the caller's torch seed is left as it was
    with generator:
        torch.manual_seed(seed)
        for _ in range(steps):
            views = [augment(np.asarray(v, np.float32), np.asarray(t, np.float64), rng, length) for v, t in clips]
            logits, _ = tuned.classify(torch.from_numpy(np.stack(views).astype(np.float32)))
            pull = sum(((p - a) ** 2).sum() for p, a in zip(tuned.parameters(), anchor))
            loss = torch.nn.functional.cross_entropy(logits, targets) + FINETUNE_ANCHOR * pull
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return tuned.eval()
