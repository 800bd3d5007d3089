import pytest
from hub_server import TOKEN

from signspace.core import hub


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "model"
    path.mkdir()
    (path / "config.json").write_text('{"a": 1}')
    (path / "README.md").write_text("---\nlicense: mit\n---\n# card\n")
    (path / "checkpoint-1").mkdir()
    (path / "checkpoint-1" / "big.bin").write_bytes(b"x" * 10)
    return path


def snapshot(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_transient_503s_are_retried_with_backoff(fresh_hub, folder):
    fresh_hub.fail("/api/repos/create", 503, times=2)
    delays = []
    url = hub.push_folder(
        folder,
        "tester/retry",
        token=TOKEN,
        commit_message="m",
        ignore_patterns=["checkpoint-*"],
        base_delay=1.0,
        sleep=delays.append,
    )
    assert delays == [1.0, 2.0]  # exponential
    assert "tester/retry/commit/" in url
    assert set(fresh_hub.files("tester/retry")) == {".gitattributes", "config.json", "README.md"}


def test_503_on_the_commit_still_lands_exactly_one_commit(fresh_hub, folder):
    fresh_hub.fail("/commit/", 503, times=2)
    hub.push_folder(folder, "tester/c503", token=TOKEN, commit_message="m", sleep=lambda s: None)
    commits = [c for c in fresh_hub.repo("tester/c503").commits if c["message"] == "m"]
    assert len(commits) == 1 and "config.json" in commits[0]["files"]


def test_401_fails_at_once_and_local_output_is_intact(fresh_hub, folder):
    before = snapshot(folder)
    fresh_hub.fail("/commit/", 401, times=5)
    delays = []
    with pytest.raises(hub.HubError, match=r"(?s)failed: .*401.*local copy in .* is complete"):
        hub.push_folder(folder, "tester/denied", token=TOKEN, commit_message="m", sleep=delays.append)
    assert delays == []  # no retry on an auth error
    assert snapshot(folder) == before


def test_404_is_not_retried(fresh_hub, folder):
    fresh_hub.fail("/preupload/", 404, times=5)
    delays = []
    with pytest.raises(hub.HubError):
        hub.push_folder(folder, "tester/missing", token=TOKEN, commit_message="m", sleep=delays.append)
    assert delays == []


def test_gives_up_after_max_attempts_with_clear_message(fresh_hub, folder):
    fresh_hub.fail("/api/repos/create", 502, times=10)
    with pytest.raises(hub.HubError, match="still failed after 3 attempts"):
        hub.push_folder(folder, "tester/flaky", token=TOKEN, commit_message="m", max_attempts=3, sleep=lambda s: None)


def test_push_to_a_branch(fresh_hub, folder):
    hub.push_folder(folder, "tester/branchy", token=TOKEN, commit_message="m", revision="v1", sleep=lambda s: None)
    assert "config.json" in fresh_hub.files("tester/branchy", revision="v1")
    assert "config.json" not in fresh_hub.files("tester/branchy", revision="main")


def test_redaction_hides_the_token_in_saved_configs():
    config = hub.redact_config({"hub_token": TOKEN, "nested": [f"x{TOKEN}y"], "n": 1}, TOKEN)
    assert TOKEN not in str(config) and config["n"] == 1


def test_unreachable_hub_is_detected_quickly(monkeypatch):
    import time

    from hub_server import free_port

    monkeypatch.setattr(hub, "hub_endpoint", lambda: f"http://127.0.0.1:{free_port()}")
    start = time.monotonic()
    assert hub.hub_reachable(timeout=2) is False
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("repo_id", ["user/name", "org-1/my.model_v2"])
def test_good_repo_ids(repo_id):
    assert hub.check_repo_id(repo_id, "--x") == repo_id


def test_cards_link_only_to_what_exists():
    from pathlib import Path

    for template in (Path(__file__).resolve().parents[3] / "hub_cards").glob("*.md"):
        assert "github.com/signspace" not in template.read_text(), template.name
