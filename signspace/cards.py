"""Render the Hub cards in hub_cards/ with huggingface_hub's card classes (pure: data in, text out)."""

from __future__ import annotations

from pathlib import Path

CARDS_DIR = Path(__file__).resolve().parent.parent / "hub_cards"


def template_path(name: str) -> Path:
    path = CARDS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"card template {path} is missing; reinstall SignSpace from a full checkout")
    return path


def render_dataset_card(report: dict, repo_id: str, license: str, source_description: str) -> str:
    from huggingface_hub import DatasetCard, DatasetCardData

    params = report["parameters"]
    split_names = list(report["counts"])
    card_data = DatasetCardData(
        license=license,
        task_categories=["image-classification"],
        tags=["sign-language", "signspace"],
        pretty_name=f"{repo_id.split('/')[-1]}",
        size_categories=["n<1K"] if report["total_images"] < 1000 else ["1K<n<10K"] if report["total_images"] < 10_000 else ["10K<n<100K"],
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": f"data/{split}-*.parquet"} for split in split_names],
            }
        ],
    )
    card = DatasetCard.from_template(
        card_data,
        template_path=str(template_path("dataset_card.md")),
        repo_id=repo_id,
        labels=report["labels"],
        num_classes=len(report["labels"]),
        total_images=report["total_images"],
        image_size=params["image_size"],
        group_pattern=params.get("group_pattern"),
        seed=params["seed"],
        val_size=params["val_size"],
        test_size=params["test_size"],
        split_names=split_names,
        counts=report["counts"],
        totals={split: sum(report["counts"][split].values()) for split in split_names},
        skipped_count=len(report["skipped"]),
        duplicate_count=len(report["duplicates"]),
        source_description=source_description,
    )
    return str(card)
