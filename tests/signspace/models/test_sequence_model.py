import json

import pytest
import torch
from factories import make_sequence_model

from signspace.models.modeling import UnsafeModelError, load_classifier
from signspace.models.sequence_model import SignSequenceConfig, SignSequenceModel


def test_saved_model_loads_through_our_loader_without_remote_code(tmp_path):
    model = make_sequence_model(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "signspace-sequence" and "auto_map" not in config
    assert (tmp_path / "model.safetensors").is_file()
    loaded = load_classifier(str(tmp_path))
    assert isinstance(loaded, SignSequenceModel) and loaded.config.window_seconds == 1.2
    x = torch.rand(2, 16, 258)
    model.eval()
    loaded.eval()
    torch.testing.assert_close(model(input_values=x).logits, loaded(input_values=x).logits)


def test_default_size_stays_under_two_million_parameters():
    model = SignSequenceModel(SignSequenceConfig(num_labels=250))
    assert sum(p.numel() for p in model.parameters()) < 2_000_000


def test_labels_give_a_loss_and_a_wrong_input_shape_is_a_clear_error(tmp_path):
    model = make_sequence_model(tmp_path)
    out = model(input_values=torch.rand(3, 16, 258), labels=torch.tensor([0, 1, 2]))
    assert out.loss.ndim == 0 and out.logits.shape == (3, 3)
    with pytest.raises(ValueError, match=r"expected B x 16 x 258 landmark frames, got \(1, 30, 258\)"):
        model(input_values=torch.rand(1, 30, 258))


def test_a_sequence_config_lacking_our_keys_is_refused_clearly(tmp_path):
    make_sequence_model(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["sequence_length"], config["window_seconds"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        UnsafeModelError, match="lacks sequence_length, window_seconds; it was not written by SignSpace"
    ):
        load_classifier(str(tmp_path))


def test_frames_without_hands_do_not_break_the_pooling(tmp_path):
    model = make_sequence_model(tmp_path).eval()
    logits = model(input_values=torch.zeros(1, 16, 258)).logits
    assert torch.isfinite(logits).all()
