"""Personal adaptation on people the model never saw: a few of their clips, then their other clips.

    python train/build_starter.py --work /tmp/starter-work   # by-person/, by-source/: fold<N>.npz, fold<N>/model
    python bench/bench_adaptation.py --work /tmp/starter-work [--draws 5]

Two kinds of held-out people, both from the starter's recipe: ``new_person``, the 23 people dealt into 5 groups, each
group predicted by a model that never saw it (new people of the sources it learnt from); ``new_source``, each of the
three sources held out in turn (new people of a set-up none of its training people shared: the many people a model
misses, as a Space's visitors with their own webcams and forms). Every held-out person gives k = 1 or 3 of their
clips per word (hello, thank you, I love you; drawn ``--draws`` times), the model adapts
(``signspace.serve.adaptation``, every method: the exact code ``SequencePredictor.adapt`` runs, on the same features,
or for ``finetune`` the fold's model trained on the clips' windows), and is scored on the person's other clips of
those words. Also measured: the same adapted model on the *other* held-out people of that group (what it still knows
of everyone else's forms; for ``new_source``, people of the same source), and the time to adapt. Baseline in the
same run: the model as trained, on the same clips.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import emit, run_main  # noqa: E402

LOW = 0.8  # people the model serves worst: under this many of their clips right


def accuracy(memory, features, logits, truth) -> float:
    if memory is None:
        return float((logits.argmax(-1) == truth).mean())
    return float(np.mean([memory.logits(f, z).argmax() == t for f, z, t in zip(features, logits, truth)]))


def tuned_accuracy(model, windows, truth) -> float:
    import torch

    with torch.inference_mode():
        logits, _ = model.classify(torch.from_numpy(np.ascontiguousarray(windows, np.float32)))
    return float((logits.argmax(-1).numpy() == truth).mean())


def person_trials(fold: dict, person: str, k: int, draws: int, method: str, model=None):
    """(before, after, others before, others after, seconds) for each draw of k clips per word of ``person``;
    ``model``: the fold's model, for ``finetune`` (trained on the clips' windows as the app's adapt does)."""
    from signspace.core.labels import BACKGROUND_LABEL, display_labels
    from signspace.serve.adaptation import PersonalMemory, finetune_copy

    other = list(fold["labels"]).index(display_labels([BACKGROUND_LABEL])[0])
    words = fold["label"] != other
    mine = (fold["signer"] == person) & words
    rest = ~(fold["signer"] == person) & words
    signs = [s for s in sorted(set(fold["label"][mine])) if (fold["label"][mine] == s).sum() > k]
    for draw in range(draws):
        rng = np.random.default_rng([draw, k, sum(map(ord, person))])
        chosen = np.concatenate(
            [rng.choice(np.flatnonzero(mine & (fold["label"] == s)), k, replace=False) for s in signs]
        )
        test = np.setdiff1d(np.flatnonzero(mine), chosen)
        started = time.perf_counter()
        if method == "finetune":
            windows = fold["windows"]
            times = np.arange(windows.shape[1]) / 30
            tuned = finetune_copy(model, [(windows[i], times) for i in chosen], [int(fold["label"][i]) for i in chosen])
            seconds = time.perf_counter() - started
            truth = fold["label"]
            yield (
                float((fold["predicted"][test] == truth[test]).mean()),
                tuned_accuracy(tuned, windows[test], truth[test]),
                float((fold["predicted"][rest] == truth[rest]).mean()) if rest.any() else None,
                tuned_accuracy(tuned, windows[rest], truth[rest]) if rest.any() else None,
                seconds,
            )
            continue
        memory = PersonalMemory(fold["head_weight"], fold["head_bias"], method)
        for index in chosen:
            memory.add(fold["features"][index], int(fold["label"][index]))
        memory.logits(fold["features"][test[0]], fold["logits"][test[0]])  # the head is fitted on first use
        seconds = time.perf_counter() - started
        data = lambda idx: (fold["features"][idx], fold["logits"][idx], fold["label"][idx])  # noqa: E731
        yield (
            accuracy(None, *data(test)),
            accuracy(memory, *data(test)),
            accuracy(None, *data(rest)) if rest.any() else None,
            accuracy(memory, *data(rest)) if rest.any() else None,
            seconds,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="the --work folder of train/build_starter.py")
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    work = Path(args.work)
    for held, folder in (("new_person", work / "by-person"), ("new_source", work / "by-source")):
        folds = [dict(np.load(path)) for path in sorted(folder.glob("fold*.npz"))]
        if folds:
            measure(held, folds, [folder / f"fold{n}" / "model" for n in range(len(folds))], args.draws)


def measure(held: str, folds: list[dict], models: list[Path], draws: int) -> None:
    """One JSON line per method and clip count, over every held-out person of ``folds``."""
    from signspace.models.modeling import load_classifier

    tunable = all((m / "config.json").is_file() for m in models) and all("windows" in f for f in folds)
    for method in ("head", "nearest", "finetune") if tunable else ("head", "nearest"):
        for k in (1, 3):
            before, after, low_before, low_after, others, seconds = [], [], [], [], [], []
            for fold, folder in zip(folds, models):
                model = load_classifier(str(folder), strict=True).eval() if method == "finetune" else None
                for person in sorted(set(fold["signer"])):
                    trials = list(person_trials(fold, person, k, draws, method, model))
                    if not trials:
                        continue
                    b = statistics.mean(t[0] for t in trials)
                    a = statistics.mean(t[1] for t in trials)
                    before.append(b)
                    after.append(a)
                    if b < LOW:
                        low_before.append(b)
                        low_after.append(a)
                    others += [t[3] - t[2] for t in trials if t[2] is not None]
                    seconds += [t[4] for t in trials]
            emit(
                f"adaptation_{held}_{method}_{k}_clips_per_word",
                statistics.mean(low_after),
                f"mean accuracy on their other clips, people under {LOW:.0%} before ({len(low_after)} people), "
                f"after {k} of their clips per word",
                statistics.mean(low_before),
                "the model as trained, on the same clips",
                True,
                held_out=held,
                people=len(after),
                everyone_before=round(statistics.mean(before), 4),
                everyone_after=round(statistics.mean(after), 4),
                low_people_after=[round(a, 3) for a in low_after],
                other_people_change_points=round(100 * statistics.mean(others), 2),
                adapt_ms_median=round(1000 * statistics.median(seconds), 2),
                adapt_ms_max=round(1000 * max(seconds), 2),
                draws=draws,
            )


if __name__ == "__main__":
    run_main(main)
