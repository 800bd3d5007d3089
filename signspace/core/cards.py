"""Render the Hub cards in hub_cards/ with huggingface_hub's card classes (pure: data in, text out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from signspace.core import kinds
from signspace.core.errors import ModelFolderError
from signspace.core.hub import is_local

CARDS_DIR = Path(__file__).resolve().parents[2] / "hub_cards"  # beside the signspace package


def template_path(name: str) -> Path:
    path = CARDS_DIR / name
    if not path.is_file():
        raise ModelFolderError(f"card template {path} is missing; reinstall SignSpace from a full checkout")
    return path


def render_dataset_card(report: dict, repo_id: str, license: str, source_description: str) -> str:
    from huggingface_hub import DatasetCard, DatasetCardData

    params = report["parameters"]
    split_names = list(report["counts"])
    kind = kinds.for_preprocessing(report.get("preprocessing"))
    card_data = DatasetCardData(
        license=license,
        task_categories=[kind.task_category],
        tags=["sign-language", "signspace", *kind.dataset_tags],
        pretty_name=f"{repo_id.split('/')[-1]}",
        size_categories=["n<1K"]
        if report["total_images"] < 1000
        else ["1K<n<10K"]
        if report["total_images"] < 10_000
        else ["10K<n<100K"],
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": f"data/{split}-*.parquet"} for split in split_names],
            }
        ],
    )
    card = DatasetCard.from_template(
        card_data,
        template_path=str(template_path(kind.dataset_card)),
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
        signers=report.get("signers"),
        landmarks=kind.is_sequence,
        items=kind.items,
        keypoints_fps=params.get("keypoints_fps"),
    )
    return str(card)


def render_model_card(
    *,
    repo_id: str,
    base_model: str,
    label_names,
    metrics: dict,
    eval_split: str,
    eval_count: int,
    split_counts: dict,
    dataset_description: str,
    dataset_id: str | None,
    training_args,
    hflip: bool,
    input_size: int,
    license: str,
    preprocessing: dict | None = None,
    parameters: int | None = None,
    signers: dict | None = None,
    data_health: dict | None = None,
) -> str:
    """``signers``: metrics.signer_metrics (None when who signed is unknown): the card leads with new people.
    ``data_health``: data_health.report (pooled people), shown as counts."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    kind = kinds.for_preprocessing(preprocessing)
    base_is_hub = bool(base_model) and not is_local(base_model)
    task = kind.task_category
    scores = [("accuracy", "accuracy", metrics["accuracy"], eval_split), ("f1", "f1", metrics["f1_macro"], eval_split)]
    if signers and signers.get("unseen"):
        unseen = f"{eval_split} (signers not seen in training)"
        scores.append(("accuracy", "accuracy on unseen signers", signers["unseen"]["accuracy"], unseen))
    eval_results = [
        EvalResult(
            task_type=task,
            dataset_type=dataset_id or "imagefolder",
            dataset_name=dataset_id or "local sign dataset",
            dataset_split=split,
            metric_type=metric,
            metric_name=name,
            metric_value=round(value, 4),
        )
        for metric, name, value, split in scores
    ]
    card_data = ModelCardData(
        model_name=repo_id.split("/")[-1],
        base_model=base_model if base_is_hub else None,
        library_name="transformers",
        pipeline_tag=kind.pipeline_tag,
        license=license,
        tags=["sign-language", "signspace", *kind.tags],
        datasets=[dataset_id] if dataset_id else None,
        metrics=["accuracy", "f1"],
        eval_results=eval_results,
    )
    card = ModelCard.from_template(
        card_data,
        template_path=str(template_path(kind.model_card)),
        repo_id=repo_id,
        model_name=repo_id.split("/")[-1],
        base_model_link=base_model if base_is_hub else None,
        base_model_path=Path(base_model).name if base_model else None,
        sequence=kind.is_sequence,
        parameters=f"{parameters / 1e6:.2f} M" if parameters else None,
        labels=list(label_names),
        metrics=metrics,
        signers=signers,
        data_health=data_health,
        eval_split=eval_split,
        eval_count=eval_count,
        split_counts=split_counts,
        dataset_description=dataset_description,
        hflip=hflip,
        epochs=training_args.num_train_epochs,
        learning_rate=training_args.learning_rate,
        batch_size=training_args.per_device_train_batch_size,
        best_metric=training_args.metric_for_best_model,
        input_size=input_size,
        hand_crop=preprocessing if kind.crops_hands else None,
        space_hint=f"you/{repo_id.rstrip('/').split('/')[-1]}-demo",
    )
    return str(card)


def render_space_card(
    space_id: str,
    model_id: str,
    revision: str | None,
    hardware: str,
    title: str,
    license: str,
    python_version: str,
    suggested_hardware: str,
    hardware_note: str,
    oauth_scopes: list[str] | None = None,
) -> str:
    """``oauth_scopes``: turn on "Sign in with Hugging Face" (the Teach tab publishes with the visitor's account)."""
    import gradio

    card_data = _space_card_data(
        title,
        model_id,
        license,
        f"Live webcam sign recognition with {model_id.split('/')[-1]}",
        ["sign-language", "signspace", "webcam"],
        sdk="gradio",
        sdk_version=gradio.__version__,
        app_file="app.py",
        python_version=python_version,
        suggested_hardware=suggested_hardware,
        **cast(dict[str, Any], {"hf_oauth": True, "hf_oauth_scopes": oauth_scopes} if oauth_scopes else {}),
    )
    return _from_template(
        card_data,
        "space_card.md",
        title=title,
        space_id=space_id,
        model_id=model_id,
        revision=revision,
        hardware=hardware,
        hardware_note=hardware_note,
    )


def render_static_space_card(
    space_id: str,
    model_id: str,
    revision: str | None,
    title: str,
    license: str,
    model_mb: float,
    assets_note: str,
) -> str:
    """The card of a static Space (``space/deploy.py --static``): the page alone, no server."""
    card_data = _space_card_data(
        title,
        model_id,
        license,
        f"Sign recognition in your browser with {model_id.split('/')[-1]}",
        ["sign-language", "signspace", "webcam", "onnxruntime-web"],
        sdk="static",
        app_file="index.html",
    )
    return _from_template(
        card_data,
        "static_space_card.md",
        title=title,
        space_id=space_id,
        model_id=model_id,
        revision=revision,
        model_mb=f"{model_mb:.1f}",
        assets_note=assets_note,
    )


def _space_card_data(title: str, model_id: str, license: str, description: str, tags: list[str], **settings):
    """The metadata every SignSpace Space shares (look, model, licence), and ``settings`` of its kind."""
    from huggingface_hub import SpaceCardData

    return SpaceCardData(
        title=title,
        models=[model_id],
        license=license,
        emoji="🤟",
        colorFrom="indigo",
        colorTo="pink",
        pinned=False,
        short_description=description[:60],
        tags=tags,
        **settings,
    )


def _from_template(card_data, template: str, **values) -> str:
    from huggingface_hub import SpaceCard

    return str(SpaceCard.from_template(card_data, template_path=str(template_path(template)), **values))
