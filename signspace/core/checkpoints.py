"""Find the checkpoint to resume from, refusing half-written ones (pure file inspection)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from signspace.core.errors import SignSpaceError

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
REQUIRED_FILES = ("config.json", "model.safetensors", "trainer_state.json")


class CheckpointError(SignSpaceError, RuntimeError):
    """Checkpoints exist but none can be resumed; the message says what to do."""


def safetensors_complete(path: Path) -> bool:
    """safetensors checks the header and that the data covers the whole file: a truncated write fails."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt"):
            return True
    except (OSError, SafetensorError):
        return False


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be resumed from, or None if it is complete."""
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        return f"missing {', '.join(missing)}"
    if not safetensors_complete(folder / "model.safetensors"):
        return "model.safetensors is truncated or corrupt"
    try:
        json.loads((folder / "trainer_state.json").read_text())
    except ValueError:
        return "trainer_state.json is not valid JSON"
    return None


def list_checkpoints(output_dir: Path) -> list[tuple[int, Path]]:
    found = []
    if Path(output_dir).is_dir():
        for child in Path(output_dir).iterdir():
            match = CHECKPOINT_PATTERN.match(child.name)
            if match and child.is_dir():
                found.append((int(match.group(1)), child))
    return sorted(found)


def find_resume_checkpoint(output_dir: Path) -> tuple[Path | None, list[str]]:
    """The newest complete checkpoint, with a note for each newer incomplete one skipped.

    Raises CheckpointError when checkpoints exist but none is complete: silently restarting from
    step 0 would throw away the user's training without telling them.
    """
    notes: list[str] = []
    checkpoints = list_checkpoints(output_dir)
    for _, folder in reversed(checkpoints):
        problem = checkpoint_problem(folder)
        if problem is None:
            return folder, notes
        notes.append(f"skipping incomplete {folder.name} ({problem})")
    if checkpoints:
        raise CheckpointError(
            f"{output_dir} holds checkpoints but none is complete: {'; '.join(notes)}. Delete those folders "
            "to start again from step 0, or pass --overwrite_output_dir"
        )
    return None, notes
