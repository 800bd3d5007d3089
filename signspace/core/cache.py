"""Where SignSpace keeps what it builds once and reuses: the downloaded hand model, int8 exports."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$SIGNSPACE_CACHE``, else ``~/.cache/signspace``; every cache user takes a ``cache_dir`` to override it."""
    return Path(os.environ.get("SIGNSPACE_CACHE", Path.home() / ".cache" / "signspace"))
