"""Training throughput (images/s): our finetune.py vs the HF guide recipe vs the model-only step, same run.

Meant for a GPU (ViT-B/16 at 224, bf16, random init — weights do not change speed):
    python bench/bench_train_throughput.py --model vit-b16 --steps 200 --batch_size 128
A quick CPU smoke run: --model tiny --steps 10 --batch_size 16.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "train"))
from common import ASL_DIR, build_asl_dataset, emit, guide_train_dataset, run_main  # noqa: E402


def make_model(kind: str, folder: Path) -> Path:
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    if kind == "vit-b16":
        config, size = ViTConfig(num_labels=26), 224
    else:
        config, size = (
            ViTConfig(
                image_size=64,
                patch_size=16,
                hidden_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=128,
                num_labels=26,
            ),
            64,
        )
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": size, "width": size}).save_pretrained(folder)
    return folder


def model_only(folder: Path, steps: int, batch: int, bf16: bool) -> float:
    from transformers import AutoModelForImageClassification

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForImageClassification.from_pretrained(str(folder)).to(device).train()
    size = model.config.image_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device == "cuda")
    pixels = torch.randn(batch, 3, size, size, device=device)
    labels = torch.randint(0, 26, (batch,), device=device)

    def step():
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            loss = model(pixel_values=pixels, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


def hf_guide(folder: Path, steps: int, batch: int, bf16: bool, out: Path) -> float:
    """imagefolder + torchvision transforms in with_transform + Trainer with its defaults."""
    from transformers import AutoImageProcessor, AutoModelForImageClassification, Trainer, TrainingArguments

    from signspace.models.transforms import collate

    processor = AutoImageProcessor.from_pretrained(str(folder))
    data = guide_train_dataset(processor.size["height"], processor.image_mean, processor.image_std)
    model = AutoModelForImageClassification.from_pretrained(str(folder))
    args = TrainingArguments(
        str(out),
        max_steps=steps,
        per_device_train_batch_size=batch,
        remove_unused_columns=False,
        bf16=bf16,
        report_to="none",
        save_strategy="no",
        logging_steps=50,
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
    )
    result = Trainer(model=model, args=args, train_dataset=data, data_collator=collate).train()
    return result.metrics["train_samples_per_second"]


def ours(folder: Path, dataset: Path, steps: int, batch: int, out: Path) -> float:
    import finetune

    finetune.main(
        [
            "--dataset_dir",
            str(dataset),
            "--output_dir",
            str(out),
            "--model_name_or_path",
            str(folder),
            "--max_steps",
            str(steps),
            "--per_device_train_batch_size",
            str(batch),
            "--eval_strategy",
            "no",
            "--save_strategy",
            "no",
            "--load_best_model_at_end",
            "false",
            "--overwrite_output_dir",
            "--disable_tqdm",
            "true",
        ]
    )
    return json.loads((out / "metrics.json").read_text())["training"]["train_samples_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["vit-b16", "tiny"], default="vit-b16")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch_size", type=int, default=128)
    args = parser.parse_args()
    if not ASL_DIR.is_dir():
        sys.exit(f"needs {ASL_DIR}")

    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = make_model(args.model, tmp / "model")
        build_asl_dataset(tmp / "ds")
        ceiling = model_only(folder, args.steps, args.batch_size, bf16)
        our_rate = ours(folder, tmp / "ds", args.steps, args.batch_size, tmp / "ours")
        guide_rate = hf_guide(folder, args.steps, args.batch_size, bf16, tmp / "guide")
    emit(
        "finetune_train_throughput",
        our_rate,
        "images/s end to end (finetune.py)",
        guide_rate,
        "HF guide recipe (imagefolder + with_transform + Trainer defaults)",
        True,
        model=args.model,
        bf16=bf16,
        batch_size=args.batch_size,
        steps=args.steps,
        model_only_images_per_s=round(ceiling, 1),
        fraction_of_model_only=round(our_rate / ceiling, 3),
    )


if __name__ == "__main__":
    run_main(main)
