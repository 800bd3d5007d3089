"""Safe model loading for training and the app: safetensors only, never remote code, fail fast offline."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .checkpoints import safetensors_complete
from .errors import ModelFolderError, SignSpaceError
from .hub import HubError, check_repo_id, require_reachable
from .sequence_model import MODEL_TYPE, SignSequenceModel

logger = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


class UnsafeModelError(SignSpaceError, ValueError):
    """The checkpoint would need pickle loading or remote code; we refuse both."""


def is_local(name_or_path: str) -> bool:
    return Path(name_or_path).exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1


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
    image_model = config.get("model_type") != MODEL_TYPE
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


def _check_sequence_config(name_or_path: str, raw: dict) -> None:
    """Values a hand-edited or damaged config.json can hold that would crash the model or serve nonsense."""
    missing = [key for key in SEQUENCE_CONFIG_KEYS if key not in raw]
    if missing:
        raise UnsafeModelError(
            f"{name_or_path}: its config.json says {MODEL_TYPE} but lacks {', '.join(missing)}; it was not written "
            "by SignSpace's train/finetune.py. Retrain it with finetune.py on a landmark dataset"
        )
    checks = {
        "sequence_length": lambda v: isinstance(v, int) and v >= 2,
        "hidden_size": lambda v: isinstance(v, int) and v >= 1 and v % int(raw.get("num_heads", 4) or 1) == 0,
        "window_seconds": lambda v: isinstance(v, (int, float)) and v > 0,
    }
    for key, valid in checks.items():
        if not valid(raw[key]):
            raise ModelFolderError(
                f"{name_or_path}: config.json has {key} = {raw[key]!r}, which no SignSpace model was trained with; "
                "restore the file the training wrote, or train the model again"
            )


def load_classifier(
    name_or_path: str, revision: str | None = None, flag: str = "--model_name_or_path", strict: bool = False, **kwargs
):
    """An image classifier, or one of our landmark sequence models (dispatched on config.json's model_type).

    ``strict``: every weight in the file must fit the architecture config.json names and every parameter must be
    in the file (serving); fine-tuning leaves it off, since a new head is expected to be missing."""
    from transformers import AutoConfig, AutoModelForImageClassification

    config = _from_hub_or_folder(AutoConfig, name_or_path, revision, flag)
    loader = AutoModelForImageClassification
    if config.model_type == MODEL_TYPE:
        raw, _ = type(config).get_config_dict(name_or_path, revision=revision, local_files_only=True)  # cached above
        _check_sequence_config(name_or_path, raw)
        loader = SignSequenceModel
    if not strict:
        return _from_hub_or_folder(loader, name_or_path, revision, flag, use_safetensors=True, **kwargs)
    model, info = _from_hub_or_folder(
        loader, name_or_path, revision, flag, use_safetensors=True, output_loading_info=True, **kwargs
    )
    wrong = {kind: info.get(kind) or [] for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if any(wrong.values()):
        counts = ", ".join(f"{len(keys)} {kind.replace('_keys', '')}" for kind, keys in wrong.items() if keys)
        raise ModelFolderError(
            f"{name_or_path}: its weights do not fit the {config.model_type!r} architecture its config.json names "
            f"({counts} weights, e.g. {next(k for keys in wrong.values() for k in keys)}); the config.json and "
            "model.safetensors come from different models. Restore the pair the training wrote"
        )
    return model


def is_sequence_model(model) -> bool:
    return getattr(model.config, "model_type", None) == MODEL_TYPE


def load_processor(name_or_path: str, revision: str | None = None, flag: str = "--model_name_or_path"):
    from transformers import AutoImageProcessor

    return _from_hub_or_folder(AutoImageProcessor, name_or_path, revision, flag)
