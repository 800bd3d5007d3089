"""Data health for pooled people (signspace/data/data_health.py): whose form of a sign disagrees with the others."""

import numpy as np
import pytest
from factories import KEYPOINTS_DIR, landmark_clip

from signspace.data import data_health


def people(names, motions=("circle", "swipe", "rise"), clips=6):
    """(clips, labels, signers, sources): every person signs every motion alike (a small personal wobble)."""
    found = ([], [], [], [])
    for p, person in enumerate(names):
        for label, motion in enumerate(motions):
            for n in range(clips):
                clip = landmark_clip(motion, frames=24 + n % 5, seed=1000 * p + 10 * label + n)
                found[0].append((clip, np.arange(len(clip)) / 25))
                found[1].append(label)
                found[2].append(person)
                found[3].append(f"{person}/{motion}/{n}.npy")
    return found


def test_two_people_whose_labels_were_swapped_are_named():
    clips, labels, signers, sources = people(["ann", "bob", "cat", "dan", "eve", "fay"])
    labels = np.asarray(labels)
    for person in ("bob", "dan"):  # their circle and swipe folders swapped
        mine = np.asarray(signers) == person
        circle, swipe = mine & (labels == 0), mine & (labels == 1)
        labels[circle], labels[swipe] = 1, 0
    health = data_health.check_pooled(clips, labels, signers, sources, ["circle", "swipe", "rise"])
    named = {(entry["signer"], entry["sign"]) for entry in health["to_check"]}
    assert named == {("bob", "circle"), ("bob", "swipe"), ("dan", "circle"), ("dan", "swipe")}
    assert {entry["mostly_read_as"] for entry in health["to_check"]} == {"circle", "swipe"}
    assert health["clips_to_check"] and {c["signer"] for c in health["clips_to_check"]} <= {"bob", "dan"}
    line = data_health.describe(health)
    assert line.startswith("data health: check ") and "bob's circle" in line and "--drop PERSON/SIGN" in line


def test_the_clips_to_check_are_judged_signs_only():
    """Not-a-sign and a sign one person made have no form to agree on: their clips are not listed either."""
    names = ["circle", "swipe", "not-a-sign", "rise"]
    clips, labels, signers, sources = people(["ann", "bob", "cat", "dan", "eve"], motions=("circle", "swipe"))
    for p, person in enumerate(["ann", "bob", "cat", "dan", "eve"]):  # each person's no-sign: their own motion
        for n in range(6):
            clip = landmark_clip(["circle", "swipe", "rise", "circle", "swipe"][p], frames=24, seed=7000 + 10 * p + n)
            clips.append((clip, np.arange(len(clip)) / 25))
            labels.append(2)
            signers.append(person)
            sources.append(f"{person}/not-a-sign/{n}.npy")
    for n in range(6):  # only ann made "rise", and she made it look like swipe
        clip = landmark_clip("swipe", frames=24, seed=9000 + n)
        clips.append((clip, np.arange(len(clip)) / 25))
        labels.append(3)
        signers.append("ann")
        sources.append(f"ann/rise/{n}.npy")
    labels = np.asarray(labels)
    swapped = (np.asarray(signers) == "bob") & (labels < 2)
    labels[swapped] = 1 - labels[swapped]  # bob's circle and swipe folders swapped
    health = data_health.check_pooled(clips, labels, signers, sources, names)
    listed = health["clips_to_check"]
    assert listed and {c["sign"] for c in listed} <= {"circle", "swipe"}
    signers_listed = [c["signer"] for c in listed]
    assert signers_listed[0] == "bob" and max(set(signers_listed), key=signers_listed.count) == "bob"
    given = [c["probability_of_its_label"] for c in listed]
    assert given == sorted(given)


def test_people_who_agree_are_not_named_and_two_people_are_not_enough_to_judge():
    clips, labels, signers, sources = people(["ann", "bob", "cat", "dan"])
    health = data_health.check_pooled(clips, labels, signers, sources, ["circle", "swipe", "rise"])
    assert health["to_check"] == [] and health["agreement"] > 0.9
    assert data_health.describe(health).startswith("data health: every person's signs agree")
    two = people(["ann", "bob"])
    assert data_health.check_pooled(*two, ["circle", "swipe", "rise"]) is None


@pytest.mark.skipif(not KEYPOINTS_DIR.is_dir(), reason="../shared sign keypoints absent")
def test_on_the_shared_four_people_prakhar1401s_iloveyou_and_thanks_are_named(tmp_path):
    """docs/benchmarks.md measured why: his I love you folds four fingers half-way, his thanks folds two."""
    import datasets
    from factories import build_dataset_folder

    build_dataset_folder(
        KEYPOINTS_DIR / "asl-multi-signer", tmp_path / "four", features="landmarks", signer_pattern="^([^/]+)/"
    )
    parts = datasets.load_from_disk(str(tmp_path / "four"))
    rows = datasets.concatenate_datasets([parts[s] for s in parts]).with_format(None)
    clips = [(np.asarray(r["landmarks"], np.float32), np.asarray(r["times"])) for r in rows]
    names = rows.features["label"].names
    health = data_health.check_pooled(clips, rows["label"], rows["signer"], rows["source"], names)
    named = {(entry["signer"], entry["sign"]) for entry in health["to_check"]}
    assert {("prakhar1401", "iloveyou"), ("prakhar1401", "thanks")} <= named
    assert not any(person in ("dmohazab", "ilkerdemir") for person, _ in named)
