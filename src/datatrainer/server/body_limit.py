"""A cap on every request body, enforced while it streams in: 413 before the route ever sees too much.

A declared `Content-Length` over the cap is refused before a byte is read; a body that grows past the cap
(chunked, or a length that lied) is cut off the moment it does. Routes that take files (imports) get a larger
cap, by path, and read their body only after authenticating, so an anonymous client cannot make the server
buffer it (`routers/imports.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BYTES = 1024 * 1024  # JSON bodies: a submitted annotation, a login, a project's settings


def _detail(limit: int) -> str:
    return f"request body larger than {limit // 2**20} MiB" if limit >= 2**20 else \
        f"request body larger than {limit} bytes"


class BodyTooLarge(HTTPException):
    """Raised inside `receive` when the body passes the cap. An HTTPException, because FastAPI turns any other
    error while it reads a body into a 400; the app's handlers answer it as 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit))


class BodyLimit:
    def __init__(self, app: ASGIApp, default: int = DEFAULT_MAX_BYTES,
                 larger: Iterable[tuple[re.Pattern[str], int]] = ()) -> None:
        self.app = app
        self.default = default
        self.larger = list(larger)

    def limit_for(self, path: str) -> int:
        return next((limit for pattern, limit in self.larger if pattern.match(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": _detail(limit)}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
