"""Does it really learn? Our finetune.py defaults vs the plain HF task-guide recipe, same split, same budget.

Real pretrained backbone (EfficientNet-Lite0, timm format, offline) on the real ASL photos, split by
source photo (augmented copies stay together). Both runs get the same epochs and see the same splits;
each reports test accuracy and macro-F1.
    python bench/bench_train_accuracy.py [--epochs 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "train"))
from common import ASL_DIR, build_asl_dataset, emit, run_main  # noqa: E402

EFFNET = HERE.parent.parent / "shared" / "models" / "efficientnet-lite0-in1k"


def hf_guide_recipe(dataset_dir: Path, output_dir: Path, epochs: int) -> dict:
    """The image-classification task guide, as written: RandomResizedCrop + ToTensor + Normalize in
    with_transform, Trainer with its hyper-parameters, accuracy only, the last model evaluated."""
    import datasets
    import torch
    from torchvision.transforms import CenterCrop, Compose, Normalize, RandomResizedCrop, Resize, ToTensor
    from transformers import AutoImageProcessor, AutoModelForImageClassification, Trainer, TrainingArguments

    from signspace.core.metrics import classification_metrics

    data = datasets.load_from_disk(str(dataset_dir))
    names = data["train"].features["label"].names
    processor = AutoImageProcessor.from_pretrained(str(EFFNET))
    config = processor.data_config
    size = config["input_size"][-1]
    normalize = Normalize(mean=config["mean"], std=config["std"])
    train_tf = Compose([RandomResizedCrop(size), ToTensor(), normalize])
    eval_tf = Compose([Resize(size), CenterCrop(size), ToTensor(), normalize])

    def apply(tf):
        return lambda batch: {
            "pixel_values": [tf(img.convert("RGB")) for img in batch["image"]],
            "labels": batch["label"],
        }

    data["train"].set_transform(apply(train_tf))
    for split in ("validation", "test"):
        data[split].set_transform(apply(eval_tf))
    model = AutoModelForImageClassification.from_pretrained(
        str(EFFNET),
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
        ignore_mismatched_sizes=True,
    )

    def collate(examples):
        return {
            "pixel_values": torch.stack([e["pixel_values"] for e in examples]),
            "labels": torch.tensor([e["labels"] for e in examples]),
        }

    args = TrainingArguments(
        str(output_dir),
        remove_unused_columns=False,
        eval_strategy="epoch",
        save_strategy="no",
        learning_rate=5e-5,
        per_device_train_batch_size=16,
        gradient_accumulation_steps=4,
        per_device_eval_batch_size=16,
        num_train_epochs=epochs,
        warmup_steps=0.1,
        logging_steps=10,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model, args=args, data_collator=collate, train_dataset=data["train"], eval_dataset=data["validation"]
    )
    trainer.train()
    prediction = trainer.predict(data["test"])
    return classification_metrics(prediction.predictions, prediction.label_ids, names)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workdir", default=None, help="keep outputs here (default: a temp folder)")
    args = parser.parse_args()
    if not (ASL_DIR.is_dir() and EFFNET.is_dir()):
        sys.exit(f"needs {ASL_DIR} and {EFFNET}")
    import finetune

    work = Path(args.workdir or tempfile.mkdtemp(prefix="signspace-acc-"))
    dataset = work / "asl"
    if not dataset.exists():
        build_asl_dataset(dataset)
    start = time.perf_counter()
    ours_dir = work / "ours"
    finetune.main(
        [
            "--dataset_dir",
            str(dataset),
            "--output_dir",
            str(ours_dir),
            "--model_name_or_path",
            str(EFFNET),
            "--num_train_epochs",
            str(args.epochs),
            "--overwrite_output_dir",
            "--disable_tqdm",
            "true",
        ]
    )  # our defaults
    ours_s = time.perf_counter() - start
    ours = json.loads((ours_dir / "metrics.json").read_text())["test"]
    start = time.perf_counter()
    guide = hf_guide_recipe(dataset, work / "guide", args.epochs)
    guide_s = time.perf_counter() - start
    (work / "guide_metrics.json").write_text(json.dumps(guide, indent=2))
    emit(
        "finetune_test_accuracy_efficientnet_lite0_asl",
        ours["accuracy"],
        "test accuracy (grouped split)",
        guide["accuracy"],
        "HF task-guide recipe, same split and epochs",
        True,
        epochs=args.epochs,
        ours_f1_macro=round(ours["f1_macro"], 4),
        guide_f1_macro=round(guide["f1_macro"], 4),
        ours_minutes=round(ours_s / 60, 1),
        guide_minutes=round(guide_s / 60, 1),
        test_images=int(np.sum(ours["confusion_matrix"])),
        ours_confusion_matrix=ours["confusion_matrix"],
        outputs=str(work),
    )


if __name__ == "__main__":
    run_main(main)
