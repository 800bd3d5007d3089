"""Fixtures shared by all tests. The Hub endpoint is set before any huggingface_hub import (read at import)."""

import os
import sys
from pathlib import Path

# Point every Hub call at the local test server (started lazily by the `hub` fixture) and use a dummy
# token: nothing in the suite may reach the real Hub. Must run before huggingface_hub is imported.
from hub_server import HubServer, free_port  # noqa: E402

_HUB_PORT = free_port()
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{_HUB_PORT}"
os.environ["HF_TOKEN"] = "hf_testTOKENdoNotLeak0123456789"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HOME"] = str(Path(os.environ.get("PYTEST_HF_HOME", "/tmp")) / f"signspace-test-hf-{os.getpid()}")
# Tests never download the hand model: they use the offline copy in ../shared (tests needing it skip without it),
# and their own cache folder, never the user's.
os.environ["SIGNSPACE_CACHE"] = str(Path(os.environ["HF_HOME"]) / "signspace-cache")
_SHARED_HAND_MODEL = (
    Path(__file__).resolve().parents[2] / "shared" / "models" / "mediapipe-hand-landmarker" / "hand_landmarker.task"
)
if _SHARED_HAND_MODEL.is_file():
    os.environ["SIGNSPACE_HAND_MODEL"] = str(_SHARED_HAND_MODEL)

import pytest  # noqa: E402
from factories import build_dataset_folder, make_colour_dataset, make_tiny_vit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
for folder in ("train", "space"):
    sys.path.insert(0, str(ROOT / folder))


@pytest.fixture(scope="session")
def hub():
    """A local Hub-protocol server on 127.0.0.1 (see hub_server.py), shared by the session."""
    server = HubServer(_HUB_PORT)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fresh_hub(hub):
    hub.reset()
    yield hub
    hub.reset()


@pytest.fixture(scope="session")
def tiny_vit(tmp_path_factory):
    return make_tiny_vit(tmp_path_factory.mktemp("tiny-vit"))


@pytest.fixture(scope="session")
def colour_dataset(tmp_path_factory):
    """A built SignSpace dataset (train/validation/test) of three colour 'signs'."""
    root = tmp_path_factory.mktemp("colour")
    return build_dataset_folder(make_colour_dataset(root / "data"), root / "dataset", val_size=0.2, test_size=0.2)


@pytest.fixture(scope="session", autouse=True)
def _private_hf_home():
    """The suite's own Hugging Face cache (set above), removed afterwards."""
    import shutil

    yield
    shutil.rmtree(os.environ["HF_HOME"], ignore_errors=True)
