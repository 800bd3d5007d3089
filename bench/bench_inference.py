"""App inference latency on 2 CPU threads: our Predictor vs transformers' pipeline, same run.

ViT-B/16 at 224 with 24 labels (random weights: speed does not depend on them), a 640x480 frame.
Also: int8-vs-fp32 top-1 agreement on real photos (and with the one-off answers' fp32 recheck), non-model overhead,
the live-stream rate, and
EfficientNet-Lite0 (the small backbone a free CPU Space can pick).
    python bench/bench_inference.py [--photos 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ASL_DIR, emit, run_main  # noqa: E402

warnings.filterwarnings("ignore")
THREADS = 2
SHARED_EFFNET = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "efficientnet-lite0-in1k"


def median_ms(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def make_vit(folder: Path) -> Path:
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    labels = [chr(c) for c in range(ord("A"), ord("Z") + 1) if chr(c) not in "JZ"]  # RavenOnur's 24 letters
    config = ViTConfig(
        num_labels=24, id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)}
    )
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 224, "width": 224}).save_pretrained(folder)
    return folder


def photo_splits(limit: int) -> tuple[list[Path], list[Path]]:
    """Real photos split by source-photo group (augmented copies stay together): (probe-train, test)."""
    if not ASL_DIR.is_dir():
        return [], []
    import zlib

    every = sorted(ASL_DIR.glob("*/*.jpg"))
    group = lambda p: p.name.split("_jpg")[0]  # noqa: E731
    train = [p for p in every if zlib.crc32(group(p).encode()) % 10 < 6]
    test = [p for p in every if zlib.crc32(group(p).encode()) % 10 >= 6]
    return train[:: max(1, len(train) // (2 * limit))][: 2 * limit], test[:: max(1, len(test) // limit)][:limit]


def make_probed_vit(folder: Path, train_photos: list[Path]) -> Path:
    """ViT-B/16 whose head is a linear probe fitted on real photos, so predictions have real margins.

    A fully random ViT's logits differ by hundredths: int8 rounding then flips the argmax by chance,
    which says nothing about how a trained model behaves. The backbone stays random (no weights offline).
    """
    from sklearn.linear_model import LogisticRegression
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    from signspace.serve.inference import Predictor

    torch.manual_seed(0)
    letters = sorted({p.parent.name for p in train_photos})
    config = ViTConfig(
        num_labels=len(letters), id2label=dict(enumerate(letters)), label2id={name: i for i, name in enumerate(letters)}
    )
    model = ViTForImageClassification(config).eval()
    processor = ViTImageProcessor(size={"height": 224, "width": 224})
    helper = Predictor(model, processor, precision="fp32", threads=THREADS)
    with torch.inference_mode():
        features = np.concatenate(
            [
                model.vit(pixel_values=torch.from_numpy(helper.preprocess(p))).last_hidden_state[:, 0].numpy()
                for p in train_photos
            ]
        )
    labels = [letters.index(p.parent.name) for p in train_photos]
    probe = LogisticRegression(max_iter=3000, C=10.0).fit(features, labels)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(probe.coef_).float())
        model.classifier.bias.copy_(torch.from_numpy(probe.intercept_).float())
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def gap_shift(fast, exact) -> float:
    """How far any top-1/top-2 logit gap moved between precisions (log-probabilities differ from logits by
    a per-image constant, which cancels): a prediction can only flip if its gap is smaller than this."""
    delta = np.log(fast.probabilities) - np.log(exact.probabilities)
    return float(delta.max() - delta.min())


def top1_agreement(got, expected) -> float:
    return round(float(np.mean([g.best[0] == e.best[0] for g, e in zip(got, expected)])), 4)


def agreement(fast, photos, expected) -> dict:
    got = [fast.predict(p) for p in photos]
    shifts = [gap_shift(g, e) for g, e in zip(got, expected)]
    return {
        "top1": top1_agreement(got, expected),
        "gap_shift_p99": round(float(np.percentile(shifts, 99)), 4),
        "gap_shift_max": round(max(shifts), 4),
    }


def recheck_cost(int8, photos, expected) -> dict:
    """One-off answers (predict(recheck=True)): agreement, share of photos rerun in fp32, mean latency."""
    got = [int8.predict(p, recheck=True) for p in photos]
    plain = [int8.predict(p).seconds for p in photos]
    return {
        "margin": int8.recheck_margin,
        "top1": top1_agreement(got, expected),
        "rechecked_share": round(float(np.mean([g.precision == "fp32" for g in got])), 3),
        "mean_ms": round(1000 * float(np.mean([g.seconds for g in got])), 1),
        "mean_ms_without": round(1000 * float(np.mean(plain)), 1),
    }


def stream_rate(predictor, frame: np.ndarray, stream_every: float, seconds: float) -> float:
    """Frames offered every ``stream_every`` s for ``seconds``; predictions actually made per second."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "space"))
    import app
    import handlers

    live = handlers.LivePage.named()
    session, done, start = None, 0, time.perf_counter()
    next_frame = start
    while time.perf_counter() - start < seconds:
        now = time.perf_counter()
        if now < next_frame:
            time.sleep(next_frame - now)
        session = app.live_step(live, predictor, frame, session, 0.6, None)["session"]
        done += 1
        next_frame += stream_every
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=200, help="test photos for the agreement check")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--agreement_model",
        default=None,
        help="a trained model folder (e.g. from train/finetune.py) to measure int8/bf16 agreement on, "
        "instead of the random-backbone linear-probe proxy",
    )
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    from PIL import Image
    from transformers import pipeline

    from signspace.serve.inference import Predictor

    frame = np.random.RandomState(0).randint(0, 256, (480, 640, 3), dtype=np.uint8)
    frame_pil = Image.fromarray(frame)
    with tempfile.TemporaryDirectory() as tmp:
        vit_dir = make_vit(Path(tmp) / "vit")
        classifier = pipeline("image-classification", model=str(vit_dir), device="cpu")
        baseline_ms = median_ms(lambda: classifier(frame_pil), args.repeats)
        results = {}
        predictors = {}
        for precision in ("fp32", "int8", "int8-torch", "bf16"):
            predictor = Predictor.from_pretrained(str(vit_dir), precision=precision, threads=THREADS)
            predictors[precision] = predictor
            results[precision] = median_ms(lambda p=predictor: p.predict(frame), args.repeats)
        int8 = predictors["int8"]
        preprocess_ms = median_ms(lambda: int8.preprocess(frame), args.repeats)
        pixels = int8.preprocess(frame)
        model_ms = median_ms(lambda: int8._run(pixels), args.repeats)
        probe_train, sample = photo_splits(args.photos)
        agree, recheck = {}, {}
        if sample:
            probed = args.agreement_model or make_probed_vit(Path(tmp) / "probed", probe_train)
            reference = Predictor.from_pretrained(str(probed), precision="fp32", threads=THREADS)
            expected = [reference.predict(p) for p in sample]
            for precision in ("int8", "int8-torch", "bf16"):
                fast = Predictor.from_pretrained(str(probed), precision=precision, threads=THREADS)
                agree[precision] = agreement(fast, sample, expected)
            recheck = recheck_cost(
                Predictor.from_pretrained(str(probed), precision="int8", threads=THREADS), sample, expected
            )
        rate = stream_rate(int8, frame, stream_every=0.2, seconds=10)

        effnet = {}
        if SHARED_EFFNET.is_dir():
            for precision in ("fp32", "int8"):
                small = Predictor.from_pretrained(str(SHARED_EFFNET), precision=precision, threads=THREADS)
                effnet[precision] = round(median_ms(lambda p=small: p.predict(frame), args.repeats), 1)

    emit(
        "app_inference_latency_vit_b16_640x480",
        results["int8"],
        "ms/frame (int8 ONNX, end to end)",
        baseline_ms,
        "transformers pipeline('image-classification'), fp32",
        higher_is_better=False,
        threads=THREADS,
        fp32_ms=round(results["fp32"], 1),
        int8_torch_ms=round(results["int8-torch"], 1),
        bf16_ms=round(results["bf16"], 1),
        int8_model_only_ms=round(model_ms, 1),
        int8_preprocess_ms=round(preprocess_ms, 1),
        non_model_overhead=round(preprocess_ms / results["int8"], 3),
        top1_agreement_vs_fp32=agree,
        agreement_photos=len(sample),
        int8_with_recheck=recheck,
        stream_predictions_per_s=round(rate, 2),
        stream_offered_per_s=5.0,
        model_bound_per_s=round(1000 / results["int8"], 1),
        efficientnet_lite0_ms=effnet,
    )


if __name__ == "__main__":
    run_main(main)
