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
ASL_DIR = Path(os.environ.get("SIGNSPACE_ASL_DIR") or Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "asl-letters")
ASL_GROUP_PATTERN = r"^(.+?)_jpg\.rf\."


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


def emit(name: str, figure: float, unit: str, baseline: float, baseline_name: str, higher_is_better: bool, **extra) -> None:
    ratio = figure / baseline if higher_is_better else baseline / figure
    print(json.dumps({
        "benchmark": name, "figure": round(figure, 3), "unit": unit,
        "baseline": round(baseline, 3), "baseline_name": baseline_name,
        "ratio": round(ratio, 3), "ratio_meaning": "times better than baseline",
        "machine": machine(), "date": datetime.date.today().isoformat(), **extra,
    }), file=sys.__stdout__, flush=True)
