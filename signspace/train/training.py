"""Fine-tuning pieces behind train/finetune.py: data checks, the Trainer subclass, outputs and card."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from transformers import Trainer

from signspace.core import kinds
from signspace.core.atomic import OutputExistsError, replace_when_done, write_json_atomic, write_text_atomic
from signspace.core.checkpoints import CheckpointError, list_checkpoints
from signspace.core.errors import SignSpaceError
from signspace.core.hub import HubError, is_local, require_reachable
from signspace.core.imaging import decode_image
from signspace.core.landmarks import augment, resample
from signspace.core.metrics import classification_metrics, scalar_metrics
from signspace.models.modeling import load_classifier
from signspace.models.transforms import InputSpec, device_augmentation, normalize

logger = logging.getLogger(__name__)

# Task defaults layered over TrainingArguments' own (every Trainer flag still overrides them).
TRAINING_DEFAULTS = dict(
    eval_strategy="epoch",
    save_strategy="epoch",
    logging_strategy="steps",
    logging_steps=10,
    load_best_model_at_end=True,
    metric_for_best_model="f1_macro",
    greater_is_better=True,
    save_total_limit=2,
    num_train_epochs=10,
    learning_rate=2e-4,
    weight_decay=0.05,
    warmup_steps=0.1,
    lr_scheduler_type="cosine",
    per_device_train_batch_size=32,
    per_device_eval_batch_size=64,
    remove_unused_columns=False,  # required with with_transform: the image column is not a model input
    label_names=["labels"],
    report_to="none",
)

# Landmark sequence models are small and start from scratch: a higher rate, more (fast) epochs, more patience.
SEQUENCE_DEFAULTS = dict(
    learning_rate=1e-3,
    num_train_epochs=60,
    save_total_limit=1,
    # Macro-F1 reaches 1.0 within a few epochs on a signer's own clips and then cannot tell models apart; the
    # loss keeps rewarding confident answers, which the live confidence threshold needs.
    metric_for_best_model="loss",
    greater_is_better=False,
)

# Files this script writes at the top of --output_dir (checkpoints live beside them).
OUTPUT_FILES = (
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "labels.json",
    "metrics.json",
    "confusion_matrix.png",
    "misclassified.png",
    "training_config.json",
    "README.md",
    "hp_search_trials.csv",
    ".signspace-run.json",
)
RUN_FILE = ".signspace-run.json"  # what a run in this folder trains: a resume must be the same run


def check_same_run(output_dir: Path, identity: dict, resuming: bool) -> None:
    """Refuse to resume another run's checkpoint (other signs, base model or dataset); record this run's identity."""
    path = Path(output_dir) / RUN_FILE
    earlier = read_json(path) if resuming else None
    if earlier is not None:
        different = [key for key in identity if earlier.get(key) != identity[key]]
        if different:
            shown = "; ".join(f"{key}: {earlier.get(key)!r} there, {identity[key]!r} now" for key in different)
            raise CheckpointError(
                f"{output_dir} holds checkpoints of a different run ({shown}); resuming would relabel them. Choose "
                "another --output_dir, or pass --overwrite_output_dir to start this run there from scratch"
            )
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, identity)


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


class SignTrainer(Trainer):
    """The HF Trainer with two changes.

    - Batches arrive as uint8 pixels and are normalised on the device (4x less host->device traffic);
      with ``augment_on_device``, training batches get their rotation and colour jitter there too.
    - Checkpoint weights (resume and best-model-at-end) are restored through ``from_pretrained``.
      transformers 5's own restore loads the raw state dict, misses the renamed ViT encoder keys
      and silently keeps the current weights (upstream #43701/#48822).
    """

    def __init__(
        self,
        *args,
        input_spec: InputSpec | None = None,
        augment_on_device: bool = False,
        device_augmentation: Callable[[], Callable] = device_augmentation,
        **kwargs,
    ):
        """``device_augmentation``: makes the on-device rotation and colour jitter (made once, when first needed)."""
        super().__init__(*args, **kwargs)
        self.input_spec = input_spec
        self.augment_on_device = augment_on_device
        self._make_augmentation, self._augmentation = device_augmentation, None

    def _prepare_inputs(self, inputs):
        inputs = super()._prepare_inputs(inputs)
        pixels = inputs.get("pixel_values")
        if pixels is not None and pixels.dtype == torch.uint8:
            if self.augment_on_device and self.model.training:  # training_step calls model.train(); eval does not
                if self._augmentation is None:
                    self._augmentation = self._make_augmentation()
                pixels = self._augmentation(pixels.float() / 255.0)
            inputs["pixel_values"] = normalize(pixels, self.input_spec)
        return inputs

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        model = model if model is not None else self.model
        restored = load_classifier(str(resume_from_checkpoint))
        model.load_state_dict(restored.state_dict(), strict=True)
        logger.info("restored weights from %s", resume_from_checkpoint)

    def _load_best_model(self):
        logger.info(
            "loading best checkpoint %s (%s = %s)",
            self.state.best_model_checkpoint,
            self.args.metric_for_best_model,
            self.state.best_metric,
        )
        self._load_from_checkpoint(self.state.best_model_checkpoint)


def metrics_fn(label_names: list[str]):
    def compute(eval_prediction) -> dict:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        return scalar_metrics(classification_metrics(logits, eval_prediction.label_ids, label_names))

    return compute


def prepare_output_dir(output_dir: Path, overwrite: bool) -> None:
    """Non-empty without checkpoints is the user's data: refuse unless told to replace our outputs."""
    output_dir = Path(output_dir)
    if not output_dir.exists():
        return
    if overwrite:
        for _, folder in list_checkpoints(output_dir):
            shutil.rmtree(folder)
        for name in OUTPUT_FILES:
            (output_dir / name).unlink(missing_ok=True)
        return
    has_contents = any(not p.name.startswith(".") for p in output_dir.iterdir())
    if has_contents and not list_checkpoints(output_dir):
        raise OutputExistsError(
            f"output folder {output_dir} is not empty and holds no checkpoint to resume from; choose another "
            "--output_dir or pass --overwrite_output_dir to replace its training outputs"
        )


def plot_confusion_matrix(matrix: list[list[int]], label_names: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(label_names)
    side = max(4.0, 0.45 * n + 2)
    fig, ax = plt.subplots(figsize=(side, side))
    ax.imshow(np.asarray(matrix), cmap="Blues")
    ax.set_xticks(range(n), label_names, rotation=90 if n > 8 else 0)
    ax.set_yticks(range(n), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    peak = max(1, max(max(row) for row in matrix))
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(
                    j,
                    i,
                    str(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if value > peak / 2 else "black",
                )
    fig.tight_layout()
    replace_when_done(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


def plot_misclassified(dataset, predictions: np.ndarray, label_names: list[str], path: Path, limit: int = 25) -> int:
    """A grid of wrong predictions, 'true → predicted', from the shared decode of each stored image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(dataset["label"])
    wrong = np.flatnonzero(predictions != labels)[:limit]
    columns = 5
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 2.2, rows * 2.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    if len(wrong) == 0:
        axes[0, 0].text(0, 0.5, "no misclassified images", fontsize=12)
    for ax, index in zip(axes.flat, wrong):
        ax.imshow(decode_image(dataset[int(index)]["image"], shorter_side=128))
        ax.set_title(f"{label_names[labels[index]]} → {label_names[predictions[index]]}", fontsize=9, color="firebrick")
    fig.tight_layout()
    replace_when_done(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)
    return int(len(np.flatnonzero(predictions != labels)))


def write_final_outputs(
    output_dir: Path, *, model, processor, label_names, metrics: dict, config: dict, card: str
) -> None:
    """Everything a user (and the Hub) needs, each file written atomically."""
    output_dir = Path(output_dir)
    model.save_pretrained(str(output_dir))  # config.json with id2label + model.safetensors
    if processor is not None:  # sequence models take landmarks: no image processor
        processor.save_pretrained(str(output_dir))
    write_json_atomic(output_dir / "labels.json", {str(i): name for i, name in enumerate(label_names)})
    write_json_atomic(output_dir / "metrics.json", metrics)
    write_json_atomic(output_dir / "training_config.json", config)
    write_text_atomic(output_dir / "README.md", card)


def describe_dataset(where: str, data_args) -> str:
    """A sentence or two for the card, from build_report.json when the dataset was built locally."""
    if data_args.dataset_name:
        return f"Trained on the Hub dataset [{where}](https://huggingface.co/datasets/{where})."
    report = read_json(Path(where) / "build_report.json")
    needed = ("parameters", "total_images", "labels", "skipped")
    if not report or not all(key in report for key in needed):  # not written by build_dataset.py (or edited)
        return f"Trained on a local dataset ({Path(where).name})."
    params = report["parameters"]
    grouping = f"file-name group pattern `{params['group_pattern']}`, " if params.get("group_pattern") else ""
    built = report.get("preprocessing")  # older reports say only --features
    items = (kinds.for_preprocessing(built) if built else kinds.for_build(params.get("features") or "images")).items
    return (
        f"Built with SignSpace's dataset builder from {report['total_images']} {items} of "
        f"{len(report['labels'])} signs ({grouping}clip folders and videos as groups, seed {params.get('seed')}); "
        f"{len(report['skipped'])} unreadable or unsupported file(s) were skipped."
    )


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def hyperparameter_search(
    *, model_init, args, trainer_kwargs: dict, n_trials: int, hp_space: Callable, output_dir: Path
) -> dict:
    """``n_trials`` Optuna trials through ``Trainer.hyperparameter_search``, scored by the validation metric the
    final run selects on; writes hp_search_trials.csv and returns the best trial's parameters."""
    import optuna

    search_args = dataclasses.replace(args, save_strategy="no", load_best_model_at_end=False, report_to="none")
    trainer = SignTrainer(model_init=model_init, args=search_args, **trainer_kwargs)
    metric = (
        f"eval_{args.metric_for_best_model}"
        if not args.metric_for_best_model.startswith("eval_")
        else args.metric_for_best_model
    )
    storage = optuna.storages.InMemoryStorage()
    best = trainer.hyperparameter_search(
        hp_space=hp_space,
        n_trials=n_trials,
        backend="optuna",
        compute_objective=lambda m: m[metric],
        direction="maximize" if args.greater_is_better else "minimize",
        storage=storage,
        study_name="signspace",
        sampler=optuna.samplers.TPESampler(seed=args.seed),
    )
    trials = optuna.load_study(study_name="signspace", storage=storage).trials_dataframe()
    trials = trials.rename(columns={"value": metric})
    write_text_atomic(Path(output_dir) / "hp_search_trials.csv", trials.to_csv(index=False))
    for leftover in Path(output_dir).glob("run-*"):  # per-trial folders the Trainer may create
        shutil.rmtree(leftover, ignore_errors=True)
    assert not isinstance(best, list)  # one objective: one best run
    logger.info("best of %d trials: %s = %s with %s", n_trials, metric, best.objective, best.hyperparameters)
    return dict(best.hyperparameters)
