"""Command-line parsing shared by the entry scripts: a mistyped option is one line naming it and the nearest real
one (exit 2 through ``errors.run_cli``), never a traceback from the parser."""

from __future__ import annotations

import argparse
import difflib
from typing import Any, cast

from signspace.core.errors import UsageError


def unknown_options(unknown: list[str], parser: argparse.ArgumentParser) -> UsageError:
    """The error for arguments no option takes, with the closest real option for each mistyped one."""
    known = [option for action in parser._actions for option in action.option_strings]
    parts = []
    for index, word in enumerate(unknown):
        if not word.startswith("-"):
            if index == 0 or not unknown[index - 1].startswith("-"):  # not the value of a mistyped option
                parts.append(f"unexpected value {word!r} (options take the form --name value)")
            continue
        name = word.split("=", 1)[0]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6) or difflib.get_close_matches(
            name.replace("-", "_"), known, n=1, cutoff=0.6
        )
        parts.append(f"unknown option {name}" + (f" (did you mean {close[0]}?)" if close else ""))
    return UsageError("; ".join(parts) + "; see --help for every option")


def dataclass_parser(*types: type, **options):
    """``HfArgumentParser`` for our config dataclasses (transformers types them as its own ``DataClassType``)."""
    from transformers import HfArgumentParser

    return HfArgumentParser(cast(Any, types if len(types) > 1 else types[0]), **options)


def parse_dataclasses(parser, argv: list[str] | None) -> tuple:
    """``HfArgumentParser.parse_args_into_dataclasses`` that names unknown options instead of raising ValueError."""
    *parsed, remaining = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    if remaining:
        raise unknown_options(remaining, parser)
    return tuple(parsed)


def parse_namespace(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parse_args`` that names unknown options (argparse only says 'unrecognized arguments')."""
    args, remaining = parser.parse_known_args(argv)
    if remaining:
        raise unknown_options(remaining, parser)
    return args
