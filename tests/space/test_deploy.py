import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import deploy
import gradio
import pytest
import yaml
from factories import fake_task_bundle
from hub_server import TOKEN
from packaging.requirements import Requirement

from signspace.core.hub import HubError

ROOT = Path(__file__).resolve().parents[2]


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


@pytest.mark.parametrize("hardware", ["cpu-basic", "zero-gpu"])
def test_staged_space_holds_exactly_what_the_app_needs(tmp_path, hardware):
    task = tmp_path / "src" / "hand.task"
    task.parent.mkdir()
    task.write_bytes(b"task bundle bytes")
    space = tmp_path / "space"
    space.mkdir()
    deploy.stage_space(space, "me/demo", "me/model", "v1", hardware, "Demo", "apache-2.0", hand_model=task)
    files = sorted(p.relative_to(space).as_posix() for p in space.rglob("*") if p.is_file())
    expected = ["README.md", "app.py", "teach_tab.py", "browser_feed.py", "browser_tracker.js", "hand_landmarker.task"]
    expected += [
        "requirements.txt",
        "personal.py",
        "app_config.py",
        "handlers.py",
        "teach_handlers.py",
        "teach_text.py",
    ]
    starter = ROOT / "space" / deploy.STARTER  # the model every visitor may pick, beside app.py as locally
    expected += [f"{deploy.STARTER}/{p.name}" for p in starter.iterdir() if p.is_file()] if starter.is_dir() else []
    expected += [f"signspace/{m}" for m in deploy.APP_MODULES]
    expected += ["hub_cards/dataset_card.md", "hub_cards/model_card.md"]
    modules = ("hand_tracking.mjs", "sign_reader.mjs", "personal_memory.mjs", "page_model.mjs")
    expected += [f"web/{name}" for name in modules]
    assert files == sorted(expected)
    assert (space / "hand_landmarker.task").read_bytes() == b"task bundle bytes"
    tmp_path = space
    meta = front_matter((tmp_path / "README.md").read_text())
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == gradio.__version__
    assert meta["app_file"] == "app.py" and meta["python_version"] == deploy.PYTHON_VERSION
    assert meta["models"] == ["me/model"] and meta["license"] == "apache-2.0" and meta["title"] == "Demo"
    assert 0 < len(meta["short_description"]) <= 60
    # visitors sign in to publish what they taught with their own account (create + write their repos)
    assert meta["hf_oauth"] is True and meta["hf_oauth_scopes"] == ["write-repos", "manage-repos"]
    requirements = (tmp_path / "requirements.txt").read_text()
    assert "torch==2.9.1" in requirements and "gradio" not in requirements  # gradio comes from sdk_version
    assert ("spaces==" in requirements) == (hardware == "zero-gpu")
    assert "mediapipe==" in requirements  # the hand tracker, on both hardware kinds
    # every dependency pyproject.toml declares (the file itself, not installed metadata that may be stale)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for package in {Requirement(line).name for line in declared} - deploy.NOT_FROM_PYPROJECT:
        assert f"\n{package}==" in requirements, package
    assert ("download.pytorch.org/whl/cpu" in requirements) == (hardware == "cpu-basic")


def test_staged_app_imports_from_its_own_files(tmp_path):
    """The uploaded module list is enough: the app starts its imports using only the staged copy."""
    deploy.stage_space(tmp_path, "me/demo", "me/model", None, "cpu-basic", "Demo", "mit")
    probe = (
        "import sys, app, teach_tab, signspace; import signspace.serve.inference, signspace.models.modeling, "
        "signspace.serve.live, signspace.core.hands, signspace.teach.session, signspace.data.build_dataset, "
        "signspace.train.finetune, signspace.core.cards;"
        "signspace.core.cards.template_path('model_card.md');"
        "assert signspace.__file__.startswith(sys.argv[1]), signspace.__file__;"
        "import json; print(json.dumps(sorted(m for m in sys.modules if m.startswith('signspace'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = [name.removeprefix("signspace.").replace(".", "/") for name in json.loads(result.stdout.splitlines()[-1])]
    staged = set(deploy.APP_MODULES)  # a module, or a layer's package
    assert all(f"{path}.py" in staged or f"{path}/__init__.py" in staged for path in loaded if path != "signspace")


def test_deploy_creates_the_space_sets_variables_and_hardware(fresh_hub, capsys, tmp_path):
    task = fake_task_bundle(tmp_path / "hand_landmarker.task")
    assert (
        deploy.main(
            [
                "--space_id",
                "tester/sign-demo",
                "--model_id",
                "tester/signs",
                "--revision",
                "v2",
                "--hardware",
                "zero-gpu",
                "--hand_model",
                str(task),
            ]
        )
        == 0
    )
    space = fresh_hub.repo("tester/sign-demo", repo_type="space")
    assert space.sdk == "gradio"
    assert space.variables == {
        "MODEL_ID": "tester/signs",
        "MODEL_REVISION": "v2",
        "SIGNSPACE_HARDWARE": "zero-gpu",
        "SIGNSPACE_HAND_MODEL": "hand_landmarker.task",
    }
    assert fresh_hub.files("tester/sign-demo", repo_type="space")["hand_landmarker.task"] == task.read_bytes()
    assert space.hardware == "zero-a10g"
    files = fresh_hub.files("tester/sign-demo", repo_type="space")
    assert {"app.py", "requirements.txt", "README.md", "signspace/serve/inference.py"} <= set(files)
    weights = [name for name in files if name.endswith((".safetensors", ".arrow", ".parquet", ".bin"))]
    starter = (ROOT / "space" / deploy.STARTER).is_dir()
    assert weights == (
        [f"{deploy.STARTER}/model.safetensors"] if starter else []
    )  # the served model comes from the Hub
    out = capsys.readouterr()
    assert "tester/signs @ v2" in out.out and TOKEN not in out.out + out.err


def test_deploy_again_updates_the_same_space(fresh_hub, tmp_path):
    task = fake_task_bundle(tmp_path / "hand_landmarker.task")
    for model in ("tester/first", "tester/second"):
        assert (
            deploy.main(
                [
                    "--space_id",
                    "tester/again",
                    "--model_id",
                    model,
                    "--hardware",
                    "cpu-basic",
                    "--hand_model",
                    str(task),
                ]
            )
            == 0
        )
    assert fresh_hub.repo("tester/again", repo_type="space").variables["MODEL_ID"] == "tester/second"


def test_deploy_without_token_fails_before_uploading(fresh_hub, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(HubError, match="needs a Hugging Face token"):
        deploy.main(["--space_id", "tester/nope", "--model_id", "tester/signs"])
    assert ("space", "tester/nope") not in fresh_hub.repos


def test_bad_ids_are_refused():
    with pytest.raises(ValueError, match="--space_id='just-a-name' is not a Hub repo id"):
        deploy.main(["--space_id", "just-a-name", "--model_id", "tester/signs"])


def test_deploy_with_a_broken_hand_model_fails_before_uploading(fresh_hub, tmp_path):
    from signspace.core.errors import HandModelError

    bad = tmp_path / "hand.task"
    bad.write_bytes(b"<html>")
    with pytest.raises(HandModelError, match=r"hand\.task is not a MediaPipe task bundle"):
        deploy.main(["--space_id", "tester/broken", "--model_id", "tester/signs", "--hand_model", str(bad)])
    assert ("space", "tester/broken") not in fresh_hub.repos


def test_a_failed_deploy_says_nothing_changed_and_names_no_temporary_folder(fresh_hub, tmp_path):
    task = fake_task_bundle(tmp_path / "hand_landmarker.task")
    fresh_hub.fail(r"/api/repos/create", 403, times=10)
    with pytest.raises(HubError) as caught:
        deploy.main(["--space_id", "tester/denied", "--model_id", "tester/signs", "--hand_model", str(task)])
    assert "nothing was changed on the Space; run the same space/deploy.py command again" in str(caught.value)
    assert "signspace-space-" not in str(caught.value)
