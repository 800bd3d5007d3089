import ast
from pathlib import Path

import pytest

from signspace.errors import ConfigError, SignSpaceError, run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_a_users_mistake_is_one_line_and_exit_2(capsys):
    def main():
        raise ConfigError("--num_proc=0 must be at least 1")

    assert run_cli(main) == 2
    assert capsys.readouterr().err == "error: --num_proc=0 must be at least 1\n"


def test_a_real_bug_keeps_its_traceback():
    def main():
        raise ValueError("shapes (3,4) and (5,6) not aligned")  # e.g. deep inside torch: not the user's doing

    with pytest.raises(ValueError, match="not aligned"):
        run_cli(main)


def test_tokens_are_redacted_from_the_line(capsys):
    def main():
        raise SignSpaceError("upload failed with token hf_abcdefghijklmnopqrstuvwxyz012345")

    run_cli(main)
    assert "hf_abcdefghijklmnopqrstuvwxyz012345" not in capsys.readouterr().err


def test_errors_is_a_leaf_module():
    tree = ast.parse((ROOT / "signspace" / "errors.py").read_text())
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert all(not (isinstance(n, ast.ImportFrom) and n.level) for n in top_level)  # nothing of ours at import time


def test_every_error_type_of_ours_is_a_signspace_error():
    import signspace.atomic
    import signspace.checkpoints
    import signspace.hub
    import signspace.imaging
    import signspace.landmarks
    import signspace.modeling
    import signspace.scan
    import signspace.training

    for module in (
        signspace.atomic,
        signspace.checkpoints,
        signspace.hub,
        signspace.imaging,
        signspace.landmarks,
        signspace.modeling,
        signspace.scan,
        signspace.training,
    ):
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == module.__name__:
                assert issubclass(value, SignSpaceError), f"{module.__name__}.{name}"
