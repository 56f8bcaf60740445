"""A cap on request bodies, enforced while they stream in: a 413 before a large upload is
spooled to disk, whether or not the client sent a Content-Length."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

from api.errors import body
from core.i18n import _
from grader.i18n import Text, render


def too_large(max_bytes: int) -> Text:
    return _("the request is larger than {size} KB; the largest accepted file is {largest} KB",
             size=max_bytes // 1024, largest=max_bytes // 1024 - 64)


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing passes it on as a 413, not a 400."""

    def __init__(self, max_bytes: int):
        super().__init__(413, str(too_large(max_bytes)))


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(send)
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send) -> None:
        # Before any dependency ran: no user, no course; the default language (both are in the text).
        message = too_large(self.max_bytes)
        payload = json.dumps(body("file_too_large", f"{render(message, 'zh')} / {render(message, 'en')}"),
                             ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})
