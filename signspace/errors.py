"""Entry-point error handling: a user's mistake becomes one clear line and exit code 2, not a traceback."""

from __future__ import annotations

import os
import sys
from typing import Callable

from .atomic import OutputExistsError
from .checkpoints import CheckpointError
from .hub import HubError, redact
from .imaging import ImageDecodeError
from .scan import DataFolderError

# Errors our code raises with a complete, actionable message (and config validation's ValueError).
USER_ERRORS = (
    DataFolderError, OutputExistsError, HubError, ImageDecodeError, CheckpointError,
    FileNotFoundError, FileExistsError, ValueError,
)


def run_cli(main: Callable[[], int]) -> int:
    """Run ``main``; print user errors plainly. SIGNSPACE_DEBUG=1 shows the full traceback instead."""
    try:
        return main()
    except USER_ERRORS as exc:
        if os.environ.get("SIGNSPACE_DEBUG"):
            raise
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; no partial output was kept", file=sys.stderr)
        return 130
