"""Do hand crops make webcam frames recognisable? Whole frame vs hand crop, same model, same run.

1. The real ASL photos through our builder with --track_hands (grouped split, landmarks stored).
2. The crop dataset: the same rows and split, each image cut by `hands.hand_crop` from its stored landmarks
   (the builder's and the app's one crop function); rows without a hand are left out, as --hand_crop does.
3. EfficientNet-Lite0 (../shared) fine-tuned with finetune.py defaults on each, same epochs.
4. Scored through the app's Predictor (the serving path) on
   - the close-up test photos;
   - one webcam-like 640x480 scene per test photo (bench/scenes.py: the hand at 15-30 % of the frame height).
   A frame where no hand is found counts as wrong (the app would answer "no hand").
    python bench/bench_hand_crop.py [--epochs 3] [--workdir DIR]
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
from common import ASL_DIR, ASL_GROUP_PATTERN, emit, run_main  # noqa: E402
from scenes import hand_region, webcam_scene  # noqa: E402

EFFNET = HERE.parent.parent / "shared" / "models" / "efficientnet-lite0-in1k"
HAND_MODEL = HERE.parent.parent / "shared" / "models" / "mediapipe-hand-landmarker" / "hand_landmarker.task"


def crop_dataset(tracked: Path, out: Path) -> None:
    import datasets

    from signspace.core.hands import Hand, hand_crop
    from signspace.core.imaging import decode_image, encode_jpeg

    data = datasets.load_from_disk(str(tracked))

    def crop(row):
        image = decode_image(row["image"]["bytes"])
        cut = hand_crop(image, [Hand.from_record(h) for h in row["hands"]])
        return {"image": {"bytes": encode_jpeg(cut) if cut else b"", "path": None}, "keep": cut is not None}

    cropped = datasets.DatasetDict(
        {
            split: part.cast_column("image", datasets.Image(decode=False))
            .map(crop)
            .filter(lambda r: r["keep"])
            .remove_columns("keep")
            .cast_column("image", datasets.Image())
            for split, part in data.items()
        }
    )
    cropped.save_to_disk(str(out))
    report = json.loads((tracked / "build_report.json").read_text())
    report["preprocessing"] = {"input": "hand_crop", "crop_margin": 0.25, "hand_detection_confidence": 0.3}
    report["total_images"] = sum(len(part) for part in cropped.values())
    (out / "build_report.json").write_text(json.dumps(report))


def score(predictor, frames: list, labels: list[int]) -> tuple[float, int]:
    correct = no_hand = 0
    for frame, label in zip(frames, labels):
        prediction = predictor.predict(frame, unmirror=False)
        no_hand += prediction.no_hand
        correct += (not prediction.no_hand) and prediction.best[0] == predictor.labels[label]
    return correct / len(frames), no_hand


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="keep outputs here (default: a temp folder)")
    args = parser.parse_args()
    for needed in (ASL_DIR, EFFNET, HAND_MODEL):
        if not needed.exists():
            sys.exit(f"needs {needed}")
    import build_dataset
    import datasets
    import finetune

    from signspace.serve.inference import Predictor

    work = Path(args.workdir or tempfile.mkdtemp(prefix="signspace-crop-"))
    tracked, cropped = work / "asl-tracked", work / "asl-crops"
    if not tracked.exists():
        build_dataset.main(
            [
                "--data_dir",
                str(ASL_DIR),
                "--output_dir",
                str(tracked),
                "--group_pattern",
                ASL_GROUP_PATTERN,
                "--track_hands",
                "--hand_model",
                str(HAND_MODEL),
                "--num_proc",
                "2",
            ]
        )
    if not cropped.exists():
        crop_dataset(tracked, cropped)
    minutes = {}
    for name, dataset in (("whole", tracked), ("crop", cropped)):
        out = work / f"model-{name}"
        if not (out / "metrics.json").exists():
            start = time.perf_counter()
            finetune.main(
                [
                    "--dataset_dir",
                    str(dataset),
                    "--output_dir",
                    str(out),
                    "--model_name_or_path",
                    str(EFFNET),
                    "--num_train_epochs",
                    str(args.epochs),
                    "--overwrite_output_dir",
                    "--disable_tqdm",
                    "true",
                ]
            )
            minutes[name] = round((time.perf_counter() - start) / 60, 1)

    test = datasets.load_from_disk(str(tracked))["test"]
    photos = [np.asarray(image.convert("RGB")) for image in test["image"]]
    labels = test["label"]
    others = [test[(i * 7 + 3) % len(test)]["image"] for i in range(len(test))]
    from signspace.core.hands import Hand

    regions = [hand_region(row["image"], None, [Hand.from_record(h) for h in row["hands"]]) for row in test]
    scenes = [
        np.asarray(webcam_scene(image, other, seed=i, region=region))
        for i, (image, other, region) in enumerate(zip(test["image"], others, regions))
    ]
    results = {}
    kw = dict(precision="fp32", hand_model=str(HAND_MODEL))
    with (
        Predictor.from_pretrained(str(work / "model-whole"), hand_crop="off", **kw) as whole,
        Predictor.from_pretrained(str(work / "model-whole"), hand_crop="on", **kw) as whole_cropped,
        Predictor.from_pretrained(str(work / "model-crop"), **kw) as crop_model,
    ):
        assert crop_model.hand_crop  # recorded in its config.json
        for name, predictor in (
            ("whole_model_whole_input", whole),
            ("whole_model_crop_input", whole_cropped),
            ("crop_model_crop_input", crop_model),
        ):
            for kind, frames in (("closeup", photos), ("scene", scenes)):
                accuracy, misses = score(predictor, frames, labels)
                results[f"{name}_{kind}"] = round(accuracy, 4)
                results[f"{name}_{kind}_no_hand"] = misses
    (work / "hand_crop_results.json").write_text(json.dumps(results, indent=2))
    emit(
        "webcam_scene_accuracy_with_hand_crop",
        results["whole_model_crop_input_scene"],
        "top-1 on webcam-like scenes (hand crop, model trained on whole close-ups)",
        results["whole_model_whole_input_scene"],
        "same model, whole 640x480 frame",
        True,
        epochs=args.epochs,
        test_photos=len(photos),
        train_minutes=minutes,
        **results,
        outputs=str(work),
    )


if __name__ == "__main__":
    run_main(main)
