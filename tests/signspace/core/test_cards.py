from signspace.core.cards import render_dataset_card


def _report(signers):
    return {
        "parameters": {"image_size": 256, "seed": 42, "val_size": 0.15, "test_size": 0.15, "group_pattern": None},
        "labels": ["hello", "thanks"],
        "total_images": 10,
        "counts": {"train": {"hello": 3, "thanks": 3}, "test": {"hello": 2, "thanks": 2}},
        "skipped": [],
        "duplicates": [],
        "signers": signers,
    }


def test_the_dataset_card_says_who_signed_and_who_is_held_out():
    signers = {
        "count": 3,
        "per_sign": {"hello": ["ann", "bob", "cat"], "thanks": ["ann", "bob"]},
        "unseen_in_test": ["cat"],
    }
    card = render_dataset_card(_report(signers), "me/signs", "cc-by-4.0", "Recorded by friends.")
    assert "**People.** 3 people signed these recordings" in card
    assert "holds out 1 of them whole\n(cat)" in card and "Signers per sign: hello 3, thanks 2." in card
    assert "- `signer` — who signed it" in card


def test_the_dataset_card_says_when_signers_are_unknown_or_one_person():
    card = render_dataset_card(_report(None), "me/signs", "cc-by-4.0", "Recorded by me.")
    assert "Who signed each recording is not recorded" in card and "`signer`" not in card
    one = {"count": 1, "per_sign": {"hello": ["me"], "thanks": ["me"]}, "unseen_in_test": []}
    card = render_dataset_card(_report(one), "me/signs", "cc-by-4.0", "Recorded by me.")
    assert "1 person signed these recordings\n(`signer` column): a model trained on them alone will do worse" in card


def test_a_landmark_dataset_card_says_what_a_landmark_dataset_is():
    """The Teach tab published landmark datasets under a card about validated images and an `image` column."""
    report = {**_report(None), "preprocessing": {"input": "landmarks", "layout": "mediapipe-holistic-258"}}
    report["parameters"] = {**report["parameters"], "keypoints_fps": 30.0}
    card = render_dataset_card(report, "me/signs", "cc-by-4.0", "Recorded with a webcam.")
    assert "A sign-language **landmark** dataset built with SignSpace: 2 signs, 10 clips." in card
    assert "- `landmarks` — frames × 258" in card and "- `times` — each frame's time in seconds" in card
    assert "validated images" not in card and "`image`" not in card and "Still images" not in card
    assert "video-classification" in card and "image-classification" not in card
    image_card = render_dataset_card(_report(None), "me/signs", "cc-by-4.0", "Photos.")
    assert "validated images" in image_card and "- `image` — RGB image" in image_card
