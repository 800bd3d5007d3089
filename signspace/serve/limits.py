"""Request limits for the app that hold on every route (Gradio's max_file_size guards its upload route only)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Collection

from signspace.core.errors import ConfigError
from signspace.core.imaging import MAX_PHOTO_PIXELS, ImageTooLarge, check_header

_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(text: str | int) -> int:
    """'10mb' -> 10_000_000 (Gradio's units: kb/mb/gb are powers of 1000)."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(text).lower())
    if not match or match.group(2) not in _UNITS:
        raise ConfigError(f"size {text!r} is not understood; write e.g. 10mb or 500kb")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


async def send_413(send, message: str) -> None:
    """Answer a request with 413 and ``{"error": message}``."""
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestSizeLimit:
    """ASGI middleware: any HTTP request body over ``max_bytes`` gets 413, whether it declares its length or streams.

    An image inlined as a base64 ``data:`` URL in an API call is 4/3 of the file plus JSON, so the app sets
    ``max_bytes`` a little above 4/3 of its file limit; the decoded file is then checked against the limit itself."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        seen = 0
        refused = False

        async def counting_receive():
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    if not refused:  # answer now: the app may catch any exception we raise and reply 400
                        refused = True
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:  # the client already has its 413; the app's own reply is dropped
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, send):
        await send_413(send, f"request too large: the limit is {self.max_bytes} bytes")


MAX_TRACKED_CLIENTS = 1024


class UploadBudget:
    """ASGI middleware for a shared Space: what one client address may post to Gradio's upload route per window.

    Gradio keeps uploads in its cache until its hourly cleanup and counts them against nothing; an upload carries
    no session id, so the budget is per address: the socket's peer, or, behind a proxy we know is there
    (``behind_proxy``: a Hugging Face Space), the last X-Forwarded-For hop that proxy added. Without a proxy anyone
    can write that header, and each new value would get a fresh budget.
    Webcam streams do not use this route (their frames come inline), so the live demo never spends it."""

    def __init__(self, app, max_bytes: int, window_seconds: float = 3600.0, clock=None, behind_proxy: bool = False):
        self.app, self.max_bytes, self.window = app, max_bytes, window_seconds
        self.clock = clock or time.monotonic
        self.behind_proxy = behind_proxy
        self.spent: dict[str, list[tuple[float, int]]] = {}

    def _client(self, scope) -> str:
        forwarded = dict(scope.get("headers") or []).get(b"x-forwarded-for") if self.behind_proxy else None
        if forwarded:
            return forwarded.decode("latin-1").split(",")[-1].strip()
        return (scope.get("client") or ("unknown",))[0]

    def _used(self, client: str) -> int:
        now = self.clock()
        if len(self.spent) > MAX_TRACKED_CLIENTS:  # bounded memory: forget addresses with nothing in the window
            self.spent = {c: e for c, e in self.spent.items() if e and now - e[-1][0] < self.window}
        recent = [(t, n) for t, n in self.spent.get(client, []) if now - t < self.window]
        self.spent[client] = recent
        return sum(n for _, n in recent)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope.get("path", "").endswith("/upload"):
            return await self.app(scope, receive, send)
        client = self._client(scope)
        left = self.max_bytes - self._used(client)
        seen, refused = 0, False

        async def counting_receive():
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > left:
                    if not refused:
                        refused = True
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:
                await send(message)

        if left <= 0:
            return await self._refuse(send)
        try:
            await self.app(scope, counting_receive, guarded_send)
        finally:
            self.spent.setdefault(client, []).append((self.clock(), seen))

    async def _refuse(self, send):
        megabytes = self.max_bytes // 1_000_000
        await send_413(
            send,
            f"upload limit reached: at most {megabytes} MB of uploads per visitor per hour on this Space; try again "
            "later",
        )


class UnknownEvent:
    """ASGI middleware: a call naming an event the page does not have (``fn_index``) gets 404 and one line, not
    Gradio's bare 500 (its lookup raises KeyError). Only a failing request's body is read again: the bodies that pass
    through are kept by reference, and parsed only when the app raised."""

    def __init__(self, app, known: Callable[[], Collection[int]]):
        self.app, self.known = app, known

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []
        started = False

        async def keeping_receive():
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def watching_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, keeping_receive, watching_send)
        except KeyError:
            index = _fn_index(b"".join(chunks))
            if started or index is None or index in self.known():
                raise
            body = json.dumps({"error": f"there is no event {index} on this page; reload the page"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})


def _fn_index(body: bytes) -> int | None:
    try:
        index = json.loads(body).get("fn_index")
    except (ValueError, AttributeError):
        return None
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def check_photo_upload(source, size: int, max_bytes: int, max_pixels: int = MAX_PHOTO_PIXELS) -> None:
    """An uploaded photo (a path, or the bytes of an inline data URL, which skips the upload route's size check):
    ``ImageTooLarge`` past ``max_bytes`` or, from its header alone, past ``max_pixels``; ``ImageDecodeError`` for
    no image. The page turns either into one line for the visitor."""
    if size > max_bytes:
        raise ImageTooLarge(f"photo: {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit; send a smaller photo")
    check_header(source, max_pixels, "photo")
