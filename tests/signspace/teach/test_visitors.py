"""Every visitor's Teach session in one app (signspace/teach/visitors.py)."""

from types import SimpleNamespace

from signspace.teach.folder import TeachLimits
from signspace.teach.visitors import Visitors


def settings(tmp_path, per_visitor):
    """The app settings Visitors reads (space/app_config.AppConfig has them all)."""
    return SimpleNamespace(
        per_visitor=per_visitor, data_dir=str(tmp_path / "signs"), hand_model=None, unmirror=True, tracking="auto"
    )


def test_a_shared_space_gives_each_visitor_a_private_folder_with_tighter_limits(tmp_path):
    base = SimpleNamespace(hand_model=None)  # the app's own model: only its hand model is read here
    visitors = Visitors(settings(tmp_path, per_visitor=True), base, "m", root=tmp_path / "signspace-teach")
    one, two = visitors.open("visitor-1"), visitors.open("visitor-2")
    assert one.folder.root != two.folder.root and one.folder.root.parent == tmp_path / "signspace-teach"
    sneaky = visitors.open("../../escape")
    assert sneaky.folder.root.parent == tmp_path / "signspace-teach"  # a browser-chosen id names no other folder
    assert one.folder.limits == TeachLimits.public() and TeachLimits.public().total_bytes < TeachLimits().total_bytes
    one.folder.add_sign("hello")
    assert two.folder.signs() == []  # never listed to others
    assert visitors.records_landmarks  # a shared Space records what the browser tracks
    for session in (one, two, sneaky):
        visitors.leave(session.owner)
    assert not one.folder.root.exists() and visitors.sessions == {}


def test_locally_every_tab_shares_the_one_folder_and_keeps_it(tmp_path):
    visitors = Visitors(settings(tmp_path, per_visitor=False), SimpleNamespace(hand_model=None), "m")
    first, second = visitors.open("tab-1"), visitors.open(None)
    assert first.folder is second.folder and first.folder.root == (tmp_path / "signs").resolve()
    assert second.owner == "local" and not visitors.records_landmarks
    first.folder.add_sign("hello")
    visitors.close(first)
    assert (tmp_path / "signs" / "hello").is_dir() and "tab-1" not in visitors.sessions  # the user's folder stays
