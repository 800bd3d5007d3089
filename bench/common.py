"""Shared bits of the benchmarks: the machine description and the one-JSON-line output."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import sys
from pathlib import Path

# ../shared does not travel to a lent GPU machine: copy the photos into a git-ignored folder of the repo,
# carry it, and point SIGNSPACE_ASL_DIR at it there.
ASL_DIR = Path(
    os.environ.get("SIGNSPACE_ASL_DIR")
    or Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "asl-letters"
)
ASL_GROUP_PATTERN = r"^(.+?)_jpg\.rf\."


def build_asl_dataset(output_dir: Path) -> Path:
    """The ASL photos through our builder, split by source photo (augmented copies stay together)."""
    import build_dataset  # train/ is on sys.path in every benchmark that builds

    build_dataset.main(
        [
            "--data_dir",
            str(ASL_DIR),
            "--output_dir",
            str(output_dir),
            "--group_pattern",
            ASL_GROUP_PATTERN,
            "--num_proc",
            str(min(8, os.cpu_count() or 1)),
        ]
    )
    return Path(output_dir)


def guide_train_dataset(size: int, mean, std):
    """The HF image-classification guide's training data: imagefolder + RandomResizedCrop/ToTensor/Normalize
    applied in set_transform, on the full-size photos."""
    import datasets
    from torchvision.transforms import Compose, Normalize, RandomResizedCrop, ToTensor

    transform = Compose([RandomResizedCrop(size), ToTensor(), Normalize(mean, std)])
    data = datasets.load_dataset("imagefolder", data_dir=str(ASL_DIR), split="train")
    data.set_transform(
        lambda b: {"pixel_values": [transform(i.convert("RGB")) for i in b["image"]], "labels": b["label"]}
    )
    return data


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = ""
    try:
        import torch

        if torch.cuda.is_available():
            gpu = f", {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return f"{cpu}, {threads} CPU threads{gpu}, Python {platform.python_version()}"


def run_main(main) -> None:
    """Run a benchmark with everything it prints sent to stderr: stdout carries only emit()'s JSON line."""
    with contextlib.redirect_stdout(sys.stderr):
        main()


def emit(
    name: str, figure: float, unit: str, baseline: float, baseline_name: str, higher_is_better: bool, **extra
) -> None:
    ratio = figure / baseline if higher_is_better else baseline / figure
    print(
        json.dumps(
            {
                "benchmark": name,
                "figure": round(figure, 3),
                "unit": unit,
                "baseline": round(baseline, 3),
                "baseline_name": baseline_name,
                "ratio": round(ratio, 3),
                "ratio_meaning": "times better than baseline",
                "machine": machine(),
                "date": datetime.date.today().isoformat(),
                **extra,
            }
        ),
        file=sys.__stdout__,
        flush=True,
    )
