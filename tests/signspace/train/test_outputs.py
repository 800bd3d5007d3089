"""What a training run leaves in its folder (signspace/train/outputs.py)."""


def test_the_card_description_survives_a_report_not_written_by_the_builder(tmp_path):
    import json
    from types import SimpleNamespace

    from signspace.train.outputs import describe_dataset

    args = SimpleNamespace(dataset_name=None)
    (tmp_path / "build_report.json").write_text(json.dumps({"preprocessing": {"input": "hand_crop"}}))
    assert describe_dataset(str(tmp_path), args) == f"Trained on a local dataset ({tmp_path.name})."
    report = {
        "parameters": {"seed": 7, "features": "landmarks"},
        "total_images": 12,
        "labels": ["a", "b"],
        "skipped": [],
    }
    (tmp_path / "build_report.json").write_text(json.dumps(report))
    assert "from 12 clips of 2 signs" in describe_dataset(str(tmp_path), args) and "seed 7" in describe_dataset(
        str(tmp_path), args
    )
