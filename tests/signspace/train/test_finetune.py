import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import finetune
import numpy as np
import pytest
import torch
from factories import make_tiny_vit
from hub_server import TOKEN, free_port
from safetensors.torch import load_file

from signspace.core import hub
from signspace.core.checkpoints import CheckpointError
from signspace.core.hub import HubError
from signspace.models.modeling import UnsafeModelError
from signspace.train import dataset_io, training
from signspace.train.dataset_io import DatasetFormatError

ROOT = Path(__file__).resolve().parents[3]
FAST = [
    "--use_cpu",
    "--dataloader_num_workers",
    "0",
    "--per_device_train_batch_size",
    "6",
    "--learning_rate",
    "1e-3",
    "--logging_steps",
    "1",
    "--disable_tqdm",
    "true",
]


def run(dataset, out, model, *extra, **hooks):
    argv = [
        "--dataset_dir",
        str(dataset),
        "--output_dir",
        str(out),
        "--model_name_or_path",
        str(model),
        *FAST,
        *map(str, extra),
    ]
    return finetune.main(argv, **hooks)


def weights(folder):
    return load_file(str(Path(folder) / "model.safetensors"))


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_outputs_are_complete_and_honest(tmp_path, colour_dataset, tiny_vit):
    out = tmp_path / "model"
    assert run(colour_dataset, out, tiny_vit, "--num_train_epochs", 4, "--license", "mit") == 0
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "left", "1": "right", "2": "up"}
    assert json.loads((out / "labels.json").read_text()) == {"0": "left", "1": "right", "2": "up"}
    for name in (
        "model.safetensors",
        "preprocessor_config.json",
        "confusion_matrix.png",
        "misclassified.png",
        "training_config.json",
    ):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob("*.bin"))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eval_split"] == "test"
    test = metrics["test"]
    assert set(test["per_class"]) == {"left", "right", "up"}
    assert np.asarray(test["confusion_matrix"]).sum() == 6
    assert {"accuracy", "precision_macro", "recall_macro", "f1_macro"} <= set(test)
    assert "eval_f1_macro" in metrics["validation"]
    card = (out / "README.md").read_text()
    assert "library_name: transformers" in card and "pipeline_tag: image-classification" in card
    assert "license: mit" in card
    for text in (
        "left, right, up",
        "grouped",
        "confusion_matrix.png",
        "Static handshapes",
        "Signer diversity",
        "| left |",
        "python space/app.py --model",
        "macro F1",
    ):
        assert text in card, text
    assert "More information needed" not in card
    resolved = json.loads((out / "training_config.json").read_text())
    assert resolved["model"]["model_name_or_path"] == str(tiny_vit)
    assert resolved["data"]["hflip"] is False


@pytest.mark.slow
def test_final_weights_are_the_best_checkpoint_not_the_last(tmp_path, colour_dataset, tiny_vit):
    # Validation macro-F1 per evaluation: the first epoch is the best, later ones worse.
    scores = iter([0.9, 0.2, 0.1, 0.1, 0.1])
    real = training.metrics_fn

    def scripted(label_names):
        compute = real(label_names)
        return lambda prediction: {**compute(prediction), "f1_macro": next(scores)}

    out = tmp_path / "model"
    epochs = ("--num_train_epochs", 3, "--early_stopping_patience", 0)
    assert run(colour_dataset, out, tiny_vit, *epochs, metrics_fn=scripted) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    best = Path(metrics["best_checkpoint"])
    assert best.name == "checkpoint-3"  # 18 images / batch 6 = 3 steps per epoch
    last = out / "checkpoint-9"
    assert not same_weights(weights(best), weights(last))
    assert same_weights(weights(out), weights(best))  # the saved model IS the best one, encoder included


@pytest.mark.slow
def test_crash_after_checkpoint_resumes_there_with_its_weights(tmp_path, colour_dataset, tiny_vit, monkeypatch):
    out = tmp_path / "model"
    steps = [
        "--max_steps",
        6,
        "--save_strategy",
        "steps",
        "--save_steps",
        2,
        "--eval_strategy",
        "steps",
        "--eval_steps",
        2,
        "--save_total_limit",
        5,
        "--early_stopping_patience",
        0,
    ]
    original_save = training.SignTrainer._save_checkpoint

    def save_then_crash(self, *args, **kwargs):
        original_save(self, *args, **kwargs)
        if self.state.global_step == 4:
            raise RuntimeError("simulated power cut")

    monkeypatch.setattr(training.SignTrainer, "_save_checkpoint", save_then_crash)
    with pytest.raises(RuntimeError, match="power cut"):
        run(colour_dataset, out, tiny_vit, *steps)
    monkeypatch.setattr(training.SignTrainer, "_save_checkpoint", original_save)
    assert (out / "checkpoint-4").is_dir() and not (out / "checkpoint-6").exists()

    seen = {}
    original_step = training.SignTrainer.training_step

    def record_first_step(self, model, inputs, *args, **kwargs):
        if not seen:
            seen["step"] = self.state.global_step
            seen["weights"] = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return original_step(self, model, inputs, *args, **kwargs)

    monkeypatch.setattr(training.SignTrainer, "training_step", record_first_step)
    assert run(colour_dataset, out, tiny_vit, *steps) == 0
    assert seen["step"] == 4  # continued, not restarted
    from transformers import AutoModelForImageClassification

    saved = AutoModelForImageClassification.from_pretrained(str(out / "checkpoint-4")).state_dict()
    assert same_weights(seen["weights"], saved)  # encoder included: Trainer's own restore misses it
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    assert json.loads((out / "metrics.json").read_text())["resumed_from"].endswith("checkpoint-4")


@pytest.mark.slow
def test_incomplete_newest_checkpoint_is_skipped_for_the_last_complete(tmp_path, colour_dataset, tiny_vit, caplog):
    out = tmp_path / "model"
    steps = [
        "--max_steps",
        2,
        "--save_strategy",
        "steps",
        "--save_steps",
        2,
        "--eval_strategy",
        "no",
        "--load_best_model_at_end",
        "false",
    ]
    assert run(colour_dataset, out, tiny_vit, *steps) == 0
    broken = out / "checkpoint-8"
    broken.mkdir()
    data = (out / "checkpoint-2" / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])  # killed mid-write
    for name in ("config.json", "trainer_state.json"):
        (broken / name).write_bytes((out / "checkpoint-2" / name).read_bytes())
    assert run(colour_dataset, out, tiny_vit, "--max_steps", 4, *steps[2:]) == 0
    assert "skipping incomplete checkpoint-8 (model.safetensors is truncated or corrupt)" in caplog.text
    assert json.loads((out / "metrics.json").read_text())["resumed_from"].endswith("checkpoint-2")


def test_only_incomplete_checkpoints_fail_clearly(tmp_path, colour_dataset, tiny_vit):
    out = tmp_path / "model"
    (out / "checkpoint-3").mkdir(parents=True)
    (out / "checkpoint-3" / "config.json").write_text("{}")
    with pytest.raises(
        CheckpointError,
        match=r"none is complete: skipping incomplete checkpoint-3 \(missing model.safetensors, trainer_state.json\)",
    ):
        run(colour_dataset, out, tiny_vit)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-3"]


def test_non_empty_output_dir_is_refused_before_training(tmp_path, colour_dataset, tiny_vit):
    out = tmp_path / "model"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"model is not empty and holds no checkpoint.*--overwrite_output_dir"):
        run(colour_dataset, out, tiny_vit)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_push_without_token_fails_before_training(tmp_path, colour_dataset, tiny_vit, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))  # no `hf auth login` token either
    out = tmp_path / "model"
    with pytest.raises(HubError, match=r"needs a Hugging Face token .*hf auth login.*HF_TOKEN"):
        run(colour_dataset, out, tiny_vit, "--push_to_hub", "--hub_model_id", "tester/signs")
    assert not out.exists()


@pytest.mark.parametrize("repo_id", ["signs", "a/b/c", "user/na me", ""])
def test_bad_hub_model_id_is_refused(tmp_path, colour_dataset, tiny_vit, repo_id):
    with pytest.raises(ValueError, match="is not a Hub repo id; use the form 'user/name'"):
        run(colour_dataset, tmp_path / "m", tiny_vit, "--push_to_hub", "--hub_model_id", repo_id)


def test_pickle_only_or_remote_code_model_is_refused(tmp_path, colour_dataset, tiny_vit):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text((tiny_vit / "config.json").read_text())
    (pickled / "preprocessor_config.json").write_text((tiny_vit / "preprocessor_config.json").read_text())
    torch.save({"x": torch.zeros(1)}, pickled / "pytorch_model.bin")
    with pytest.raises(
        UnsafeModelError, match=r"no \.safetensors weights \(found only pickle weights: pytorch_model\.bin\)"
    ):
        run(colour_dataset, tmp_path / "m1", pickled)
    remote = tmp_path / "remote"
    make_tiny_vit(remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModelForImageClassification": "evil.EvilModel"}
    (remote / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsafeModelError, match="asks to run custom code .*never enables trust_remote_code"):
        run(colour_dataset, tmp_path / "m2", remote)


def _save_dataset(tmp_path, dataset_dict):
    path = tmp_path / "ds"
    dataset_dict.save_to_disk(str(path))
    return path


def test_dataset_without_classlabel_or_with_one_label_is_refused(tmp_path, tiny_vit):
    from PIL import Image

    images = [Image.new("RGB", (8, 8), (i * 40, 0, 0)) for i in range(4)]
    plain = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"image": images, "label": [0, 1, 0, 1]}).cast_column(
                "image", datasets.Image()
            )
        }
    )
    with pytest.raises(DatasetFormatError, match="'label' column .* not a ClassLabel"):
        run(_save_dataset(tmp_path / "a", plain), tmp_path / "m", tiny_vit)
    one = plain.cast_column("label", datasets.ClassLabel(names=["only", "x"])).map(lambda e: {"label": 0})
    one = one.cast_column("label", datasets.ClassLabel(names=["only"]))
    with pytest.raises(DatasetFormatError, match=r"has 1 label\(s\) \(\['only'\]\); a recognizer needs at least 2"):
        run(_save_dataset(tmp_path / "b", one), tmp_path / "m", tiny_vit)
    no_label = datasets.DatasetDict({"train": plain["train"].remove_columns("label")})
    with pytest.raises(DatasetFormatError, match="has no 'label' column"):
        run(_save_dataset(tmp_path / "c", no_label), tmp_path / "m", tiny_vit)


@pytest.mark.slow
def test_augmentation_on_the_batch_device_trains_end_to_end(tmp_path, colour_dataset, tiny_vit):
    from signspace.models import transforms

    calls = []
    real = transforms.device_augmentation()
    counting = lambda: lambda batch: calls.append(len(batch)) or real(batch)  # noqa: E731
    out = tmp_path / "model"
    assert (
        run(
            colour_dataset,
            out,
            tiny_vit,
            "--num_train_epochs",
            1,
            "--augment_on",
            "device",
            device_augmentation=counting,
        )
        == 0
    )
    assert calls and sum(calls) == 18  # every training image once (one epoch of 18), no evaluation batch
    assert json.loads((out / "training_config.json").read_text())["data"]["augment_on"] == "device"
    with pytest.raises(SystemExit):  # a Literal choice: argparse lists the valid ones in --help and the error
        run(colour_dataset, tmp_path / "other", tiny_vit, "--augment_on", "gpu")


@pytest.mark.slow
def test_max_train_samples_limits_the_training_images(tmp_path, colour_dataset, tiny_vit):
    out = tmp_path / "model"
    assert run(colour_dataset, out, tiny_vit, "--max_train_samples", 6, "--num_train_epochs", 1) == 0
    assert [p.name for p in out.glob("checkpoint-*")] == [
        "checkpoint-1"
    ]  # 6 images, batch 6; all 18 would take 3 steps


@pytest.mark.parametrize("value", ["0", "-5"])
def test_max_train_samples_below_one_is_refused_before_anything_is_written(tmp_path, colour_dataset, tiny_vit, value):
    with pytest.raises(ValueError, match=rf"--max_train_samples={value} must be 1 or more"):
        run(colour_dataset, tmp_path / "model", tiny_vit, "--max_train_samples", value)
    assert not (tmp_path / "model").exists()


@pytest.mark.slow
def test_options_from_a_yaml_file(tmp_path, colour_dataset, tiny_vit):
    out = tmp_path / "model"
    config = tmp_path / "train.yaml"
    config.write_text(
        f"dataset_dir: {colour_dataset}\noutput_dir: {out}\nmodel_name_or_path: {tiny_vit}\nuse_cpu: true\n"
        "dataloader_num_workers: 0\nnum_train_epochs: 1\nper_device_train_batch_size: 6\nhflip: true\n"
    )
    assert finetune.main([str(config)]) == 0
    resolved = json.loads((out / "training_config.json").read_text())
    assert resolved["data"]["hflip"] is True and resolved["training"]["num_train_epochs"] == 1
    assert resolved["training"]["eval_strategy"] == "epoch"  # our task default still applies


@pytest.mark.slow
def test_build_train_push_then_load_from_hub_gives_same_predictions(tmp_path, colour_dataset, tiny_vit, fresh_hub):
    from transformers import AutoModelForImageClassification

    fresh_hub.fail(r"/commit/", 503, times=2)  # the Hub hiccups twice; the upload is retried
    out = tmp_path / "model"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train" / "finetune.py"),
            "--dataset_dir",
            str(colour_dataset),
            "--output_dir",
            str(out),
            "--model_name_or_path",
            str(tiny_vit),
            *FAST,
            "--num_train_epochs",
            "2",
            "--push_to_hub",
            "--hub_model_id",
            "tester/colour-signs",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SIGNSPACE_UPLOAD_BASE_DELAY": "0"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "published to" in result.stdout
    # The token never leaks: not in the console, not in any file written.
    assert TOKEN not in result.stdout + result.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    pushed = fresh_hub.files("tester/colour-signs")
    assert {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "labels.json",
        "metrics.json",
        "README.md",
        "confusion_matrix.png",
    } <= set(pushed)
    assert not [name for name in pushed if name.startswith("checkpoint-")]
    assert len([c for c in fresh_hub.repo("tester/colour-signs").commits if c["message"] != "initial commit"]) == 1

    remote = AutoModelForImageClassification.from_pretrained("tester/colour-signs")
    local = AutoModelForImageClassification.from_pretrained(str(out))
    assert remote.config.id2label == local.config.id2label == {0: "left", 1: "right", 2: "up"}
    pixels = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(remote(pixel_values=pixels).logits.argmax(-1), local(pixel_values=pixels).logits.argmax(-1))


EFFNET = ROOT.parent / "shared" / "models" / "efficientnet-lite0-in1k"


@pytest.mark.skipif(not EFFNET.is_dir(), reason=f"pretrained timm backbone not present at {EFFNET}")
def test_small_timm_backbone_trains_and_serves_end_to_end(tmp_path, colour_dataset):
    from signspace.serve.inference import Predictor

    out = tmp_path / "effnet"
    assert (
        run(
            colour_dataset,
            out,
            EFFNET,
            "--max_steps",
            3,
            "--eval_strategy",
            "no",
            "--save_strategy",
            "no",
            "--load_best_model_at_end",
            "false",
        )
        == 0
    )
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == "tf_efficientnet_lite0" and config["num_classes"] == 3
    assert config["label_names"] == ["left", "right", "up"]  # timm's form of id2label
    assert json.loads((out / "labels.json").read_text()) == {"0": "left", "1": "right", "2": "up"}
    predictor = Predictor.from_pretrained(str(out))
    assert predictor.precision == "fp32"  # conv net: int8 of its few Linear layers would only slow it down
    assert predictor.spec.size == 224 and predictor.labels == ["left", "right", "up"]
    assert set(predictor.predict(np.zeros((48, 64, 3), np.uint8)).top(3)) == {"left", "right", "up"}


@pytest.mark.slow
def test_two_process_ddp_runs_unchanged(tmp_path, colour_dataset, tiny_vit):
    """The same script under torchrun (2 CPU ranks, gloo): steps halve, outputs are written once."""
    out = tmp_path / "ddp"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            str(ROOT / "train" / "finetune.py"),
            "--dataset_dir",
            str(colour_dataset),
            "--output_dir",
            str(out),
            "--model_name_or_path",
            str(tiny_vit),
            *map(str, FAST),
            "--num_train_epochs",
            "1",
            "--ddp_backend",
            "gloo",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # 18 training images, batch 6 per rank, 2 ranks: 2 steps per epoch (1 process would take 3).
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-2"]
    assert json.loads((out / "metrics.json").read_text())["test"]["confusion_matrix"]
    assert result.stdout.count("test accuracy") == 1  # only rank 0 reports and writes


@pytest.mark.slow
def test_overwrite_output_dir_starts_over_and_keeps_the_users_own_files(tmp_path, colour_dataset, tiny_vit):
    out = tmp_path / "model"
    steps = [
        "--max_steps",
        2,
        "--save_strategy",
        "steps",
        "--save_steps",
        2,
        "--eval_strategy",
        "no",
        "--load_best_model_at_end",
        "false",
    ]
    assert run(colour_dataset, out, tiny_vit, *steps) == 0
    (out / "my-notes.txt").write_text("mine")
    assert run(colour_dataset, out, tiny_vit, *steps, "--overwrite_output_dir") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from"] is None  # a fresh run, not a resume of checkpoint-2
    assert (out / "my-notes.txt").read_text() == "mine"
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-2"]


@pytest.mark.slow
def test_dataset_without_evaluation_splits_trains_and_says_scores_are_on_train(tmp_path, tiny_vit):
    import build_dataset
    from factories import make_colour_dataset

    data = make_colour_dataset(tmp_path / "data", signs=("x", "y"), per_sign=4)
    dataset = tmp_path / "ds"
    assert (
        build_dataset.main(
            [
                "--data_dir",
                str(data),
                "--output_dir",
                str(dataset),
                "--num_proc",
                "1",
                "--val_size",
                "0",
                "--test_size",
                "0",
            ]
        )
        == 0
    )
    out = tmp_path / "model"
    assert run(dataset, out, tiny_vit, "--num_train_epochs", 1) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eval_split"] == "train" and metrics["best_checkpoint"] is None
    card = (out / "README.md").read_text()
    assert "overstate" in card and "held-out" not in card.split("## Results")[1].split("## Data")[0]


@pytest.fixture
def hub_dataset(tmp_path, fresh_hub):
    """The colour signs built and published to the local Hub by train/build_dataset.py: (repo id, commit)."""
    import build_dataset
    from factories import make_colour_dataset

    data = make_colour_dataset(tmp_path / "data")
    argv = [
        "--data_dir",
        str(data),
        "--output_dir",
        str(tmp_path / "built"),
        "--num_proc",
        "1",
        "--val_size",
        "0.2",
        "--test_size",
        "0.2",
        "--push_to_hub",
        "--hub_dataset_id",
        "tester/colour-data",
    ]
    assert build_dataset.main(argv) == 0
    return "tester/colour-data", fresh_hub.repo("tester/colour-data", repo_type="dataset").branches["main"]


@pytest.mark.slow
def test_hub_dataset_trains_like_a_local_folder(tmp_path, hub_dataset, tiny_vit):
    repo_id, commit = hub_dataset
    out = tmp_path / "model"
    argv = [
        "--dataset_name",
        repo_id,
        "--dataset_revision",
        commit,
        "--output_dir",
        str(out),
        "--model_name_or_path",
        str(tiny_vit),
        *FAST,
        "--num_train_epochs",
        "1",
    ]
    assert finetune.main(argv) == 0
    assert json.loads((out / "config.json").read_text())["id2label"] == {"0": "left", "1": "right", "2": "up"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eval_split"] == "test" and np.asarray(metrics["test"]["confusion_matrix"]).sum() == 6
    assert f"https://huggingface.co/datasets/{repo_id}" in (out / "README.md").read_text()


@pytest.mark.slow
def test_hub_dataset_is_reused_from_the_cache_when_offline(tmp_path, hub_dataset, tiny_vit):
    repo_id, _ = hub_dataset
    dataset_io.load_sign_dataset(None, repo_id)  # first load fills the cache
    out = tmp_path / "model"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train" / "finetune.py"),
            "--dataset_name",
            repo_id,
            "--output_dir",
            str(out),
            "--model_name_or_path",
            str(tiny_vit),
            *FAST,
            "--max_steps",
            "1",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((out / "labels.json").read_text()) == {"0": "left", "1": "right", "2": "up"}


def test_hub_dataset_problems_fail_clearly(tmp_path, hub_dataset, tiny_vit, monkeypatch):
    repo_id, _ = hub_dataset

    def train_on(*data):
        argv = [*data, "--output_dir", str(tmp_path / "model"), "--model_name_or_path", str(tiny_vit), *FAST]
        return finetune.main(argv)

    with pytest.raises(HubError, match=r"'tester/no-such-signs'.*doesn't exist.*Check the id"):
        train_on("--dataset_name", "tester/no-such-signs")
    with pytest.raises(HubError, match=r"Revision 'v9' doesn't exist.*--dataset_revision"):
        train_on("--dataset_name", repo_id, "--dataset_revision", "v9")
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    with pytest.raises(
        HubError, match=r"cannot reach the Hugging Face Hub .*'tester/colour-data'.*HF_HUB_OFFLINE=1.*--dataset_dir"
    ):
        train_on("--dataset_name", repo_id)
    assert not list((tmp_path / "model").glob("*"))  # nothing written for a run that never started


# --- landmark sequence datasets ---------------------------------------------------------------------------------

from factories import build_dataset_folder, make_landmark_folders  # noqa: E402

SEQ_FAST = ["--use_cpu", "--per_device_train_batch_size", "8", "--logging_steps", "1", "--disable_tqdm", "true"]


@pytest.fixture(scope="module")
def landmark_dataset(tmp_path_factory):

    root = tmp_path_factory.mktemp("seq")
    data = make_landmark_folders(root / "data", per_sign=10)
    return build_dataset_folder(data, root / "dataset", features="landmarks", val_size=0.2, test_size=0.2)


def run_seq(dataset, out, *extra):
    return finetune.main(["--dataset_dir", str(dataset), "--output_dir", str(out), *SEQ_FAST, *map(str, extra)])


@pytest.mark.slow
def test_a_landmark_dataset_trains_a_sequence_model_with_the_same_outputs(tmp_path, landmark_dataset):
    out = tmp_path / "seq-model"
    assert run_seq(landmark_dataset, out, "--num_train_epochs", 12, "--sequence_length", 16, "--hidden_size", 32) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "signspace-sequence" and config["sequence_length"] == 16
    assert config["id2label"] == {"0": "circle", "1": "rise", "2": "swipe"}
    assert (
        config["signspace"]["input"] == "landmarks" and 0.7 < config["window_seconds"] < 1.2
    )  # 24-32 frames at 30 fps
    assert not (out / "preprocessor_config.json").exists() and not (out / "misclassified.png").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eval_split"] == "test" and metrics["test"]["accuracy"] >= 0.8  # three clearly different motions
    assert isinstance(metrics["misclassified"], list)
    card = (out / "README.md").read_text()
    assert "landmarks" in card and "signs that **move**" in card and "pipeline_tag" not in card
    assert (out / "confusion_matrix.png").stat().st_size > 0
    from signspace.models.modeling import load_classifier
    from signspace.models.sequence_model import SignSequenceModel

    assert isinstance(load_classifier(str(out)), SignSequenceModel)


@pytest.mark.slow
def test_a_sequence_run_resumes_from_its_checkpoint(tmp_path, landmark_dataset):
    out = tmp_path / "seq-resume"
    base = ["--sequence_length", 8, "--hidden_size", 16, "--early_stopping_patience", 0, "--save_total_limit", 3]
    assert run_seq(landmark_dataset, out, "--num_train_epochs", 1, *base) == 0
    assert run_seq(landmark_dataset, out, "--num_train_epochs", 2, *base) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from"] and metrics["resumed_from"].endswith("checkpoint-3")


def test_a_landmark_dataset_with_an_image_model_is_a_clear_error(tmp_path, landmark_dataset, tiny_vit):
    with pytest.raises(DatasetFormatError, match="is an image model but the dataset holds landmark sequences"):
        run_seq(landmark_dataset, tmp_path / "o", "--model_name_or_path", tiny_vit)


def test_an_image_dataset_with_a_sequence_model_is_a_clear_error(tmp_path, colour_dataset):
    from signspace.models.sequence_model import SignSequenceConfig, SignSequenceModel

    SignSequenceModel(SignSequenceConfig(num_labels=3)).save_pretrained(tmp_path / "seq")
    with pytest.raises(DatasetFormatError, match="is a landmark sequence model but the dataset holds images"):
        run(colour_dataset, tmp_path / "o", tmp_path / "seq")


@pytest.mark.parametrize("trials", [0, -2])
def test_hp_search_needs_at_least_one_trial(tmp_path, landmark_dataset, trials):
    with pytest.raises(ValueError, match=rf"--hp_search={trials} must be 1 or more trials"):
        run_seq(landmark_dataset, tmp_path / "o", "--hp_search", trials)
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_hp_search_on_a_sequence_model_writes_the_trials_and_trains_the_best(tmp_path, landmark_dataset):
    import csv

    out = tmp_path / "hp"
    assert run_seq(landmark_dataset, out, "--hp_search", 3, "--num_train_epochs", 2, "--sequence_length", 8) == 0
    rows = list(csv.DictReader((out / "hp_search_trials.csv").open()))
    assert len(rows) == 3 and all(r["state"] == "COMPLETE" for r in rows)
    assert {
        "params_learning_rate",
        "params_per_device_train_batch_size",
        "params_weight_decay",
        "params_hidden_size",
        "eval_loss",
    } <= set(rows[0])
    best = min(rows, key=lambda r: float(r["eval_loss"]))
    config = json.loads((out / "config.json").read_text())
    assert config["hidden_size"] == int(best["params_hidden_size"])
    training_config = json.loads((out / "training_config.json").read_text())["training"]
    assert training_config["learning_rate"] == pytest.approx(float(best["params_learning_rate"]))
    assert not list(out.glob("run-*"))


@pytest.mark.slow
def test_hp_search_works_for_image_models_too(tmp_path, colour_dataset, tiny_vit):
    import csv

    out = tmp_path / "hp-img"
    assert run(colour_dataset, out, tiny_vit, "--hp_search", 2, "--num_train_epochs", 1) == 0
    rows = list(csv.DictReader((out / "hp_search_trials.csv").open()))
    assert len(rows) == 2 and "eval_f1_macro" in rows[0] and "params_hidden_size" not in rows[0]
    assert (out / "model.safetensors").is_file()


# --- issue 11: runs never mix, tokens stay out of checkpoints, a split folder is a clear error ----------------------


def test_output_dir_is_required(tmp_path, colour_dataset, tiny_vit, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="--output_dir is required"):
        finetune.main(["--dataset_dir", str(colour_dataset), "--model_name_or_path", str(tiny_vit), *FAST])
    assert not (tmp_path / "trainer_output").exists()


@pytest.mark.slow
def test_resuming_another_runs_checkpoint_is_refused(tmp_path, colour_dataset, landmark_dataset, tiny_vit):
    out = tmp_path / "shared-out"
    assert run_seq(landmark_dataset, out, "--num_train_epochs", 1, "--sequence_length", 8, "--hidden_size", 16) == 0
    with pytest.raises(
        CheckpointError, match=r"holds checkpoints of a different run \(labels: \['circle', 'rise', 'swipe'\] there"
    ):
        run(colour_dataset, out, tiny_vit, "--num_train_epochs", 1)
    assert json.loads((out / "config.json").read_text())["id2label"]["0"] == "circle"  # untouched
    assert run(colour_dataset, out, tiny_vit, "--num_train_epochs", 1, "--overwrite_output_dir") == 0


def test_resuming_with_another_model_shape_is_refused(tmp_path, landmark_dataset):
    out = tmp_path / "out"
    assert run_seq(landmark_dataset, out, "--num_train_epochs", 1, "--sequence_length", 8, "--hidden_size", 16) == 0
    with pytest.raises(CheckpointError, match=r"hidden_size: 16 there, 32 now"):
        run_seq(landmark_dataset, out, "--num_train_epochs", 2, "--sequence_length", 8, "--hidden_size", 32)
    with pytest.raises(CheckpointError, match=r"sequence_length: 8 there, 12 now"):
        run_seq(landmark_dataset, out, "--num_train_epochs", 2, "--sequence_length", 12, "--hidden_size", 16)


@pytest.mark.parametrize("damage", ["truncated arrow", "no state.json", "missing split", "only dataset_dict.json"])
def test_a_half_written_dataset_folder_is_one_line(tmp_path, colour_dataset, damage):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(colour_dataset, broken)
    if damage == "truncated arrow":
        state = json.loads((broken / "train" / "state.json").read_text())
        arrow = broken / "train" / state["_data_files"][0]["filename"]  # not a cache file another test left there
        arrow.write_bytes(arrow.read_bytes()[:100])
    elif damage == "no state.json":
        (broken / "train" / "state.json").unlink()
    elif damage == "missing split":
        shutil.rmtree(broken / "validation")
    else:
        for child in broken.iterdir():
            if child.name != "dataset_dict.json":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    with pytest.raises(DatasetFormatError, match=f"--dataset_dir {broken} is incomplete or damaged"):
        finetune.main(["--dataset_dir", str(broken), "--output_dir", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_a_single_split_folder_is_a_clear_error(tmp_path, colour_dataset, tiny_vit):
    with pytest.raises(DatasetFormatError, match=r"train is a single split, not a dataset folder .*probably .*dataset"):
        run(colour_dataset / "train", tmp_path / "o", tiny_vit)


@pytest.mark.slow
def test_a_hub_token_never_reaches_the_checkpoints(tmp_path, colour_dataset, tiny_vit):
    out = tmp_path / "tok"
    assert run(colour_dataset, out, tiny_vit, "--num_train_epochs", 1, "--hub_token", TOKEN) == 0
    written = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "training_args.bin" for p in written)
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_a_config_file_with_command_line_overrides(tmp_path, colour_dataset, tiny_vit):
    config = tmp_path / "run.yaml"
    out = tmp_path / "from-file"
    config.write_text(
        f"dataset_dir: {colour_dataset}\noutput_dir: {out}\nmodel_name_or_path: {tiny_vit}\n"
        "num_train_epochs: 3\nlearning_rate: 0.001\nuse_cpu: true\ndataloader_num_workers: 0\n"
        "per_device_train_batch_size: 6\n"
    )
    assert finetune.main([str(config), "--num_train_epochs", "1", "--disable_tqdm", "true"]) == 0
    resolved = json.loads((out / "training_config.json").read_text())["training"]
    assert resolved["num_train_epochs"] == 1  # the flag wins over the file
    assert resolved["learning_rate"] == 0.001 and resolved["eval_strategy"] == "epoch"  # the file wins over defaults


def test_a_config_file_with_an_unknown_option_names_it(tmp_path, colour_dataset):
    from signspace.core.errors import ConfigError

    config = tmp_path / "run.yaml"
    config.write_text(f"dataset_dir: {colour_dataset}\noutput_dir: {tmp_path / 'o'}\nnum_epochs: 3\n")
    with pytest.raises(ConfigError, match="unknown option\\(s\\) in .*run.yaml: num_epochs"):
        finetune.main([str(config)])


@pytest.mark.slow
def test_a_card_leads_with_people_the_model_never_saw(tmp_path, capsys):
    import build_dataset
    from factories import make_signer_folders

    people = {name: ("circle", "swipe", "rise") for name in ("ann", "bob", "cat")}
    data = make_signer_folders(tmp_path / "data", people, per_sign=5)
    dataset = tmp_path / "dataset"
    argv = ["--data_dir", str(data), "--output_dir", str(dataset), "--features", "landmarks", "--num_proc", "1"]
    split = ["--signer_pattern", "^([^/]+)/", "--split_by", "signer", "--test_signers", "cat"]
    assert build_dataset.main(argv + split) == 0
    out = tmp_path / "model"
    assert run_seq(dataset, out, "--num_train_epochs", 6, "--sequence_length", 8, "--hidden_size", 16) == 0
    signers = json.loads((out / "metrics.json").read_text())["signers"]
    assert signers["trained_people"] == 2 and signers["unseen"]["people"] == 1 and signers["unseen"]["clips"] == 15
    assert set(signers["unseen"]["per_signer"]) == {"cat"} and signers["known"]["people"] == 2
    card = (out / "README.md").read_text()
    unseen = signers["unseen"]["accuracy"]
    assert (
        f"**On people the model never saw** (1 person,\n15 clips of the test split): accuracy **{unseen:.4f}**" in card
    )
    assert "accuracy on unseen signers" in card  # the card's metadata, read by the Hub
    health = json.loads((out / "metrics.json").read_text())["data_health"]
    assert health["people"] == 3 and health["clips"] == 45 and health["to_check"] == []  # all three sign alike
    assert "**Data health** (each clip predicted by a simple model that never saw its signer, 3 people," in card
    assert "0 person-sign pairs disagree with everyone else's form" in card
    assert "data health: every person's signs agree with the other people's (3 people)" in capsys.readouterr().out

    one_person = tmp_path / "one-person"
    assert (
        build_dataset.main(
            [
                "--data_dir",
                str(data / "ann"),
                "--output_dir",
                str(one_person),
                "--features",
                "landmarks",
                "--num_proc",
                "1",
                "--signer",
                "ann",
            ]
        )
        == 0
    )
    out = tmp_path / "model-1"
    assert run_seq(one_person, out, "--num_train_epochs", 1, "--sequence_length", 8, "--hidden_size", 16) == 0
    assert "**Recorded by one person.**" in (out / "README.md").read_text()
    assert json.loads((out / "metrics.json").read_text())["signers"]["unseen"] is None


def test_a_card_without_signers_says_new_people_were_not_measured(tmp_path, landmark_dataset):
    out = tmp_path / "model"
    assert run_seq(landmark_dataset, out, "--num_train_epochs", 1, "--sequence_length", 8, "--hidden_size", 16) == 0
    assert json.loads((out / "metrics.json").read_text())["signers"] is None
    assert "**Who signed these clips is not recorded**" in (out / "README.md").read_text()
