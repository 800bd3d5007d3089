import pytest

from signspace.splits import UnionFind, groups_per_split, plan_splits


@pytest.mark.parametrize(
    "n, expected",
    [(1, (1, 0, 0)), (2, (1, 1, 0)), (3, (1, 1, 1)), (10, (6, 2, 2)), (20, (14, 3, 3)), (100, (70, 15, 15))],
)
def test_groups_per_split_keeps_train_and_measures_small_signs(n, expected):
    assert groups_per_split(n, 0.15, 0.15) == expected


def test_no_test_split_when_test_size_zero():
    assert groups_per_split(10, 0.2, 0.0) == (8, 2, 0)


def _groups(n_per_label):
    return {f"{label}/g{i}": label for label, n in n_per_label.items() for i in range(n)}


def test_plan_is_deterministic_and_seed_dependent():
    groups = _groups({"a": 20, "b": 20})
    first = plan_splits(groups, 0.15, 0.15, seed=1).assignment
    assert plan_splits(dict(reversed(list(groups.items()))), 0.15, 0.15, seed=1).assignment == first
    assert plan_splits(groups, 0.15, 0.15, seed=2).assignment != first


def test_adding_a_sign_does_not_reshuffle_the_others():
    before = plan_splits(_groups({"a": 20, "b": 20}), 0.15, 0.15, seed=3).assignment
    after = plan_splits(_groups({"a": 20, "b": 20, "c": 9}), 0.15, 0.15, seed=3).assignment
    assert {g: s for g, s in after.items() if not g.startswith("c/")} == before


def test_single_group_sign_stays_in_train_with_warning():
    plan = plan_splits(_groups({"a": 10, "lonely": 1}), 0.15, 0.15, seed=0)
    assert plan.assignment["lonely/g0"] == "train"
    assert any("'lonely' (1 group)" in w for w in plan.warnings)


def test_tiny_dataset_warns_that_a_split_is_empty():
    plan = plan_splits(_groups({"a": 1, "b": 1}), 0.15, 0.15, seed=0)
    assert set(plan.assignment.values()) == {"train"}
    assert any("validation split is empty" in w for w in plan.warnings)
    assert any("test split is empty" in w for w in plan.warnings)


def test_union_find_merges_transitively_and_order_independently():
    forward, backward = UnionFind(), UnionFind()
    for a, b in [("x", "y"), ("y", "z")]:
        forward.union(a, b)
    for a, b in [("z", "y"), ("y", "x")]:
        backward.union(a, b)
    assert {forward.find(n) for n in "xyz"} == {"x"} == {backward.find(n) for n in "xyz"}
