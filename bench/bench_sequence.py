"""Landmark sequence models (option A) on real data, through the full user path.

    python bench/bench_sequence.py ksl        # KSL keypoints: builder -> finetune defaults vs a plain GRU, same run
    python bench/bench_sequence.py live       # per-frame live cost: tracker (VIDEO mode) + model window
    python bench/bench_sequence.py extract    # extraction throughput from videos of real photos, frames/s per core
    python bench/bench_sequence.py letters    # static ASL letters as one-frame clips, grouped split

Real data: ../shared/data/sign-keypoints (one signer per set: same-signer accuracy only) and the ASL photos.
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
sys.path.insert(0, str(HERE.parent / "tests"))
from common import ASL_DIR, ASL_GROUP_PATTERN, emit, gru_fit_predict, run_main  # noqa: E402

SHARED = HERE.parent.parent / "shared"
KSL = SHARED / "data" / "sign-keypoints" / "ksl-13-signs"
HAND_MODEL = SHARED / "models" / "mediapipe-hand-landmarker" / "hand_landmarker.task"


def gru_baseline() -> tuple[float, float]:
    """The issue's reference: a plain bidirectional GRU over normalised hand landmarks, random 70/30 split of the
    KSL clips, one CPU thread. Returns (test accuracy, training seconds)."""
    from signspace.core.landmarks import load_npy

    clips, labels = [], []
    names = sorted(p.name for p in KSL.iterdir() if p.is_dir())
    for index, name in enumerate(names):
        for path in sorted((KSL / name).glob("*.npy")):
            landmarks = load_npy(path, path.name)
            clips.append((landmarks, np.arange(len(landmarks)) / 30.0))
            labels.append(index)
    order = np.random.default_rng(0).permutation(len(clips))
    cut = int(0.7 * len(clips))
    train, test = order[:cut], order[cut:]
    started = time.perf_counter()
    predicted = gru_fit_predict(
        [clips[i] for i in train], [labels[i] for i in train], [clips[i] for i in test], len(names)
    )
    seconds = time.perf_counter() - started
    return float((predicted == np.asarray(labels)[test]).mean()), seconds


def bench_ksl(work: Path) -> None:
    import build_dataset
    import finetune

    started = time.perf_counter()
    build_dataset.main(
        [
            "--data_dir",
            str(KSL),
            "--output_dir",
            str(work / "ksl"),
            "--features",
            "landmarks",
            "--overwrite",
            "--num_proc",
            "2",
        ]
    )
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    finetune.main(
        [
            "--dataset_dir",
            str(work / "ksl"),
            "--output_dir",
            str(work / "ksl-model"),
            "--overwrite_output_dir",
            "--disable_tqdm",
            "true",
        ]
    )
    train_s = time.perf_counter() - started
    metrics = json.loads((work / "ksl-model" / "metrics.json").read_text())
    gru_accuracy, gru_s = gru_baseline()
    emit(
        "ksl_sequence_test_accuracy",
        metrics["test"]["accuracy"],
        "test accuracy (grouped 70/15/15, same signer)",
        gru_accuracy,
        "plain BiGRU, random 70/30 split, 1 thread",
        True,
        ours_f1_macro=round(metrics["test"]["f1_macro"], 4),
        ours_build_seconds=round(build_s, 1),
        ours_finetune_seconds=round(train_s, 1),
        ours_train_runtime=round(metrics["training"]["train_runtime"], 1),
        train_samples_per_second=round(metrics["training"]["train_samples_per_second"], 1),
        best_checkpoint=Path(metrics["best_checkpoint"] or "").name,
        gru_train_seconds=round(gru_s, 1),
    )


def bench_live(work: Path, frames: int = 150) -> None:
    """Frames of a real hand moving across a 640x480 scene, through the live session with a trained model."""
    from PIL import Image

    from signspace.core.landmarks import hands_present
    from signspace.serve.inference import Predictor

    model_dir = work / "ksl-model"
    if not (model_dir / "config.json").exists():
        bench_ksl(work)
    photo = Image.open(sorted((ASL_DIR / "B").glob("*.jpg"))[0]).convert("RGB").resize((160, 160))
    scenes = []
    for i in range(frames):
        scene = Image.new("RGB", (640, 480), (60, 90, 120))
        scene.paste(photo, (120 + int(200 * (0.5 + 0.5 * np.sin(i / 10))), 200))
        scenes.append(np.asarray(scene))
    import torch

    torch.set_num_threads(2)
    with Predictor.from_pretrained(str(model_dir), hand_model=str(HAND_MODEL)) as predictor:
        session = predictor.new_live_session()
        costs, tracker_costs, found = [], [], 0
        for i, frame in enumerate(scenes):
            started = time.perf_counter()
            session.step(frame, i / 12, 0.6)
            costs.append(time.perf_counter() - started)
            found += bool(hands_present(session.frames[-1][1]).any())
        session.tracker.reset()
        for i, frame in enumerate(scenes[:60]):
            started = time.perf_counter()
            session.tracker.track(frame, 20_000_000 + i * 83)
            tracker_costs.append(time.perf_counter() - started)
        window = np.zeros((30, 258), np.float32)
        window[:, 195:] = 0.5
        started = time.perf_counter()
        for _ in range(100):
            predictor.predict_landmarks(window, np.arange(30) / 30)
        model_ms = (time.perf_counter() - started) * 10
        session.close()
    median = float(np.median(costs[10:]) * 1000)
    emit(
        "live_sequence_frame_ms",
        median,
        "ms per 640x480 frame (tracker VIDEO mode + window prediction), median",
        25.0,
        "the issue's goal",
        False,
        p90_ms=round(float(np.percentile(costs[10:], 90)) * 1000, 1),
        tracker_ms=round(float(np.median(tracker_costs[5:])) * 1000, 1),
        model_window_ms=round(model_ms, 2),
        frames_with_hand=f"{found}/{len(scenes)}",
        threads=2,
    )


def bench_extract(work: Path) -> None:
    import build_dataset
    from factories import photo_video

    data = work / "videos"
    if not data.exists():
        for letter in ("A", "B", "L", "Y"):
            photos = sorted((ASL_DIR / letter).glob("*.jpg"))
            for clip in range(4):
                photo_video(data / letter / f"take{clip}.mp4", photos[clip * 6 : (clip + 1) * 6], size=480, repeat=3)
    frames = 16 * 18
    results = {}
    for procs in (1, 2):
        started = time.perf_counter()
        build_dataset.main(
            [
                "--data_dir",
                str(data),
                "--output_dir",
                str(work / f"videos-{procs}"),
                "--features",
                "landmarks",
                "--overwrite",
                "--num_proc",
                str(procs),
                "--hand_model",
                str(HAND_MODEL),
            ]
        )
        results[procs] = frames / (time.perf_counter() - started)
    emit(
        "landmark_extraction_frames_per_second_per_core",
        results[1],
        "frames/s, 1 process (480x480 video frames)",
        results[2] / 2,
        "per core with 2 processes",
        True,
        two_process_total=round(results[2], 1),
    )


def bench_letters(work: Path) -> None:
    """Static letters: photos as one-frame clips through the landmark path, same grouped split as the image model."""
    import build_dataset
    import finetune

    started = time.perf_counter()
    build_dataset.main(
        [
            "--data_dir",
            str(ASL_DIR),
            "--output_dir",
            str(work / "letters"),
            "--features",
            "landmarks",
            "--group_pattern",
            ASL_GROUP_PATTERN,
            "--overwrite",
            "--num_proc",
            "2",
            "--hand_model",
            str(HAND_MODEL),
        ]
    )
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    finetune.main(
        [
            "--dataset_dir",
            str(work / "letters"),
            "--output_dir",
            str(work / "letters-model"),
            "--overwrite_output_dir",
            "--disable_tqdm",
            "true",
            "--sequence_length",
            "4",
        ]
    )
    train_s = time.perf_counter() - started
    metrics = json.loads((work / "letters-model" / "metrics.json").read_text())
    report = json.loads((work / "letters" / "build_report.json").read_text())
    no_hand = len(report["hands"]["no_hand_clips"])
    emit(
        "asl_letters_landmark_test_accuracy",
        metrics["test"]["accuracy"],
        "test accuracy of clips with a hand (grouped split)",
        1.0,
        "(compare with the image model in docs/benchmarks.md)",
        True,
        f1_macro=round(metrics["test"]["f1_macro"], 4),
        build_seconds=round(build_s, 1),
        finetune_seconds=round(train_s, 1),
        photos_without_hand=no_hand,
        test_clips=int(np.sum(metrics["test"]["confusion_matrix"])),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("ksl", "live", "extract", "letters"))
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    for needed in (KSL, ASL_DIR, HAND_MODEL):
        if not needed.exists():
            sys.exit(f"needs {needed}")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="signspace-seq-"))
    work.mkdir(parents=True, exist_ok=True)
    {"ksl": bench_ksl, "live": bench_live, "extract": bench_extract, "letters": bench_letters}[args.what](work)


if __name__ == "__main__":
    run_main(main)
