"""Fine-tuning pieces behind train/finetune.py: data checks, the Trainer subclass, outputs and card."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import Trainer

from signspace.core.atomic import write_text_atomic
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
