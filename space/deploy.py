"""Publish the webcam app as a Hugging Face Space that serves your model, in one command.

    python space/deploy.py --space_id user/my-sign-space --model_id user/my-model [--revision REV]
                           [--hardware cpu-basic|zero-gpu] [--private]

Uploads what the app needs (the files of space/ in APP_FILES and web/, the signspace package with its layers, the ASL
starter, the hand model, the card templates, a pinned requirements.txt and the Space card), sets MODEL_ID /
MODEL_REVISION as Space variables, and requests the hardware.

    python space/deploy.py --static --space_id user/my-sign-page --model_id user/my-motion-model

publishes a static Space instead (``static_space.py``): one page that tracks, classifies and types in the visitor's
browser, with the model's ONNX export and the hand model; no Python, free, never sleeps.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

from packaging.requirements import Requirement

from signspace.core import hub
from signspace.core.cards import render_space_card
from signspace.core.cli import parse_namespace
from signspace.core.errors import redact, run_cli
from signspace.core.hand_model import HAND_MODEL_ENV, resolve_hand_model

ROOT = Path(__file__).resolve().parent.parent
# The whole package: the Teach tab builds datasets and trains on the Space with the scripts' own code (a test runs
# the staged Space's imports to prove the copy is enough).
APP_MODULES = tuple(sorted(p.relative_to(ROOT / "signspace").as_posix() for p in (ROOT / "signspace").rglob("*.py")))
APP_FILES = (  # from space/
    "app.py",
    "app_config.py",
    "handlers.py",
    "teach_tab.py",
    "teach_handlers.py",
    "teach_text.py",
    "browser_feed.py",
    "personal.py",
    "browser_tracker.js",
)
# the Live tab's modules in the page
WEB_FILES = ("hand_tracking.mjs", "sign_reader.mjs", "personal_memory.mjs", "page_model.mjs")
CARD_TEMPLATES = ("dataset_card.md", "model_card.md")  # the Teach tab writes cards when it trains and publishes
STARTER = "asl-starter"  # the model every visitor may pick (train/build_starter.py), beside app.py as locally
# Sign in with Hugging Face: visitors publish with their own account (create repos, upload to them).
OAUTH_SCOPES = ["write-repos", "manage-repos"]
HAND_MODEL_FILE = "hand_landmarker.task"  # shipped with the app: no download when the Space starts
# Versions both hardware kinds support (ZeroGPU: PyTorch 2.8-2.11 and Python 3.10.13 / 3.12.12, Hub docs 2026-08).
TORCH_VERSION, TORCHVISION_VERSION = "2.9.1", "0.24.1"
PYTHON_VERSION = "3.12.12"
HARDWARE_FLAVOR = {"cpu-basic": "cpu-basic", "zero-gpu": "zero-a10g"}
HARDWARE_NOTE = {
    "cpu-basic": "Frames run on the CPU through an int8 ONNX model (tens of milliseconds each).",
    "zero-gpu": "Live frames run on the Space's CPU through an int8 ONNX model, so they never wait in the GPU "
    "queue or use your visitors' GPU quota; only the Upload / snapshot tab borrows a GPU, briefly.",
}

logger = logging.getLogger("deploy")


def requirements_txt(hardware: str) -> str:
    lines = [f"# Written by SignSpace's space/deploy.py for {hardware} hardware."]
    if hardware == "cpu-basic":
        lines.append("--extra-index-url https://download.pytorch.org/whl/cpu")  # CPU wheels: a smaller, faster build
    lines += [f"torch=={TORCH_VERSION}", f"torchvision=={TORCHVISION_VERSION}"]
    for package in space_packages():
        lines.append(f"{package}=={version(package)}")
    if hardware == "zero-gpu":
        lines.append(f"spaces=={_spaces_version()}")
    return "\n".join(lines) + "\n"


# pyproject.toml's dependencies a Space does not install from this list: PyTorch is pinned above for the hardware,
# Gradio comes with the Space's SDK (sdk_version in its card).
NOT_FROM_PYPROJECT = frozenset({"torch", "torchvision", "gradio"})


def space_packages() -> list[str]:
    """SignSpace's own dependencies (pyproject.toml, as installed), pinned at the versions tested here."""
    names = []
    for line in requires("signspace") or []:
        requirement = Requirement(line)
        if requirement.marker is None and requirement.name not in NOT_FROM_PYPROJECT:  # extras ("test") have markers
            names.append(requirement.name)
    return names


def _spaces_version() -> str:
    try:
        return version("spaces")
    except PackageNotFoundError:  # not installed locally: pin the release this was checked against
        return "0.51.3"


def stage_space(
    folder: Path,
    space_id: str,
    model_id: str,
    revision: str | None,
    hardware: str,
    title: str,
    license: str,
    hand_model: Path | None = None,
) -> Path:
    """Fill ``folder`` with exactly the files the Space needs (``hand_model``: the MediaPipe task file to ship)."""
    if hand_model is not None:
        shutil.copy2(hand_model, folder / HAND_MODEL_FILE)
    for name in APP_FILES:
        shutil.copy2(ROOT / "space" / name, folder / name)
    (folder / "web").mkdir()
    for name in WEB_FILES:
        shutil.copy2(ROOT / "space" / "web" / name, folder / "web" / name)
    if (ROOT / "space" / STARTER).is_dir():
        shutil.copytree(ROOT / "space" / STARTER, folder / STARTER)
    for module in APP_MODULES:  # the package with its layers' folders
        (folder / "signspace" / module).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "signspace" / module, folder / "signspace" / module)
    (folder / "hub_cards").mkdir()
    for name in CARD_TEMPLATES:
        shutil.copy2(ROOT / "hub_cards" / name, folder / "hub_cards" / name)
    (folder / "requirements.txt").write_text(requirements_txt(hardware))

    card = render_space_card(
        space_id,
        model_id,
        revision,
        hardware,
        title,
        license,
        PYTHON_VERSION,
        HARDWARE_FLAVOR[hardware],
        HARDWARE_NOTE[hardware],
        OAUTH_SCOPES,
    )
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


def push_space(staging: Path, args, sdk: str, message: str, token: str | None) -> str:
    """The staged folder as the Space ``args.space_id`` (one commit; a failed push changes nothing there)."""
    return hub.push_folder(
        staging,
        args.space_id,
        repo_type="space",
        space_sdk=sdk,
        token=token,
        private=args.private,
        commit_message=message,
        remedy="nothing was changed on the Space; run the same space/deploy.py command again",
    )


def deploy_static(args, hand_model: Path, title: str, token: str) -> int:
    """``--static``: the model loaded here (its kind checked, exported to ONNX), the page staged, one upload."""
    import static_space

    from signspace.models.modeling import model_kind
    from signspace.serve.inference import Predictor

    if not model_kind(args.model_id, args.revision).is_sequence:  # before its weights are loaded (an image model's
        raise static_space.not_for_the_page(args.model_id)  # int8 export would take a minute)
    predictor = Predictor.from_pretrained(args.model_id, args.revision, hand_model=hand_model)
    try:
        with tempfile.TemporaryDirectory(prefix="signspace-static-") as staging:
            sizes = static_space.stage_static(
                Path(staging),
                predictor,
                args.space_id,
                title,
                args.license,
                hand_model,
                args.threshold,
                tracker_dir=args.bundle_tracker and Path(args.bundle_tracker),
                ort_dir=args.bundle_ort and Path(args.bundle_ort),
            )
            message = f"Deploy SignSpace's static page for {args.model_id}"
            url = push_space(Path(staging), args, "static", message, token)
    finally:
        predictor.close()
    print(
        f"Static Space updated: {url}\nIt reads {args.model_id}{' @ ' + args.revision if args.revision else ''} in "
        f"each visitor's browser: {sum(sizes.values()) / 2**20:.1f} MB of files, no server."
    )
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space_id", "--space-id", required=True, help="the Space to create or update, 'user/name'")
    parser.add_argument("--model_id", "--model-id", required=True, help="the model it serves, 'user/name'")
    parser.add_argument("--revision", help="pin the model to a revision (branch, tag or commit)")
    parser.add_argument(
        "--hardware",
        choices=sorted(HARDWARE_FLAVOR),
        default="zero-gpu",
        help="zero-gpu: free accounts' Gradio Spaces; cpu-basic: needs a plan that allows CPU Gradio Spaces",
    )
    parser.add_argument("--private", action="store_true", help="create the Space as private")
    parser.add_argument(
        "--static",
        action="store_true",
        help="a static Space: the whole live loop in the visitor's page, no server (motion models only)",
    )
    parser.add_argument(
        "--threshold", type=float, default=0.6, help="--static: confidence needed to type (the page has a slider)"
    )
    parser.add_argument(
        "--bundle_tracker",
        "--bundle-tracker",
        default=None,
        help="--static: ship this copy of the npm package @mediapipe/tasks-vision (default: a public CDN)",
    )
    parser.add_argument(
        "--bundle_ort",
        "--bundle-ort",
        default=None,
        help="--static: ship this copy of onnxruntime-web's dist folder, e.g. node_modules/onnxruntime-web/dist "
        "(default: a public CDN; ~15 MB)",
    )
    parser.add_argument("--title", default=None, help="title on the Space card")
    parser.add_argument("--license", default="apache-2.0")
    parser.add_argument(
        "--hand_model",
        "--hand-model",
        default=None,
        help="MediaPipe hand_landmarker.task to ship with the app (default: $SIGNSPACE_HAND_MODEL, the cached "
        "download, or the copy in space/)",
    )
    return parse_namespace(parser, argv)


def main(argv: list[str] | None = None) -> int:
    from huggingface_hub import HfApi, SpaceHardware

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    hub.check_repo_id(args.space_id, "--space_id")
    hub.check_repo_id(args.model_id, "--model_id")
    token = hub.require_token()

    # before any upload: the Space must not download it at start (the copy shipped beside the app will do)
    hand_model = resolve_hand_model(args.hand_model, bundled=ROOT / "space" / HAND_MODEL_FILE)
    title = args.title or args.space_id.split("/")[-1].replace("-", " ").title()
    if args.static:
        return deploy_static(args, Path(hand_model), title, token)
    with tempfile.TemporaryDirectory(prefix="signspace-space-") as staging:
        stage_space(
            Path(staging), args.space_id, args.model_id, args.revision, args.hardware, title, args.license, hand_model
        )
        url = push_space(Path(staging), args, "gradio", f"Deploy SignSpace app for {args.model_id}", token)
    api = HfApi(token=token)
    variables = {
        "MODEL_ID": args.model_id,
        "MODEL_REVISION": args.revision or "",
        "SIGNSPACE_HARDWARE": args.hardware,
        HAND_MODEL_ENV: HAND_MODEL_FILE,
    }
    for key, value in variables.items():
        api.add_space_variable(args.space_id, key, value)
    try:
        api.request_space_hardware(args.space_id, SpaceHardware(HARDWARE_FLAVOR[args.hardware]))
    except Exception as exc:  # e.g. 402/403 when the account's plan does not include it; the upload stands
        logger.warning(
            "uploaded, but could not request %s hardware (%s); pick it in the Space settings",
            args.hardware,
            redact(str(exc).splitlines()[0], token),
        )
    print(
        f"Space updated: {url}\nIt serves {args.model_id}{' @ ' + args.revision if args.revision else ''} "
        f"on {args.hardware}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
