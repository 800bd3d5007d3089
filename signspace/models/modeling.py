"""Safe model loading for training and the app: safetensors only, never remote code, fail fast offline."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from signspace.core import kinds
from signspace.core.checkpoints import safetensors_complete
from signspace.core.errors import ModelFolderError, SignSpaceError
from signspace.core.hub import HubError, check_repo_id, is_local, require_reachable
from signspace.models.sequence_model import MODEL_TYPE, SignSequenceModel

logger = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


class UnsafeModelError(SignSpaceError, ValueError):
    """The checkpoint would need pickle loading or remote code; we refuse both."""


def check_local_model_dir(path: Path) -> None:
    """A local model folder must hold config.json and safetensors weights, and ask for no custom code."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ModelFolderError(
            f"model folder {path} does not exist; pass a folder made by train/finetune.py or a Hub id 'user/name'"
        )
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ModelFolderError(f"model folder {path} has no config.json; is it the output folder of train/finetune.py?")
    try:
        config = json.loads(config_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnsafeModelError(
            f"{config_path} is not valid JSON ({exc}); copy the model folder again or retrain it"
        ) from None
    check_config_values(path, config)
    if config.get("auto_map"):
        raise UnsafeModelError(
            f"model folder {path} asks to run custom code (auto_map in config.json); SignSpace never enables "
            "trust_remote_code. Use a model with a built-in transformers architecture"
        )
    if not any(path.glob("*.safetensors")):
        pickles = sorted(p.name for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
        found = f" (found only pickle weights: {', '.join(pickles)})" if pickles else ""
        raise UnsafeModelError(
            f"model folder {path} has no .safetensors weights{found}. Pickle files can run arbitrary code when "
            "loaded, so SignSpace loads safetensors only: convert with "
            "`model = AutoModelForImageClassification.from_pretrained(folder); model.save_pretrained(folder)` "
            "in a trusted environment"
        )
    for weights in path.glob("*.safetensors"):
        if not safetensors_complete(weights):
            raise UnsafeModelError(
                f"{weights} is empty, truncated or "
                f"corrupt ({weights.stat().st_size} bytes); copy the model folder again "
                "or retrain it"
            )
    image_model = not kinds.for_config(config).is_sequence
    has_processor = (
        path / "preprocessor_config.json"
    ).is_file() or "pretrained_cfg" in config  # timm keeps it in config
    if image_model and not has_processor:
        raise UnsafeModelError(
            f"model folder {path} has no preprocessor_config.json, so its input size and normalisation are unknown; "
            "copy it from the base model's folder (train/finetune.py writes it)"
        )


def _from_hub_or_folder(loader, name_or_path: str, revision: str | None, flag: str, **kwargs):
    """Call ``loader.from_pretrained`` safely; cached Hub files work offline, a dead network fails in seconds."""
    common = dict(trust_remote_code=False, **kwargs)
    if is_local(name_or_path):
        check_local_model_dir(Path(name_or_path))
        return loader.from_pretrained(str(Path(name_or_path).expanduser()), local_files_only=True, **common)
    check_repo_id(name_or_path, flag)
    try:  # the local cache first: no network, no retry delays
        return loader.from_pretrained(name_or_path, revision=revision, local_files_only=True, **common)
    except OSError:
        pass
    require_reachable(
        f"download {name_or_path!r} (revision {revision or 'main'}), and it is not in the local cache",
        f"Check the network, or use a local model folder instead, e.g. {flag} ./my-model",
    )
    check_hub_repo(name_or_path, revision, weights=loader.__name__.startswith("AutoModel"))
    try:
        return loader.from_pretrained(name_or_path, revision=revision, **common)
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise UnsafeModelError(
                f"{name_or_path} needs custom code (trust_remote_code); SignSpace never runs remote code"
            ) from None
        raise
    except OSError as exc:
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise HubError(f"could not load {name_or_path!r} (revision {revision or 'main'}): {first_line}") from None


def check_hub_repo(repo_id: str, revision: str | None, weights: bool) -> None:
    """One metadata call: the repo and revision exist, and (for models) safetensors weights are there."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    shown = f"{repo_id!r} (revision {revision or 'main'})"
    try:
        info = HfApi().model_info(repo_id, revision=revision)
    except RevisionNotFoundError:
        raise HubError(f"could not load {shown}: that revision does not exist; check --revision") from None
    except RepositoryNotFoundError:
        raise HubError(
            f"could not load {shown}: no such model on the Hub (or it is private and your token cannot see it); "
            "check the id, or pass a local folder"
        ) from None
    names = [sibling.rfilename for sibling in info.siblings or []]
    if weights and not any(name.endswith(".safetensors") for name in names):
        pickles = [name for name in names if name.endswith(PICKLE_SUFFIXES)]
        raise UnsafeModelError(
            f"{shown} has no safetensors weights{' (only ' + ', '.join(pickles) + ')' if pickles else ''}; SignSpace "
            "does not load pickle weights. Pick a revision with model.safetensors (e.g. a conversion PR, refs/pr/N)"
        )


# Keys SignSpace's sequence models always write; a config.json without them was not made by finetune.py.
SEQUENCE_CONFIG_KEYS = ("sequence_length", "hidden_size", "feature_groups", "window_seconds", "id2label")
LANDMARK_LAYOUT = "mediapipe-holistic-258"  # the one layout the builder writes (build_dataset.preprocessing)
# Bounds far past any model SignSpace trains (32 frames, width 128, 1.5 s windows), below what would take the machine's
# memory or make a live session keep its frames for ever.
MAX_SEQUENCE_LENGTH = 1024
MAX_HIDDEN_SIZE = 4096
MAX_WINDOW_SECONDS = 60.0
MAX_KEYPOINTS_FPS = 1000.0


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _edited(name_or_path, key: str, value, why: str) -> ModelFolderError:
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return ModelFolderError(
        f"{name_or_path}: config.json has {key} = {shown}, which no SignSpace model was trained with ({why}); restore "
        "the file the training wrote, or train the model again"
    )


def check_config_values(name_or_path, raw: dict) -> None:
    """What every model's config.json must hold for the app to serve it: a known model_type, and labels numbered
    0..N-1 (a gap was a KeyError deep in the predictor)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    model_type = raw.get("model_type")
    if not model_type and "architecture" in raw:  # timm's own config.json (transformers wraps it as timm_wrapper)
        model_type = "timm_wrapper"
    if not model_type:
        raise ModelFolderError(
            f"{name_or_path}: config.json names no model_type, so the architecture is unknown; restore the file "
            "the training wrote (train/finetune.py writes it)"
        )
    if model_type not in CONFIG_MAPPING:
        raise ModelFolderError(
            f"{name_or_path}: config.json's model_type {model_type!r} is no architecture this transformers knows; "
            "restore the file the training wrote, or use a model with a built-in transformers architecture"
        )
    labels = raw.get("id2label")
    if labels is not None:
        keys = sorted(labels, key=lambda k: int(k) if str(k).lstrip("-").isdigit() else -1)
        if not isinstance(labels, dict) or [str(k) for k in keys] != [str(i) for i in range(len(labels))]:
            raise _edited(
                name_or_path, "id2label", labels, f"labels must be numbered 0..{len(labels) - 1} without gaps"
            )


def _check_sequence_config(name_or_path: str, raw: dict) -> None:
    """Values a hand-edited or damaged config.json can hold that would crash the model or serve nonsense."""
    missing = [key for key in SEQUENCE_CONFIG_KEYS if key not in raw]
    if missing:
        raise UnsafeModelError(
            f"{name_or_path}: its config.json says {MODEL_TYPE} but lacks {', '.join(missing)}; it was not written "
            "by SignSpace's train/finetune.py. Retrain it with finetune.py on a landmark dataset"
        )
    check_config_values(name_or_path, raw)
    heads = raw.get("num_heads", 4)
    checks = {
        "sequence_length": (
            _whole(raw["sequence_length"], 2, MAX_SEQUENCE_LENGTH),
            f"a whole number of frames from 2 to {MAX_SEQUENCE_LENGTH}",
        ),
        "hidden_size": (_whole(raw["hidden_size"], 1, MAX_HIDDEN_SIZE), f"a whole number from 1 to {MAX_HIDDEN_SIZE}"),
        "num_heads": (
            _whole(heads, 1, MAX_HIDDEN_SIZE)
            and _whole(raw["hidden_size"], 1, MAX_HIDDEN_SIZE)
            and raw["hidden_size"] % heads == 0,
            f"it must divide hidden_size = {raw['hidden_size']!r}",
        ),
        "window_seconds": (
            _number(raw["window_seconds"]) and 0 < raw["window_seconds"] <= MAX_WINDOW_SECONDS,
            f"seconds above 0 and at most {MAX_WINDOW_SECONDS:g}",
        ),
    }
    preprocessing = raw.get("signspace") or {}
    if not isinstance(preprocessing, dict):
        raise _edited(name_or_path, "signspace", preprocessing, "the builder records an object")
    if "layout" in preprocessing:
        checks["signspace.layout"] = (
            preprocessing["layout"] == LANDMARK_LAYOUT,
            f"the builder writes {LANDMARK_LAYOUT!r}",
        )
    if "keypoints_fps" in preprocessing:
        fps = preprocessing["keypoints_fps"]
        checks["signspace.keypoints_fps"] = (
            _number(fps) and 0 < fps <= MAX_KEYPOINTS_FPS,
            f"frames a second above 0 and at most {MAX_KEYPOINTS_FPS:g}",
        )
    for key, (valid, why) in checks.items():
        if not valid:
            value = preprocessing.get(key.split(".", 1)[1]) if key.startswith("signspace.") else raw.get(key, heads)
            raise _edited(name_or_path, key, value, why)


def model_kind(name_or_path: str, revision: str | None = None, flag: str = "--model_id") -> kinds.ModelKind:
    """The kind of the model at ``name_or_path`` from its config.json alone (no weights loaded)."""
    from transformers import AutoConfig

    config = _from_hub_or_folder(AutoConfig, name_or_path, revision, flag)
    raw, _ = type(config).get_config_dict(name_or_path, revision=revision, local_files_only=True)  # cached above
    return kinds.for_config(raw)


def load_classifier(
    name_or_path: str, revision: str | None = None, flag: str = "--model_name_or_path", strict: bool = False, **kwargs
):
    """An image classifier, or one of our landmark sequence models (dispatched on config.json's model_type).

    ``strict``: every weight in the file must fit the architecture config.json names and every parameter must be
    in the file (serving); fine-tuning leaves it off, since a new head is expected to be missing."""
    from transformers import AutoConfig, AutoModelForImageClassification

    config = _from_hub_or_folder(AutoConfig, name_or_path, revision, flag)
    raw, _ = type(config).get_config_dict(name_or_path, revision=revision, local_files_only=True)  # cached above
    check_config_values(name_or_path, raw)
    loader: type = AutoModelForImageClassification
    if kinds.for_config(raw).is_sequence:
        _check_sequence_config(name_or_path, raw)
        loader = SignSequenceModel
    if not strict:
        return _from_hub_or_folder(loader, name_or_path, revision, flag, use_safetensors=True, **kwargs)
    try:
        model, info = _from_hub_or_folder(
            loader, name_or_path, revision, flag, use_safetensors=True, output_loading_info=True, **kwargs
        )
    except RuntimeError as exc:  # transformers refuses weights of another shape ("... look at the above report")
        if "mismatch" not in str(exc) and "report" not in str(exc):
            raise
        raise _does_not_fit(name_or_path, config, "of other shapes, e.g. another number of labels") from None
    wrong = {kind: info.get(kind) or [] for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if any(wrong.values()):
        counts = ", ".join(f"{len(keys)} {kind.replace('_keys', '')}" for kind, keys in wrong.items() if keys)
        example = next(k for keys in wrong.values() for k in keys)
        raise _does_not_fit(name_or_path, config, f"{counts} weights, e.g. {example}")
    return model


def _does_not_fit(name_or_path: str, config, detail: str) -> ModelFolderError:
    return ModelFolderError(
        f"{name_or_path}: its weights do not fit the {config.model_type!r} architecture its config.json names "
        f"({detail}); the config.json and model.safetensors come from different models. Restore the pair the "
        "training wrote"
    )


def load_processor(name_or_path: str, revision: str | None = None, flag: str = "--model_name_or_path"):
    from transformers import AutoImageProcessor

    return _from_hub_or_folder(AutoImageProcessor, name_or_path, revision, flag)
