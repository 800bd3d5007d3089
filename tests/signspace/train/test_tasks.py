"""What fine-tuning does per kind of model (signspace/train/tasks.py)."""

import datasets
import optuna
from transformers import ViTConfig, ViTForImageClassification

from signspace.train.tasks import ImageTask, SequenceTask, task_for
from signspace.train.training import TRAINING_DEFAULTS


def dataset_with(columns: dict) -> datasets.DatasetDict:
    return datasets.DatasetDict({"train": datasets.Dataset.from_dict(columns)})


def test_the_dataset_decides_the_task():
    landmarks = dataset_with({"landmarks": [[[0.0] * 258]], "times": [[0.0]], "label": [0]})
    images = dataset_with({"image": ["a.jpg"], "label": [0]})
    assert isinstance(task_for(landmarks), SequenceTask) and isinstance(task_for(images), ImageTask)
    assert SequenceTask.columns == ("landmarks", "times") and ImageTask.columns == ("image",)


def test_each_task_has_its_own_defaults_patience_and_search_space():
    image, sequence = ImageTask().defaults(), SequenceTask().defaults()
    assert image["learning_rate"] == TRAINING_DEFAULTS["learning_rate"] and sequence["learning_rate"] == 1e-3
    assert sequence["dataloader_num_workers"] == 0 and sequence["dataloader_persistent_workers"] is False
    assert sequence["metric_for_best_model"] == "loss" and image["metric_for_best_model"] == "f1_macro"
    assert (ImageTask.patience, SequenceTask.patience) == (3, 10)
    trial = optuna.trial.FixedTrial(
        {"learning_rate": 1e-3, "per_device_train_batch_size": 16, "weight_decay": 0.01, "hidden_size": 64}
    )
    assert "hidden_size" in SequenceTask().search_space(trial) and "hidden_size" not in ImageTask().search_space(trial)


def test_a_sequence_checkpoint_of_another_shape_is_another_run():
    from signspace.models.sequence_model import SignSequenceConfig, SignSequenceModel

    model = SignSequenceModel(SignSequenceConfig(sequence_length=16, hidden_size=32, num_labels=2))
    assert SequenceTask().identity(model) == {"sequence_length": 16, "hidden_size": 32}
    vit = ViTForImageClassification(
        ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32)
    )
    assert ImageTask().identity(vit) == {}
