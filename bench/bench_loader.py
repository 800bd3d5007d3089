"""Training data-loader throughput per worker process (images/s), ours vs the HF guide recipe, same run.

A GPU trains ViT-B/16 faster than a few CPU loader workers can feed it, so the loader's rate per
worker decides how many cores end-to-end training needs. Measured in one process with one PyTorch
thread (what a DataLoader worker gets), on the real photos of ../shared/data/asl-letters:
- ours, GPU mode (finetune.py's default on a GPU): shared decode + random resized crop, uint8 out; the
  rotation and colour jitter run on the GPU batch;
- ours, CPU mode (the default on CPU-only runs): the same plus rotation and colour jitter in the worker;
- the HF guide recipe: imagefolder + RandomResizedCrop + ToTensor + Normalize in with_transform.
    python bench/bench_loader.py [--images 768]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "train"))
from common import ASL_DIR, build_asl_dataset, emit, guide_train_dataset, run_main  # noqa: E402

GOAL_IMAGES_PER_S = 2500  # the end-to-end ViT-B/16 target on one H100


def images_per_s(dataset, collate, images: int, batch: int = 64) -> float:
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0, collate_fn=collate)
    batches = iter(loader)
    next(batches)  # warm-up
    done, start = 0, time.perf_counter()
    for item in batches:
        done += len(item["labels"])
        if done >= images:
            break
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=768, help="images per measurement")
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    if not ASL_DIR.is_dir():
        sys.exit(f"needs {ASL_DIR}")
    import datasets

    from signspace.models.transforms import InputSpec, batch_transform, collate, device_augmentation

    torch.set_num_threads(1)
    spec = InputSpec(args.size, (0.5,) * 3, (0.5,) * 3)
    with tempfile.TemporaryDirectory() as tmp:
        build_asl_dataset(f"{tmp}/ds")
        train = datasets.load_from_disk(f"{tmp}/ds")["train"]
        gpu_mode = images_per_s(
            train.with_transform(batch_transform(spec, train=True, rotate_and_jitter=False)), collate, args.images
        )
        cpu_mode = images_per_s(train.with_transform(batch_transform(spec, train=True)), collate, args.images)
    guide = images_per_s(guide_train_dataset(args.size, [0.5] * 3, [0.5] * 3), collate, args.images)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    batch = torch.rand(64, 3, args.size, args.size)
    device_augmentation()(batch)
    start = time.perf_counter()
    device_augmentation()(batch)
    jitter_ms_cpu = (time.perf_counter() - start) / len(batch) * 1000
    emit(
        "loader_images_per_s_per_worker",
        gpu_mode,
        "images/s per loader process (ours, GPU mode)",
        guide,
        "HF guide recipe (imagefolder + torchvision transforms), per process",
        True,
        ours_cpu_mode=round(cpu_mode, 1),
        image_size=args.size,
        workers_for_2500_per_s={
            "ours_gpu_mode": round(GOAL_IMAGES_PER_S / gpu_mode, 1),
            "ours_cpu_mode": round(GOAL_IMAGES_PER_S / cpu_mode, 1),
            "guide": round(GOAL_IMAGES_PER_S / guide, 1),
        },
        device_augmentation_ms_per_image_on_cpu=round(jitter_ms_cpu, 2),
    )


if __name__ == "__main__":
    run_main(main)
