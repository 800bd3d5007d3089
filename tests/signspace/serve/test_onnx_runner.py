"""The ONNX Runtime paths (signspace/serve/onnx_runner.py); the int8 answers themselves are checked against fp32 in
test_inference.py."""

import numpy as np
import torch
from factories import MOTIONS, landmark_clip, make_sequence_model, make_tiny_vit
from transformers import ViTForImageClassification

from signspace.core.landmarks import resample
from signspace.models.transforms import InputSpec
from signspace.serve.onnx_runner import OnnxInt8Runner, OnnxRunner, _model_fingerprint, linear_share


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
    sequence_model = make_sequence_model(tmp_path / "sequence").eval()
    OnnxRunner(sequence_model, torch.zeros(1, 16, 258), "input_values")
    vit = ViTForImageClassification.from_pretrained(make_tiny_vit(tmp_path / "vit")).eval()
    OnnxInt8Runner(vit, InputSpec(32, (0.5,) * 3, (0.5,) * 3), 1, tmp_path / "cache")
    assert not sequence_model.training and not vit.training
    assert not any(module.training for module in [*sequence_model.modules(), *vit.modules()])


def test_the_onnx_runner_gives_the_sequence_models_logits(tmp_path):
    model = make_sequence_model(tmp_path / "sequence").eval()
    runner = OnnxRunner(model, torch.zeros(1, 16, 258), "input_values")
    windows = np.stack([resample(landmark_clip(m, seed=s), np.arange(30) / 25, 16) for m in MOTIONS for s in (0, 1)])
    with torch.inference_mode():
        expected = model(input_values=torch.from_numpy(windows)).logits.numpy()
    assert runner(windows[:1]).shape == (1, 3)
    np.testing.assert_allclose(runner(windows), expected, atol=1e-4)
