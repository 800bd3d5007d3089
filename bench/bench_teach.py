"""The Teach tab's Train button on 5 signs x 10 clips, as the page runs it (signspace.teach.session.run_training).

    python bench/bench_teach.py [--workdir DIR]

Clips: 2-second MP4s made from the shared ASL photos (8 photos of one letter, 3 frames each, 12 frames/s, 480 px),
like webcam recordings of a held handshape. Prints three JSON lines:
- Train with nothing cached (every clip tracked at Train), split into extraction and training, vs the 60 s goal;
- Train with the clips already tracked (the page tracks each clip right after it is recorded), and the cost of that
  per-clip tracking;
- the same folder through train/build_dataset.py + train/finetune.py with the same seed: same metrics or not.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import ASL_DIR, emit, run_main  # noqa: E402

HAND_MODEL = HERE.parent.parent / "shared" / "models" / "mediapipe-hand-landmarker" / "hand_landmarker.task"
LETTERS = ("A", "B", "L", "V", "Y")
GOAL_SECONDS = 60.0


def make_folder(root: Path) -> Path:
    from factories import photo_video

    for letter in LETTERS:
        photos = sorted((ASL_DIR / letter).glob("*.jpg"))
        for clip in range(10):
            chosen = photos[clip * 4 : clip * 4 + 8]
            photo_video(root / f"sign-{letter}" / f"take{clip:02d}.mp4", chosen, size=480, repeat=3, rate=12)
    return root


def timed_training(folder, name: str):
    from signspace.teach.jobs import Job
    from signspace.teach.session import run_training

    started = time.perf_counter()
    result = run_training(folder, Job(name, "bench", None))
    return result, time.perf_counter() - started


def bench(work: Path) -> None:
    from signspace.data import build_dataset
    from signspace.teach.folder import TeachFolder
    from signspace.train import finetune

    data = make_folder(work / "signs")
    folder = TeachFolder(data, hand_model=str(HAND_MODEL))
    cold, cold_seconds = timed_training(folder, "cold")
    emit(
        "teach_train_seconds_cold_cache",
        cold_seconds,
        "s, Train button (5 signs x 10 clips, nothing tracked before)",
        GOAL_SECONDS,
        "the issue's goal",
        False,
        extraction_seconds=round(cold.extraction_seconds, 1),
        training_seconds=round(cold.training_seconds, 1),
        validation_accuracy=cold.accuracy,
        validation_clips=cold.validation_clips,
        excluded_no_hand=len(cold.excluded),
        threads=2,
    )

    # The page tracks each clip as soon as it is saved: measure that per clip, then Train with a warm cache.
    shutil.rmtree(folder.work / "landmarks")
    costs = []
    for clip in folder.clips():
        started = time.perf_counter()
        folder.extract(clip)
        costs.append(time.perf_counter() - started)
    warm, warm_seconds = timed_training(folder, "warm")
    emit(
        "teach_train_seconds_clips_tracked_when_recorded",
        warm_seconds,
        "s, Train button (5 signs x 10 clips, each tracked right after recording)",
        GOAL_SECONDS,
        "the issue's goal",
        False,
        extraction_seconds=round(warm.extraction_seconds, 1),
        training_seconds=round(warm.training_seconds, 1),
        tracking_after_each_recording_median_seconds=round(statistics.median(costs), 2),
        validation_accuracy=warm.accuracy,
    )

    dataset, model = work / "script-dataset", work / "script-model"
    build_dataset.main(
        [
            "--data_dir", str(data), "--output_dir", str(dataset), "--features", "landmarks", "--val_size", "0.2",
            "--test_size", "0", "--seed", "42", "--num_proc", "2", "--hand_model", str(HAND_MODEL), "--overwrite",
        ]
    )  # fmt: skip
    finetune.main(
        ["--dataset_dir", str(dataset), "--output_dir", str(model), "--seed", "42", "--overwrite_output_dir",
         "--disable_tqdm", "true"]
    )  # fmt: skip
    ours = json.loads((warm.model_dir / "metrics.json").read_text())
    scripts = json.loads((model / "metrics.json").read_text())
    same = (
        ours["validation"]["confusion_matrix"] == scripts["validation"]["confusion_matrix"]
        and abs(ours["training"]["train_loss"] - scripts["training"]["train_loss"]) < 1e-6
    )
    emit(
        "teach_vs_scripts_same_seed_same_metrics",
        float(same),
        "1 = identical validation confusion matrix and training loss",
        1.0,
        "train/build_dataset.py + train/finetune.py, same folder and seed",
        True,
        teach_validation_accuracy=ours["validation"]["accuracy"],
        scripts_validation_accuracy=scripts["validation"]["accuracy"],
        teach_train_loss=round(ours["training"]["train_loss"], 6),
        scripts_train_loss=round(scripts["training"]["train_loss"], 6),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    for needed in (ASL_DIR, HAND_MODEL):
        if not needed.exists():
            sys.exit(f"needs {needed}")
    if args.workdir:
        work = Path(args.workdir)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        bench(work)
    else:
        with tempfile.TemporaryDirectory(prefix="signspace-bench-teach-") as work:
            bench(Path(work))


if __name__ == "__main__":
    run_main(main)
