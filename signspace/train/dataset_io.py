"""A built dataset as fine-tuning reads it: loading (a folder or the Hub), the checks that say what is wrong with
it, the preprocessing its build recorded, and landmark clips as batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from signspace.core import kinds
from signspace.core.errors import SignSpaceError
from signspace.core.hub import HubError, is_local, require_reachable
from signspace.core.landmarks import augment, resample


class DatasetFormatError(SignSpaceError, ValueError):
    """The dataset cannot be trained on; the message says which column or split and how to fix it."""


def load_sign_dataset(dataset_dir: str | None, dataset_name: str | None, revision: str | None = None):
    """A folder from train/build_dataset.py, or a Hub dataset (fails in seconds, not minutes, when offline)."""
    import datasets
    from huggingface_hub import constants

    if dataset_dir:
        if not (Path(dataset_dir) / "dataset_dict.json").is_file() and not (Path(dataset_dir) / "state.json").is_file():
            raise DatasetFormatError(
                f"--dataset_dir {dataset_dir} is not a dataset folder (no dataset_dict.json); build one with "
                "python train/build_dataset.py --data_dir DATA --output_dir FOLDER"
            )
        try:
            loaded = datasets.load_from_disk(dataset_dir)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # arrow's errors are OSError/ValueError subclasses
            detail = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            raise DatasetFormatError(
                f"--dataset_dir {dataset_dir} is incomplete or damaged ({type(exc).__name__}: {detail}); build it "
                "again with python train/build_dataset.py --data_dir DATA --output_dir FOLDER --overwrite"
            ) from None
        if not isinstance(loaded, datasets.DatasetDict):  # e.g. my-signs/train: one split, not the dataset
            parent = Path(dataset_dir).resolve().parent
            raise DatasetFormatError(
                f"--dataset_dir {dataset_dir} is a "
                "single split, not a dataset folder from train/build_dataset.py; pass "
                f"the folder that holds train/validation/test (probably {parent})"
            )
        return loaded
    if not constants.HF_HUB_OFFLINE:  # offline mode reads the cache and needs no network
        require_reachable(
            f"load the dataset {dataset_name!r}",
            "Check the network; if this machine loaded it before, rerun with HF_HUB_OFFLINE=1 to use the cached "
            "copy; or build it locally with train/build_dataset.py and pass --dataset_dir",
        )
    try:
        return datasets.load_dataset(dataset_name, revision=revision)
    except datasets.exceptions.DatasetNotFoundError as exc:
        raise HubError(
            f"--dataset_name {dataset_name!r}: {exc} Check the id and --dataset_revision; a private dataset also "
            "needs a token that can read it (HF_TOKEN or `hf auth login`)"
        ) from None


def dataset_preprocessing(dataset_dir: str | None, dataset_name: str | None, revision: str | None = None) -> dict:
    """What the builder did to the images (e.g. hand crops), from its build_report.json: a model trained on the
    dataset records it so the app does the same to every frame."""
    report = None
    if dataset_dir:
        report = read_json(Path(dataset_dir) / "build_report.json")
    else:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError

        try:
            report = read_json(
                Path(hf_hub_download(dataset_name, "build_report.json", repo_type="dataset", revision=revision))
            )
        except EntryNotFoundError:
            report = None  # a dataset not built by SignSpace: plain images
    return (report or {}).get("preprocessing") or {"input": "image"}


def refuse_sequence_model(name_or_path: str, revision: str | None) -> None:
    """An image dataset needs an image model: say so plainly instead of failing deep in the processor."""

    config = read_json(Path(name_or_path) / "config.json") if is_local(name_or_path) else None
    if config and kinds.for_config(config).is_sequence:
        raise DatasetFormatError(
            f"{name_or_path} is a landmark sequence model but the dataset holds images; pass an image model (or leave "
            "--model_name_or_path out), or build the dataset with --features landmarks"
        )


def check_dataset(dataset_dict, where: str, columns: tuple[str, ...]) -> list[str]:
    """Validate splits and columns; returns the label names (from the ClassLabel, never LABEL_0…)."""
    import datasets

    if "train" not in dataset_dict:
        raise DatasetFormatError(
            f"{where} has no 'train' split (found: "
            f"{', '.join(dataset_dict) or 'none'}); build it with train/build_dataset.py"
        )
    features = dataset_dict["train"].features
    for column in (*columns, "label"):
        if column not in features:
            raise DatasetFormatError(
                f"{where} has no '{column}' column "
                f"(columns: {', '.join(features)}); build it with train/build_dataset.py"
            )
    if not isinstance(features["label"], datasets.ClassLabel):
        raise DatasetFormatError(
            f"the 'label' column of {where} is {features['label']}, not a ClassLabel, so sign names are unknown; "
            "cast it with dataset.cast_column('label', ClassLabel(names=[...])) or rebuild with train/build_dataset.py"
        )
    names = list(features["label"].names)
    if len(names) < 2:
        raise DatasetFormatError(f"{where} has {len(names)} label(s) ({names}); a recognizer needs at least 2 signs")
    if len(dataset_dict["train"]) == 0:
        raise DatasetFormatError(f"the train split of {where} is empty")
    return names


def sequence_transform(length: int, train: bool, hflip: bool = False, seed: int = 0):
    """A `datasets.with_transform` function for landmark clips: augmented views for training, the whole clip
    resampled to ``length`` frames for evaluation (exactly what the app does with a finished sign)."""
    rng = np.random.default_rng(seed)

    def transform(batch: dict) -> dict:
        values = []
        for landmarks, times in zip(batch["landmarks"], batch["times"]):
            sequence, times = np.asarray(landmarks, np.float32), np.asarray(times, np.float64)
            values.append(augment(sequence, times, rng, length, hflip) if train else resample(sequence, times, length))
        return {"input_values": [torch.from_numpy(np.ascontiguousarray(v)) for v in values], "labels": batch["label"]}

    return transform


def collate_sequences(examples: list[dict]) -> dict:
    return {
        "input_values": torch.stack([e["input_values"] for e in examples]),
        "labels": torch.tensor([e["labels"] for e in examples], dtype=torch.long),
    }


def typical_clip_seconds(dataset) -> float:
    """Median clip duration: the app's live window for a sequence model trained on these clips."""
    durations = [float(times[-1] - times[0]) if len(times) > 1 else 0.0 for times in dataset["times"]]
    return round(float(np.median(durations)) if durations else 1.0, 3) or 1.0


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
