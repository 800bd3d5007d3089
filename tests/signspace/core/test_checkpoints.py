"""Resuming only from complete checkpoints (signspace/core/checkpoints.py)."""

import json

import pytest
import torch
from safetensors.torch import save_file

from signspace.core.checkpoints import CheckpointError, checkpoint_problem, find_resume_checkpoint


def checkpoint(root, step, weights=True, state="{}"):
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "vit"}))
    if weights:
        save_file({"w": torch.zeros(4)}, str(folder / "model.safetensors"))
    (folder / "trainer_state.json").write_text(state)
    return folder


def test_the_newest_complete_checkpoint_wins_and_newer_broken_ones_are_named(tmp_path):
    good = checkpoint(tmp_path, 10)
    cut = checkpoint(tmp_path, 20)
    data = (cut / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(data[: len(data) // 2])  # killed while writing
    checkpoint(tmp_path, 30, weights=False)
    found, notes = find_resume_checkpoint(tmp_path)
    assert found == good
    assert notes == [
        "skipping incomplete checkpoint-30 (missing model.safetensors)",
        "skipping incomplete checkpoint-20 (model.safetensors is truncated or corrupt)",
    ]


def test_only_broken_checkpoints_is_an_error_not_a_silent_restart(tmp_path):
    checkpoint(tmp_path, 5, state="{not json")
    assert checkpoint_problem(tmp_path / "checkpoint-5") == "trainer_state.json is not valid JSON"
    with pytest.raises(CheckpointError, match="none is complete: .*Delete those folders.*--overwrite_output_dir"):
        find_resume_checkpoint(tmp_path)


def test_no_checkpoint_starts_from_step_zero(tmp_path):
    (tmp_path / "checkpoint-notanumber").mkdir()
    assert find_resume_checkpoint(tmp_path) == (None, [])
    assert find_resume_checkpoint(tmp_path / "missing") == (None, [])
