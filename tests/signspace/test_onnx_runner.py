"""The int8 path's building blocks (signspace/onnx_runner.py); the int8 answers themselves are checked against fp32
in test_inference.py."""

import torch

from signspace.onnx_runner import _model_fingerprint, linear_share


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
