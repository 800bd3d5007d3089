"""Decode, validate and split scanned items into a ``DatasetDict`` (the work behind train/build_dataset.py)."""

from __future__ import annotations

import functools
import hashlib
import logging
import multiprocessing
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import av
import numpy as np
from tqdm.auto import tqdm

from .imaging import ImageDecodeError, decode_image, encode_jpeg
from .scan import DataFolderError, ScanResult, WorkItem
from .splits import SPLITS, UnionFind, plan_splits

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecodeSettings:
    image_size: int
    frames_per_video: int


@dataclass
class DecodedRow:
    image: bytes
    label: str
    group: str
    source: str
    digest: str


@dataclass
class BuildResult:
    labels: list[str]
    rows_by_split: dict[str, list[DecodedRow]]
    skipped: list[dict]
    duplicates: list[dict]
    warnings: list[str] = field(default_factory=list)


def _pixel_digest(image) -> str:
    return hashlib.blake2b(f"{image.size}".encode() + image.tobytes(), digest_size=16).hexdigest()


def _row(image, item: WorkItem, source: str) -> DecodedRow:
    return DecodedRow(encode_jpeg(image), item.label, item.group, source, _pixel_digest(image))


def _upright(frame) -> np.ndarray:
    """A video frame as RGB, turned the way the phone that shot it meant (display-matrix rotation)."""
    array = frame.to_ndarray(format="rgb24")
    quarter_turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(array, k=quarter_turns)) if quarter_turns else array


def sample_indices(n_frames: int, wanted: int) -> list[int]:
    """``wanted`` frame indices spread uniformly over ``n_frames`` real frames (fewer if the video is short)."""
    if n_frames <= 0:
        return []
    if n_frames <= wanted:
        return list(range(n_frames))
    return sorted({int(round(x)) for x in np.linspace(0, n_frames - 1, wanted)})


def decode_video(item: WorkItem, settings: DecodeSettings) -> list[DecodedRow]:
    def frames(container):
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield from container.decode(stream)

    with av.open(str(item.path)) as container:
        if not container.streams.video:
            raise ImageDecodeError(f"{item.source}: no video stream")
        # Count by decoding: container metadata (stream.frames, duration) is often wrong or missing.
        n_frames = sum(1 for _ in frames(container))
    if n_frames == 0:
        raise ImageDecodeError(f"{item.source}: the video opens but yields no frames")
    keep = set(sample_indices(n_frames, settings.frames_per_video))
    rows = []
    with av.open(str(item.path)) as container:
        for index, frame in enumerate(frames(container)):
            if index in keep:
                image = decode_image(_upright(frame), shorter_side=settings.image_size, name=item.source)
                rows.append(_row(image, item, f"{item.source}#frame={index}"))
    return rows


def decode_item(item: WorkItem, settings: DecodeSettings) -> tuple[list[DecodedRow], dict | None]:
    """Rows for one file, or a skip record saying why it was refused."""
    try:
        if item.kind == "video":
            return decode_video(item, settings), None
        image = decode_image(item.path, shorter_side=settings.image_size, name=item.source)
        return [_row(image, item, item.source)], None
    except ImageDecodeError as exc:
        reason = str(exc).removeprefix(f"{item.source}: ")
    except av.error.FFmpegError as exc:  # PyAV's base error for unreadable containers/streams
        reason = f"unreadable video ({type(exc).__name__}: {exc.strerror or exc})"
    return [], {"source": item.source, "reason": reason}


def decode_all(items: list[WorkItem], settings: DecodeSettings, num_proc: int) -> tuple[list[DecodedRow], list[dict]]:
    rows: list[DecodedRow] = []
    skipped: list[dict] = []
    decode = functools.partial(decode_item, settings=settings)
    progress = tqdm(total=len(items), unit="file", desc="Validating", dynamic_ncols=True)
    if num_proc <= 1:
        results = map(decode, items)
        pool = None
    else:
        # fork: workers inherit the imported modules, so start-up costs milliseconds, not seconds.
        pool = multiprocessing.get_context("fork").Pool(num_proc)
        results = pool.imap(decode, items, chunksize=8)  # ordered: output is deterministic
    try:
        for item_rows, skip in results:
            rows.extend(item_rows)
            if skip:
                skipped.append(skip)
            progress.update()
    finally:
        progress.close()
        if pool is not None:
            pool.terminate()
    return rows, skipped


def split_rows(
    labels: list[str], rows: list[DecodedRow], val_size: float, test_size: float, seed: int
) -> tuple[dict[str, list[DecodedRow]], list[dict], list[str]]:
    """Merge groups that share an identical image, then deal the merged groups to splits."""
    present = {row.label for row in rows}
    missing = [label for label in labels if label not in present]
    if missing:
        raise DataFolderError(
            "no readable image left for sign(s) " + ", ".join(repr(m) for m in missing)
            + " (every file was skipped; see the skipped list above); fix or remove those folders"
        )
    merged = UnionFind()
    by_digest: dict[str, list[DecodedRow]] = defaultdict(list)
    for row in rows:
        merged.find(row.group)
        by_digest[row.digest].append(row)
    duplicates = []
    for digest, same in sorted(by_digest.items()):
        if len(same) > 1:
            for other in same[1:]:
                merged.union(same[0].group, other.group)
            duplicates.append(
                {"sources": sorted(r.source for r in same), "labels": sorted({r.label for r in same})}
            )
    # A merged group is stratified under its most common label (ties: alphabetical).
    votes: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        votes[merged.find(row.group)][row.label] += 1
    group_labels = {root: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for root, c in votes.items()}
    plan = plan_splits(group_labels, val_size, test_size, seed)
    warnings = list(plan.warnings)
    conflicting = [d for d in duplicates if len(d["labels"]) > 1]
    if conflicting:
        warnings.append(
            f"{len(conflicting)} identical image(s) appear under different signs, e.g. "
            f"{conflicting[0]['sources']}; check those labels"
        )
    rows_by_split: dict[str, list[DecodedRow]] = {split: [] for split in SPLITS}
    for row in rows:
        rows_by_split[plan.assignment[merged.find(row.group)]].append(row)
    return rows_by_split, duplicates, warnings


def build(scan: ScanResult, settings: DecodeSettings, val_size: float, test_size: float, seed: int, num_proc: int) -> BuildResult:
    rows, skipped = decode_all(scan.items, settings, num_proc)
    for entry in skipped:
        logger.warning("skipped %s: %s", entry["source"], entry["reason"])
    rows_by_split, duplicates, warnings = split_rows(scan.labels, rows, val_size, test_size, seed)
    if scan.unmatched_group_pattern:
        warnings.append(
            f"--group_pattern matched no group id in {scan.unmatched_group_pattern} file name(s); "
            "each of those files is its own group"
        )
    return BuildResult(scan.labels, rows_by_split, scan.skipped + skipped, duplicates, warnings)


def to_dataset_dict(result: BuildResult, include_test: bool):
    import datasets

    features = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=result.labels),
            "group": datasets.Value("string"),
            "source": datasets.Value("string"),
        }
    )
    label_ids = {name: index for index, name in enumerate(result.labels)}
    splits = {}
    for split in SPLITS:
        if split == "test" and not include_test:
            continue
        rows = result.rows_by_split[split]
        if split != "train" and not rows:
            continue  # an empty split cannot be saved by `datasets`; the report's warning explains it
        splits[split] = datasets.Dataset.from_dict(
            {
                "image": [{"bytes": r.image, "path": None} for r in rows],
                "label": [label_ids[r.label] for r in rows],
                "group": [r.group for r in rows],
                "source": [r.source for r in rows],
            },
            features=features,
            split=split,
        )
    return datasets.DatasetDict(splits)


def counts_per_split(result: BuildResult) -> dict[str, dict[str, int]]:
    counts = {split: Counter(r.label for r in rows) for split, rows in result.rows_by_split.items()}
    return {split: {label: counts[split][label] for label in result.labels} for split in counts}


def summary_table(result: BuildResult, include_test: bool) -> str:
    splits = [s for s in SPLITS if include_test or s != "test"]
    counts = counts_per_split(result)
    width = max(8, *(len(label) for label in result.labels))
    lines = [f"{'sign':<{width}} " + " ".join(f"{s:>10}" for s in splits)]
    lines.append("-" * len(lines[0]))
    for label in result.labels:
        lines.append(f"{label:<{width}} " + " ".join(f"{counts[s][label]:>10}" for s in splits))
    lines.append("-" * len(lines[0]))
    lines.append(f"{'total':<{width}} " + " ".join(f"{len(result.rows_by_split[s]):>10}" for s in splits))
    groups = {s: len({r.group for r in result.rows_by_split[s]}) for s in splits}
    lines.append(f"{'groups':<{width}} " + " ".join(f"{groups[s]:>10}" for s in splits))
    return "\n".join(lines)
