"""Atomic writes: the old output or the new one, never half (signspace/core/atomic.py)."""

import pytest
from factories import file_listing

from signspace.core.atomic import (
    OutputExistsError,
    atomic_directory,
    check_output_dir,
    replace_when_done,
    write_bytes_atomic,
    write_json_atomic,
)


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "report.json"
    write_json_atomic(target, {"v": 1})

    class Unwritable:
        def __len__(self):
            return 1

    with pytest.raises(TypeError):
        write_bytes_atomic(target, Unwritable())  # fails inside the write
    assert '"v": 1' in target.read_text()
    assert file_listing(tmp_path) == ["report.json"]


def test_an_output_folder_is_replaced_whole_or_not_at_all(tmp_path):
    out = tmp_path / "dataset"
    with atomic_directory(out, overwrite=False) as partial:
        (partial / "a.txt").write_text("first")
    assert (out / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError), atomic_directory(out, overwrite=True) as partial:
        (partial / "a.txt").write_text("half")
        raise RuntimeError("killed half-way")
    assert (out / "a.txt").read_text() == "first" and file_listing(tmp_path) == ["dataset", "dataset/a.txt"]


def test_a_leftover_of_a_killed_run_is_removed_by_the_next(tmp_path):
    stale = tmp_path / ".dataset.partial-999999999"  # no such process
    stale.mkdir()
    with atomic_directory(tmp_path / "dataset", overwrite=False) as partial:
        (partial / "x").write_text("x")
    assert not stale.exists() and (tmp_path / "dataset" / "x").exists()


def test_something_the_user_made_is_never_clobbered_without_asking(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match="already exists and is not empty; .* pass --overwrite"):
        check_output_dir(tmp_path / "mine", overwrite=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputExistsError, match="is a file; choose a folder path"):
        check_output_dir(tmp_path / "file", overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_a_file_written_by_a_library_lands_only_when_complete(tmp_path):
    target = tmp_path / "plot.png"
    replace_when_done(target, lambda path: path.write_bytes(b"png"))
    assert target.read_bytes() == b"png"

    def crash(path):
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_when_done(target, crash)
    assert target.read_bytes() == b"png" and file_listing(tmp_path) == ["plot.png"]
