"""Hugging Face Hub edges: token, repo ids, reachability and a retried one-commit folder upload.

The token is never printed: every message that leaves this module passes through ``redact``.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from signspace.core.errors import ConfigError, SignSpaceError, redact

logger = logging.getLogger(__name__)

REPO_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class HubError(SignSpaceError, RuntimeError):
    """A Hub operation failed; the message says what and what to do, with the token redacted."""


def redact_config(value, token: str | None = None):
    """A copy of a (nested) config with every token-like string redacted, for files beside outputs."""
    if isinstance(value, dict):
        return {k: ("<redacted>" if k.endswith("token") and v else redact_config(v, token)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_config(v, token) for v in value]
    return redact(value, token) if isinstance(value, str) else value


def check_repo_id(repo_id: str | None, flag: str) -> str:
    if not repo_id or not REPO_ID_PATTERN.match(repo_id):
        raise ConfigError(
            f"{flag}={repo_id!r} is not a Hub repo id; use the form 'user/name' (or 'org/name'), "
            "letters, digits, '-', '_' and '.' only"
        )
    return repo_id


def require_token() -> str:
    """The user's token from HF_TOKEN or `hf auth login`; fail before any long work if there is none."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise HubError(
            "publishing needs a Hugging Face token with write access, and none was found: run "
            "`hf auth login`, or set the HF_TOKEN environment variable"
        )
    return token


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick request instead of huggingface_hub's ~23 s of retries when the network is down."""
    from huggingface_hub.utils import httpx  # the client huggingface_hub itself uses (httpx2 in 2.x)

    try:
        httpx.head(hub_endpoint(), timeout=timeout, follow_redirects=False)
    except httpx.TransportError:
        return False
    return True


def require_reachable(purpose: str, remedy: str) -> None:
    """A clear error in seconds, rather than huggingface_hub's retry loop, when the Hub cannot be reached."""
    if not hub_reachable():
        raise HubError(f"cannot reach the Hugging Face Hub at {hub_endpoint()} to {purpose}. {remedy}")


def is_retryable(exc: BaseException) -> bool:
    """Transient failures only: connection trouble, 5xx and 429 — never 401/403/404 or bad requests."""
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import httpx  # the client huggingface_hub itself uses (httpx2 in 2.x)

    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        return status in RETRY_STATUS
    return isinstance(exc, httpx.TransportError)


def push_folder(
    folder: Path,
    repo_id: str,
    *,
    repo_type: str = "model",
    token: str,
    private: bool = False,
    revision: str | None = None,
    commit_message: str,
    space_sdk: str | None = None,
    ignore_patterns: list[str] | None = None,
    max_attempts: int = 4,
    base_delay: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    remedy: str | None = None,
) -> str:
    """Create the repo if needed and upload ``folder`` as one commit; returns the commit URL.

    ``remedy`` says, on failure, what the user still has and how to publish again (the default speaks of
    ``folder``; a caller that uploads a temporary staging folder must say something true instead).

    huggingface_hub already retries single requests (preupload, commit) a few times; this outer loop
    retries the whole publish, with exponential backoff, when a transient failure (connection, 5xx,
    429) outlasts those or hits a call it does not retry (repo creation). The folder is only read.
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    if base_delay is None:  # overridable so tests (and impatient users) need not wait
        base_delay = float(os.environ.get("SIGNSPACE_UPLOAD_BASE_DELAY", "2"))

    def attempt() -> str:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk)
        if revision and revision != "main":
            api.create_branch(repo_id, repo_type=repo_type, branch=revision, exist_ok=True)
        info = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type=repo_type,
            revision=revision,
            commit_message=commit_message,
            ignore_patterns=ignore_patterns,
        )
        return str(info.commit_url if hasattr(info, "commit_url") else info)

    for number in range(1, max_attempts + 1):
        try:
            return attempt()
        except Exception as exc:  # classified below; anything not transient is re-raised as is
            first_line = (str(exc).strip().splitlines() or [""])[0]
            message = redact(f"{type(exc).__name__}: {first_line}", token)
            if not is_retryable(exc):
                raise HubError(
                    f"uploading to {repo_type} repo {repo_id} "
                    f"failed: {message}. Fix the cause (token rights, repo id); "
                    f"{remedy or f'the local copy in {folder} is complete: publish it again'}"
                ) from None
            if number == max_attempts:
                raise HubError(
                    f"uploading to {repo_id} still failed after {max_attempts} attempts: {message}. "
                    f"{remedy or f'The local copy in {folder} is complete: publish it again later'}"
                ) from None
            delay = base_delay * 2 ** (number - 1)
            logger.warning("upload attempt %d/%d failed (%s); retrying in %.0f s", number, max_attempts, message, delay)
            sleep(delay)
    raise AssertionError("unreachable")


def is_local(name_or_path: str) -> bool:
    return Path(name_or_path).exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1
