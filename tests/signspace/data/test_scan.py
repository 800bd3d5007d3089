import time

import pytest
from factories import make_landmark_folders, make_sign_folders, make_signer_folders, write_image

from signspace.data.scan import DataFolderError, clip_files, scan_data_dir


def test_os_junk_is_ignored_silently(tmp_path):
    make_sign_folders(tmp_path, {"a": 2, "b": 2})
    (tmp_path / ".DS_Store").write_bytes(b"\0junk")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\0junk")
    (tmp_path / "a" / "Thumbs.db").write_bytes(b"\0junk")
    (tmp_path / "a" / "._img_000.png").write_bytes(b"\0junk")
    write_image(tmp_path / "__MACOSX" / "a" / "x.png")
    result = scan_data_dir(tmp_path)
    assert result.labels == ["a", "b"]
    assert len(result.items) == 4
    assert result.skipped == []


def test_layouts_give_the_right_groups(tmp_path):
    write_image(tmp_path / "hello" / "photo1.jpg")
    write_image(tmp_path / "hello" / "clip7" / "f0.jpg")
    write_image(tmp_path / "hello" / "clip7" / "f1.jpg", seed=1)
    (tmp_path / "thanks").mkdir()
    (tmp_path / "thanks" / "v.mp4").write_bytes(b"not decoded at scan time")
    groups = {item.source: (item.group, item.kind) for item in scan_data_dir(tmp_path).items}
    assert groups == {
        "hello/clip7/f0.jpg": ("hello/clip7", "image"),
        "hello/clip7/f1.jpg": ("hello/clip7", "image"),
        "hello/photo1.jpg": ("hello/photo1.jpg", "image"),
        "thanks/v.mp4": ("thanks/v.mp4", "video"),
    }


def test_group_pattern_groups_augmented_copies(tmp_path):
    for name in ["A1_jpg.rf.aaa.jpg", "A1_jpg.rf.bbb.jpg", "A2_jpg.rf.ccc.jpg", "odd.jpg"]:
        write_image(tmp_path / "A" / name)
    write_image(tmp_path / "B" / "B1_jpg.rf.ddd.jpg")
    result = scan_data_dir(tmp_path, r"^(.+?)_jpg\.rf\.")
    assert sorted({i.group for i in result.items}) == ["A/A1", "A/A2", "A/odd.jpg", "B/B1"]
    assert result.unmatched_group_pattern == 1


def test_empty_sign_folder_is_named(tmp_path):
    make_sign_folders(tmp_path, {"a": 2, "b": 2})
    (tmp_path / "ghost").mkdir()
    (tmp_path / "ghost" / ".DS_Store").write_bytes(b"x")
    with pytest.raises(DataFolderError, match=r"sign folder .*ghost holds no images or videos"):
        scan_data_dir(tmp_path)


def test_only_one_sign_is_a_clear_error(tmp_path):
    make_sign_folders(tmp_path, {"only": 3})
    with pytest.raises(DataFolderError, match=r"needs at least 2 sign folders .*found 1: 'only'"):
        scan_data_dir(tmp_path)


def test_missing_data_dir(tmp_path):
    with pytest.raises(DataFolderError, match="does not exist"):
        scan_data_dir(tmp_path / "nope")


def test_case_collision_is_a_clear_error(tmp_path):
    make_sign_folders(tmp_path, {"A": 1, "a": 1})
    with pytest.raises(DataFolderError, match=r"differ only in letter case"):
        scan_data_dir(tmp_path)


def test_unicode_and_spaces_get_stable_sorted_labels(tmp_path):
    make_sign_folders(tmp_path, {"thank you": 1, "ñandú": 1, "Ärger": 1, "hello": 1})
    decomposed = "cafe\u0301"  # macOS-style NFD name of "café"
    write_image(tmp_path / decomposed / "x.png")
    labels = scan_data_dir(tmp_path).labels
    assert labels == sorted(["thank you", "ñandú", "Ärger", "hello", "caf\u00e9"])
    assert "caf\u00e9" in labels  # normalised to NFC: the same id on every OS


def test_unsupported_files_are_reported(tmp_path):
    make_sign_folders(tmp_path, {"a": 1, "b": 1})
    (tmp_path / "a" / "notes.txt").write_text("hi")
    result = scan_data_dir(tmp_path)
    assert result.skipped == [{"source": "a/notes.txt", "reason": "unsupported file type '.txt'"}]


def test_a_dangling_symlink_is_skipped_and_listed_not_fatal(tmp_path):
    from factories import make_sign_folders

    from signspace.data.scan import scan_data_dir

    data = make_sign_folders(tmp_path / "data", {"a": 2, "b": 2})
    (data / "a" / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (data / "b" / "clip").mkdir()
    (data / "b" / "clip" / "0001.png").symlink_to(tmp_path / "missing.png")
    result = scan_data_dir(data)
    reasons = {entry["source"]: entry["reason"] for entry in result.skipped}
    assert reasons["a/gone.jpg"] == reasons["b/clip/0001.png"] == "a symbolic link to a file that does not exist"
    assert all("gone" not in item.source and "0001" not in item.source for item in result.items)


def test_an_unreadable_clip_folder_is_one_clear_line(tmp_path, monkeypatch):
    from pathlib import Path

    from factories import make_sign_folders

    from signspace.data.scan import DataFolderError, scan_data_dir

    data = make_sign_folders(tmp_path / "data", {"a": 2, "b": 2})
    locked = data / "b" / "clip"
    locked.mkdir()
    real_iterdir = Path.iterdir

    def iterdir(self):  # tests run as root, which chmod cannot lock out: fake what a normal user gets
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(
        DataFolderError, match=r"cannot read folder .*b/clip \(permission denied\); give yourself read access"
    ):
        scan_data_dir(data)


def test_signer_folders_hold_sign_folders_and_name_the_signer(tmp_path):
    make_signer_folders(tmp_path, {"alice": ("circle", "swipe"), "bob": ("circle", "swipe")}, per_sign=2)
    (tmp_path / "notes.txt").write_text("who is who")
    (tmp_path / "alice" / "todo.txt").write_text("record more")
    result = scan_data_dir(tmp_path, keypoints=True, signer_pattern=r"^([^/]+)/")
    assert result.signer_folders and result.labels == ["circle", "swipe"]
    assert {(e["source"], e["reason"]) for e in result.skipped} == {
        ("notes.txt", "not inside a person's folder; ignored"),
        ("alice/todo.txt", "not inside a sign folder; ignored"),
    }
    signers = {item.source: (item.signer, item.group, item.label) for item in result.items}
    assert signers["alice/circle/clip_0.npy"] == ("alice", "alice/circle/clip_0.npy", "circle")
    assert signers["bob/circle/clip_0.npy"] == ("bob", "bob/circle/clip_0.npy", "circle")  # same clip name, apart
    assert len(result.items) == 8


def test_signer_in_the_file_name_keeps_the_usual_layout(tmp_path):
    make_signer_folders(
        tmp_path, {"alice": ("circle", "swipe"), "bob": ("circle", "swipe")}, per_sign=2, layout="names"
    )
    result = scan_data_dir(tmp_path, keypoints=True, signer_pattern=r"/([a-z]+)_\d+\.npy$")
    assert not result.signer_folders
    assert {(item.source, item.signer) for item in result.items if item.label == "circle"} == {
        ("circle/alice_0.npy", "alice"),
        ("circle/alice_1.npy", "alice"),
        ("circle/bob_0.npy", "bob"),
        ("circle/bob_1.npy", "bob"),
    }


def test_one_named_signer_for_everything(tmp_path):
    make_sign_folders(tmp_path, {"a": 2, "b": 2})
    assert {item.signer for item in scan_data_dir(tmp_path, signer="me").items} == {"me"}


@pytest.mark.parametrize(
    "pattern, message",
    [
        (r"^(zed)_", "found no signer in any clip path(s): circle/alice_0.npy, circle/alice_1.npy"),
        (r"/(alice)_", "found no signer in 4 of 8 clip path(s): circle/bob_0.npy, circle/bob_1.npy, swipe/bob_0"),
    ],
)
def test_a_signer_pattern_that_misses_files_names_them(tmp_path, pattern, message):
    make_signer_folders(
        tmp_path, {"alice": ("circle", "swipe"), "bob": ("circle", "swipe")}, per_sign=2, layout="names"
    )
    with pytest.raises(DataFolderError, match="--signer_pattern") as caught:
        scan_data_dir(tmp_path, keypoints=True, signer_pattern=pattern)
    assert message in str(caught.value)


def test_one_person_is_one_signer_however_their_name_is_encoded(tmp_path):
    """NFC and NFD "Zoë" counted as two people: one person could be in train and in the held-out test."""
    import unicodedata

    make_signer_folders(tmp_path, {"zoë": ("circle",), "bob": ("circle", "swipe")}, per_sign=2, layout="names")
    source = next((tmp_path / "circle").glob("zo*_0.npy"))
    source.rename(source.with_name(unicodedata.normalize("NFD", "zoë") + "_0.npy"))  # as a Mac writes it
    result = scan_data_dir(tmp_path, keypoints=True, signer_pattern=r"/(\w+)_\d+\.npy$")
    assert {item.signer for item in result.items} == {"zoë", "bob"}
    assert all(item.signer == unicodedata.normalize("NFC", item.signer) for item in result.items)


def test_signers_whose_names_differ_only_in_letter_case_are_refused(tmp_path):
    make_signer_folders(tmp_path, {"alice": ("circle", "swipe"), "Alice": ("swipe",)}, per_sign=1, layout="names")
    with pytest.raises(DataFolderError, match="signers 'Alice' and 'alice' differ only in letter case"):
        scan_data_dir(tmp_path, keypoints=True, signer_pattern=r"/([A-Za-z]+)_\d+\.npy$")


def test_a_pattern_that_backtracks_without_end_is_refused_in_a_second_not_a_hang(tmp_path):
    """``/(([a-z]+)+)_`` over a 34-character name hung the build with Python's re; the regex module matches it at
    once, and a pattern that still backtracks without end is stopped at its time limit with one line."""
    from signspace.core.errors import ConfigError

    make_sign_folders(tmp_path, {"a": 1, "b": 1})
    next((tmp_path / "a").iterdir()).rename(tmp_path / "a" / ("x" * 40 + ".jpg"))
    started = time.monotonic()
    with pytest.raises(DataFolderError, match=r"found no signer in 1 of 2 clip path\(s\): a/x{40}\.jpg"):  # no hang
        scan_data_dir(tmp_path, signer_pattern=r"/(([a-z]+)+)_")
    with pytest.raises(ConfigError, match=r"--signer_pattern '/\(\(x\|xx\)\+\)_' took over 0.5 s on 'a/x{40}.jpg'"):
        scan_data_dir(tmp_path, signer_pattern=r"/((x|xx)+)_")
    with pytest.raises(ConfigError, match="--group_pattern .* took over 0.5 s on 'x{40}.jpg': it backtracks"):
        scan_data_dir(tmp_path, group_pattern=r"^((x|xx)+)_")
    assert time.monotonic() - started < 10  # each stopped at its limit (2^40 ways to split the name otherwise)


def test_the_same_sign_spelled_differently_by_two_people_is_refused(tmp_path):
    make_signer_folders(tmp_path, {"alice": ("circle", "swipe")}, per_sign=1)
    (tmp_path / "bob" / "Circle").mkdir(parents=True)
    (tmp_path / "bob" / "Circle" / "clip_0.npy").write_bytes((tmp_path / "alice/circle/clip_0.npy").read_bytes())
    with pytest.raises(DataFolderError, match="differ only in letter case"):
        scan_data_dir(tmp_path, keypoints=True, signer_pattern=r"^([^/]+)/")


def test_pipes_and_names_that_are_not_utf8_are_skipped_and_listed(tmp_path):
    import os

    make_sign_folders(tmp_path, {"a": 2, "b": 2})
    os.mkfifo(tmp_path / "a" / "pipe.npy")  # reading it would wait for ever
    bad = os.fsencode(tmp_path / "b") + b"/caf\xe9.png"  # Latin-1 bytes, not UTF-8
    with open(bad, "wb") as handle:
        handle.write((tmp_path / "b" / "img_000.png").read_bytes())
    result = scan_data_dir(tmp_path, keypoints=True)
    reasons = {entry["source"]: entry["reason"] for entry in result.skipped}
    assert reasons["a/pipe.npy"] == "not a regular file (a pipe, socket or device)"
    assert reasons["b/caf\\udce9.png"] == "its name is not valid UTF-8; rename it"
    assert len(result.items) == 4


def test_a_sign_folder_whose_name_is_not_utf8_is_one_line(tmp_path):
    import os

    make_sign_folders(tmp_path, {"a": 1, "b": 1})
    os.mkdir(os.fsencode(tmp_path) + b"/s\xe9")
    with pytest.raises(DataFolderError, match=r"s\\udce9 has a name that is not valid UTF-8"):
        scan_data_dir(tmp_path)


def test_clip_files_leave_out_macos_copies_and_pipes(tmp_path):
    import os

    import numpy as np

    for n in range(3):
        np.save(tmp_path / f"{n}.npy", np.zeros((1, 258), np.float32))
    (tmp_path / "._0.npy").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    os.mkfifo(tmp_path / "3.npy")
    assert [p.name for p in clip_files(tmp_path, {".npy"})] == ["0.npy", "1.npy", "2.npy"]


def test_a_sign_folder_among_the_peoples_folders_is_one_clear_line(tmp_path):
    make_signer_folders(tmp_path, {"alice": ("circle", "swipe"), "bob": ("circle", "swipe")}, per_sign=1)
    make_landmark_folders(tmp_path, per_sign=2, motions=("rise",))  # DATA/rise/clip_000.npy beside alice/ and bob/
    with pytest.raises(DataFolderError, match=r"rise holds clips itself \(clip_000.npy, clip_001.npy\), but"):
        scan_data_dir(tmp_path, keypoints=True, signer_pattern=r"^([^/]+)/")


def test_a_curator_drops_a_persons_sign_or_makes_it_a_variant(tmp_path):
    from signspace.data.scan import curate

    make_signer_folders(tmp_path, {"ann": ("circle", "swipe"), "bob": ("circle", "swipe")}, per_sign=2)
    result = scan_data_dir(tmp_path, keypoints=True, signer_pattern=r"^([^/]+)/")
    curate(result, drop=[("bob", "swipe")], variants=[("bob", "circle")])
    assert result.labels == ["circle", "circle (variant)", "swipe"]
    assert {(i.signer, i.label) for i in result.items} == {
        ("ann", "circle"),
        ("ann", "swipe"),
        ("bob", "circle (variant)"),
    }
    assert {e["reason"] for e in result.skipped} == {"left out by --drop bob/swipe"}
    with pytest.raises(DataFolderError, match="--drop cat/circle: no clips of that person and sign; there are ann/"):
        curate(scan_data_dir(tmp_path, keypoints=True, signer_pattern=r"^([^/]+)/"), [("cat", "circle")], [])
