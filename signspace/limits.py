"""Request limits for the app that hold on every route (Gradio's max_file_size guards its upload route only)."""

from __future__ import annotations

import re

from .errors import ConfigError

_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(text: str | int) -> int:
    """'10mb' -> 10_000_000 (Gradio's units: kb/mb/gb are powers of 1000)."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(text).lower())
    if not match or match.group(2) not in _UNITS:
        raise ConfigError(f"size {text!r} is not understood; write e.g. 10mb or 500kb")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


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
        body = f'{{"error": "request too large: the limit is {self.max_bytes} bytes"}}'.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
