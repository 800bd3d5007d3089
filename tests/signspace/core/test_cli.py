import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import HfArgumentParser

from signspace.core.cli import parse_dataclasses, parse_namespace
from signspace.core.errors import UsageError
from signspace.data.build_dataset import BuildConfig

ROOT = Path(__file__).resolve().parents[3]


def test_a_mistyped_option_names_the_nearest_real_one():
    parser = HfArgumentParser(BuildConfig)
    with pytest.raises(UsageError) as caught:
        parse_dataclasses(parser, ["--data_dir", "d", "--output_dir", "o", "--signer_patern", "x", "stray"])
    assert str(caught.value) == (
        "unknown option --signer_patern (did you mean --signer_pattern?); unexpected value 'stray' (options take "
        "the form --name value); see --help for every option"
    )


def test_argparse_scripts_name_unknown_options_too():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    with pytest.raises(UsageError, match=r"unknown option --modle \(did you mean --model\?\); see --help"):
        parse_namespace(parser, ["--modle=x"])
    assert parse_namespace(parser, ["--model", "m"]).model == "m"


@pytest.mark.parametrize(
    "script, args, suggestion",
    [
        ("train/build_dataset.py", ["--data_dir", "D", "--output_dir", "O", "--bogus", "1"], "unknown option --bogus;"),
        ("train/finetune.py", ["--dataset_dir", "D", "--output_dir", "O", "--learnig_rate", "1"], None),
        ("space/app.py", ["--modle", "x"], "unknown option --modle (did you mean --model?)"),
        ("space/deploy.py", ["--space_id", "a/b", "--model_id", "c/d", "--hardwre", "x"], "did you mean --hardware?"),
    ],
)
def test_every_entry_script_exits_2_with_one_line(tmp_path, script, args, suggestion, colour_dataset):
    if script == "train/finetune.py":  # the dataset is read first: give it a real one
        args = ["--dataset_dir", str(colour_dataset), "--output_dir", str(tmp_path / "o"), "--learnig_rate", "1"]
        suggestion = "unknown option --learnig_rate (did you mean --learning_rate?)"
    result = subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and suggestion in result.stderr
    assert not (tmp_path / "o").exists()
