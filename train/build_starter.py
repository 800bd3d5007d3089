"""Rebuild the starter model that ships with SignSpace (``space/asl-starter/``) from the shared keypoints.

    python train/build_starter.py [--keypoints ../shared/data/sign-keypoints] [--output_dir space/asl-starter]
                                  [--folds 5] [--work DIR]

Who it learns from: every person in ``../shared`` whose recordings may be redistributed — the 4 people of
``asl-multi-signer`` and the 5 of ``asl-more-people`` (MIT), the 14 of ``islr-hello-thankyou`` (CC BY 4.0): 23
people signing *hello*, *thank you* and *I love you*. The other signs those people recorded (yes, no, help, my,
name, cat, food, see you later) become ``not-a-sign``: motion the app must never type as one of the three words.

What it does, all through the user's own path (``train/build_dataset.py --features landmarks``, then
``train/finetune.py`` with its defaults and ``--hflip true``: these people sign with either hand), deterministically
(fixed seeds, sorted inputs):
1. stages the three sources as ``<person>/<sign>/<clip>.npy`` (links where the layout already is one);
2. measures the recipe on people it never saw, two ways: the people dealt into ``--folds`` groups, each group held
   out in turn (new people of the sources it learnt from); and each source held out in turn (new people of a
   webcam set-up, tutorial or competition none of its training people came from, as a Space's visitors are).
   Every held-out clip is predicted by a model that never saw its signer (per-person accuracy, pooled);
3. trains the shipped model on everyone and writes it, with a card naming its sources, their licences, the
   attribution CC BY 4.0 asks for, and the figures of step 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from signspace.core.atomic import atomic_directory  # noqa: E402
from signspace.core.errors import run_cli  # noqa: E402
from signspace.data.scan import DataFolderError  # noqa: E402

KEYPOINTS = HERE.parent.parent / "shared" / "data" / "sign-keypoints"
OUTPUT = HERE.parent / "space" / "asl-starter"
# upstream sign folder -> the starter's sign (folder names are the labels; display_labels shows them as words)
SIGNS = {"hello": "hello", "thanks": "thank you", "thankyou": "thank you", "iloveyou": "I love you"}
OTHER = "not-a-sign"  # core/labels.BACKGROUND_LABEL: never typed by the app
SEED = 42
SOURCES = {
    "asl-multi-signer": "MIT, each person's folder keeps its LICENSE (4 people; tutorial followers' webcams)",
    "asl-more-people": "MIT, each person's folder keeps its LICENSE (5 people; tutorial followers' webcams)",
    "islr-hello-thankyou": (
        'CC BY 4.0 — Google / Deaf Professional Arts Network / Georgia Tech PopSign team, "Google – Isolated Sign '
        'Language Recognition", Kaggle, 2023 (14 people; hello and thank you only)'
    ),
}


def stage(keypoints: Path, root: Path, other_signs: bool = True, other_clips: int | None = None) -> dict[str, str]:
    """root/<person>/<sign>/<clip>.npy (or a clip folder of frames); returns person -> source folder name.
    ``other_signs``: the people's other signs become ``not-a-sign`` (else they are left out); ``other_clips``: at
    most so many clips of each such sign per person (one person's many clips would make the class theirs)."""
    people = {}
    for source in ("asl-multi-signer", "asl-more-people"):
        for person in sorted(p for p in (keypoints / source).iterdir() if p.is_dir()):
            people[person.name] = source
            for sign_folder in sorted(p for p in person.iterdir() if p.is_dir()):
                if sign_folder.name not in SIGNS and not other_signs:
                    continue
                target = root / person.name / SIGNS.get(sign_folder.name, OTHER)
                target.mkdir(parents=True, exist_ok=True)
                clips = [c for c in sorted(sign_folder.iterdir()) if c.is_dir() or c.suffix == ".npy"]
                if sign_folder.name not in SIGNS and other_clips is not None:
                    clips = clips[:other_clips]
                for clip in clips:  # a clip folder of frames, or one .npy per clip
                    (target / f"{sign_folder.name}-{clip.name}").symlink_to(clip.resolve(), clip.is_dir())
    for path in sorted((keypoints / "islr-hello-thankyou").glob("*.npz")):
        people[path.stem] = "islr-hello-thankyou"
        with np.load(path) as stored:
            for clip, sign, sequence_id in zip(stored["X"], stored["sign"], stored["sequence_id"]):
                target = root / path.stem / SIGNS[str(sign)]
                target.mkdir(parents=True, exist_ok=True)
                np.save(target / f"{sequence_id}.npy", np.asarray(clip, np.float32))
    return people


def build(data: Path, out: Path, held_out: list[str] | None) -> None:
    import build_dataset

    split = ["--split_by", "signer", "--test_signers", ",".join(held_out)] if held_out else ["--test_size", "0"]
    build_dataset.main(
        ["--data_dir", str(data), "--output_dir", str(out), "--features", "landmarks", "--overwrite", "--seed",
         str(SEED), "--signer_pattern", r"^([^/]+)/", "--num_proc", "1", *split]
    )  # fmt: skip


def train(dataset: Path, model: Path, mirror: bool = True) -> dict:
    """finetune's defaults, and ``mirror``: finetune's ``--hflip`` (a training clip is mirrored half the time, hands
    swapped: a left-handed signer signs the mirror of a right-handed one; these people use either hand)."""
    import finetune

    finetune.main(
        ["--dataset_dir", str(dataset), "--output_dir", str(model), "--overwrite_output_dir", "--seed", str(SEED),
         "--disable_tqdm", "true", "--report_to", "none", "--save_total_limit", "1", "--hflip", str(mirror).lower()]
    )  # fmt: skip
    return json.loads((model / "metrics.json").read_text())


def held_out_predictions(dataset: Path, model_dir: Path, held: list[str]) -> dict:
    """Every held-out clip through the model as the app runs it (resampled to the model's length): the true and
    predicted label, and the features its last layer reads (``bench/bench_adaptation.py`` adapts on them)."""
    import datasets
    import torch

    from signspace.core.labels import display_labels
    from signspace.core.landmarks import resample
    from signspace.models.modeling import load_classifier

    model = load_classifier(str(model_dir), strict=True).eval()
    test = datasets.load_from_disk(str(dataset))["test"]
    test = test.filter(lambda row: row["signer"] in held)
    windows = np.stack(
        [resample(np.asarray(r["landmarks"], np.float32), np.asarray(r["times"]), model.config.sequence_length)
         for r in test]
    ).astype(np.float32)  # fmt: skip
    with torch.inference_mode():
        logits, features = model.classify(torch.from_numpy(windows))
    labels = display_labels(test.features["label"].names)
    head = model.head_layer
    return {
        "signer": np.asarray(test["signer"]),
        "label": np.asarray(test["label"]),
        "predicted": logits.argmax(-1).numpy(),
        "logits": logits.numpy(),
        "features": features.numpy(),
        "windows": windows,  # what the model read: adaptation that fine-tunes the model learns from these
        "head_weight": head.weight.detach().numpy(),
        "head_bias": head.bias.detach().numpy(),
        "labels": np.asarray(labels),
    }


def person_groups(people: list[str], folds: int) -> list[list[str]]:
    """The people dealt into ``folds`` groups (every ``folds``-th person of the sorted list): new people of the
    sources the model learns from."""
    return [people[fold::folds] for fold in range(folds)]


def source_groups(people_sources: dict[str, str]) -> list[list[str]]:
    """One group per source, everyone who recorded for it: new people of a set-up none of the training people
    shared (their webcams, their tutorial, their forms)."""
    sources = sorted(set(people_sources.values()))
    return [sorted(p for p, s in people_sources.items() if s == source) for source in sources]


def held_out(data: Path, work: Path, groups: list[list[str]], keep_models: bool = False, mirror: bool = True) -> dict:
    """Each group of people held out in turn, predicted by a model that never saw them: per person, the share of
    their clips of the three words that were right, and of their other signs that were not typed as a word. The
    predictions and features are kept in ``work/fold<N>.npz`` for the adaptation benchmark (``keep_models``: and each
    fold's model in ``work/fold<N>/model``)."""
    found = []
    for fold, held in enumerate(groups):
        build(data, work / f"fold{fold}" / "dataset", held)
        train(work / f"fold{fold}" / "dataset", work / f"fold{fold}" / "model", mirror)
        result = held_out_predictions(work / f"fold{fold}" / "dataset", work / f"fold{fold}" / "model", held)
        np.savez(work / f"fold{fold}.npz", **result)
        found.append(result)
        shutil.rmtree(work / f"fold{fold}" / "dataset", ignore_errors=True)
        if not keep_models:
            shutil.rmtree(work / f"fold{fold}", ignore_errors=True)
    return summarise(found, len(groups))


def summarise(folds: list[dict], count: int) -> dict:
    labels = list(folds[0]["labels"])
    other = labels.index(display_other()) if display_other() in labels else -1
    signer = np.concatenate([f["signer"] for f in folds])
    truth = np.concatenate([f["label"] for f in folds])
    predicted = np.concatenate([f["predicted"] for f in folds])
    words = truth != other
    per_person, others = {}, {}
    for person in sorted(set(signer)):
        mine = signer == person
        if (mine & words).any():
            per_person[person] = round(float((predicted[mine & words] == truth[mine & words]).mean()), 4)
        if (mine & ~words).any():
            others[person] = round(float((predicted[mine & ~words] == other).mean()), 4)
    return {
        "accuracy": round(float((predicted[words] == truth[words]).mean()), 4),
        "clips": int(words.sum()),
        "folds": count,
        "per_person": per_person,
        "other_signs_not_typed": round(float((predicted[~words] == other).mean()), 4) if (~words).any() else None,
        "other_sign_clips": int((~words).sum()),
        "other_signs_per_person": others,
    }


def display_other() -> str:
    from signspace.core.labels import display_labels

    return display_labels([OTHER])[0]


def write_card(folder: Path, people: dict[str, str], evaluation: dict | None) -> None:
    """README.md: what the starter knows, from whom, under which licences, and how well on people it never saw."""
    metrics = json.loads((folder / "metrics.json").read_text())
    labels = json.loads((folder / "config.json").read_text())["id2label"]
    by_source = {source: sorted(p for p, s in people.items() if s == source) for source in SOURCES}
    lines = [
        "---",
        "license: cc-by-4.0",
        "library_name: transformers",
        "pipeline_tag: video-classification",
        "tags: [sign-language, asl, mediapipe, landmarks, signspace]",
        "---",
        "# SignSpace ASL starter: hello, thank you, I love you",
        "",
        "The model `python space/app.py` serves when it is given no model and the Hub cannot be reached, and offers in "
        "its Model list. It reads MediaPipe hand landmarks over time (a SignSpace sequence model, "
        f"{sum(1 for _ in labels)} classes: {', '.join(labels[k] for k in sorted(labels, key=int))})"
        + (f"; `{OTHER}` is never typed." if OTHER in labels.values() else "."),
        "",
        f"Trained on **{len(people)} people**: every person in the shared keypoints whose recordings may be "
        "redistributed, with finetune's defaults and random mirroring (`--hflip`: these people sign with either "
        "hand). Rebuild it (fixed seeds, sorted inputs: the same data and library versions give the same "
        "model) with "
        "`python train/build_starter.py`.",
        "",
        "## How well it works for someone new",
    ]
    if evaluation:
        people_out, sources_out = evaluation["people"], evaluation["sources"]
        per_person = people_out["per_person"]
        at_90 = sum(a >= 0.9 for a in per_person.values())
        per_source = {
            source: np.mean(scores)
            for source, members in by_source.items()
            if (scores := [sources_out["per_person"][p] for p in members if p in sources_out["per_person"]])
        }
        lines += [
            f"Measured on **people the model never saw**: the {len(per_person)} people dealt into "
            f"{people_out['folds']} groups, each group held out in turn and predicted by a model trained on the others "
            f"with this recipe. Of their {people_out['clips']} clips of the three words, "
            f"**{people_out['accuracy']:.1%} right**; **{at_90} of {len(per_person)} people at 90 % or more**. "
            + (
                f"Of the {people_out['other_sign_clips']} clips of their other signs, "
                f"{people_out['other_signs_not_typed']:.1%} were answered `{OTHER}` (never typed); the rest would type "
                "one of the three words. "
                if people_out["other_sign_clips"]
                else "Their other signs were left out of this build (`--other_signs leave-out`). "
            )
            + "These are one training seed's figures (the recipe's); the same recipe at other seeds, and why they "
            'differ: SignSpace\'s docs/benchmarks.md, "The ASL starter".',
            "",
            "Those people come from the sources its training people came from (the same tutorial, similar webcams). "
            "**From a source it never saw** (each of the three sources held out in turn, the model trained with this "
            f"recipe on the other two, so on fewer people than the shipped one): **{sources_out['accuracy']:.1%}** of "
            f"the {sources_out['clips']} clips right, "
            f"{sum(a >= 0.9 for a in sources_out['per_person'].values())} of {len(sources_out['per_person'])} people "
            "at 90 % or more; per source held out (the mean of its people): "
            + ", ".join(f"{source} {accuracy:.1%}" for source, accuracy in per_source.items())
            + ". A Space's visitor is someone new with their own webcam, and may sign their own form: *That was …* in "
            'the Live tab is for them (docs/benchmarks.md, "Personal adaptation": people from a source the model '
            "never saw). Per person:",
            "",
            "| person | source | clips right, new person | clips right, new source | other signs not typed |",
            "|---|---|---:|---:|---:|",
            *(
                f"| {p} | {people[p]} | {a:.1%} | "
                + (f"{sources_out['per_person'][p]:.1%}" if p in sources_out["per_person"] else "—")
                + " | "
                + (
                    f"{people_out['other_signs_per_person'][p]:.1%}"
                    if p in people_out["other_signs_per_person"]
                    else "—"
                )
                + " |"
                for p, a in sorted(per_person.items(), key=lambda kv: kv[1])
            ),
            "",
            "People who sign another form of a sign than most (the asl-multi-signer README and SignSpace's "
            "docs/benchmarks.md describe prakhar1401's *I love you* and *thank you*) are the ones it misses: "
            "*That was …* in the Live tab is for them.",
        ]
    else:
        lines.append("Not measured in this build (`--folds 0`).")
    health = metrics.get("data_health")
    if health:
        named = ", ".join(f"{e['signer']}'s *{e['sign']}* ({e['agreement']:.0%} agree)" for e in health["to_check"])
        lines += [
            "",
            f"**Data health** (every clip predicted by a simple model that never saw its signer): "
            f"{len(health['to_check'])} person-sign pairs disagree with everyone else's form"
            + (f": {named}" if named else "")
            + ". They are kept: the shipped model knows their form too (`data_health` in `metrics.json`).",
        ]
    lines += [
        "",
        f"The shipped model's own validation clips (the same people, other clips): accuracy "
        f"{metrics['validation']['accuracy']:.1%}.",
        "",
        "## Sources, licences and attribution",
        "",
        *(f"- `{source}` ({', '.join(by_source[source])}): {text}" for source, text in SOURCES.items()),
        "",
        "The MIT licences' notices (copyright lines) are those of the people's repositories, listed in each shared "
        "folder's README and kept in its LICENSE files; they apply to the recordings this model was trained on. "
        "The ISLR data is used under CC BY 4.0 with the attribution above; keep it with any copy of this model.",
        "",
    ]
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keypoints", default=str(KEYPOINTS), help="the shared sign-keypoints folder")
    parser.add_argument("--output_dir", default=str(OUTPUT), help="where the starter model goes (replaced whole)")
    parser.add_argument("--folds", type=int, default=5, help="groups of people held out in turn (0: skip)")
    parser.add_argument(
        "--other_signs",
        choices=("not-a-sign", "leave-out"),
        default="not-a-sign",
        help="the people's other signs: a not-a-sign class, or left out",
    )
    parser.add_argument(
        "--other_clips",
        type=int,
        default=30,
        help="at most so many clips of each other sign per person (0: all; 30 measured best, docs/benchmarks.md)",
    )
    parser.add_argument(
        "--mirror",
        choices=("on", "off"),
        default="on",
        help="mirror training clips at random (finetune's --hflip): on, twice the other signs answered not-a-sign "
        "and +0.9 points on the words, over three seeds (docs/benchmarks.md)",
    )
    parser.add_argument(
        "--work", default=None, help="scratch folder, kept (default: a temporary one, removed); holds fold<N>.npz"
    )
    args = parser.parse_args(argv)
    keypoints = Path(args.keypoints)
    missing = [name for name in SOURCES if not (keypoints / name).is_dir()]
    if missing:
        raise DataFolderError(f"{keypoints} lacks {', '.join(missing)}; pass --keypoints with the shared folder")
    sys.path.insert(0, str(HERE))
    with contextlib.ExitStack() as stack:
        if args.work:
            work = Path(args.work)
            shutil.rmtree(work / "people", ignore_errors=True)
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="signspace-starter-")))
        people_sources = stage(keypoints, work / "people", args.other_signs == "not-a-sign", args.other_clips or None)
        people = sorted(people_sources)
        evaluation = None
        if args.folds:
            data, keep, mirror = work / "people", bool(args.work), args.mirror == "on"
            evaluation = {
                "people": held_out(data, work / "by-person", person_groups(people, args.folds), keep, mirror),
                "sources": held_out(data, work / "by-source", source_groups(people_sources), keep, mirror),
            }
        build(work / "people", work / "dataset", None)
        train(work / "dataset", work / "model", args.mirror == "on")
        with atomic_directory(Path(args.output_dir), overwrite=True) as partial:
            for name in ("config.json", "model.safetensors", "metrics.json"):
                shutil.copyfile(work / "model" / name, partial / name)  # the mode a checkout gives, not 0600
            write_card(partial, people_sources, evaluation)
            if evaluation:  # the card's figures, for a program to read
                (partial / "unseen_people.json").write_text(json.dumps(evaluation, indent=1))
    print(json.dumps({"output_dir": args.output_dir, "unseen_people": evaluation}))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
