import json
import shutil

import pytest
from factories import make_sequence_model, make_tiny_vit

from signspace.errors import ModelFolderError
from signspace.modeling import load_classifier
from signspace.sequence_model import SignSequenceModel


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


@pytest.mark.parametrize(
    "key, value",
    [("sequence_length", -5), ("sequence_length", 1.5), ("hidden_size", 0), ("hidden_size", 30), ("window_seconds", 0)],
)
def test_impossible_sequence_config_values_are_one_line(tmp_path, key, value):
    make_sequence_model(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config[key] = value
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError, match=f"config.json has {key} = {value!r}, which no SignSpace model"):
        load_classifier(str(tmp_path))


def test_a_sound_sequence_model_loads_strictly(tmp_path):
    make_sequence_model(tmp_path)
    assert isinstance(load_classifier(str(tmp_path), strict=True), SignSequenceModel)
