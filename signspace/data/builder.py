"""Decode, validate and split scanned items into a ``DatasetDict`` (the work behind train/build_dataset.py)."""

from __future__ import annotations

import functools
import hashlib
import logging
import multiprocessing
import multiprocessing.util
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from signspace.core.errors import SignSpaceError
from signspace.core.hands import CROP_MARGIN, DETECTION_CONFIDENCE, HandTracker, hand_crop
from signspace.core.imaging import ImageDecodeError, decode_image, encode_jpeg, shrink_to_shorter_side
from signspace.core.video import VIDEO_ERRORS, read_frames
from signspace.data.scan import DataFolderError, ScanResult, Source, WorkItem
from signspace.data.splits import SPLITS, SplitRequest, UnionFind, plan_signer_splits, plan_splits

if TYPE_CHECKING:
    from signspace.data.sequence_builder import SequenceSettings

logger = logging.getLogger(__name__)


CHUNK = 8  # work items per task sent to a decoding process


class BuildWorkerError(SignSpaceError):
    """A decoding process died (the OOM killer, a crash in a native decoder)."""


@dataclass(frozen=True)
class DecodeSettings:
    image_size: int
    frames_per_video: int
    track_hands: bool = False  # run the hand tracker and store a `hands` column
    hand_crop: bool = False  # store the hand-centred crop instead of the whole frame (implies tracking)
    hand_model: str | None = None

    @property
    def tracking(self) -> bool:
        return self.track_hands or self.hand_crop


@dataclass
class DecodedRow:
    image: bytes
    label: str
    group: str
    source: str
    digest: str
    hands: list[dict] | None = None  # Hand.to_record() per hand; None when the tracker did not run
    signer: str | None = None


@dataclass
class BuildResult:
    labels: list[str]
    rows_by_split: dict[str, list[DecodedRow]]
    skipped: list[dict]
    duplicates: list[dict]
    warnings: list[str] = field(default_factory=list)
    hands: dict | None = None  # per-sign counts of frames with 0/1/2 hands and the no-hand list; None untracked


def _pixel_digest(image) -> str:
    return hashlib.blake2b(f"{image.size}".encode() + image.tobytes(), digest_size=16).hexdigest()


_tracker = None  # one per process, made on first use (forked decoding processes each get their own)


def process_tracker(settings: DecodeSettings | SequenceSettings):
    global _tracker
    if _tracker is None:
        _tracker = HandTracker(settings.hand_model)
        # Closed when a decoding process exits (a landmarker left to the GC raises at exit).
        multiprocessing.util.Finalize(_tracker, _tracker.close, exitpriority=10)
    return _tracker


def close_process_tracker() -> None:
    global _tracker
    if _tracker is not None:
        _tracker.close()
        _tracker = None


def _row(image, item: WorkItem, source: str, settings: DecodeSettings) -> DecodedRow | None:
    """The stored row for a full-size decoded frame; None for a ``--hand_crop`` frame without a hand."""
    hands = None
    if settings.tracking:
        found = process_tracker(settings).detect(np.asarray(image))
        hands = [hand.to_record() for hand in found]
        if settings.hand_crop:
            image = hand_crop(image, found)
            if image is None:
                return None
    image = shrink_to_shorter_side(image, settings.image_size)
    return DecodedRow(encode_jpeg(image), item.label, item.group, source, _pixel_digest(image), hands, item.signer)


def decode_video(item: WorkItem, settings: DecodeSettings) -> list[tuple[str, DecodedRow | None]]:
    # Full size when tracking: a small hand needs every pixel; _row shrinks what it stores.
    shorter = None if settings.tracking else settings.image_size
    rows = []
    for index, image, _ in read_frames(item.path, settings.frames_per_video, item.source, shorter):
        source = f"{item.source}#frame={index}"
        rows.append((source, _row(image, item, source, settings)))
    return rows


@dataclass
class ItemResult:
    rows: list = field(default_factory=list)
    skip: dict | None = None
    no_hand: list[dict] = field(default_factory=list)  # {"source", "label"} of frames without a hand
    no_hand_clip: bool = False  # skipped because no frame of the clip had a hand (landmark sequences)


def decode_item(item: WorkItem, settings: DecodeSettings) -> ItemResult:
    """Rows for one file, or a skip record saying why it was refused."""
    try:
        if item.kind is Source.VIDEO:
            rows = decode_video(item, settings)
        else:
            shorter = None if settings.tracking else settings.image_size
            image = decode_image(item.path, shorter_side=shorter, name=item.source)
            rows = [(item.source, _row(image, item, item.source, settings))]
        return ItemResult(
            [row for _, row in rows if row],
            None,
            [{"source": source, "label": item.label} for source, row in rows if row is None],
        )
    except ImageDecodeError as exc:
        reason = str(exc).removeprefix(f"{item.source}: ")
    except VIDEO_ERRORS as exc:  # unreadable containers/streams
        reason = f"unreadable video ({type(exc).__name__}: {exc.strerror or exc})"
    return ItemResult(skip={"source": item.source, "reason": reason})


_in_progress = None  # shared with forked decoding processes: 1 while an item is being decoded, 2 when done


def _decode_chunk(work, items: list, start: int) -> list:
    results = []
    for index, item in enumerate(items, start):
        _in_progress[index] = 1
        results.append(work(item))
        _in_progress[index] = 2
    return results


def run_parallel(
    work, items: list, num_proc: int, desc: str, progress_fn: Callable[[int, int], None] | None = None
) -> list:
    """``work(item)`` for every item, in order, with a progress bar; ``num_proc`` forked processes.
    ``progress_fn(done, total)`` is called as items finish (it may raise to stop the work).

    A process that dies (killed for memory, a native crash) fails the build at once with a clear error,
    instead of the pool waiting for its lost results for ever.
    """
    progress = tqdm(total=len(items), unit="file", desc=desc, dynamic_ncols=True)
    results: list = []
    try:
        if num_proc <= 1:
            for item in items:
                results.append(work(item))
                progress.update()
                if progress_fn:
                    progress_fn(len(results), len(items))
            return results
        global _in_progress
        context = multiprocessing.get_context("fork")  # workers inherit the imported modules: fast start-up
        _in_progress = context.RawArray("b", len(items))
        starts = range(0, len(items), CHUNK)
        pool = ProcessPoolExecutor(num_proc, mp_context=context)
        try:
            futures = [pool.submit(_decode_chunk, work, items[i : i + CHUNK], i) for i in starts]
            for future in futures:  # in submission order: output is deterministic
                try:
                    chunk_results = future.result()
                except BrokenProcessPool:
                    busy = [item.source for item, state in zip(items, _in_progress) if state == 1]
                    raise BuildWorkerError(
                        f"a decoding process died (for example killed for lack of memory) while decoding "
                        f"{' or '.join(busy) or 'a file'}; nothing was written. Retry with fewer --num_proc (it was "
                        f"{num_proc}), or remove that file if it is the cause"
                    ) from None
                results.extend(chunk_results)
                progress.update(len(chunk_results))
                if progress_fn:
                    progress_fn(len(results), len(items))
        finally:
            # waited for (every chunk is done, or cancelled and its worker idle or dead): a pool shut down without
            # waiting leaves its manager thread to race the interpreter's exit, which can print a traceback after a
            # one-line error (CPython gh-83279, gh-132969)
            pool.shutdown(wait=True, cancel_futures=True)
        return results
    finally:
        progress.close()
        close_process_tracker()


def decode_all(
    items: list[WorkItem], settings: DecodeSettings, num_proc: int
) -> tuple[list[DecodedRow], list[dict], list[dict]]:
    results = run_parallel(functools.partial(decode_item, settings=settings), items, num_proc, "Validating")
    rows = [row for result in results for row in result.rows]
    skipped = [result.skip for result in results if result.skip]
    no_hand = [source for result in results for source in result.no_hand]
    return rows, skipped, no_hand


def split_rows(
    labels: list[str], rows: list[DecodedRow], split: SplitRequest
) -> tuple[dict[str, list[DecodedRow]], list[dict], list[str]]:
    """Merge groups that share an identical image, then deal the merged groups (or whole people) to splits."""
    present = {row.label for row in rows}
    missing = [label for label in labels if label not in present]
    if missing:
        raise DataFolderError(
            "no readable image left for sign(s) "
            + ", ".join(repr(m) for m in missing)
            + " (every file was skipped, or had no hand with --hand_crop; see the lists above); fix or remove those "
            "folders"
        )
    merged = UnionFind()
    by_digest: dict[str, list[DecodedRow]] = defaultdict(list)
    for row in rows:
        merged.find(row.group)
        by_digest[row.digest].append(row)
    duplicates = []
    for _, same in sorted(by_digest.items()):
        if len(same) > 1:
            for other in same[1:]:
                merged.union(same[0].group, other.group)
            duplicates.append({"sources": sorted(r.source for r in same), "labels": sorted({r.label for r in same})})
    # A merged group is stratified under its most common label (ties: alphabetical).
    votes: dict[str, Counter] = defaultdict(Counter)
    signer_votes: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        votes[merged.find(row.group)][row.label] += 1
        signer_votes[merged.find(row.group)][row.signer] += 1
    group_labels = {root: _most_common(c) for root, c in votes.items()}
    if split.split_by == "signer":
        group_signers = {root: _most_common(c) for root, c in signer_votes.items()}
        plan = plan_signer_splits(
            group_labels, group_signers, split.val_size, split.test_size, split.seed, split.test_signers
        )
    else:
        plan = plan_splits(group_labels, split.val_size, split.test_size, split.seed)
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


def _most_common(counter: Counter):
    return min(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[0]  # ties: alphabetical


def signer_summary(result: BuildResult) -> dict | None:
    """Who signed what, and who is in which split (None when the signers are unknown)."""
    rows = [row for in_split in result.rows_by_split.values() for row in in_split]
    if not has_signers(result):
        return None
    per_sign = {label: sorted({r.signer for r in rows if r.label == label}) for label in result.labels}
    per_split = {split: sorted({r.signer for r in in_split}) for split, in_split in result.rows_by_split.items()}
    trained = set(per_split["train"])
    return {
        "count": len({r.signer for r in rows}),
        "per_sign": per_sign,
        "per_split": per_split,
        "unseen_in_test": sorted(set(per_split["test"]) - trained),
    }


def hand_counts(labels: list[str], rows: list[DecodedRow], no_hand: list[dict], hand_crop: bool) -> dict:
    """Frames with 0, 1 and 2 hands per sign, and every frame without one (left out when cropping)."""
    counts = {label: {"0": 0, "1": 0, "2": 0} for label in labels}
    for row in rows:
        counts[row.label][str(min(2, len(row.hands)))] += 1
    for entry in no_hand:
        counts[entry["label"]]["0"] += 1
    kept = [row.source for row in rows if not row.hands]
    return {
        "hand_crop": hand_crop,
        "per_sign": counts,
        "no_hand": sorted([entry["source"] for entry in no_hand] + kept),
    }


def build(scan: ScanResult, settings: DecodeSettings, split: SplitRequest, num_proc: int) -> BuildResult:
    rows, skipped, no_hand = decode_all(scan.items, settings, num_proc)
    for entry in skipped:
        logger.warning("skipped %s: %s", entry["source"], entry["reason"])
    if no_hand:
        logger.warning("%d frame(s) without a hand were left out (listed in build_report.json)", len(no_hand))
    rows_by_split, duplicates, warnings = split_rows(scan.labels, rows, split)
    if scan.unmatched_group_pattern:
        warnings.append(
            f"--group_pattern matched no group id in {scan.unmatched_group_pattern} file name(s); "
            "each of those files is its own group"
        )
    hands = hand_counts(scan.labels, rows, no_hand, settings.hand_crop) if settings.tracking else None
    return BuildResult(scan.labels, rows_by_split, scan.skipped + skipped, duplicates, warnings, hands)


def build_images(scan: ScanResult, config, progress=None):
    """The image kinds' pipeline (registered in kinds.py): decode (and crop) every photo and frame, split.
    ``config``: build_dataset.BuildConfig. Returns (BuildResult, DatasetDict)."""
    settings = DecodeSettings(
        config.image_size, config.frames_per_video, config.track_hands, config.hand_crop, config.hand_model
    )
    result = build(scan, settings, config.split, config.num_proc)
    return result, to_dataset_dict(result, include_test=config.test_size > 0)


def image_preprocessing(config) -> dict:
    return {"input": "image"}


def hand_crop_preprocessing(config) -> dict:
    return {"input": "hand_crop", "crop_margin": CROP_MARGIN, "hand_detection_confidence": DETECTION_CONFIDENCE}


def _hands_feature():
    import datasets

    points = datasets.List(datasets.List(datasets.Value("float32"), length=3), length=21)
    return datasets.List(
        {
            "landmarks": points,
            "world": points,
            "handedness": datasets.Value("string"),
            "score": datasets.Value("float32"),
        }
    )


def to_dataset_dict(result: BuildResult, include_test: bool):
    import datasets

    own = {"image": datasets.Image()}
    extra = {"hands": _hands_feature()} if result.hands is not None else {}
    return dataset_dict(
        result,
        include_test,
        own,
        lambda rows: {"image": [{"bytes": r.image, "path": None} for r in rows]},
        extra,
        lambda rows: {"hands": [r.hands for r in rows]} if extra else {},
    )


def dataset_dict(result: BuildResult, include_test: bool, own: dict, own_values, extra=None, extra_values=None):
    """The splits as a ``DatasetDict``, shared by both pipelines: the kind's ``own`` columns (``own_values(rows)``),
    then label, group and source, the ``extra`` ones, and who signed when anyone is known."""
    import datasets

    columns = {
        **own,
        "label": datasets.ClassLabel(names=result.labels),
        "group": datasets.Value("string"),
        "source": datasets.Value("string"),
        **(extra or {}),
    }
    with_signer = has_signers(result)
    if with_signer:
        columns["signer"] = datasets.Value("string")
    features = datasets.Features(columns)
    label_ids = {name: index for index, name in enumerate(result.labels)}
    splits = {}
    for split in SPLITS:
        rows = result.rows_by_split[split]
        if (split == "test" and not include_test) or (split != "train" and not rows):
            continue  # an empty split cannot be saved by `datasets`; the report's warning explains it
        data = {
            **own_values(rows),
            "label": [label_ids[r.label] for r in rows],
            "group": [r.group for r in rows],
            "source": [r.source for r in rows],
            **(extra_values(rows) if extra_values else {}),
        }
        if with_signer:
            data["signer"] = [r.signer for r in rows]
        splits[split] = datasets.Dataset.from_dict(data, features=features, split=split)
    return datasets.DatasetDict(splits)


def has_signers(result: BuildResult) -> bool:
    return any(row.signer is not None for rows in result.rows_by_split.values() for row in rows)


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
