"""Our error types' base and entry-point handling: a user's mistake is one clear line and exit code 2.

A leaf module (it imports nothing of ours), so every module can raise ``SignSpaceError``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable


class SignSpaceError(Exception):
    """A problem the user can fix; the message names the file or value and says what to do."""


class ConfigError(SignSpaceError, ValueError):
    """An option or setting with a value that cannot work; the message names it and gives a working example."""


class UsageError(SignSpaceError, ValueError):
    """Command-line words no option takes; the message names them and the nearest real option."""


class ModelFolderError(SignSpaceError, FileNotFoundError):
    """A model folder that is missing or incomplete."""


class HandModelError(SignSpaceError, FileNotFoundError):
    """The MediaPipe hand model file is missing, unreadable or not a hand-landmarker task bundle."""


class TeachError(SignSpaceError, ValueError):
    """A Teach-tab action that cannot be done; the message says what to do instead."""


class RecordingError(TeachError):
    """A recording that cannot become a clip whatever the disk does (its frames' times make no clip): it is discarded,
    not kept for saving again."""


class TrainingCancelled(SignSpaceError):
    """The visitor cancelled the training job (or closed the tab)."""


def redact(text: str, token: str | None = None) -> str:
    """Remove the token (and anything shaped like an HF token) from ``text``: every message that may carry one
    passes through here before it is printed or raised."""
    token = token or os.environ.get("HF_TOKEN")
    if token:
        text = text.replace(token, "***")
    return re.sub(r"hf_[A-Za-z0-9]{10,}", "hf_***", text)


def run_cli(main: Callable[[], int]) -> int:
    """Run ``main``; print user errors plainly. SIGNSPACE_DEBUG=1 shows the full traceback instead."""
    try:
        return main()
    except SignSpaceError as exc:  # anything else is a bug and keeps its traceback
        if os.environ.get("SIGNSPACE_DEBUG"):
            raise
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; no partial output was kept", file=sys.stderr)
        return 130
