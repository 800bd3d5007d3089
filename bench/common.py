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
    ratio = (figure / baseline if higher_is_better else baseline / figure) if figure and baseline else None
    print(
        json.dumps(
            {
                "benchmark": name,
                "figure": round(figure, 3),
                "unit": unit,
                "baseline": round(baseline, 3),
                "baseline_name": baseline_name,
                "ratio": None if ratio is None else round(ratio, 3),
                "ratio_meaning": "times better than baseline",
                "machine": machine(),
                "date": datetime.date.today().isoformat(),
                **extra,
            }
        ),
        file=sys.__stdout__,
        flush=True,
    )


def gru_fit_predict(train, train_labels, test, num_labels: int, length: int = 32, epochs: int = 40, seed: int = 0):
    """The issues' reference model: a plain bidirectional GRU over normalised hand landmarks (SignSpace's own
    ``normalise``: hand shape, position, velocity), each clip resampled to ``length`` frames, no augmentation,
    one CPU thread. ``train``/``test``: (frames x 258, times) pairs. Returns the predicted label of each test clip."""
    import numpy as np
    import torch

    from signspace.core.landmarks import normalise, resample

    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    def features(clips):
        windows = [resample(landmarks, times, length) for landmarks, times in clips]
        return normalise(torch.from_numpy(np.stack(windows).astype(np.float32)))

    x, y = features(train), torch.as_tensor(list(train_labels))

    class GRU(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(x.shape[-1], 64, batch_first=True, bidirectional=True)
            self.head = torch.nn.Linear(128, num_labels)

        def forward(self, batch):
            return self.head(self.gru(batch)[0].mean(1))

    torch.manual_seed(seed)
    model = GRU()
    optimiser = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(y)).split(32):
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        predicted = model(features(test)).argmax(-1).numpy()
    torch.set_num_threads(threads)
    return predicted
