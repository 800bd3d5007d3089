"""deploy.py --static: the static Space's files, their settings, the checks before anything is written or uploaded.
(The page itself, driven in Chromium behind a plain file server: tests/space/test_browser.py.)"""

import json
import re
from pathlib import Path

import deploy
import pytest
import static_space
import yaml
from factories import SHIPPED_HAND_MODEL, FakePredictor, file_listing, make_sequence_model
from hub_server import TOKEN

from signspace.core import hub
from signspace.core.errors import ConfigError
from signspace.core.hands import search_settings
from signspace.serve.browser import ORT_WEB_CDN, PAGE_MODEL_MAX_BYTES, TASKS_VISION_CDN
from signspace.serve.inference import Predictor

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def motion(tmp_path):
    make_sequence_model(tmp_path / "model")
    predictor = Predictor.from_pretrained(str(tmp_path / "model"), hand_model=SHIPPED_HAND_MODEL)
    yield predictor
    predictor.close()


@pytest.mark.parametrize("shipped", [static_space.PAGE_FILES, deploy.WEB_FILES], ids=["static", "gradio"])
def test_every_module_a_shipped_page_module_imports_is_shipped_too(shipped):
    found = set()
    for name in shipped:
        imported = re.findall(r'from "\./([\w.]+\.mjs)"', (ROOT / "space" / "web" / name).read_text())
        assert set(imported) <= set(shipped), (name, imported)
        found |= set(imported)
    assert {"sign_reader.mjs", "personal_memory.mjs"} <= found  # the pattern sees the imports it checks


def stage(folder, predictor, **options):
    return static_space.stage_static(
        folder, predictor, "me/page", "Page", "apache-2.0", SHIPPED_HAND_MODEL, 0.45, **options
    )


def test_the_static_space_holds_the_page_its_modules_the_models_and_every_setting(motion, tmp_path):
    sizes = stage(tmp_path / "site", motion)
    site = tmp_path / "site"
    assert sorted(sizes) == sorted(
        ["README.md", "index.html", "model.onnx", "signspace.json", "hand_landmarker.task", *static_space.PAGE_FILES]
    )
    assert (site / "model.onnx").read_bytes() == motion.page_model()
    assert (site / "hand_landmarker.task").read_bytes() == SHIPPED_HAND_MODEL.read_bytes()
    config = json.loads((site / "signspace.json").read_text())
    session = motion.new_live_session()
    assert config["model"]["settings"] == json.loads(json.dumps(session.page_settings()))  # the server's numbers
    assert config["search"] == json.loads(json.dumps(search_settings())) and config["threshold"] == 0.45
    assert config["tracker"]["bundle_url"] == f"{TASKS_VISION_CDN}/vision_bundle.mjs"  # a CDN unless shipped
    assert config["model"]["ort_url"] == f"{ORT_WEB_CDN}/ort.wasm.min.mjs"
    card = (site / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["sdk"] == "static" and meta["app_file"] == "index.html" and meta["models"] == [str(motion.model_id)]
    page = (site / "index.html").read_text()
    assert '<script type="module" src="static_page.mjs">' in page
    # no server to learn on: the page learns the visitor's form itself (web/personal_memory.mjs), and says so
    assert 'id="that-was"' in page and "Learn my form of it" in page and "*Learn my form of it*" in card
    assert config["model"]["settings"]["personal"]["max_examples"] > 0  # the server's adaptation numbers
    assert sum(size for name, size in sizes.items() if name != "README.md") <= static_space.STATIC_MAX_BYTES


def test_shipped_tracker_and_onnx_runtime_are_copied_and_loaded_from_the_space(motion, tmp_path):
    tracker, ort = tmp_path / "tasks-vision", tmp_path / "ort"
    for folder, names in ((tracker, static_space.TASKS_VISION_FILES), (ort, static_space.ORT_WEB_FILES)):
        for name in names:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(f"// {name}")
    sizes = stage(tmp_path / "site", motion, tracker_dir=tracker, ort_dir=ort)
    assert {"tasks-vision/wasm/vision_wasm_internal.wasm", "onnxruntime-web/ort-wasm-simd-threaded.wasm"} <= set(sizes)
    config = json.loads((tmp_path / "site" / "signspace.json").read_text())
    assert config["tracker"]["bundle_url"] == "./tasks-vision/vision_bundle.mjs"
    assert config["model"]["ort_url"] == "./onnxruntime-web/ort.wasm.min.mjs"
    assert "Shipped here too: the hand tracker and ONNX Runtime Web" in (tmp_path / "site" / "README.md").read_text()


def test_a_copy_missing_a_file_is_refused_before_anything_is_written(motion, tmp_path):
    ort = tmp_path / "ort"
    ort.mkdir()
    (ort / "ort.wasm.min.mjs").write_text("//")
    with pytest.raises(ConfigError, match=r"ort lacks ort-wasm-simd-threaded.mjs, ort-wasm-simd-threaded.wasm; "):
        stage(tmp_path / "site", motion, ort_dir=ort)
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    ("predictor", "message"),
    [
        (FakePredictor(kind="crops", model_id="me/crops"), r"me/crops is not a motion model, and a static Space"),
        (
            FakePredictor(kind="motion", model_id="me/huge", page_onnx=b"0" * (PAGE_MODEL_MAX_BYTES + 1)),
            r"me/huge's ONNX export is 8.0 MB, over the 8 MB a page loads; deploy it as a Gradio Space",
        ),
    ],
)
def test_a_model_the_page_cannot_run_is_refused_before_anything_is_written(predictor, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        stage(tmp_path / "site", predictor)
    assert not (tmp_path / "site").exists()


def test_deploy_static_publishes_a_static_space_of_files_only(fresh_hub, motion, tmp_path, capsys):
    hub.push_folder(Path(motion.model_id), "tester/motion", token=TOKEN, commit_message="model")
    code = deploy.main(
        [
            "--static",
            "--space_id",
            "tester/page",
            "--model_id",
            "tester/motion",
            "--hand_model",
            str(SHIPPED_HAND_MODEL),
        ]
    )
    assert code == 0
    space = fresh_hub.repo("tester/page", repo_type="space")
    files = fresh_hub.files("tester/page", repo_type="space")
    assert space.sdk == "static" and space.variables == {}  # nothing runs there: no variables, no hardware
    assert {"index.html", "model.onnx", "signspace.json", "static_page.mjs", "hand_landmarker.task"} <= set(files)
    assert not [name for name in files if name.endswith(".py")]
    assert json.loads(files["signspace.json"])["model_id"] == "tester/motion"
    assert "It reads tester/motion in each visitor's browser" in capsys.readouterr().out


def test_deploy_static_refuses_an_image_model_before_uploading(fresh_hub, tiny_vit, tmp_path, capsys):
    from signspace.core.errors import run_cli

    hub.push_folder(Path(tiny_vit), "tester/letters", token=TOKEN, commit_message="model")
    argv = [
        "--static",
        "--space_id",
        "tester/page",
        "--model_id",
        "tester/letters",
        "--hand_model",
        str(SHIPPED_HAND_MODEL),
    ]
    assert run_cli(lambda: deploy.main(argv)) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the config download's progress bar
    assert err.startswith("error: tester/letters is not a motion model, and a static Space reads signs"), err
    assert ("space", "tester/page") not in fresh_hub.repos


def test_nothing_is_left_behind_by_a_refused_stage(tmp_path):
    before = file_listing(tmp_path)
    with pytest.raises(ConfigError):
        stage(tmp_path / "site", FakePredictor(kind="frames"))
    assert file_listing(tmp_path) == before
