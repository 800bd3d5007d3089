"""Signer independence: accuracy on people a model never saw, through the user's own build -> finetune path.

    python bench/bench_signers.py four     # the four-person set, each person left out in turn (hello/thanks/iloveyou)
    python bench/bench_signers.py islr     # the 14 ISLR people (hello/thankyou), each left out in turn
    python bench/bench_signers.py growth   # ISLR: accuracy on a new person vs how many people trained it
    python bench/bench_signers.py teach    # a Teach-tab-sized model (10 clips per sign, one person) on the others
    python bench/bench_signers.py idle     # words typed over 60 s of motion that is not a sign of the model

Every fold builds with `--signer_pattern '^([^/]+)/' --split_by signer --test_signers <person>` and trains with
finetune's defaults; the score is metrics.json's `signers.unseen` (the model never saw that person). A plain
bidirectional GRU over the same normalised landmarks, trained on the same training clips, is the same-run baseline.
Data: ../shared/data/sign-keypoints (asl-multi-signer, islr-hello-thankyou, ksl-13-signs, asl-3-signs).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "train"))
from common import emit, gru_fit_predict, run_main  # noqa: E402

KEYPOINTS = HERE.parent.parent / "shared" / "data" / "sign-keypoints"
FOUR = KEYPOINTS / "asl-multi-signer"
FOUR_SIGNS = ("hello", "thanks", "iloveyou")
ISLR = KEYPOINTS / "islr-hello-thankyou"
HAND_MODEL = KEYPOINTS.parent.parent / "models" / "mediapipe-hand-landmarker" / "hand_landmarker.task"
PEOPLE = r"^([^/]+)/"


def four_person_tree(root: Path, signs=FOUR_SIGNS, clips: int | None = None, only: str | None = None) -> Path:
    """root/<person>/<sign>/<clip>/ linked to the shared set (``clips``: the first N of ``only``'s clips)."""
    for person in sorted(p for p in FOUR.iterdir() if p.is_dir()):
        for sign in signs:
            source = person / sign
            if not source.is_dir():
                continue
            target = root / person.name / sign
            target.mkdir(parents=True, exist_ok=True)
            numbered = sorted((c for c in source.iterdir() if c.is_dir()), key=lambda c: int(c.name))
            if clips is not None and person.name == only:
                numbered = numbered[:clips]
            for clip in numbered:
                (target / clip.name).symlink_to(clip, target_is_directory=True)
    return root


def islr_tree(root: Path, people: list[str] | None = None) -> Path:
    """root/<participant>/<sign>/<sequence_id>.npy from the per-participant .npz files."""
    for path in sorted(ISLR.glob("*.npz")):
        if people is not None and path.stem not in people:
            continue
        with np.load(path) as stored:
            for clip, sign, sequence_id in zip(stored["X"], stored["sign"], stored["sequence_id"]):
                folder = root / path.stem / str(sign)
                folder.mkdir(parents=True, exist_ok=True)
                np.save(folder / f"{sequence_id}.npy", np.asarray(clip, np.float32))
    return root


def islr_people() -> list[str]:
    return sorted(path.stem for path in ISLR.glob("*.npz"))


def train_fold(data: Path, work: Path, held_out: list[str], finetune_args: tuple = ()) -> dict:
    """The user's path for one fold; returns metrics.json and the GRU baseline's accuracy on the same people."""
    import build_dataset
    import datasets
    import finetune

    dataset, model = work / "dataset", work / "model"
    build_dataset.main(
        ["--data_dir", str(data), "--output_dir", str(dataset), "--features", "landmarks", "--overwrite",
         "--signer_pattern", PEOPLE, "--split_by", "signer", "--test_signers", ",".join(held_out), "--num_proc", "1"]
    )  # fmt: skip
    started = time.perf_counter()
    finetune.main(
        ["--dataset_dir", str(dataset), "--output_dir", str(model), "--overwrite_output_dir", "--disable_tqdm", "true",
         *finetune_args]
    )  # fmt: skip
    seconds = time.perf_counter() - started
    metrics = json.loads((model / "metrics.json").read_text())
    splits = datasets.load_from_disk(str(dataset))
    train, test = splits["train"], splits["test"].filter(lambda row: row["signer"] in held_out)
    gru = gru_fit_predict(_clips(train), train["label"], _clips(test), len(train.features["label"].names))
    return {
        "metrics": metrics,
        "seconds": seconds,
        "gru_correct": int((gru == np.asarray(test["label"])).sum()),
        "clips": len(test),
    }


def _clips(split) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.asarray(row["landmarks"], np.float32), np.asarray(row["times"])) for row in split]


def leave_one_out(name: str, data: Path, work: Path, folds: list[list[str]], what: str) -> None:
    ours = gru = clips = 0
    per_person, per_person_gru, seconds = {}, {}, []
    for fold in folds:
        result = train_fold(data, work / "-".join(fold), fold)
        unseen = result["metrics"]["signers"]["unseen"]
        ours += round(unseen["accuracy"] * unseen["clips"])
        gru += result["gru_correct"]
        clips += result["clips"]
        per_person.update({p: round(a, 3) for p, a in unseen["per_signer"].items()})
        per_person_gru["+".join(fold)] = round(result["gru_correct"] / result["clips"], 3)
        seconds.append(round(result["seconds"], 1))
    emit(
        name,
        ours / clips,
        f"accuracy on people never seen ({what}), clips pooled over folds",
        gru / clips,
        "plain BiGRU on the same normalised landmarks and training clips",
        True,
        folds=len(folds),
        clips=clips,
        per_person=per_person,
        per_fold_gru=per_person_gru,
        finetune_seconds=seconds,
    )


def bench_four(work: Path) -> None:
    data = four_person_tree(work / "people")
    people = sorted(p.name for p in data.iterdir())
    leave_one_out("four_person_unseen_signer_accuracy", data, work, [[p] for p in people], "hello/thanks/iloveyou")


def bench_islr(work: Path, groups: int) -> None:
    data = islr_tree(work / "people")
    people = islr_people()
    folds = [people[i::groups] for i in range(groups)]
    leave_one_out("islr_unseen_signer_accuracy", data, work, folds, f"hello/thankyou, {groups} folds of 14 people")


def bench_growth(work: Path, repeats: int) -> None:
    """Train on k people, test on one other person, for k in 1, 2, 4, 8, 13 (``repeats`` draws each)."""
    people = islr_people()
    curve, gru_curve = {}, {}
    for k in (1, 2, 4, 8, 13):
        ours = gru = clips = 0
        for repeat in range(repeats):
            rng = random.Random(f"growth:{k}:{repeat}")
            test = people[repeat % len(people)]
            trained = rng.sample([p for p in people if p != test], k)
            fold = work / f"k{k}-r{repeat}"
            result = train_fold(islr_tree(fold / "people", trained + [test]), fold, [test])
            unseen = result["metrics"]["signers"]["unseen"]
            ours += round(unseen["accuracy"] * unseen["clips"])
            gru += result["gru_correct"]
            clips += result["clips"]
        curve[k], gru_curve[k] = round(ours / clips, 3), round(gru / clips, 3)
    emit(
        "islr_accuracy_vs_training_people",
        curve[13],
        "accuracy on a new person with 13 training people",
        curve[1],
        "the same with 1 training person",
        True,
        curve=curve,
        gru_curve=gru_curve,
        repeats=repeats,
    )


def bench_teach(work: Path) -> None:
    """10 clips per sign from one person (a Teach-tab user), tested on everyone else's clips of those signs."""
    ours = gru = clips = 0
    per_person = {}
    for person in sorted(p.name for p in FOUR.iterdir() if p.is_dir()):
        signs = [s for s in FOUR_SIGNS if (FOUR / person / s).is_dir()]
        fold = work / f"teach-{person}"
        data = four_person_tree(fold / "people", signs, clips=10, only=person)
        others = sorted(p.name for p in data.iterdir() if p.name != person)
        result = train_fold(data, fold, others)
        unseen = result["metrics"]["signers"]["unseen"]
        ours += round(unseen["accuracy"] * unseen["clips"])
        gru += result["gru_correct"]
        clips += result["clips"]
        per_person[person] = {"signs": signs, "accuracy_on_others": round(unseen["accuracy"], 3)}
    emit(
        "teach_sized_model_on_other_people",
        ours / clips,
        "accuracy on the other people of the four-person set (10 clips per sign of one person)",
        gru / clips,
        "plain BiGRU on the same clips",
        True,
        per_trainer=per_person,
        clips=clips,
    )


def stream(clips: list[tuple[np.ndarray, str]], seconds: float, fps: float = 30.0, gap: float = 0.5):
    """Frames (time, 258 values) of labelled clips one after another, hands gone for ``gap`` seconds between them,
    and each clip's (start, end of its gap, label)."""
    blank, now, frames, spans = np.zeros(258, np.float32), 0.0, [], []
    for clip, label in clips:
        start = now
        for values in list(clip) + [blank] * int(gap * fps):
            frames.append((now, values))
            now += 1 / fps
        spans.append((start, now, label))
        if now >= seconds:
            break
    return frames, spans


def typed_words(model_dir: Path, frames, thresholds) -> dict[float, list[tuple[float, str]]]:
    """(time, word) typed by the live session over ``frames``, for each confidence threshold."""
    from signspace.models.modeling import load_classifier
    from signspace.serve.inference import SequencePredictor

    predictor = SequencePredictor(load_classifier(str(model_dir)), hand_model=str(HAND_MODEL))
    typed = {}
    for threshold in thresholds:
        session = predictor.new_live_session()
        words = [(now, session.step_landmarks(values, now, threshold)[1]) for now, values in frames]
        typed[threshold] = [(now, word) for now, word in words if word]
    predictor.close()
    return typed


def correct_words(words: list[tuple[float, str]], spans) -> int:
    """Words typed while their clip (or the pause after it) was playing, and naming that clip's sign."""
    return sum(any(start <= now < end and word == label for start, end, label in spans) for now, word in words)


def bench_idle(work: Path, thresholds=(0.6, 0.8, 0.9, 0.95)) -> None:
    """Words typed over 60 s of real hand motion that is no sign of the model (another person's KSL signs), by the
    four-person model without and with a "not-a-sign" class (taught with asl-3-signs' clips: yet another person,
    other signs), and, so that typing nothing scores no points, the right words typed for 60 s of a held-out
    person's real hello/thanks/iloveyou clips; at the app's threshold (0.6) and stricter ones."""
    from signspace.core.labels import BACKGROUND_LABEL
    from signspace.core.landmarks import load_npy, load_npy_frames

    held_out = "surtecha"
    ksl = sorted((KEYPOINTS / "ksl-13-signs").glob("*/*.npy"))
    random.Random(0).shuffle(ksl)
    idle, _ = stream([(load_npy(p, p.name), "") for p in ksl], 60.0)
    own = [FOUR / held_out / sign / str(clip) for sign in FOUR_SIGNS for clip in range(30)]
    random.Random(1).shuffle(own)
    signs, spans = stream([(load_npy_frames(list(p.glob("*.npy")), p.name), p.parent.name) for p in own], 60.0)
    results = {}
    for variant in ("without", "with"):
        data = four_person_tree(work / variant / "people")
        if variant == "with":
            background = data / "asl3" / BACKGROUND_LABEL
            background.mkdir(parents=True)
            for clip in sorted((KEYPOINTS / "asl-3-signs").glob("*/*")):
                (background / f"{clip.parent.name}-{clip.name}").symlink_to(clip, target_is_directory=True)
        result = train_fold(data, work / variant, [held_out])
        model = work / variant / "model"
        false_words, sign_words = typed_words(model, idle, thresholds), typed_words(model, signs, thresholds)
        results[variant] = {
            "unseen_signer_accuracy": round(result["metrics"]["signers"]["unseen"]["accuracy"], 3),
            "by_threshold": {
                str(t): {
                    "false_words": len(false_words[t]),
                    "right_words": correct_words(sign_words[t], spans),
                    "words_for_real_signs": len(sign_words[t]),
                }
                for t in thresholds
            },
            "false_words_at_0.6": [word for _, word in false_words[thresholds[0]]],
        }
    default = str(thresholds[0])
    emit(
        "false_words_per_minute_of_non_sign_motion",
        results["with"]["by_threshold"][default]["false_words"],
        "words typed over 60 s of another person's KSL signs (none in the vocabulary), app threshold 0.6",
        results["without"]["by_threshold"][default]["false_words"],
        "the same model without a not-a-sign class",
        False,
        real_signs_shown=len(spans),
        **results,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["four", "islr", "growth", "teach", "idle"])
    parser.add_argument("--groups", type=int, default=14, help="islr: folds (14 = one person each)")
    parser.add_argument("--repeats", type=int, default=3, help="growth: draws per number of training people")
    args = parser.parse_args()
    if not KEYPOINTS.is_dir():
        sys.exit(f"needs {KEYPOINTS} (../shared)")
    with tempfile.TemporaryDirectory(prefix="bench-signers-") as work:
        work = Path(work)
        if args.what == "four":
            bench_four(work)
        elif args.what == "islr":
            bench_islr(work, args.groups)
        elif args.what == "growth":
            bench_growth(work, args.repeats)
        elif args.what == "teach":
            bench_teach(work)
        else:
            bench_idle(work)


if __name__ == "__main__":
    run_main(main)
