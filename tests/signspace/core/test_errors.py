import ast
from pathlib import Path

import pytest

from signspace.core.errors import ConfigError, SignSpaceError, redact, run_cli

ROOT = Path(__file__).resolve().parents[3]


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


def code_numbers():
    """docs/architecture_numbers.py: the one walk of the package's modules and imports (the docs quote it too)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("architecture_numbers", ROOT / "docs" / "architecture_numbers.py")
    numbers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(numbers)
    return numbers


NUMBERS = code_numbers()
our_imports = NUMBERS.imports_of  # ``layer.module`` names, inside functions too, not under TYPE_CHECKING
PACKAGE = ROOT / "signspace"
MODULES = NUMBERS.modules()
# What each layer may import (docs/architecture.md): serving never needs the data or training layers, and nothing
# below the Teach tab reaches up to it. Imports inside functions count too.
MAY_IMPORT = {
    "core": {"core"},
    "models": {"core", "models"},
    "data": {"core", "models", "data"},
    "train": {"core", "models", "data", "train"},
    "serve": {"core", "models", "serve"},
    "teach": {"core", "models", "data", "train", "serve", "teach"},
}
LAYERS = tuple(MAY_IMPORT)


def test_every_module_lives_in_a_layer_and_imports_ours_by_full_name():
    assert [p.name for p in PACKAGE.glob("*.py")] == ["__init__.py"]
    assert {name.split(".")[0] for name in MODULES} == set(LAYERS)
    relative = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert relative == []  # write signspace.<layer>.<module>: the layer shows at every import


def test_errors_is_a_leaf_module():
    assert our_imports(MODULES["core.errors"]) == set()  # nothing of ours, not even inside a function


def test_each_layer_imports_only_what_it_may():
    wrong = [
        f"{name} imports {used}"
        for name, path in MODULES.items()
        for used in our_imports(path)
        if used.split(".")[0] not in MAY_IMPORT[name.split(".")[0]]
    ]
    assert wrong == []
    assert our_imports(MODULES["serve.inference"]) >= {"core.kinds", "serve.live"}  # the walk sees imports at all


def test_the_package_has_no_import_cycles():
    graph = NUMBERS.import_graph()
    assert graph["serve.inference"] and graph["serve.live"]  # the walk sees imports at all
    assert NUMBERS.cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b", "a"], ["b", "a", "b"]]  # it finds them
    cycles = NUMBERS.cycles(graph)
    assert cycles == [], " -> ".join(cycles[0]) if cycles else ""


def test_every_error_type_of_ours_is_a_signspace_error():
    import importlib

    checked = 0
    for name in MODULES:
        module = importlib.import_module(f"signspace.{name}")
        for attr, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == module.__name__:
                assert issubclass(value, SignSpaceError), f"{module.__name__}.{attr}"
                checked += 1
    assert checked >= 15


def test_tokens_are_redacted_wherever_they_appear():
    token = "hf_abcdefghijklmnopqrstuvwxyz012345"
    assert token not in redact(f"Authorization: Bearer {token}")
    assert redact("hf_abcdefghijklmnop") == "hf_***"
    assert redact("uploading with sekrit-value", token="sekrit-value") == "uploading with ***"
