"""Fine-tune a sign recognizer on a SignSpace dataset with the HF Trainer, then publish it (the work behind
train/finetune.py and the app's Teach tab).

    accelerate launch train/finetune.py --dataset_dir my-signs --output_dir my-model [Trainer flags…]
    python train/finetune.py config.yaml          # the same options from a JSON/YAML file

Runs on CPU, one GPU or several (DDP) unchanged; resumes from the last complete checkpoint in --output_dir.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from transformers import EarlyStoppingCallback, TrainingArguments

from signspace.core import hub
from signspace.core.cards import render_model_card
from signspace.core.checkpoints import find_resume_checkpoint
from signspace.core.cli import dataclass_parser, parse_dataclasses
from signspace.core.errors import ConfigError
from signspace.core.metrics import classification_metrics, signer_metrics
from signspace.data import data_health
from signspace.models.transforms import device_augmentation
from signspace.train import dataset_io, outputs, training
from signspace.train.tasks import DEFAULT_IMAGE_MODEL, ImageTask, Task, task_for

logger = logging.getLogger("finetune")


@dataclass
class DataArguments:
    dataset_dir: str | None = field(default=None, metadata={"help": "Folder written by train/build_dataset.py."})
    dataset_name: str | None = field(default=None, metadata={"help": "Or a Hub dataset id 'user/name'."})
    dataset_revision: str | None = field(default=None, metadata={"help": "Pin the Hub dataset to a revision."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use only this many training images (quick runs)."}
    )
    hflip: bool = field(
        default=False, metadata={"help": "Random horizontal flips. Off by default: a flip swaps the signing hand."}
    )
    augment_on: Literal["auto", "device", "loader"] = field(
        default="auto",
        metadata={
            "help": "Where rotation and colour jitter run: 'device' (on the batch, "
            "per image), 'loader' (in the data-loader workers) or 'auto' (device on a GPU, else loader)."
        },
    )
    sequence_length: int = field(
        default=32,
        metadata={
            "help": "Landmark datasets: frames per clip the sequence model sees "
            "(each clip is resampled in time to this many)."
        },
    )

    def __post_init__(self):
        if self.max_train_samples is not None and self.max_train_samples < 1:
            raise ConfigError(
                f"--max_train_samples={self.max_train_samples} must be 1 or more (leave it out to use every image)"
            )
        if self.sequence_length < 2:
            raise ConfigError(f"--sequence_length={self.sequence_length} must be at least 2, e.g. 32")
        if bool(self.dataset_dir) == bool(self.dataset_name):
            raise ConfigError(
                "give exactly one of --dataset_dir (a "
                "folder from train/build_dataset.py) or --dataset_name (a Hub dataset id)"
            )
        if self.dataset_name:
            hub.check_repo_id(self.dataset_name, "--dataset_name")


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Image datasets: any AutoModelForImageClassification "
            f"checkpoint (Hub id or folder; default {DEFAULT_IMAGE_MODEL}). Landmark datasets: "
            "a SignSpace sequence model to continue from (default: a new one)."
        },
    )
    hidden_size: int = field(default=128, metadata={"help": "Landmark datasets: width of a new sequence model."})
    model_revision: str | None = field(default=None, metadata={"help": "Pin the base model to a Hub revision."})
    early_stopping_patience: int | None = field(
        default=None,
        metadata={
            "help": "Stop after this many evaluations without "
            "improvement (0: never; default 3 for images, 10 for landmark sequences)."
        },
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Replace training outputs and checkpoints in --output_dir."}
    )
    license: str = field(default="other", metadata={"help": "License of the published model (card metadata)."})
    hp_search: int | None = field(
        default=None,
        metadata={
            "help": "Run this many Optuna trials over learning rate, batch "
            "size, weight decay (and width for sequence models), then train with the best."
        },
    )

    def __post_init__(self):
        if self.hp_search is not None and self.hp_search < 1:
            raise ConfigError(f"--hp_search={self.hp_search} must be 1 or more trials (leave it out for no search)")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 0:
            raise ConfigError(f"--early_stopping_patience={self.early_stopping_patience} must be 0 (off) or more")


CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


def split_config(argv: list[str]) -> tuple[dict, list[str]]:
    """``config.yaml --flag value ...``: the file's options, then command-line flags that override them."""
    if argv and argv[0].endswith(CONFIG_SUFFIXES):
        path = Path(argv[0])
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML/JSON: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"config file {path} must hold option: value pairs, not {type(values).__name__}")
        return values, argv[1:]
    return {}, argv


def task_defaults(task: Task, has_validation: bool) -> dict:
    """The one place for SignSpace's defaults over TrainingArguments' own (every flag still overrides them)."""
    defaults = task.defaults()
    if not has_validation:  # nothing to evaluate on: no per-epoch evaluation, no best-model selection
        defaults.update(eval_strategy="no", load_best_model_at_end=False)
    return defaults


def parse(argv: list[str], task: Task | None = None, has_validation: bool = True):
    """All options: task defaults, then a config file's, then command-line flags; TrainingArguments validates them."""
    parser = dataclass_parser(DataArguments, ModelArguments, TrainingArguments)
    from_file, flags = split_config(argv)
    known = {action.dest for action in parser._actions}
    unknown = sorted(set(from_file) - known)
    if unknown:
        raise ConfigError(f"unknown option(s) in {argv[0]}: {', '.join(unknown)} (see --help for the names)")
    parser.set_defaults(**{**task_defaults(task or ImageTask(), has_validation), **from_file})
    data_args, model_args, args = parse_dataclasses(parser, flags)
    return data_args, model_args, _derive(args)


def training_arguments(task: Task, has_validation: bool, **options) -> TrainingArguments:
    """TrainingArguments as the script makes them, for callers without a command line (the Teach tab): the task's
    defaults, then ``options``."""
    return _derive(TrainingArguments(**{**task_defaults(task, has_validation), **options}))


def _derive(args: TrainingArguments) -> TrainingArguments:
    if args.dataloader_num_workers == 0:
        args.dataloader_persistent_workers = False  # PyTorch refuses persistent workers without workers
    return args


def output_dir_given(argv: list[str]) -> bool:
    from_file, flags = split_config(argv)
    return bool(from_file.get("output_dir")) or any(a.split("=")[0] in ("--output_dir", "--output-dir") for a in flags)


def peek_data_args(argv: list[str]) -> DataArguments:
    from_file, flags = split_config(argv)
    parser = dataclass_parser(DataArguments)
    parser.set_defaults(**{k: v for k, v in from_file.items() if k in {a.dest for a in parser._actions}})
    return parser.parse_args_into_dataclasses(args=flags, return_remaining_strings=True)[0]


def leave_process_group() -> None:
    """Under torchrun, every rank leaves the process group once training is done: a rank that exits with it still
    open can abort in gloo's threads at interpreter exit ("terminate called without an active exception")."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # the ranks leave together
        dist.destroy_process_group()


def main(argv: list[str] | None = None, callbacks: list | None = None, **hooks) -> int:
    """``callbacks``: extra TrainerCallbacks (progress bars, a cancel button); ``hooks``: ``train``'s."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    peek = peek_data_args(argv)  # the dataset decides the defaults (an image model, or a landmark sequence model)
    dataset = dataset_io.load_sign_dataset(peek.dataset_dir, peek.dataset_name, peek.dataset_revision)
    task = task_for(dataset)
    data_args, model_args, args = parse(argv, task, has_validation_split(dataset))
    if not output_dir_given(argv):  # TrainingArguments fills in ./trainer_output, where unrelated runs would mix
        raise ConfigError("--output_dir is required: the folder that receives the model, metrics and card")
    push, args.push_to_hub = args.push_to_hub, False  # we publish once, at the end, from the saved folder
    token = None
    if push:
        hub.check_repo_id(args.hub_model_id, "--hub_model_id")
        token = args.hub_token or hub.require_token()  # before any training
    # The Trainer pickles its arguments into every checkpoint (training_args.bin): keep the token out of them.
    args.hub_token = None
    metrics = train(dataset, data_args, model_args, args, callbacks, push=push, token=token, **hooks)
    leave_process_group()
    if args.process_index != 0:
        return 0
    output_dir, split = Path(args.output_dir), metrics["eval_split"]
    final = metrics[split]
    print(f"{split} accuracy {final['accuracy']:.4f}, macro F1 {final['f1_macro']:.4f}; model in {output_dir}")
    print(describe_signer_scores(metrics["signers"]))
    health = data_health.describe(metrics.get("data_health"))
    if health:
        print(health)
    if push:
        url = hub.push_folder(
            output_dir,
            args.hub_model_id,
            token=token,
            private=bool(args.hub_private_repo),
            revision=args.hub_revision,
            commit_message="Upload sign recognizer trained with SignSpace",
            ignore_patterns=["checkpoint-*", "checkpoint-*/**", ".*"],
            remedy=f"the model in {output_dir.resolve()} is complete; publish it with: hf upload "
            f"{args.hub_model_id} {output_dir.resolve()} --exclude 'checkpoint-*'",
        )
        print(f"published to {url}")
    return 0


def has_validation_split(dataset) -> bool:
    return "validation" in dataset and len(dataset["validation"]) > 0


def train(
    dataset,
    data_args: DataArguments,
    model_args: ModelArguments,
    args: TrainingArguments,
    callbacks: list | None = None,
    push: bool = False,
    token: str | None = None,
    metrics_fn: Callable = training.metrics_fn,
    device_augmentation: Callable = device_augmentation,
) -> dict:
    """Train on ``dataset`` (a loaded SignSpace DatasetDict) into ``args.output_dir``: the model, metrics.json,
    confusion matrix, card and config; resumes from the last complete checkpoint there. Returns the metrics.
    ``push``/``token``: recorded (redacted) in the saved config only; publishing is the caller's.
    ``metrics_fn(label_names)``: the evaluation's compute_metrics; ``device_augmentation()``: the on-device
    augmentation (both replaceable, e.g. by tests that script the scores or count the batches)."""
    task = task_for(dataset)
    has_validation = has_validation_split(dataset)
    output_dir = Path(args.output_dir)
    with args.main_process_first(desc="output folder check"):  # under DDP: rank 0 cleans, then all look
        if args.process_index == 0:
            outputs.prepare_output_dir(output_dir, model_args.overwrite_output_dir)
        resume, notes = find_resume_checkpoint(output_dir)
    for note in notes:
        logger.warning(note)

    where = data_args.dataset_dir or data_args.dataset_name
    label_names = dataset_io.check_dataset(dataset, where, task.columns)
    fingerprint = getattr(dataset["train"], "_fingerprint", None)  # before transforms, which change it
    preprocessing = dataset_io.dataset_preprocessing(
        data_args.dataset_dir, data_args.dataset_name, data_args.dataset_revision
    )
    if data_args.max_train_samples:
        dataset["train"] = (
            dataset["train"]
            .shuffle(seed=args.seed)
            .select(range(min(data_args.max_train_samples, len(dataset["train"]))))
        )
    labels = dict(
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={n: i for i, n in enumerate(label_names)},
    )
    setup = task.setup(dataset, data_args, model_args, args, labels)
    model = setup.model
    setattr(model.config, "signspace", preprocessing)  # noqa: B010 (config.json tells the app what the builder did (hand crops, landmarks)
    if args.process_index == 0:
        identity = {
            "labels": label_names,
            "base_model": model_args.model_name_or_path or "new sequence model",
            "dataset": fingerprint if data_args.dataset_dir else f"{where}@{data_args.dataset_revision or 'main'}",
            **task.identity(model),
        }
        outputs.check_same_run(output_dir, identity, resuming=resume is not None)

    callbacks = list(callbacks or [])
    if not has_validation:
        logger.warning("%s has no validation split: training without evaluation or best-model selection", where)
    else:
        patience = model_args.early_stopping_patience
        patience = task.patience if patience is None else patience
        if patience and args.load_best_model_at_end:
            callbacks.append(EarlyStoppingCallback(patience))
    common = dict(
        data_collator=setup.collator,
        train_dataset=dataset["train"],
        eval_dataset=dataset["validation"] if has_validation else None,
        processing_class=setup.processor,
        compute_metrics=metrics_fn(label_names),
        input_spec=setup.spec,
        augment_on_device=setup.augment_on_device,
        device_augmentation=device_augmentation,
    )
    if model_args.hp_search:
        if not has_validation:
            raise dataset_io.DatasetFormatError(
                f"--hp_search needs a validation split to compare trials; {where} has none"
            )
        best = training.hyperparameter_search(
            model_init=setup.make_model,
            args=args,
            trainer_kwargs=common,
            n_trials=model_args.hp_search,
            hp_space=task.search_space,
            output_dir=output_dir,
        )
        for key in ("learning_rate", "per_device_train_batch_size", "weight_decay"):
            setattr(args, key, best[key])
        model = setup.make_model(best)  # the final run: fresh weights with the best trial's settings
    trainer = training.SignTrainer(model=model, args=args, callbacks=callbacks, **common)
    if resume:
        logger.info("resuming from %s", resume)
    train_result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)

    eval_split = "test" if "test" in dataset and len(dataset["test"]) else ("validation" if has_validation else "train")
    if eval_split == "train":
        dataset["train"].set_transform(task.eval_transform(data_args, setup.spec))
    prediction = trainer.predict(dataset[eval_split], metric_key_prefix=eval_split)
    logits, label_ids = np.asarray(prediction.predictions), np.asarray(prediction.label_ids)
    final = classification_metrics(logits, label_ids, label_names)
    metrics: dict[str, Any] = {
        "eval_split": eval_split,
        eval_split: final,
        # the Trainer's run statistics; named apart from the splits, so an evaluation on "train" is not overwritten
        "training": train_result.metrics,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "resumed_from": str(resume) if resume else None,
    }
    if has_validation and eval_split != "validation":
        metrics["validation"] = trainer.evaluate()
    raw = dataset[eval_split].with_format(None)
    metrics["signers"] = signer_metrics(
        logits,
        label_ids,
        label_names,
        list(raw["signer"]) if "signer" in raw.column_names else None,
        set(dataset["train"].with_format(None)["signer"]) if "signer" in dataset["train"].column_names else set(),
    )
    if not trainer.is_world_process_zero():
        return metrics

    outputs.plot_confusion_matrix(
        final["confusion_matrix"], label_names, output_dir / "confusion_matrix.png", f"{eval_split} split"
    )
    predicted = logits.argmax(-1)
    metrics.update(task.record_errors(raw, predicted, label_ids, label_names, output_dir))
    metrics["data_health"] = task.data_health(dataset, label_names)
    config = hub.redact_config(
        {"data": asdict(data_args), "model": asdict(model_args), "training": args.to_dict(), "push_to_hub": push},
        token,
    )
    card = render_model_card(
        repo_id=args.hub_model_id or str(output_dir),
        base_model=model_args.model_name_or_path,
        label_names=label_names,
        metrics=final,
        eval_split=eval_split,
        eval_count=len(dataset[eval_split]),
        split_counts={s: len(d) for s, d in dataset.items()},
        dataset_description=outputs.describe_dataset(where, data_args),
        dataset_id=data_args.dataset_name,
        training_args=args,
        hflip=data_args.hflip,
        input_size=task.input_size(setup.spec, data_args),
        license=model_args.license,
        preprocessing=preprocessing,
        parameters=sum(p.numel() for p in trainer.model.parameters()),
        signers=metrics["signers"],
        data_health=metrics["data_health"],
    )
    outputs.write_final_outputs(
        output_dir,
        model=trainer.model,
        processor=setup.processor,
        label_names=label_names,
        metrics=metrics,
        config=config,
        card=card,
    )
    return metrics


def describe_signer_scores(signers: dict | None) -> str:
    """One line for the terminal: how well the model does on people it never saw, or why that is unknown."""
    if signers is None:
        return (
            "who signed the clips is unknown: the score above is on new clips of the same people; rebuild with "
            "--signer_pattern and --split_by signer to measure people the model never saw"
        )
    unseen, known = signers["unseen"], signers["known"]
    parts = []
    if unseen:
        parts.append(f"people never seen: accuracy {unseen['accuracy']:.4f} on {unseen['people']} person(s)")
    else:
        parts.append("people never seen: not measured (rebuild with --split_by signer)")
    if known:
        parts.append(f"new clips of the {known['people']} known person(s): {known['accuracy']:.4f}")
    return "; ".join(parts)
