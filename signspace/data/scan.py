"""Walk a data folder (one sub-folder per sign) into a list of work items, without decoding anything.

Layouts, mixed freely inside ``DATA/<sign>/``:
- ``*.jpg|png|…``  single frames; each is its own group unless ``group_pattern`` extracts a shared id;
- ``<clip>/*.jpg`` frames of one recording; the clip folder is the group;
- ``*.mp4|mov|…``  videos; the video is the group.

With ``keypoints=True`` (the landmark kind) every clip becomes one work item (a sequence), and saved keypoints
are read too:
- ``<clip>.npy``          frames x 258 (or x 1662) MediaPipe Holistic values;
- ``<clip>/<frame>.npy``  the tutorial layout, one vector per frame;
- ``<clip>/*.jpg``        a clip folder of frames; a video; a single photo (a one-frame clip).

Who signed each item comes from ``signer_pattern`` (first group = the signer id), searched in the item's path
inside the data folder, so ``hello/alice_03.mp4`` and ``alice/hello/03.mp4`` both work. When the pattern names
every top-level folder whole (e.g. ``'^([^/]+)/'``), those folders are people and the sign folders are inside
them (``DATA/<signer>/<sign>/…``, the layout of several people's tutorial ``MP_Data`` folders side by side).
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from signspace.core.errors import SignSpaceError
from signspace.core.imaging import IMAGE_EXTENSIONS
from signspace.core.labels import VARIANT_SUFFIX
from signspace.core.patterns import UserPattern

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
# Operating-system droppings; ignored silently because no user means them as data.
JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini", "__macosx", ".git", "@eadir"})


class DataFolderError(SignSpaceError, ValueError):
    """The data folder cannot become a dataset; the message says which path and how to fix it."""


class Source(enum.StrEnum):
    """What one work item is read from."""

    IMAGE = "image"
    VIDEO = "video"
    FRAMES = "frames"  # a clip folder of photos (landmarks)
    NPY = "npy"  # one .npy of frames x values
    NPY_FRAMES = "npy-frames"  # a clip folder of one .npy per frame (the tutorial layout)

    @property
    def is_keypoints(self) -> bool:
        return self in (Source.NPY, Source.NPY_FRAMES)


@dataclass(frozen=True)
class WorkItem:
    label: str
    path: Path  # absolute
    source: str  # path relative to the data folder, POSIX separators
    group: str
    kind: Source
    signer: str | None = None  # who signed it, when --signer_pattern (or --signer) says


def file_item(label: str, path: Path, source: str) -> WorkItem:
    """One video or photo that is a clip of its own: its own group, named by its path in the data folder (the Teach
    folder's clips, and every video the scan finds, are made here, so both track a clip alike)."""
    kind = Source.VIDEO if path.suffix.lower() in VIDEO_EXTENSIONS else Source.IMAGE
    return WorkItem(label, path, source, source, kind)


@dataclass
class ScanResult:
    labels: list[str]
    items: list[WorkItem]
    skipped: list[dict] = field(default_factory=list)  # {"source", "reason"}
    unmatched_group_pattern: int = 0
    signer_folders: bool = False  # DATA/<signer>/<sign>/… rather than DATA/<sign>/…


def is_junk(path: Path) -> bool:
    name = path.name
    return name.startswith(".") or name.lower() in JUNK_NAMES


def normalise_label(folder_name: str) -> str:
    # macOS writes decomposed Unicode (NFD); the same sign must get the same id on every OS.
    return unicodedata.normalize("NFC", folder_name).strip()


GROUP_NEEDS = "a capture group, e.g. '^(.+?)_jpg'"
SIGNER_NEEDS = "a capture group for the signer, e.g. '^([^/]+)/'"


def curate(result: ScanResult, drop: list[tuple[str, str]], variants: list[tuple[str, str]]) -> None:
    """A curator's answer to data health: each (person, sign) in ``drop`` is left out (listed as skipped), each in
    ``variants`` becomes the class '<sign> (variant)'. A pair that names no clip is an error naming who signed
    what."""
    found = {(item.signer, item.label) for item in result.items}
    for option, pairs in (("--drop", drop), ("--variants", variants)):
        missing = [f"{person}/{sign}" for person, sign in pairs if (person, sign) not in found]
        if missing:
            known = ", ".join(sorted(f"{person}/{sign}" for person, sign in found if person))[:400]
            raise DataFolderError(f"{option} {', '.join(missing)}: no clips of that person and sign; there are {known}")
    kept = []
    for item in result.items:
        if (item.signer, item.label) in drop:
            result.skipped.append({"source": item.source, "reason": f"left out by --drop {item.signer}/{item.label}"})
        elif (item.signer, item.label) in variants:
            kept.append(replace(item, label=item.label + VARIANT_SUFFIX))
        else:
            kept.append(item)
    result.items = kept
    result.labels = sorted({item.label for item in kept})


def _visible_children(folder: Path) -> list[Path]:
    try:
        return sorted((p for p in folder.iterdir() if not is_junk(p)), key=lambda p: p.name)
    except PermissionError:
        raise DataFolderError(
            f"cannot read folder {folder} (permission denied); give yourself read access (chmod -R u+rX) or move it "
            "out of the data folder"
        ) from None


def _not_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")  # names that are not UTF-8 arrive with lone surrogates, which no dataset can store
        return False
    except UnicodeEncodeError:
        return True


def printable(relative: str) -> str:
    """A path that can be printed and stored whatever bytes its name holds."""
    return relative.encode("utf-8", "backslashreplace").decode("utf-8")


def unusable(path: Path) -> str | None:
    """Why a folder entry cannot be data (a skip reason), or None. Reading a pipe or a device would wait for ever."""
    if _not_utf8(path.name):
        return "its name is not valid UTF-8; rename it"
    if path.is_symlink() and not path.exists():
        return "a symbolic link to a file that does not exist"
    if not (path.is_file() or path.is_dir()):
        return "not a regular file (a pipe, socket or device)"
    return None


def clip_files(folder: Path, suffixes) -> list[Path]:
    """The regular, visible files of a clip folder with one of ``suffixes`` (macOS's ._ copies are not frames)."""
    return sorted(
        (p for p in folder.iterdir() if not is_junk(p) and p.suffix.lower() in suffixes and unusable(p) is None),
        key=lambda p: p.name,
    )


def _landmark_clip_folder(entry: Path, label: str, relative: str, group: str, result: ScanResult) -> None:
    children = [c for c in _visible_children(entry) if unusable(c) is None and c.is_file()]
    if any(c.suffix.lower() == ".npy" for c in children):
        result.items.append(WorkItem(label, entry, relative, group, Source.NPY_FRAMES))
    elif any(c.suffix.lower() in IMAGE_EXTENSIONS for c in children):
        result.items.append(WorkItem(label, entry, relative, group, Source.FRAMES))
    else:
        result.skipped.append({"source": relative, "reason": "clip folder without images or .npy frames"})


def _names_signer_folders(pattern: UserPattern, folders: list[Path]) -> bool:
    """True when the signer pattern names each top-level folder whole: those folders are people, not signs."""
    return bool(folders) and all(pattern.first_group(f"{folder.name}/") == folder.name for folder in folders)


def signer_name(raw: str) -> str:
    """A person's id as the sign names are kept: NFC (macOS writes NFD) and trimmed, so 'Zoë' typed and 'Zoë' from
    a Mac's file name are one person."""
    return normalise_label(raw)


def check_signer_case(names) -> None:
    """Two spellings of one name that differ only in letter case ('alice', 'Alice') would count as two people and
    could put one person in train and in the held-out test: refused, as sign names are."""
    seen: dict[str, str] = {}
    for name in sorted(set(names)):
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise DataFolderError(
                f"signers {other!r} and {name!r} differ only in letter case; if they are one person, rename the "
                "files or folders so they are spelled alike, else give them names that differ in more than case"
            )


def _refuse_mixed_layout(people: list[Path]) -> None:
    """In the signer-folder layout a top-level folder holding clips itself is a sign folder among people's folders:
    one clear error instead of reading it as a person whose clips are signs."""
    media = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS | {".npy"}
    for folder in people:
        clips = [c.name for c in _visible_children(folder) if c.suffix.lower() in media and c.is_file()]
        if clips:
            raise DataFolderError(
                f"{folder} holds clips itself ({', '.join(clips[:3])}), but --signer_pattern names the top-level "
                "folders as people, each holding sign folders; move its clips into <person>/<sign>/ folders (or "
                "use a pattern that finds the signer in the file names)"
            )


def _sign_folders(data_dir: Path, tops: list[Path], signer_folders: bool, result: ScanResult) -> dict[str, list[Path]]:
    """Sign name -> its folders (one per person in the signer-folder layout); letter-case twins refused."""
    folders: dict[str, list[Path]] = {}
    seen_casefold: dict[str, Path] = {}
    parents = tops if signer_folders else [data_dir]
    for parent in parents:
        for entry in _visible_children(parent):
            if not entry.is_dir():
                result.skipped.append(
                    {
                        "source": printable(entry.relative_to(data_dir).as_posix()),
                        "reason": "not inside a sign folder; ignored",
                    }
                )
                continue
            if _not_utf8(entry.name):
                raise DataFolderError(
                    f"sign folder {printable(str(entry))} has a name that is not valid UTF-8 (written by an old system "
                    "or a damaged copy); rename it to the sign it holds"
                )
            label = normalise_label(entry.name)
            if not label:
                raise DataFolderError(f"sign folder {entry} has a blank name; rename it to the sign it holds")
            key = label.casefold()
            # One person's folder per sign: the same name under two people is one sign, spelled the same way.
            if key in seen_casefold and (not signer_folders or normalise_label(seen_casefold[key].name) != label):
                raise DataFolderError(
                    f"sign folders {seen_casefold[key]} and {entry} differ only in letter case or Unicode "
                    "form; merge them into one folder or rename one"
                )
            seen_casefold.setdefault(key, entry)
            folders.setdefault(label, []).append(entry)
    return folders


def assign_signers(result: ScanResult, signer_pattern: UserPattern | None, signer: str | None) -> None:
    """Set each item's signer from the pattern (or the one named person); items it cannot name are an error."""
    if signer_pattern is None:
        if signer:
            for index, item in enumerate(result.items):
                result.items[index] = replace(item, signer=signer_name(signer))
        return
    unnamed = []
    for index, item in enumerate(result.items):
        found = signer_pattern.first_group(item.source)
        if found and signer_name(found):
            result.items[index] = replace(item, signer=signer_name(found))
        else:
            unnamed.append(item.source)
    check_signer_case(item.signer for item in result.items if item.signer)
    if unnamed:
        shown = ", ".join(unnamed[:5]) + (f" and {len(unnamed) - 5} more" if len(unnamed) > 5 else "")
        what = "any" if len(unnamed) == len(result.items) else f"{len(unnamed)} of {len(result.items)}"
        raise DataFolderError(
            f"--signer_pattern {signer_pattern.text!r} found no signer in {what} clip path(s): {shown}. The pattern is "
            "searched in each path inside --data_dir (e.g. 'alice/hello/03.mp4' or 'hello/alice_03.mp4') and its "
            "first group is the signer; fix the pattern or rename those files"
        )


def scan_data_dir(
    data_dir: Path,
    group_pattern: str | None = None,
    keypoints: bool = False,
    signer_pattern: str | None = None,
    signer: str | None = None,
) -> ScanResult:
    data_dir = Path(data_dir).resolve()
    if not data_dir.is_dir():
        raise DataFolderError(f"data folder {data_dir} does not exist or is not a folder")
    pattern = UserPattern.compile("--group_pattern", group_pattern, GROUP_NEEDS) if group_pattern else None
    signers = UserPattern.compile("--signer_pattern", signer_pattern, SIGNER_NEEDS) if signer_pattern else None
    result = ScanResult(labels=[], items=[])
    tops = [entry for entry in _visible_children(data_dir) if entry.is_dir()]
    result.signer_folders = signers is not None and _names_signer_folders(signers, tops)
    if result.signer_folders:  # files beside the people's folders belong to no one
        for entry in _visible_children(data_dir):
            if not entry.is_dir():
                relative = printable(entry.relative_to(data_dir).as_posix())
                result.skipped.append({"source": relative, "reason": "not inside a person's folder; ignored"})
        _refuse_mixed_layout(tops)
    folders = _sign_folders(data_dir, tops, result.signer_folders, result)

    if len(folders) < 2:
        found = ", ".join(repr(name) for name in folders) or "none"
        raise DataFolderError(
            f"{data_dir} needs at least 2 sign folders (one folder per sign, images or videos inside); "
            f"found {len(folders)}: {found}"
        )

    for label in sorted(folders):
        before = len(result.items)
        for folder in folders[label]:
            _scan_sign_folder(data_dir, folder, label, keypoints, pattern, result)
        if len(result.items) == before:
            raise DataFolderError(
                f"sign folder {folders[label][0]} holds no images "
                f"or videos{' or .npy keypoints' if keypoints else ''}; "
                "add some or remove the folder"
            )
    result.labels = sorted(folders)
    assign_signers(result, signers, signer)
    return result


def _scan_sign_folder(
    data_dir: Path, folder: Path, label: str, keypoints: bool, pattern: UserPattern | None, result: ScanResult
) -> None:
    # Groups are named by the path (the person's folder included), so two people's "take_1" stay apart.
    prefix = folder.parent.relative_to(data_dir).as_posix() + "/" if folder.parent != data_dir else ""
    for entry in _visible_children(folder):
        relative = printable(entry.relative_to(data_dir).as_posix())
        suffix = entry.suffix.lower()
        if reason := unusable(entry):
            result.skipped.append({"source": relative, "reason": reason})
        elif keypoints and entry.is_dir():
            _landmark_clip_folder(entry, label, relative, f"{prefix}{label}/{entry.name}", result)
        elif keypoints and suffix == ".npy":
            result.items.append(WorkItem(label, entry, relative, f"{prefix}{label}/{entry.name}", Source.NPY))
        elif entry.is_dir():
            for frame in _visible_children(entry):
                frame_rel = printable(frame.relative_to(data_dir).as_posix())
                if reason := unusable(frame):
                    result.skipped.append({"source": frame_rel, "reason": reason})
                elif frame.is_file() and frame.suffix.lower() in IMAGE_EXTENSIONS:
                    group = f"{prefix}{label}/{entry.name}"
                    result.items.append(WorkItem(label, frame, frame_rel, group, Source.IMAGE))
                else:
                    result.skipped.append({"source": frame_rel, "reason": "not an image file inside a clip folder"})
        elif suffix in IMAGE_EXTENSIONS:
            group = entry.name
            if pattern is not None:
                found = pattern.first_group(entry.name)
                if found:
                    group = found
                else:
                    result.unmatched_group_pattern += 1
            result.items.append(WorkItem(label, entry, relative, f"{prefix}{label}/{group}", Source.IMAGE))
        elif suffix in VIDEO_EXTENSIONS:
            result.items.append(file_item(label, entry, relative))
        else:
            result.skipped.append({"source": relative, "reason": f"unsupported file type '{suffix or entry.name}'"})
