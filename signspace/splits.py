"""Grouped, stratified, deterministic train/validation/test assignment (pure logic, no I/O).

A *group* is everything that must stay together: frames of one clip, one video, augmented copies
of one photo, or identical images. Groups — never single frames — are dealt to splits, per sign,
so validation accuracy measures recordings the model has not seen.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

SPLITS = ("train", "validation", "test")


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
