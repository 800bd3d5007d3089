"""What a training run leaves in its folder: the folder's own checks (a resume must be the same run), the plots,
the card's dataset line and the final files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from signspace.core import kinds
from signspace.core.atomic import OutputExistsError, replace_when_done, write_json_atomic, write_text_atomic
from signspace.core.checkpoints import CheckpointError, list_checkpoints
from signspace.core.imaging import decode_image
from signspace.train.dataset_io import read_json

# Files this script writes at the top of --output_dir (checkpoints live beside them).
OUTPUT_FILES = (
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "labels.json",
    "metrics.json",
    "confusion_matrix.png",
    "misclassified.png",
    "training_config.json",
    "README.md",
    "hp_search_trials.csv",
    ".signspace-run.json",
)


RUN_FILE = ".signspace-run.json"  # what a run in this folder trains: a resume must be the same run


def check_same_run(output_dir: Path, identity: dict, resuming: bool) -> None:
    """Refuse to resume another run's checkpoint (other signs, base model or dataset); record this run's identity."""
    path = Path(output_dir) / RUN_FILE
    earlier = read_json(path) if resuming else None
    if earlier is not None:
        different = [key for key in identity if earlier.get(key) != identity[key]]
        if different:
            shown = "; ".join(f"{key}: {earlier.get(key)!r} there, {identity[key]!r} now" for key in different)
            raise CheckpointError(
                f"{output_dir} holds checkpoints of a different run ({shown}); resuming would relabel them. Choose "
                "another --output_dir, or pass --overwrite_output_dir to start this run there from scratch"
            )
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, identity)


def prepare_output_dir(output_dir: Path, overwrite: bool) -> None:
    """Non-empty without checkpoints is the user's data: refuse unless told to replace our outputs."""
    output_dir = Path(output_dir)
    if not output_dir.exists():
        return
    if overwrite:
        for _, folder in list_checkpoints(output_dir):
            shutil.rmtree(folder)
        for name in OUTPUT_FILES:
            (output_dir / name).unlink(missing_ok=True)
        return
    has_contents = any(not p.name.startswith(".") for p in output_dir.iterdir())
    if has_contents and not list_checkpoints(output_dir):
        raise OutputExistsError(
            f"output folder {output_dir} is not empty and holds no checkpoint to resume from; choose another "
            "--output_dir or pass --overwrite_output_dir to replace its training outputs"
        )


def plot_confusion_matrix(matrix: list[list[int]], label_names: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(label_names)
    side = max(4.0, 0.45 * n + 2)
    fig, ax = plt.subplots(figsize=(side, side))
    ax.imshow(np.asarray(matrix), cmap="Blues")
    ax.set_xticks(range(n), label_names, rotation=90 if n > 8 else 0)
    ax.set_yticks(range(n), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    peak = max(1, max(max(row) for row in matrix))
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(
                    j,
                    i,
                    str(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if value > peak / 2 else "black",
                )
    fig.tight_layout()
    replace_when_done(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


def plot_misclassified(dataset, predictions: np.ndarray, label_names: list[str], path: Path, limit: int = 25) -> int:
    """A grid of wrong predictions, 'true → predicted', from the shared decode of each stored image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(dataset["label"])
    wrong = np.flatnonzero(predictions != labels)[:limit]
    columns = 5
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 2.2, rows * 2.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    if len(wrong) == 0:
        axes[0, 0].text(0, 0.5, "no misclassified images", fontsize=12)
    for ax, index in zip(axes.flat, wrong):
        ax.imshow(decode_image(dataset[int(index)]["image"], shorter_side=128))
        ax.set_title(f"{label_names[labels[index]]} → {label_names[predictions[index]]}", fontsize=9, color="firebrick")
    fig.tight_layout()
    replace_when_done(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)
    return int(len(np.flatnonzero(predictions != labels)))


def write_final_outputs(
    output_dir: Path, *, model, processor, label_names, metrics: dict, config: dict, card: str
) -> None:
    """Everything a user (and the Hub) needs, each file written atomically."""
    output_dir = Path(output_dir)
    model.save_pretrained(str(output_dir))  # config.json with id2label + model.safetensors
    if processor is not None:  # sequence models take landmarks: no image processor
        processor.save_pretrained(str(output_dir))
    write_json_atomic(output_dir / "labels.json", {str(i): name for i, name in enumerate(label_names)})
    write_json_atomic(output_dir / "metrics.json", metrics)
    write_json_atomic(output_dir / "training_config.json", config)
    write_text_atomic(output_dir / "README.md", card)


def describe_dataset(where: str, data_args) -> str:
    """A sentence or two for the card, from build_report.json when the dataset was built locally."""
    if data_args.dataset_name:
        return f"Trained on the Hub dataset [{where}](https://huggingface.co/datasets/{where})."
    report = read_json(Path(where) / "build_report.json")
    needed = ("parameters", "total_images", "labels", "skipped")
    if not report or not all(key in report for key in needed):  # not written by build_dataset.py (or edited)
        return f"Trained on a local dataset ({Path(where).name})."
    params = report["parameters"]
    grouping = f"file-name group pattern `{params['group_pattern']}`, " if params.get("group_pattern") else ""
    built = report.get("preprocessing")  # older reports say only --features
    items = (kinds.for_preprocessing(built) if built else kinds.for_build(params.get("features") or "images")).items
    return (
        f"Built with SignSpace's dataset builder from {report['total_images']} {items} of "
        f"{len(report['labels'])} signs ({grouping}clip folders and videos as groups, seed {params.get('seed')}); "
        f"{len(report['skipped'])} unreadable or unsupported file(s) were skipped."
    )
