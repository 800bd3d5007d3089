"""The registry of model kinds (signspace/core/kinds.py): every lookup answers from the one table."""

import datasets
import pytest

from signspace.core import kinds
from signspace.core.cards import CARDS_DIR
from signspace.core.errors import ConfigError, ModelFolderError
from signspace.core.kinds import KINDS, Kind


def test_each_kind_names_behaviour_that_exists_and_writes_its_own_input():
    for kind, entry in KINDS.items():
        assert entry.kind is kind
        for resolve in (entry.builder_function, entry.task_class, entry.predictor_class):
            assert callable(resolve())
        assert entry.preprocessing_for(_Config())["input"] == kind.value
        for card in (entry.dataset_card, entry.model_card):
            assert (CARDS_DIR / card).is_file(), card


def test_a_build_a_report_and_a_config_each_name_the_same_kind():
    assert kinds.for_build("images").kind is Kind.IMAGE
    assert kinds.for_build("images", hand_crop=True).kind is Kind.HAND_CROP
    assert kinds.for_build("landmarks").kind is Kind.LANDMARKS
    for kind in Kind:
        preprocessing = KINDS[kind].preprocessing_for(_Config())
        assert kinds.for_preprocessing(preprocessing).kind is kind
    assert kinds.for_preprocessing(None).kind is Kind.IMAGE  # a dataset not built by SignSpace: plain images
    assert kinds.for_config({"model_type": "signspace-sequence"}).kind is Kind.LANDMARKS
    assert kinds.for_config({"model_type": "vit", "signspace": {"input": "hand_crop"}}).kind is Kind.HAND_CROP
    # an image architecture whose config claims landmarks is still served as an image model
    assert kinds.for_config({"model_type": "vit", "signspace": {"input": "landmarks"}}).kind is Kind.IMAGE


def test_unknown_kinds_are_one_line_naming_the_value():
    with pytest.raises(ModelFolderError, match=r"preprocessing input 'skeleton' is no kind .*image, hand_crop"):
        kinds.for_preprocessing({"input": "skeleton"})
    with pytest.raises(ConfigError, match=r"--features 'pose' names no kind; use one of images, landmarks"):
        kinds.for_build("pose")
    # a model whose config.json records a kind this SignSpace does not know (edited, or from a newer version)
    with pytest.raises(ModelFolderError, match=r"preprocessing input 'skeleton' is no kind .*update SignSpace"):
        kinds.for_config({"model_type": "vit", "signspace": {"input": "skeleton"}})


def test_a_dataset_is_known_by_its_kinds_columns():
    landmarks = datasets.DatasetDict(train=datasets.Dataset.from_dict({"landmarks": [[[0.0]]], "times": [[0.0]]}))
    images = datasets.DatasetDict(train=datasets.Dataset.from_dict({"image": [None], "label": [0]}))
    assert kinds.for_dataset(landmarks).kind is Kind.LANDMARKS
    assert kinds.for_dataset(images).kind is Kind.IMAGE


class _Config:
    """The BuildConfig fields the kinds' preprocessing reads."""

    keypoints_fps = 30.0
