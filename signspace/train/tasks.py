"""What fine-tuning does differently for each kind of model (each kind in kinds.py names its task). The dataset
decides: ``task_for(dataset)``.

- ``ImageTask``: photos or video frames (optionally hand crops) -> a pretrained image classifier with a new head.
- ``SequenceTask``: landmark clips (``--features landmarks``) -> a small sequence model trained from scratch.
Everything else in ``finetune.py`` is the same for both.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from signspace.core import kinds
from signspace.models.modeling import load_classifier, load_processor
from signspace.models.sequence_model import SignSequenceConfig, SignSequenceModel
from signspace.models.transforms import InputSpec, batch_transform, collate
from signspace.train import dataset_io, outputs, training

DEFAULT_IMAGE_MODEL = "google/vit-base-patch16-224-in21k"


@dataclass
class TaskSetup:
    """The model and how batches reach it."""

    model: torch.nn.Module
    processor: object | None  # the image processor (image models); sequence models need none
    spec: InputSpec | None
    augment_on_device: bool
    collator: Callable
    make_model: Callable  # fresh weights, for hyperparameter-search trials and the final run after one


class Task:
    """One kind of model as fine-tuning sees it."""

    columns: tuple[str, ...]  # the dataset columns it reads, beside "label" (its kind's, kinds.py)
    patience: int  # epochs without improvement before early stopping, unless --early_stopping_patience says

    def defaults(self) -> dict:
        """SignSpace's TrainingArguments defaults for this kind (every flag still overrides them)."""
        workers = self.loader_workers()
        return dict(
            training.TRAINING_DEFAULTS,
            bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
            dataloader_num_workers=workers,
            dataloader_persistent_workers=workers > 0,
            dataloader_pin_memory=torch.cuda.is_available(),
        )

    def loader_workers(self) -> int:
        return min(8, os.cpu_count() or 1)

    def setup(self, dataset, data_args, model_args, args, labels: dict) -> TaskSetup:
        raise NotImplementedError

    def identity(self, model) -> dict:
        """What, beside labels, base model and dataset, must match to resume a checkpoint."""
        return {}

    def eval_transform(self, data_args, spec: InputSpec | None):
        raise NotImplementedError

    def search_space(self, trial) -> dict:
        """Hyperparameter search (seed guide step 6.4): learning rate, batch size, weight decay."""
        low, high = self.learning_rates
        return {
            "learning_rate": trial.suggest_float("learning_rate", low, high, log=True),
            "per_device_train_batch_size": trial.suggest_categorical("per_device_train_batch_size", [16, 32, 64]),
            "weight_decay": trial.suggest_float("weight_decay", 0.0, 0.1),
        }

    learning_rates: tuple[float, float]

    def record_errors(self, raw, predicted, label_ids, label_names: list[str], output_dir: Path) -> dict:
        """Show what went wrong on the evaluated split; returns entries for metrics.json."""
        raise NotImplementedError

    def input_size(self, spec: InputSpec | None, data_args) -> int:
        raise NotImplementedError

    def data_health(self, dataset, label_names: list[str]) -> dict | None:
        """Whose form of a sign disagrees with everyone else's, when several people's clips are pooled
        (``data_health.py``); None where the kind has no such check or the signers are unknown."""
        return None


class ImageTask(Task):
    columns = kinds.KINDS[kinds.Kind.IMAGE].columns
    patience = 3
    learning_rates = (1e-5, 5e-4)

    def setup(self, dataset, data_args, model_args, args, labels: dict) -> TaskSetup:
        model_args.model_name_or_path = model_args.model_name_or_path or DEFAULT_IMAGE_MODEL
        dataset_io.refuse_sequence_model(model_args.model_name_or_path, model_args.model_revision)
        processor = load_processor(model_args.model_name_or_path, model_args.model_revision)

        # a new head for our labels (num_labels too: timm configs ignore id2label's length); on resume SignTrainer
        # restores the checkpoint's weights over it
        def make_model(trial=None):
            return load_classifier(
                model_args.model_name_or_path, model_args.model_revision, ignore_mismatched_sizes=True, **labels
            )

        spec = InputSpec.from_processor(processor)
        # On a GPU, rotation and colour jitter run on the batch: in CPU loader workers they starved the GPU.
        on_device = data_args.augment_on == "device" or (data_args.augment_on == "auto" and args.device.type != "cpu")
        dataset["train"].set_transform(
            batch_transform(spec, train=True, hflip=data_args.hflip, rotate_and_jitter=not on_device)
        )
        for split in ("validation", "test"):
            if split in dataset:
                dataset[split].set_transform(self.eval_transform(data_args, spec))
        return TaskSetup(make_model(), processor, spec, on_device, collate, make_model)

    def eval_transform(self, data_args, spec: InputSpec | None):
        return batch_transform(spec, train=False)

    def record_errors(self, raw, predicted, label_ids, label_names: list[str], output_dir: Path) -> dict:
        outputs.plot_misclassified(raw, predicted, label_names, output_dir / "misclassified.png")
        return {}

    def input_size(self, spec: InputSpec | None, data_args) -> int:
        return spec.size


class SequenceTask(Task):
    columns = kinds.KINDS[kinds.Kind.LANDMARKS].columns
    # Small models from scratch: a higher rate, more (fast) epochs, more patience.
    patience = 10
    learning_rates = (3e-4, 3e-3)

    def defaults(self) -> dict:
        return {**super().defaults(), **training.SEQUENCE_DEFAULTS}

    def loader_workers(self) -> int:
        return 0  # a worker process costs more than the numpy augmentation it would run

    def setup(self, dataset, data_args, model_args, args, labels: dict) -> TaskSetup:
        """A new sequence model, or one continued from --model_name_or_path."""
        continued = model_args.model_name_or_path
        if continued:
            model = load_classifier(continued, model_args.model_revision, ignore_mismatched_sizes=True, **labels)
            if not kinds.for_model(model).is_sequence:
                raise dataset_io.DatasetFormatError(
                    f"{continued} is an image model but the dataset holds landmark sequences; leave out "
                    "--model_name_or_path for a new sequence model, or build an image dataset (without --features "
                    "landmarks)"
                )
            data_args.sequence_length = model.config.sequence_length
        window = dataset_io.typical_clip_seconds(dataset["train"])

        def make_model(trial=None):
            if continued:
                return load_classifier(continued, model_args.model_revision, ignore_mismatched_sizes=True, **labels)
            params = trial if isinstance(trial, dict) else (getattr(trial, "params", None) or {})
            torch.manual_seed(args.seed)
            return SignSequenceModel(
                SignSequenceConfig(
                    sequence_length=data_args.sequence_length,
                    window_seconds=window,
                    hidden_size=params.get("hidden_size", model_args.hidden_size),
                    **labels,
                )
            )

        if not continued:
            model = make_model()
        dataset["train"].set_transform(
            dataset_io.sequence_transform(data_args.sequence_length, True, data_args.hflip, args.seed)
        )
        for split in ("validation", "test"):
            if split in dataset:
                dataset[split].set_transform(self.eval_transform(data_args, None))
        return TaskSetup(model, None, None, False, dataset_io.collate_sequences, make_model)

    def identity(self, model) -> dict:
        # the model's shape: a checkpoint of another shape cannot be resumed
        return {"sequence_length": model.config.sequence_length, "hidden_size": model.config.hidden_size}

    def eval_transform(self, data_args, spec: InputSpec | None):
        return dataset_io.sequence_transform(data_args.sequence_length, train=False)

    def search_space(self, trial) -> dict:
        params = super().search_space(trial)
        params["hidden_size"] = trial.suggest_categorical("hidden_size", [64, 128, 192])
        return params

    def record_errors(self, raw, predicted, label_ids, label_names: list[str], output_dir: Path) -> dict:
        wrong = [(i, p) for i, p in enumerate(predicted) if p != label_ids[i]]
        return {"misclassified": [{"source": raw[i]["source"], "predicted": label_names[int(p)]} for i, p in wrong]}

    def input_size(self, spec: InputSpec | None, data_args) -> int:
        return data_args.sequence_length

    def data_health(self, dataset, label_names: list[str]) -> dict | None:
        """Every split's clips (the curator's whole folder), when they say who signed them."""
        import datasets

        from signspace.data import data_health

        parts = [part.with_format(None) for part in dataset.values() if "signer" in part.column_names and len(part)]
        if not parts:
            return None
        rows = datasets.concatenate_datasets(parts)
        if len(set(rows["signer"])) < data_health.MIN_PEOPLE:
            return None
        clips = [(np.asarray(row["landmarks"], np.float32), np.asarray(row["times"])) for row in rows]
        return data_health.check_pooled(clips, rows["label"], rows["signer"], rows["source"], label_names)


def task_for(dataset_dict) -> Task:
    """The task of the dataset's kind (a landmark dataset's columns, else images)."""
    return kinds.for_dataset(dataset_dict).task_class()()
