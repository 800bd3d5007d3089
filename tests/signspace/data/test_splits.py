import pytest

from signspace.data.splits import SplitError, UnionFind, groups_per_split, plan_signer_splits, plan_splits


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


# --- whole people held out ------------------------------------------------------------------------------------


def _people(signs_by_person: dict[str, tuple[str, ...]], clips: int = 6):
    labels, signers = {}, {}
    for person, signs in signs_by_person.items():
        for sign in signs:
            for i in range(clips):
                group = f"{person}/{sign}/{i}"
                labels[group], signers[group] = sign, person
    return labels, signers


def test_held_out_people_are_wholly_in_test_and_known_people_keep_their_own_splits():
    labels, signers = _people({p: ("hello", "thanks") for p in ("ann", "bob", "cat", "dan", "eve", "fay")})
    plan = plan_signer_splits(labels, signers, 0.15, 0.34, seed=1)
    held = {signers[g] for g, split in plan.assignment.items() if split == "test"} - {
        signers[g] for g, split in plan.assignment.items() if split == "train"
    }
    assert len(held) == 2  # 34 % of 6 people
    for group, split in plan.assignment.items():
        if signers[group] in held:
            assert split == "test"
    known_splits = {split for g, split in plan.assignment.items() if signers[g] not in held}
    assert known_splits == {"train", "validation", "test"}  # new clips of known people measured apart
    assert plan_signer_splits(labels, signers, 0.15, 0.34, seed=1).assignment == plan.assignment  # deterministic


def test_people_who_signed_more_signs_are_held_out_first_and_missing_signs_are_said():
    labels, signers = _people(
        {"ann": ("hello", "thanks", "love"), "bob": ("hello", "thanks", "love"), "cat": ("hello", "thanks", "no")}
    )
    plan = plan_signer_splits(labels, signers, 0.15, 0.15, seed=3)
    held = {signers[g] for g, s in plan.assignment.items() if s == "test"} - {
        signers[g] for g, s in plan.assignment.items() if s == "train"
    }
    assert held in ({"ann"}, {"bob"})  # cat is the only one who signed "no": never held out
    assert any("did not sign 'no'" in w for w in plan.warnings)


def test_pinned_test_signers_are_used():
    labels, signers = _people({p: ("hello", "thanks") for p in ("ann", "bob", "cat")})
    plan = plan_signer_splits(labels, signers, 0.15, 0.15, seed=0, test_signers=["cat"])
    assert {g.split("/")[0] for g, s in plan.assignment.items() if s == "test" and g.startswith("cat")} == {"cat"}
    assert all(s == "test" for g, s in plan.assignment.items() if g.startswith("cat/"))


@pytest.mark.parametrize(
    "people, pinned, message",
    [
        ({"ann": ("hello", "thanks")}, None, "needs at least 2 people (one to train on, one to test on); found 1: ann"),
        ({"ann": ("hello",), "bob": ("thanks",)}, None, "no one can be held out for test: each person is the only one"),
        (
            {"ann": ("hello", "thanks"), "bob": ("hello", "thanks")},
            ["zed"],
            "--test_signers names zed, who signed nothing",
        ),
        ({"ann": ("hello", "thanks"), "bob": ("hello",)}, ["ann"], "leaves no one who signed 'thanks' in train"),
        ({"ann": ("hello", "thanks"), "bob": ("hello", "thanks")}, ["ann", "bob"], "leaves no one to train on"),
    ],
)
def test_splits_by_signer_that_cannot_work_say_why(people, pinned, message):
    labels, signers = _people(people)
    with pytest.raises(SplitError) as caught:
        plan_signer_splits(labels, signers, 0.15, 0.15, seed=0, test_signers=pinned)
    assert message in str(caught.value)
