"""Atomic writes: a reader (or a rerun after a crash) sees the old output or the new one, never half."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from signspace.core.errors import SignSpaceError


class OutputExistsError(SignSpaceError, FileExistsError):
    """The output path is taken and the user did not ask to replace it."""


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(out_dir: Path) -> None:
    """Leftovers of a killed earlier run (their process is gone) are garbage, not user data."""
    for partial in out_dir.parent.glob(f".{out_dir.name}.partial-*"):
        pid_text = partial.name.rsplit("-", 1)[-1]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            shutil.rmtree(partial, ignore_errors=True)


def check_output_dir(out_dir: Path, overwrite: bool, flag: str = "--overwrite") -> None:
    """Fail before any work when the output would clobber something the user made."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"output path {out_dir} is a file; choose a folder path")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"output folder {out_dir} already exists and is not empty; choose another path or pass {flag} to replace it"
        )


@contextlib.contextmanager
def atomic_directory(out_dir: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a private folder beside ``out_dir``; on success it replaces ``out_dir`` in one rename.

    If the body raises (or the process is killed) ``out_dir`` is untouched and the partial folder is
    removed now or by the next run.
    """
    out_dir = Path(out_dir).resolve()
    check_output_dir(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(out_dir)
    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out_dir.exists():
        retired = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        os.replace(out_dir, retired)
        os.replace(partial, out_dir)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(partial, out_dir)


def replace_when_done(path: Path, write: Callable[[Path], None]) -> None:
    """Let ``write`` fill a temp file beside ``path`` (e.g. ``savefig``), then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
