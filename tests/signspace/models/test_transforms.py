import numpy as np
import torch
from factories import pattern_image
from torchvision.transforms.v2 import functional as F

from signspace.models.transforms import InputSpec, batch_transform, device_augmentation, normalize

SPEC = InputSpec(32, (0.5,) * 3, (0.5,) * 3)


def loader_output(rotate_and_jitter: bool, seed: int = 0):
    torch.manual_seed(seed)
    image = pattern_image(3, (64, 48))
    return batch_transform(SPEC, train=True, rotate_and_jitter=rotate_and_jitter)(
        {"image": [image] * 3, "label": [0, 1, 2]}
    )


def test_loader_gives_uint8_at_model_size_with_or_without_rotation_and_jitter():
    for rotate_and_jitter in (True, False):
        out = loader_output(rotate_and_jitter)
        assert [tuple(p.shape) for p in out["pixel_values"]] == [(3, 32, 32)] * 3
        assert all(p.dtype == torch.uint8 for p in out["pixel_values"]) and out["labels"] == [0, 1, 2]
    # Same random crops (same seed); only the rotation and jitter differ.
    assert not torch.equal(loader_output(True)["pixel_values"][0], loader_output(False)["pixel_values"][0])


def test_device_augmentation_draws_per_image_keeps_range_and_follows_the_seed():
    image = F.pil_to_tensor(pattern_image(1, (48, 48))).float() / 255
    batch = image.expand(4, -1, -1, -1).contiguous()
    torch.manual_seed(0)
    out = device_augmentation()(batch)
    assert out.shape == batch.shape and out.dtype == torch.float32
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert all(not torch.allclose(out[0], out[i]) for i in (1, 2, 3))  # each image its own rotation and colours
    assert (out - batch).abs().mean() > 0.01
    torch.manual_seed(0)
    assert torch.equal(out, device_augmentation()(batch))
    assert np.isfinite(out.numpy()).all()


def test_normalize_gives_the_same_values_for_bytes_and_fractions_and_leaves_its_input_alone():
    spec = InputSpec(8, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    pixels = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fractions = pixels.float() / 255
    before = fractions.clone()
    expected = (fractions - torch.tensor(spec.mean).view(1, 3, 1, 1)) / torch.tensor(spec.std).view(1, 3, 1, 1)
    torch.testing.assert_close(normalize(pixels, spec), expected)
    torch.testing.assert_close(normalize(fractions, spec), expected)
    assert torch.equal(fractions, before)  # computed in place, but on its own copy
