"""Data health for pooled people: whose form of a sign disagrees with everyone else's, and which clips look
mislabelled.

When several people's clips are pooled, one person's *other form* of a sign (or two swapped folders) is learnt as
noise and costs everyone. Each clip is predicted by a simple model that never saw its signer (the people dealt into
groups, each group held out in turn: out-of-fold, as cleanlab's ``find_label_issues`` wants its inputs): a linear
classifier over the shared landmark normalisation of the resampled clip, seconds for thousands of clips. Then, per
person and sign, the share of their clips the other people's data agrees with; a person's sign far below its
sign's usual agreement is named, and the clips whose given label the others find least likely are listed.

A curator acts on it with the builder: keep it, leave it out (``--drop PERSON/SIGN``), or make it a variant, a
second class that types the same word (``--variants PERSON/SIGN``).
"""

from __future__ import annotations

import numpy as np

from signspace.core.labels import BACKGROUND_LABEL
from signspace.core.landmarks import normalise, resample

MIN_PEOPLE = 3  # with two people, "everyone else" is one person
WINDOW = 16  # frames per clip for the linear model
AGREEMENT_FLOOR = 0.5  # a person's sign whose clips the others agree with less often than this is named
CLIPS_TO_CHECK = 20
FOLDS = 5


def clip_features(clips) -> np.ndarray:
    """(frames x 258, times) per clip -> one vector each: the shared normalisation of the resampled clip."""
    import torch

    windows = np.stack([resample(np.asarray(v, np.float32), np.asarray(t), WINDOW) for v, t in clips])
    return normalise(torch.from_numpy(windows.astype(np.float32))).reshape(len(windows), -1).numpy()


def out_of_fold(features: np.ndarray, labels: np.ndarray, signers: np.ndarray, classes: int, seed: int = 0):
    """Probabilities over ``classes`` for each clip, from a model trained on the other groups of people only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    people = np.array(sorted(set(signers)))
    order = np.random.default_rng(seed).permutation(len(people))
    groups = [set(people[order[i :: min(FOLDS, len(people))]]) for i in range(min(FOLDS, len(people)))]
    probabilities = np.zeros((len(labels), classes))
    for held in groups:
        test = np.array([s in held for s in signers])
        scaler = StandardScaler().fit(features[~test])
        model = LogisticRegression(C=0.05, max_iter=300).fit(scaler.transform(features[~test]), labels[~test])
        probabilities[np.ix_(test, model.classes_)] = model.predict_proba(scaler.transform(features[test]))
    return probabilities


def report(
    probabilities: np.ndarray, labels: np.ndarray, signers, sources, label_names: list[str], floor=AGREEMENT_FLOOR
) -> dict:
    """The ``data_health`` section of metrics.json (see the module's text)."""
    signers, sources = np.asarray(signers), np.asarray(sources)
    predicted = probabilities.argmax(1)
    agrees = predicted == labels
    per_sign = {label_names[k]: round(float(agrees[labels == k].mean()), 4) for k in sorted(set(labels.tolist()))}
    per_person_sign, flagged = [], []
    signed_by = {k: len(set(signers[labels == k].tolist())) for k in set(labels.tolist())}
    # "not a sign" gathers whatever each person did that is no sign: it has no form to agree on; a sign only one
    # person made has nobody else to agree with
    judged = {k for k in signed_by if label_names[k] != BACKGROUND_LABEL and signed_by[k] > 1}
    for person in sorted(set(signers.tolist())):
        for k in sorted(set(labels[signers == person].tolist())):
            mine = (signers == person) & (labels == k)
            agreement = float(agrees[mine].mean())
            taken = np.bincount(predicted[mine], minlength=len(label_names))
            taken[k] = 0
            entry = {
                "signer": person,
                "sign": label_names[k],
                "clips": int(mine.sum()),
                "agreement": round(agreement, 4),
                "sign_agreement": per_sign[label_names[k]],
                "mostly_read_as": label_names[int(taken.argmax())] if taken.any() else None,
            }
            per_person_sign.append(entry)
            if agreement < floor and mine.sum() >= 3 and k in judged:
                flagged.append(entry)
    given = probabilities[np.arange(len(labels)), labels]
    candidates = np.flatnonzero(np.isin(labels, sorted(judged)) & (predicted != labels))
    worst = candidates[np.argsort(given[candidates], kind="stable")][:CLIPS_TO_CHECK]
    clips = [
        {
            "source": str(sources[i]),
            "signer": str(signers[i]),
            "sign": label_names[labels[i]],
            "others_say": label_names[predicted[i]],
            "probability_of_its_label": round(float(given[i]), 4),
        }
        for i in worst
    ]
    return {
        "method": f"out-of-fold linear model over {min(FOLDS, len(set(signers.tolist())))} groups of people",
        "people": len(set(signers.tolist())),
        "clips": int(len(labels)),
        "agreement": round(float(agrees.mean()), 4),
        "per_sign": per_sign,
        "to_check": sorted(flagged, key=lambda e: e["agreement"]),
        "per_person_sign": per_person_sign,
        "clips_to_check": clips,
    }


def check_pooled(clips, labels, signers, sources, label_names: list[str]) -> dict | None:
    """The report for pooled people's landmark clips, or None with fewer than MIN_PEOPLE people."""
    labels = np.asarray(labels)
    if len(set(signers)) < MIN_PEOPLE:
        return None
    features = clip_features(clips)
    probabilities = out_of_fold(features, labels, np.asarray(signers), len(label_names))
    return report(probabilities, labels, signers, sources, label_names)


def describe(health: dict | None) -> str | None:
    """One line for the terminal naming the people and signs to check (None: nothing to say)."""
    if not health:
        return None
    if not health["to_check"]:
        return f"data health: every person's signs agree with the other people's ({health['people']} people)"
    named = ", ".join(
        f"{e['signer']}'s {e['sign']} ({e['agreement']:.0%} of {e['clips']} clips agree; mostly read as "
        f"{e['mostly_read_as']})"
        for e in health["to_check"]
    )
    return (
        f"data health: check {named}: another form, or mislabelled? Keep, leave out (--drop PERSON/SIGN) or make "
        "a variant (--variants PERSON/SIGN) when building; details in metrics.json (data_health)"
    )
