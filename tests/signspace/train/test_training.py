import torch
from factories import make_tiny_vit
from transformers import AutoModelForImageClassification, TrainingArguments

from signspace.models.transforms import InputSpec, normalize
from signspace.train.training import SignTrainer

SPEC = InputSpec(32, (0.5,) * 3, (0.5,) * 3)


def prepared(tmp_path, augment_on_device: bool, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
    model = AutoModelForImageClassification.from_pretrained(str(make_tiny_vit(tmp_path / "m")))
    args = TrainingArguments(str(tmp_path / "out"), use_cpu=True, report_to="none")
    trainer = SignTrainer(model=model, args=args, input_spec=SPEC, augment_on_device=augment_on_device)
    model.train(training)
    pixels = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    return trainer._prepare_inputs({"pixel_values": pixels})["pixel_values"], normalize(pixels, SPEC)


def test_uint8_batches_are_normalised_and_augmented_on_the_device_only_while_training(tmp_path):
    augmented, plain = prepared(tmp_path / "a", augment_on_device=True, training=True)
    assert augmented.shape == plain.shape and augmented.dtype == torch.float32
    assert not torch.allclose(augmented, plain, atol=1e-3)
    evaluated, plain = prepared(tmp_path / "b", augment_on_device=True, training=False)
    assert torch.equal(evaluated, plain)  # evaluation and prediction see the plain eval crop
    loader_augmented, plain = prepared(tmp_path / "c", augment_on_device=False, training=True)
    assert torch.equal(loader_augmented, plain)  # CPU runs: the loader already rotated and jittered
