"""Turn folders of sign frames and videos into a validated, leak-free dataset (the work behind
train/build_dataset.py and the app's Teach tab).

    python train/build_dataset.py --data_dir DATA --output_dir OUT [--group_pattern REGEX] [--push_to_hub ...]

DATA holds one folder per sign. OUT receives a `datasets.DatasetDict` (train / validation / test)
and `build_report.json`. See README.md for the folder layouts.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from signspace.core import hub, kinds
from signspace.core.atomic import atomic_directory, check_output_dir, write_json_atomic
from signspace.core.cards import render_dataset_card
from signspace.core.cli import dataclass_parser, parse_dataclasses
from signspace.core.errors import ConfigError
from signspace.core.hand_model import resolve_hand_model
from signspace.core.kinds import ModelKind
from signspace.core.patterns import UserPattern
from signspace.data import builder
from signspace.data.scan import GROUP_NEEDS, SIGNER_NEEDS, curate, normalise_label, scan_data_dir, signer_name
from signspace.data.splits import SplitRequest

if TYPE_CHECKING:
    import datasets

logger = logging.getLogger("build_dataset")


@dataclass
class BuildConfig:
    data_dir: str = field(metadata={"help": "Folder with one sub-folder per sign (images, clip folders, videos)."})
    output_dir: str = field(metadata={"help": "Where the dataset is written (save_to_disk) with build_report.json."})
    val_size: float = field(default=0.15, metadata={"help": "Fraction of each sign's groups for validation."})
    test_size: float = field(default=0.15, metadata={"help": "Fraction of each sign's groups for test; 0 for none."})
    seed: int = field(default=42, metadata={"help": "Seed of the grouped split (same seed + same input = same split)."})
    image_size: int = field(default=256, metadata={"help": "Shorter side of stored images in pixels (never enlarged)."})
    frames_per_video: int = field(default=16, metadata={"help": "Frames sampled uniformly from each video."})
    group_pattern: str | None = field(
        default=None,
        metadata={"help": r"Regex whose first group is the group id in a file name, e.g. '^(.+?)_jpg\.rf\.'."},
    )
    signer_pattern: str | None = field(
        default=None,
        metadata={
            "help": "Regex whose first group is who signed a clip, searched in its path inside --data_dir: "
            r"'^([^/]+)/' for DATA/<signer>/<sign>/..., '/([a-z]+)_\d+\.mp4$' for DATA/<sign>/alice_03.mp4. "
            "Adds a `signer` column and the signers per sign to the report."
        },
    )
    signer: str | None = field(
        default=None,
        metadata={"help": "Everything in --data_dir was signed by this one person (the card then says so)."},
    )
    split_by: Literal["clip", "signer"] = field(
        default="clip",
        metadata={
            "help": "clip: validation/test hold out recordings; signer: test also holds out whole people (a "
            "--test_size share of them, at least one), so its score is the score on people the model never saw."
        },
    )
    test_signers: str | None = field(
        default=None,
        metadata={"help": "With --split_by signer: who to hold out for test, comma-separated (default: chosen)."},
    )
    drop: str | None = field(
        default=None,
        metadata={
            "help": "PERSON/SIGN pairs to leave out, comma-separated, e.g. 'prakhar1401/iloveyou' (finetune's data "
            "health names the people whose form disagrees with everyone else's). Needs --signer_pattern."
        },
    )
    variants: str | None = field(
        default=None,
        metadata={
            "help": "PERSON/SIGN pairs that sign another form of the sign: their clips become a second class, "
            "'<sign> (variant)', that the app types as the same word. Needs --signer_pattern."
        },
    )
    features: Literal["images", "landmarks"] = field(
        default="images",
        metadata={
            "help": "images: an image dataset "
            "(frames); landmarks: one hand-landmark sequence per clip, for "
            "motion signs (also reads saved .npy keypoints)."
        },
    )
    max_frames: int = field(
        default=64, metadata={"help": "landmarks: frames tracked per video or clip folder, spread uniformly over it."}
    )
    keypoints_fps: float = field(
        default=30.0,
        metadata={"help": "landmarks: frame rate of clip folders and saved .npy keypoints, which carry no times."},
    )
    hand_crop: bool = field(
        default=False,
        metadata={
            "help": "Store hand-centred crops instead of whole frames (frames "
            "without a hand are left out and listed). Implies --track_hands."
        },
    )
    track_hands: bool = field(
        default=False,
        metadata={"help": "Run the MediaPipe hand tracker and store each image's hand landmarks in a `hands` column."},
    )
    hand_model: str | None = field(
        default=None,
        metadata={
            "help": "MediaPipe hand_landmarker.task file (default: "
            "$SIGNSPACE_HAND_MODEL, else downloaded once into the cache)."
        },
    )
    landmark_cache: str | None = field(
        default=None,
        metadata={
            "help": "landmarks: a folder keeping each tracked clip's landmarks (keyed by its bytes and the "
            "settings), so a rebuild only tracks new or changed clips."
        },
    )
    num_proc: int = field(default=min(8, os.cpu_count() or 1), metadata={"help": "Decoding processes."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing output folder."})
    push_to_hub: bool = field(default=False, metadata={"help": "Also publish the dataset to the Hub."})
    hub_dataset_id: str | None = field(default=None, metadata={"help": "Hub dataset repo, 'user/name'."})
    hub_private_repo: bool = field(default=False, metadata={"help": "Create the Hub dataset as private."})
    license: str = field(
        default="other", metadata={"help": "License of your recordings (card metadata), e.g. cc-by-4.0."}
    )
    source_description: str = field(
        default="Recorded by the dataset owner.", metadata={"help": "Where the recordings come from (for the card)."}
    )

    def __post_init__(self):
        for name in ("val_size", "test_size"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(f"--{name}={value} must be in [0, 1), e.g. 0.15")
        if self.val_size + self.test_size >= 0.9:
            raise ConfigError(
                f"--val_size + --test_size = {self.val_size + self.test_size:.2f} "
                "leaves too little to train on; keep it below 0.9"
            )
        if self.image_size < 16:
            raise ConfigError(
                f"--image_size={self.image_size} is too small; use at least the model input (e.g. 224 or 256)"
            )
        if self.frames_per_video < 1:
            raise ConfigError(f"--frames_per_video={self.frames_per_video} must be at least 1")
        if self.max_frames < 1:
            raise ConfigError(f"--max_frames={self.max_frames} must be at least 1")
        if self.keypoints_fps <= 0:
            raise ConfigError(f"--keypoints_fps={self.keypoints_fps} must be above 0, e.g. 30")
        if self.kind.is_sequence and self.hand_crop:
            raise ConfigError(
                "--hand_crop makes image datasets; leave it out with --features landmarks (the landmarks "
                "are the hands already)"
            )
        if self.num_proc < 1:
            raise ConfigError(f"--num_proc={self.num_proc} must be at least 1")
        if self.group_pattern:
            UserPattern.compile("--group_pattern", self.group_pattern, GROUP_NEEDS)
        self._check_signers()
        if self.push_to_hub:
            hub.check_repo_id(self.hub_dataset_id, "--hub_dataset_id")
        if self.hand_crop or self.track_hands:
            self.hand_model = str(resolve_hand_model(self.hand_model))  # a missing model fails before any decoding

    def _check_signers(self) -> None:
        if self.signer_pattern:
            UserPattern.compile("--signer_pattern", self.signer_pattern, SIGNER_NEEDS)
            if self.signer:
                raise ConfigError("give --signer_pattern (several people) or --signer (one person), not both")
        if self.signer is not None and not self.signer.strip():
            raise ConfigError("--signer is empty; give the name of the person who signed everything, e.g. --signer me")
        if self.test_signers is not None and self.split_by != "signer":
            raise ConfigError("--test_signers needs --split_by signer")
        for option in ("drop", "variants"):
            pairs = self.curated(option)
            if pairs and not self.signer_pattern:
                raise ConfigError(f"--{option} names people: give --signer_pattern too, e.g. '^([^/]+)/'")
        if set(self.curated("drop")) & set(self.curated("variants")):
            raise ConfigError("a PERSON/SIGN pair is in both --drop and --variants; keep it in one")
        if self.split_by == "signer":
            if not self.signer_pattern:
                raise ConfigError(
                    "--split_by signer needs --signer_pattern to know who signed each clip, e.g. '^([^/]+)/' for "
                    "DATA/<signer>/<sign>/..."
                )
            if self.test_size == 0 and not self.test_signers:
                raise ConfigError("--split_by signer holds people out in the test split; set --test_size above 0")

    def curated(self, option: str) -> list[tuple[str, str]]:
        """--drop or --variants as (person, sign) pairs."""
        pairs = []
        for text in (getattr(self, option) or "").split(","):
            person, slash, sign = text.strip().partition("/")
            if not text.strip():
                continue
            if not (slash and person.strip() and sign.strip()):
                raise ConfigError(f"--{option} {text.strip()!r}: write PERSON/SIGN, e.g. prakhar1401/iloveyou")
            pairs.append((signer_name(person), normalise_label(sign)))
        return pairs

    @property
    def kind(self) -> ModelKind:
        """The kind of model this dataset trains (kinds.py): --features, and --hand_crop for images."""
        return kinds.for_build(self.features, self.hand_crop)

    @property
    def split(self) -> SplitRequest:
        names = [signer_name(name) for name in (self.test_signers or "").split(",") if name.strip()] or None
        return SplitRequest(self.val_size, self.test_size, self.seed, self.split_by, names)


def make_report(config: BuildConfig, result: builder.BuildResult) -> dict:
    include_test = config.test_size > 0
    counts = builder.counts_per_split(result)
    if not include_test:
        counts.pop("test")
    return {
        "parameters": {k: v for k, v in asdict(config).items() if k not in ("overwrite", "landmark_cache")},
        "labels": result.labels,
        "total_images": sum(sum(c.values()) for c in counts.values()),
        "counts": counts,
        "groups": {split: len({r.group for r in result.rows_by_split[split]}) for split in counts},
        "skipped": result.skipped,
        "duplicates": result.duplicates,
        "warnings": result.warnings,
        "hands": result.hands,
        "signers": signer_report(config, result),
        # What a model trained on this dataset must do to its inputs (finetune.py writes it into config.json).
        "preprocessing": config.kind.preprocessing_for(config),
    }


def signer_report(config: BuildConfig, result: builder.BuildResult) -> dict | None:
    summary = builder.signer_summary(result)
    if summary is None:
        return None
    return {"pattern": config.signer_pattern, "split_by": config.split_by, **summary}


def publish(
    config: BuildConfig, dataset_dict, report: dict, token: str, add_files=None, remedy: str | None = None
) -> str:
    """Parquet per split + rendered card, uploaded as one commit from a staging folder (``add_files(staging)``
    may add more, e.g. the Teach tab's recordings; ``remedy``: what to do after a failed upload, for callers
    that are not this command line)."""
    with tempfile.TemporaryDirectory(prefix="signspace-dataset-") as folder:
        staging = Path(folder)
        (staging / "data").mkdir()
        for split, dataset in dataset_dict.items():
            dataset.to_parquet(str(staging / "data" / f"{split}-00000-of-00001.parquet"))
        card = render_dataset_card(report, config.hub_dataset_id, config.license, config.source_description)
        (staging / "README.md").write_text(card, encoding="utf-8")
        write_json_atomic(staging / "build_report.json", report)  # finetune.py reads its preprocessing
        if add_files:
            add_files(staging)
        return hub.push_folder(
            staging,
            config.hub_dataset_id,
            repo_type="dataset",
            token=token,
            private=config.hub_private_repo,
            commit_message="Upload sign dataset built with SignSpace",
            remedy=remedy
            or f"the dataset itself is saved in {Path(config.output_dir).resolve()}; to publish it, run the same "
            "command again with --overwrite",
        )


@dataclass
class Built:
    """What ``build`` made: the saved dataset, its report, and what the builder found on the way."""

    dataset: datasets.DatasetDict
    report: dict
    result: builder.BuildResult
    signer_folders: bool  # the people were the top-level folders


def build(config: BuildConfig, progress=None) -> Built:
    """Scan ``config.data_dir``, decode or track every clip, split, and save the dataset with build_report.json in
    ``config.output_dir`` (whole, or not at all). ``progress(done, total)``: called as clips are extracted
    (landmarks); it may raise to stop the build."""
    check_output_dir(Path(config.output_dir), config.overwrite)
    scan = scan_data_dir(
        Path(config.data_dir), config.group_pattern, config.kind.reads_keypoints, config.signer_pattern, config.signer
    )
    curate(scan, config.curated("drop"), config.curated("variants"))
    result, dataset_dict = config.kind.builder_function()(scan, config, progress)
    report = make_report(config, result)
    with atomic_directory(Path(config.output_dir), config.overwrite) as partial:
        dataset_dict.save_to_disk(str(partial))
        write_json_atomic(partial / "build_report.json", report)
    return Built(dataset_dict, report, result, scan.signer_folders)


def signer_layout(config: BuildConfig, signer_folders: bool) -> str:
    """How the build knew who signed what, for its summary line."""
    if config.signer:
        return "named by --signer"
    return "one folder per person" if signer_folders else "named by --signer_pattern"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    (config,) = parse_dataclasses(dataclass_parser(BuildConfig), argv)
    token = hub.require_token() if config.push_to_hub else None  # fail before hours of decoding
    built = build(config)
    result, report = built.result, built.report
    print(builder.summary_table(result, include_test=config.test_size > 0))
    print(
        f"skipped {len(result.skipped)} file(s), {len(result.duplicates)} set(s) of identical images; "
        f"details in {Path(config.output_dir) / 'build_report.json'}"
    )
    signers = report["signers"]
    if signers:
        layout = signer_layout(config, built.signer_folders)
        print(
            f"{signers['count']} signer(s) ({layout}); test split: "
            + (
                f"{len(signers['unseen_in_test'])} held out whole ({', '.join(signers['unseen_in_test'])})"
                if signers["unseen_in_test"]
                else "new clips of the people in train only"
            )
        )
    for warning in result.warnings:
        logger.warning(warning)
    if config.push_to_hub:
        url = publish(config, built.dataset, report, token)
        print(f"published to {url}")
    return 0
