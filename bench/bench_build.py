"""Dataset builder speed: validated images per second per core on the real ASL photos, 1 vs 2 processes.

Baseline, same run: the plain approach (PIL open, full-size decode, RGB, resize) in one process.
    python bench/bench_build.py [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ASL_DIR, ASL_GROUP_PATTERN, emit, run_main  # noqa: E402

from signspace.data.builder import DecodeSettings, decode_all  # noqa: E402
from signspace.data.scan import scan_data_dir  # noqa: E402


def naive(paths, size):
    for path in paths:
        with Image.open(path) as image:
            image = image.convert("RGB")
            scale = size / min(image.size)
            image.resize((round(image.width * scale), round(image.height * scale)), Image.BICUBIC).tobytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data_dir", default=str(ASL_DIR))
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not Path(args.data_dir).is_dir():
        sys.exit(f"no data at {args.data_dir}; pass --data_dir")
    scan = scan_data_dir(Path(args.data_dir), ASL_GROUP_PATTERN)
    items = scan.items
    settings = DecodeSettings(args.image_size, 16)

    def best(fn):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    base_s = best(lambda: naive([i.path for i in items], args.image_size))
    one_s = best(lambda: decode_all(items, settings, num_proc=1))
    two_s = best(lambda: decode_all(items, settings, num_proc=2))
    n = len(items)
    emit(
        "build_dataset_validate",
        n / one_s,
        "images/s/core (1 process)",
        n / base_s,
        "naive PIL full decode + resize, 1 process",
        True,
        images=n,
        two_process_images_per_s=round(n / two_s, 1),
        two_process_per_core=round(n / two_s / 2, 1),
        scaling_1_to_2=round(one_s / two_s, 2),
    )


if __name__ == "__main__":
    run_main(main)
