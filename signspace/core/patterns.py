"""Regular expressions the user writes (``--group_pattern``, ``--signer_pattern``), matched with a time limit.

Python's ``re`` cannot be interrupted: a pattern such as ``/(([a-z]+)+)_`` backtracks exponentially on a long file
name and hangs the build with no output. The ``regex`` module (already a dependency of transformers) takes a
timeout per match, so a pattern that backtracks badly is one clear line instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from signspace.core.errors import ConfigError

MATCH_SECONDS = 0.5  # per path: a sane pattern takes microseconds on a file name


@dataclass(frozen=True)
class UserPattern:
    """A user's regex whose first group is the id it extracts (a recording, a person)."""

    option: str
    text: str
    compiled: regex.Pattern

    @classmethod
    def compile(cls, option: str, text: str, needs: str) -> UserPattern:
        """It must compile and have a first group; ``needs`` says what that group is, with an example."""
        try:
            compiled = regex.compile(text)
        except regex.error as exc:
            raise ConfigError(f"{option} {text!r} is not a valid regex: {exc}") from None
        if compiled.groups < 1:
            raise ConfigError(f"{option} {text!r} needs {needs}")
        return cls(option, text, compiled)

    def search(self, path: str):
        """The match in ``path`` (or None); a pattern that backtracks past MATCH_SECONDS on it is refused."""
        try:
            return self.compiled.search(path, timeout=MATCH_SECONDS)
        except TimeoutError:
            raise ConfigError(
                f"{self.option} {self.text!r} took over {MATCH_SECONDS:g} s on {path!r}: it backtracks without end "
                "(nested repeats such as '(([a-z]+)+)'); simplify it, e.g. '/([a-z]+)_'"
            ) from None

    def first_group(self, path: str) -> str | None:
        match = self.search(path)
        return match.group(1) if match and match.group(1) else None
