import json
import shutil

import pytest
from factories import make_sequence_model, make_tiny_vit

from signspace.core.errors import ModelFolderError
from signspace.models.modeling import load_classifier
from signspace.models.sequence_model import SignSequenceModel


def test_weights_of_another_architecture_refuse_to_serve(tmp_path):
    """A sequence model's weights beside a ViT config.json would load as a randomly initialised ViT."""
    vit = make_tiny_vit(tmp_path / "vit")
    make_sequence_model(tmp_path / "seq")
    shutil.copy(tmp_path / "seq" / "model.safetensors", vit / "model.safetensors")
    with pytest.raises(ModelFolderError) as caught:
        load_classifier(str(vit), strict=True)
    message = str(caught.value)
    assert message.startswith(f"{vit}: its weights do not fit the 'vit' architecture its config.json names (")
    assert "missing" in message and "unexpected" in message and "Restore the pair the training wrote" in message
    assert load_classifier(str(make_tiny_vit(tmp_path / "ok")), strict=True) is not None  # a true pair loads


def edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if value is DROP:
            config.pop(key, None)
        else:
            config[key] = value
    (folder / "config.json").write_text(json.dumps(config))


DROP = object()


@pytest.mark.parametrize(
    "key, value, shown",
    [
        ("sequence_length", -5, "sequence_length = -5"),
        ("sequence_length", 1.5, "sequence_length = 1.5"),
        ("sequence_length", 10**9, "sequence_length = 1000000000"),  # was transformers' "look at the above report"
        ("hidden_size", 0, "hidden_size = 0"),
        ("hidden_size", 10**6, "hidden_size = 1000000"),
        (
            "hidden_size",
            30,
            "num_heads = 4, which no SignSpace model was trained with (it must divide hidden_size = 30",
        ),
        ("num_heads", 3, "num_heads = 3, which no SignSpace model was trained with (it must divide hidden_size = 32"),
        ("window_seconds", 0, "window_seconds = 0"),
        ("window_seconds", 1e9, "window_seconds = 1000000000.0"),  # a live session would never drop a frame
        ("signspace", {"layout": "other"}, "signspace.layout = 'other'"),
        ("signspace", {"keypoints_fps": 0}, "signspace.keypoints_fps = 0"),
        ("id2label", {"0": "a", "1": "b", "3": "c"}, "id2label = {'0': 'a', '1': 'b', '3': 'c'}"),  # was KeyError: 2
    ],
)
def test_impossible_sequence_config_values_are_one_line(tmp_path, key, value, shown):
    make_sequence_model(tmp_path)
    if key == "signspace":
        edit_config(tmp_path, signspace={"input": "landmarks", "layout": "mediapipe-holistic-258", **value})
    else:
        edit_config(tmp_path, **{key: value})
    with pytest.raises(ModelFolderError, match="which no SignSpace model was trained with") as caught:
        load_classifier(str(tmp_path), strict=True)
    assert f"config.json has {shown}" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "make, changes, message",
    [
        (make_tiny_vit, {"model_type": DROP}, "config.json names no model_type"),  # was "no preprocessor_config.json"
        (make_sequence_model, {"model_type": "mystery"}, "model_type 'mystery' is no architecture"),
        (make_tiny_vit, {"id2label": {"0": "a", "2": "b"}}, "labels must be numbered 0..1 without gaps"),
        # three labels in config.json, two rows in the weights: transformers' RuntimeError "look at the above report"
        (
            make_tiny_vit,
            {"id2label": {"0": "a", "1": "b", "2": "c"}, "label2id": {"a": 0, "b": 1, "c": 2}},
            "of other shapes",
        ),
        (make_sequence_model, {"id2label": {"0": "a", "1": "b"}, "label2id": {"a": 0, "b": 1}}, "of other shapes"),
    ],
)
def test_an_edited_config_is_one_line_naming_what_is_wrong(tmp_path, make, changes, message):
    folder = tmp_path / "model"
    make(folder)
    edit_config(folder, **changes)
    with pytest.raises(ModelFolderError, match=message) as caught:
        load_classifier(str(folder), strict=True)
    assert str(caught.value).startswith(str(folder)) and "\n" not in str(caught.value)


def test_a_sound_sequence_model_loads_strictly(tmp_path):
    make_sequence_model(tmp_path)
    assert isinstance(load_classifier(str(tmp_path), strict=True), SignSequenceModel)
