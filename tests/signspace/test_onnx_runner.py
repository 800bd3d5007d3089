"""The int8 path's building blocks (signspace/onnx_runner.py); the int8 answers themselves are checked against fp32
in test_inference.py."""

import torch
from factories import make_tiny_vit
from transformers import ViTForImageClassification

from signspace.onnx_runner import OnnxInt8Runner, _model_fingerprint, linear_share
from signspace.transforms import InputSpec


def test_int8_pays_for_linear_heavy_models_only():
    transformer_like = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Linear(64, 8))
    conv_net = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3), torch.nn.Conv2d(64, 64, 3), torch.nn.Linear(64, 2))
    assert linear_share(transformer_like) == 1.0 and linear_share(conv_net) < 0.5


def test_the_cache_key_changes_with_the_weights_and_the_recipe():
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 2)
    key = _model_fingerprint(model, "recipe-1")
    assert key == _model_fingerprint(model, "recipe-1") and key != _model_fingerprint(model, "recipe-2")
    with torch.no_grad():
        model.weight[0, 0] += 1.0
    assert _model_fingerprint(model, "recipe-1") != key  # fine-tuned again: never the old export


def test_exporting_leaves_the_callers_model_in_eval_mode(tmp_path):
    """The exporter restores its wrapper's mode; a wrapper made in training mode switched the model it wraps to
    training, so a predictor's fp32 pass (the int8 recheck) ran with dropout on."""
    vit = ViTForImageClassification.from_pretrained(make_tiny_vit(tmp_path / "vit")).eval()
    OnnxInt8Runner(vit, InputSpec(32, (0.5,) * 3, (0.5,) * 3), 1, tmp_path / "cache")
    assert not any(module.training for module in vit.modules())
