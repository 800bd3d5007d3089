"""The registry of model kinds: what differs between a whole-image, a hand-crop and a landmark-sequence model, in one
table, looked up once (as transformers' ``Auto*`` classes and timm's registry do).

Each kind declares the ``preprocessing`` input it writes (build_report.json, then the model's config.json), the
builder pipeline that makes its dataset, the training task, the predictor class that serves it, and its card
templates. Callers ask ``kinds.for_build``, ``for_preprocessing``, ``for_dataset`` or ``for_model`` and use what the
kind says; nobody else compares kind names. Its behaviour is named as ``"module:attribute"`` and imported when first
used, so looking a kind up costs nothing at start-up (the app never imports the training stack to serve a model).

Adding a kind (say body + hands) is one entry below plus the classes it names; docs/architecture.md has the steps.
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass
from typing import Any

from signspace.core.errors import ConfigError, ModelFolderError


class Kind(enum.StrEnum):
    """The value each kind writes as ``preprocessing["input"]``."""

    IMAGE = "image"
    HAND_CROP = "hand_crop"
    LANDMARKS = "landmarks"


@dataclass(frozen=True)
class ModelKind:
    kind: Kind
    description: str  # for people: cards and messages
    features: str  # build_dataset.py --features that makes its datasets
    items: str  # what one dataset row comes from, for cards: "validated images", "clips"
    columns: tuple[str, ...]  # the dataset columns its task reads, beside "label"
    model_type: str | None  # config.json's model_type (None: any transformers image classifier)
    builder: str  # module:function(scan, config, progress) -> (BuildResult, DatasetDict)
    preprocessing: str  # module:function(config) -> the dict it writes, "input" being the kind's value
    task: str  # module:class, fine-tuning's view of the kind
    predictor: str  # module:class, serving
    dataset_card: str  # templates in hub_cards/
    model_card: str
    task_category: str  # the Hub's task for its datasets and models
    tags: tuple[str, ...]  # its models' Hub tags
    dataset_tags: tuple[str, ...]  # its datasets' Hub tags
    pipeline_tag: str | None  # a transformers pipeline can run it
    reads_keypoints: bool  # the builder also reads saved .npy keypoints and clip folders
    crops_hands: bool = False  # its inputs are hand crops (cards show the crop settings)

    @property
    def is_sequence(self) -> bool:
        return self.model_type is not None

    def builder_function(self):
        return _resolve(self.builder)

    def preprocessing_for(self, config) -> dict:
        return _resolve(self.preprocessing)(config)

    def task_class(self):
        return _resolve(self.task)

    def predictor_class(self):
        return _resolve(self.predictor)


def _resolve(target: str):
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


SEQUENCE_MODEL_TYPE = "signspace-sequence"  # sequence_model.MODEL_TYPE (that module imports torch)

_IMAGE_COMMON: dict[str, Any] = dict(
    features="images",
    items="validated images",
    columns=("image",),
    model_type=None,
    builder="signspace.data.builder:build_images",
    task="signspace.train.tasks:ImageTask",
    predictor="signspace.serve.inference:ImagePredictor",
    dataset_card="dataset_card.md",
    model_card="model_card.md",
    task_category="image-classification",
    pipeline_tag="image-classification",
    dataset_tags=(),
    reads_keypoints=False,
)

KINDS: dict[Kind, ModelKind] = {
    Kind.IMAGE: ModelKind(
        Kind.IMAGE,
        "whole-image classifier",
        preprocessing="signspace.data.builder:image_preprocessing",
        tags=("image-classification", "vision"),
        **_IMAGE_COMMON,
    ),
    Kind.HAND_CROP: ModelKind(
        Kind.HAND_CROP,
        "hand-crop classifier",
        preprocessing="signspace.data.builder:hand_crop_preprocessing",
        tags=("image-classification", "vision", "hand-crop"),
        crops_hands=True,
        **_IMAGE_COMMON,
    ),
    Kind.LANDMARKS: ModelKind(
        Kind.LANDMARKS,
        "landmark-sequence model",
        features="landmarks",
        items="clips",
        columns=("landmarks", "times"),
        model_type=SEQUENCE_MODEL_TYPE,
        builder="signspace.data.sequence_builder:build_landmarks",
        preprocessing="signspace.data.sequence_builder:landmark_preprocessing",
        task="signspace.train.tasks:SequenceTask",
        predictor="signspace.serve.inference:SequencePredictor",
        dataset_card="dataset_card.md",
        model_card="model_card.md",
        task_category="video-classification",
        tags=("landmarks", "mediapipe"),
        dataset_tags=("landmarks", "mediapipe"),
        pipeline_tag=None,
        reads_keypoints=True,
    ),
}


def for_build(features: str, hand_crop: bool = False) -> ModelKind:
    """The kind a build makes: ``--features`` and ``--hand_crop``."""
    found = [k for k in KINDS.values() if k.features == features]
    if not found:
        raise ConfigError(f"--features {features!r} names no kind; use one of {_features()}")
    if len(found) == 1:
        return found[0]
    return KINDS[Kind.HAND_CROP if hand_crop else Kind.IMAGE]


def for_preprocessing(preprocessing: dict | None) -> ModelKind:
    """The kind a build report's or config.json's ``preprocessing`` names (none: a plain image model)."""
    value = (preprocessing or {}).get("input", Kind.IMAGE.value)
    try:
        return KINDS[Kind(value)]
    except ValueError:
        raise ModelFolderError(
            f"preprocessing input {value!r} is no kind this SignSpace knows ({', '.join(k.value for k in Kind)}); "
            "rebuild the dataset or update SignSpace"
        ) from None


def for_dataset(dataset_dict) -> ModelKind:
    """The kind whose columns a built dataset holds (a landmark dataset, else an image one)."""
    split = dataset_dict["train"] if "train" in dataset_dict else next(iter(dataset_dict.values()), None)
    columns = set(split.features) if split is not None else set()
    for kind in KINDS.values():
        if kind.is_sequence and set(kind.columns) <= columns:
            return kind
    return KINDS[Kind.IMAGE]


def for_config(config: dict | None) -> ModelKind:
    """The kind of a model from its config.json: its model_type, then (image models) the preprocessing it records."""
    config = config or {}
    for kind in KINDS.values():
        if kind.model_type is not None and config.get("model_type") == kind.model_type:
            return kind
    kind = for_preprocessing(config.get("signspace"))
    return KINDS[Kind.IMAGE] if kind.is_sequence else kind  # an image architecture is served as images


def for_model(model) -> ModelKind:
    """The kind of a loaded model (its config, as ``for_config`` reads it)."""
    config = model.config
    return for_config({key: getattr(config, key, None) for key in ("model_type", "signspace")})


def _features() -> str:
    return ", ".join(sorted({k.features for k in KINDS.values()}))
