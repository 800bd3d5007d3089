"""Regular expressions the user writes, matched with a time limit (signspace/core/patterns.py)."""

import pytest

from signspace.core.errors import ConfigError
from signspace.core.patterns import UserPattern

NEEDS = "a capture group, e.g. '^(.+?)_jpg'"


def test_a_pattern_gives_its_first_group_or_none():
    pattern = UserPattern.compile("--group_pattern", r"^(.+?)_jpg\.rf\.", NEEDS)
    assert pattern.first_group("B/IMG_0001_jpg.rf.abc.jpg") == "B/IMG_0001"
    assert pattern.first_group("B/plain.png") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(unclosed", r"--group_pattern '\(unclosed' is not a valid regex"),
        ("no_group", r"--group_pattern 'no_group' needs a capture group, e\.g\. '\^\(\.\+\?\)_jpg'"),
    ],
)
def test_a_pattern_that_cannot_work_is_one_line_naming_the_option(text, message):
    with pytest.raises(ConfigError, match=message):
        UserPattern.compile("--group_pattern", text, NEEDS)


def test_a_pattern_that_backtracks_without_end_stops_at_its_limit_with_one_line():
    pattern = UserPattern.compile("--signer_pattern", r"/((x|xx)+)_", NEEDS)
    with pytest.raises(ConfigError, match=r"--signer_pattern .* took over 0\.5 s on 'a/x{40}\.jpg': it backtracks"):
        pattern.first_group("a/" + "x" * 40 + ".jpg")
