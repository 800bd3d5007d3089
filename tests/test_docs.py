"""Docs that cannot drift: the numbers docs/architecture.md quotes are the code's (docs/architecture_numbers.py)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_architecture_numbers_are_the_codes():
    spec = importlib.util.spec_from_file_location("architecture_numbers", ROOT / "docs" / "architecture_numbers.py")
    numbers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(numbers)
    text = numbers.DOC.read_text()
    assert numbers.with_table(text) == text, "run: python docs/architecture_numbers.py --write"
    assert "| model-kind string checks in `signspace/`, `space/`, `train/` | 0 |" in text
    assert "| import cycles among `signspace` modules | 0 |" in text
