"""Walk a data folder (one sub-folder per sign) into a list of work items, without decoding anything.

Layouts, mixed freely inside ``DATA/<sign>/``:
- ``*.jpg|png|…``  single frames; each is its own group unless ``group_pattern`` extracts a shared id;
- ``<clip>/*.jpg`` frames of one recording; the clip folder is the group;
- ``*.mp4|mov|…``  videos; the video is the group.

With ``features="landmarks"`` every clip becomes one work item (a sequence), and saved keypoints are read too:
- ``<clip>.npy``          frames x 258 (or x 1662) MediaPipe Holistic values;
- ``<clip>/<frame>.npy``  the tutorial layout, one vector per frame;
- ``<clip>/*.jpg``        a clip folder of frames; a video; a single photo (a one-frame clip).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SignSpaceError
from .imaging import IMAGE_EXTENSIONS

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
# Operating-system droppings; ignored silently because no user means them as data.
JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini", "__macosx", ".git", "@eadir"})


class DataFolderError(SignSpaceError, ValueError):
    """The data folder cannot become a dataset; the message says which path and how to fix it."""


@dataclass(frozen=True)
class WorkItem:
    label: str
    path: Path  # absolute
    source: str  # path relative to the data folder, POSIX separators
    group: str
    kind: str  # "image", "video"; landmarks also "frames" (clip folder), "npy", "npy-frames"


@dataclass
class ScanResult:
    labels: list[str]
    items: list[WorkItem]
    skipped: list[dict] = field(default_factory=list)  # {"source", "reason"}
    unmatched_group_pattern: int = 0


def is_junk(path: Path) -> bool:
    name = path.name
    return name.startswith(".") or name.lower() in JUNK_NAMES


def normalise_label(folder_name: str) -> str:
    # macOS writes decomposed Unicode (NFD); the same sign must get the same id on every OS.
    return unicodedata.normalize("NFC", folder_name).strip()


def _visible_children(folder: Path) -> list[Path]:
    try:
        return sorted((p for p in folder.iterdir() if not is_junk(p)), key=lambda p: p.name)
    except PermissionError:
        raise DataFolderError(
            f"cannot read folder {folder} (permission denied); give yourself read access (chmod -R u+rX) or move it "
            "out of the data folder"
        ) from None


def _broken_link(path: Path) -> bool:
    return path.is_symlink() and not path.exists()


def _landmark_clip_folder(entry: Path, label: str, relative: str, result: ScanResult) -> None:
    children = [c for c in _visible_children(entry) if c.is_file()]
    if any(c.suffix.lower() == ".npy" for c in children):
        result.items.append(WorkItem(label, entry, relative, f"{label}/{entry.name}", "npy-frames"))
    elif any(c.suffix.lower() in IMAGE_EXTENSIONS for c in children):
        result.items.append(WorkItem(label, entry, relative, f"{label}/{entry.name}", "frames"))
    else:
        result.skipped.append({"source": relative, "reason": "clip folder without images or .npy frames"})


def scan_data_dir(data_dir: Path, group_pattern: str | None = None, features: str = "images") -> ScanResult:
    data_dir = Path(data_dir).resolve()
    if not data_dir.is_dir():
        raise DataFolderError(f"data folder {data_dir} does not exist or is not a folder")
    pattern = re.compile(group_pattern) if group_pattern else None
    result = ScanResult(labels=[], items=[])
    folders: dict[str, Path] = {}
    seen_casefold: dict[str, Path] = {}
    for entry in _visible_children(data_dir):
        if not entry.is_dir():
            result.skipped.append({"source": entry.name, "reason": "not inside a sign folder; ignored"})
            continue
        label = normalise_label(entry.name)
        if not label:
            raise DataFolderError(f"sign folder {entry} has a blank name; rename it to the sign it holds")
        key = label.casefold()
        if key in seen_casefold:
            raise DataFolderError(
                f"sign folders {seen_casefold[key]} and {entry} differ only in letter case or Unicode "
                "form; merge them into one folder or rename one"
            )
        seen_casefold[key] = entry
        folders[label] = entry

    if len(folders) < 2:
        found = ", ".join(repr(name) for name in folders) or "none"
        raise DataFolderError(
            f"{data_dir} needs at least 2 sign folders (one folder per sign, images or videos inside); "
            f"found {len(folders)}: {found}"
        )

    for label in sorted(folders):
        folder = folders[label]
        before = len(result.items)
        for entry in _visible_children(folder):
            relative = entry.relative_to(data_dir).as_posix()
            suffix = entry.suffix.lower()
            if _broken_link(entry):
                result.skipped.append({"source": relative, "reason": "a symbolic link to a file that does not exist"})
            elif features == "landmarks" and entry.is_dir():
                _landmark_clip_folder(entry, label, relative, result)
            elif features == "landmarks" and suffix == ".npy":
                result.items.append(WorkItem(label, entry, relative, f"{label}/{entry.name}", "npy"))
            elif entry.is_dir():
                for frame in _visible_children(entry):
                    frame_rel = frame.relative_to(data_dir).as_posix()
                    if _broken_link(frame):
                        result.skipped.append(
                            {"source": frame_rel, "reason": "a symbolic link to a file that does not exist"}
                        )
                    elif frame.is_file() and frame.suffix.lower() in IMAGE_EXTENSIONS:
                        result.items.append(WorkItem(label, frame, frame_rel, f"{label}/{entry.name}", "image"))
                    else:
                        result.skipped.append({"source": frame_rel, "reason": "not an image file inside a clip folder"})
            elif suffix in IMAGE_EXTENSIONS:
                group = entry.name
                if pattern is not None:
                    match = pattern.search(entry.name)
                    if match and match.groups() and match.group(1):
                        group = match.group(1)
                    else:
                        result.unmatched_group_pattern += 1
                result.items.append(WorkItem(label, entry, relative, f"{label}/{group}", "image"))
            elif suffix in VIDEO_EXTENSIONS:
                result.items.append(WorkItem(label, entry, relative, f"{label}/{entry.name}", "video"))
            else:
                result.skipped.append({"source": relative, "reason": f"unsupported file type '{suffix or entry.name}'"})
        if len(result.items) == before:
            raise DataFolderError(
                f"sign folder {folder} holds no images "
                f"or videos{' or .npy keypoints' if features == 'landmarks' else ''}; "
                "add some or remove the folder"
            )
    result.labels = sorted(folders)
    return result
