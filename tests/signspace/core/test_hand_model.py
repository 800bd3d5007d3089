"""MediaPipe's hand model file: chosen, cached, downloaded once and checked (signspace/core/hand_model.py)."""

import time
import zipfile

import pytest
from factories import HAND_MODEL
from hub_server import free_port

from signspace.core import hand_model
from signspace.core.errors import HandModelError
from signspace.core.hand_model import resolve_hand_model

needs_model = pytest.mark.skipif(not HAND_MODEL.is_file(), reason="../shared hand model absent")


def test_a_missing_model_file_names_it(tmp_path):
    with pytest.raises(HandModelError, match=r"missing\.task does not exist; pass --hand_model"):
        resolve_hand_model(tmp_path / "missing.task")


@pytest.mark.parametrize(
    "content", [b"", b"not a zip at all", "zip-without-models"], ids=["empty", "garbage", "wrong-zip"]
)
def test_a_corrupt_or_wrong_model_file_is_refused_and_left_as_it_was(tmp_path, content):
    path = tmp_path / "hand.task"
    if content == "zip-without-models":
        with zipfile.ZipFile(path, "w") as bundle:
            bundle.writestr("face_detector.tflite", b"x")
        content = path.read_bytes()
    else:
        path.write_bytes(content)
    with pytest.raises(
        HandModelError, match=r"hand\.task .*(not a MediaPipe task bundle|not a hand-landmarker bundle)"
    ):
        resolve_hand_model(path)
    assert path.read_bytes() == content  # nothing downloaded over it


def test_the_environment_variable_names_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv(hand_model.HAND_MODEL_ENV, str(tmp_path / "env.task"))
    with pytest.raises(HandModelError, match=r"env\.task does not exist"):
        resolve_hand_model(None, cache_dir=tmp_path)


def test_offline_without_the_model_fails_in_seconds_saying_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(hand_model.HAND_MODEL_ENV, raising=False)
    started = time.monotonic()
    with pytest.raises(HandModelError, match=r"could not download the MediaPipe hand model .*pass --hand_model PATH"):
        resolve_hand_model(None, cache_dir=tmp_path, url=nowhere())
    assert time.monotonic() - started < 10  # a guard against retry loops, not a speed target
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # no half file in the cache


def nowhere() -> str:
    """A URL where nothing answers: a download from it fails at once."""
    return f"http://127.0.0.1:{free_port()}/hand_landmarker.task"


def _serve(hub, payload: bytes) -> str:
    """A URL on the local test server that answers 200 with ``payload``."""
    import os

    hub.add_repo("models/hand", {"hand_landmarker.task": payload})
    return f"{os.environ['HF_ENDPOINT']}/models/hand/resolve/main/hand_landmarker.task"


def test_a_download_that_is_not_a_bundle_never_reaches_the_cache(tmp_path, monkeypatch, fresh_hub):
    monkeypatch.delenv(hand_model.HAND_MODEL_ENV, raising=False)
    with pytest.raises(HandModelError, match="not a MediaPipe task bundle"):
        resolve_hand_model(None, cache_dir=tmp_path, url=_serve(fresh_hub, b"<html>captive portal</html>"))
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@needs_model
def test_the_model_is_downloaded_once_into_the_cache(tmp_path, monkeypatch, fresh_hub):
    monkeypatch.delenv(hand_model.HAND_MODEL_ENV, raising=False)
    path = resolve_hand_model(None, cache_dir=tmp_path, url=_serve(fresh_hub, HAND_MODEL.read_bytes()))
    assert path.read_bytes() == HAND_MODEL.read_bytes()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["hand_landmarker.task"]
    assert resolve_hand_model(None, cache_dir=tmp_path, url=nowhere()) == path  # a download would fail


@needs_model
def test_a_cached_model_is_used_without_downloading(tmp_path, monkeypatch):
    monkeypatch.delenv(hand_model.HAND_MODEL_ENV, raising=False)
    cached = tmp_path / "mediapipe" / hand_model.HAND_MODEL_VERSION.replace("/", "-") / "hand_landmarker.task"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(HAND_MODEL.read_bytes())
    assert resolve_hand_model(None, cache_dir=tmp_path, url=nowhere()) == cached  # a download would fail
