"""A built dataset as fine-tuning reads it (signspace/train/dataset_io.py): the checks name what is wrong."""

import datasets
import pytest

from signspace.train.dataset_io import DatasetFormatError, check_dataset, typical_clip_seconds


def images(labels, column=None, n=2):
    features = {"image": datasets.Value("string"), "label": column or datasets.ClassLabel(names=labels)}
    return datasets.Dataset.from_dict({"image": ["x"] * n, "label": [0] * n}, features=datasets.Features(features))


def test_a_good_dataset_gives_its_sign_names():
    assert check_dataset(datasets.DatasetDict(train=images(["hello", "yes"])), "d", ("image",)) == ["hello", "yes"]


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (
            {"test": images(["a", "b"])},
            r"^d has no 'train' split \(found: test\); build it with train/build_dataset\.py",
        ),
        ({"train": images(["a", "b"])}, r"^d has no 'landmarks' column \(columns: image, label\)"),
        ({"train": images(["a"])}, r"^d has 1 label\(s\) \(\['a'\]\); a recognizer needs at least 2 signs"),
        ({"train": images(["a", "b"], n=0)}, r"^the train split of d is empty"),
        ({"train": images([], column=datasets.Value("int64"))}, r"not a ClassLabel, so sign names are unknown"),
    ],
)
def test_what_is_wrong_with_a_dataset_is_one_line_saying_how_to_fix_it(parts, message):
    columns = ("landmarks",) if "landmarks" in message else ("image",)
    with pytest.raises(DatasetFormatError, match=message):
        check_dataset(datasets.DatasetDict(parts), "d", columns)


def test_a_sequence_models_window_is_the_median_clip():
    clips = {"times": [[0.0, 0.5, 1.0], [0.0, 2.0], [0.0]]}
    assert typical_clip_seconds(clips) == 1.0
    assert typical_clip_seconds({"times": [[0.0]]}) == 1.0  # one-frame clips: a second, not zero
