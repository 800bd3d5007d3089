"""Grouped, stratified, deterministic train/validation/test assignment (pure logic, no I/O).

A *group* is everything that must stay together: frames of one clip, one video, augmented copies
of one photo, or identical images. Groups — never single frames — are dealt to splits, per sign,
so validation accuracy measures recordings the model has not seen.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from signspace.core.errors import SignSpaceError

SPLITS = ("train", "validation", "test")
SPLIT_BY = ("clip", "signer")


class SplitError(SignSpaceError, ValueError):
    """The requested split cannot be made from these recordings; the message says why and what to change."""


@dataclass(frozen=True)
class SplitRequest:
    """How the builder deals recordings to splits (the builder's --val_size, --test_size, --seed, --split_by)."""

    val_size: float
    test_size: float
    seed: int
    split_by: str = "clip"  # "signer": whole people held out in test
    test_signers: list[str] | None = None


@dataclass
class SplitPlan:
    assignment: dict[str, str]  # group -> split
    warnings: list[str] = field(default_factory=list)


def _round_half_up(value: float) -> int:
    return int(value + 0.5)


def groups_per_split(n_groups: int, val_size: float, test_size: float) -> tuple[int, int, int]:
    """How many of one sign's groups go to (train, validation, test).

    Every sign keeps at least one training group. A requested evaluation split gets at least one
    group once the sign has enough (2 for validation, 3 for test), so small signs are still measured.
    """
    n_test = _round_half_up(test_size * n_groups) if test_size > 0 else 0
    n_val = _round_half_up(val_size * n_groups) if val_size > 0 else 0
    if test_size > 0 and n_test == 0 and n_groups >= 3:
        n_test = 1
    if val_size > 0 and n_val == 0 and n_groups >= 2:
        n_val = 1
    while n_groups - n_test - n_val < 1:
        if n_test > 0:
            n_test -= 1
        else:
            n_val -= 1
    return n_groups - n_val - n_test, n_val, n_test


def plan_splits(group_labels: dict[str, str], val_size: float, test_size: float, seed: int) -> SplitPlan:
    """Deal each sign's groups to splits.

    Deterministic: groups are sorted, then shuffled with a generator seeded by ``seed`` and the sign,
    so adding a sign never reshuffles the others.
    """
    by_label: dict[str, list[str]] = defaultdict(list)
    for group, label in group_labels.items():
        by_label[label].append(group)
    assignment: dict[str, str] = {}
    warnings: list[str] = []
    thin_signs: list[str] = []
    for label in sorted(by_label):
        groups = sorted(by_label[label])
        random.Random(f"{seed}:{label}").shuffle(groups)
        n_train, n_val, n_test = groups_per_split(len(groups), val_size, test_size)
        for index, group in enumerate(groups):
            if index < n_test:
                assignment[group] = "test"
            elif index < n_test + n_val:
                assignment[group] = "validation"
            else:
                assignment[group] = "train"
        wanted = 1 + (val_size > 0) + (test_size > 0)
        if len(groups) < wanted:
            thin_signs.append(f"{label!r} ({len(groups)} group{'s' if len(groups) != 1 else ''})")
    if thin_signs:
        warnings.append(
            "these signs have too few independent recordings for every split and are kept in train "
            f"first, so they are not evaluated everywhere: {', '.join(thin_signs)}. "
            "Add more clips/photos of them for an honest score."
        )
    used = Counter(assignment.values())
    for split, size in (("validation", val_size), ("test", test_size)):
        if size > 0 and used[split] == 0:
            warnings.append(
                f"the {split} split is empty: the dataset has too few groups per sign for "
                f"--{'val' if split == 'validation' else 'test'}_size={size}. Add recordings, or set it to 0."
            )
    return SplitPlan(assignment=assignment, warnings=warnings)


def _people(signers) -> str:
    return ", ".join(sorted(signers)) or "none"


def choose_test_signers(signs_of: dict[str, set[str]], wanted: int, seed: int) -> list[str]:
    """Up to ``wanted`` people to hold out, never the last person who signed some sign.

    People who signed more of the signs go first (the test then measures more signs on new people); ties are
    broken by a shuffle seeded with ``seed``, so the choice is deterministic."""
    order = sorted(signs_of)
    random.Random(f"{seed}:signers").shuffle(order)
    rank = {signer: index for index, signer in enumerate(order)}
    held: list[str] = []
    for candidate in sorted(order, key=lambda s: (-len(signs_of[s]), rank[s])):
        if len(held) == wanted:
            break
        remaining = [s for s in signs_of if s not in held and s != candidate]
        if all(any(sign in signs_of[s] for s in remaining) for sign in signs_of[candidate]):
            held.append(candidate)
    return held


def plan_signer_splits(
    group_labels: dict[str, str],
    group_signers: dict[str, str],
    val_size: float,
    test_size: float,
    seed: int,
    test_signers: list[str] | None = None,
) -> SplitPlan:
    """Hold whole people out in test: the model never sees them, so test accuracy is accuracy on new people.

    ``test_signers`` pins who; otherwise a ``test_size`` share of the people (at least one). The other people's
    groups are dealt as in ``plan_splits`` (validation, and a test share: new clips of people the model knows)."""
    signs_of: dict[str, set[str]] = defaultdict(set)
    for group, label in group_labels.items():
        signs_of[group_signers[group]].add(label)
    if len(signs_of) < 2:
        raise SplitError(
            f"--split_by signer needs at least 2 people (one to train on, one to test on); found {len(signs_of)}: "
            f"{_people(signs_of)}. Record the signs with more people, or use --split_by clip"
        )
    if test_signers:
        unknown = [s for s in test_signers if s not in signs_of]
        if unknown:
            raise SplitError(
                f"--test_signers names {_people(unknown)}, who signed nothing here; the people found are "
                f"{_people(signs_of)}"
            )
        held = list(dict.fromkeys(test_signers))
    else:
        wanted = max(1, _round_half_up(test_size * len(signs_of)))
        held = choose_test_signers(signs_of, min(wanted, len(signs_of) - 1), seed)
        if not held:
            only = "; ".join(f"{s}: {', '.join(sorted(signs_of[s]))}" for s in sorted(signs_of))
            raise SplitError(
                "no one can be held out for test: each person is the only one who signed some sign "
                f"({only}). Record those signs with a second person, or use --split_by clip"
            )
    trained = [s for s in signs_of if s not in held]
    signs = set(group_labels.values())
    untrained = sorted(sign for sign in signs if not any(sign in signs_of[s] for s in trained))
    if not trained or untrained:
        raise SplitError(
            f"holding out {_people(held)} for test leaves "
            + ("no one to train on" if not trained else f"no one who signed {', '.join(map(repr, untrained))}")
            + " in train; hold out fewer or other people (--test_signers), or record those signs with more people"
        )
    known = {group: label for group, label in group_labels.items() if group_signers[group] not in held}
    plan = plan_splits(known, val_size, test_size, seed)
    for group in group_labels:
        if group_signers[group] in held:
            plan.assignment[group] = "test"
    unmeasured = sorted(sign for sign in signs if not any(sign in signs_of[s] for s in held))
    if unmeasured:
        plan.warnings.append(
            f"the people held out for test ({_people(held)}) did not sign {', '.join(map(repr, unmeasured))}; "
            "accuracy on new people is not measured for those signs. Record them with more people"
        )
    return plan


class UnionFind:
    """Merges groups that share an identical image, so a duplicate can never straddle two splits."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            # The smaller name wins so the result does not depend on processing order.
            keep, drop = sorted((root_a, root_b))
            self.parent[drop] = keep
