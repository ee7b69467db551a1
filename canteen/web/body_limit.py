"""Request bodies capped before anything reads, parses or spools them.

A declared Content-Length over the cap is refused before a byte of the body is read; a body without one
(chunked) is counted as it arrives and refused as soon as it passes the cap. File uploads (multipart/form-data)
get a cap of their own, larger than the one for forms and JSON. The refusal is a 413 with the reason in the
reader's language: JSON for the API, an error page for the site. Once a body has passed the cap, whatever the
app makes of the broken read is dropped and the 413 sent instead.
"""
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canteen.errors import PayloadTooLarge
from canteen.i18n import N_, error_text
from canteen.web.templating import api_language, render, request_language

TOO_LARGE = N_("the request is too large: at most {size}")
FILES_TOO_LARGE = N_("the files sent are too large: at most {size} together")
TOO_LARGE_TITLE = N_("Too large")


class BodyTooLarge(Exception):
    """Raised into the app from `receive` once the body has passed the cap."""


def size_text(limit: int) -> str:
    """A byte count as people read it: 1 MB, 32 MB, 64 KB."""
    if limit >= 2**20:
        return f"{limit / 2**20:.3g} MB"
    return f"{limit / 2**10:.3g} KB" if limit >= 2**10 else f"{limit} B"


def too_large_response(scope: Scope, limit: int) -> Response:
    """The 413: the API's error shape for /api/, else the site's error page."""
    request = Request(scope)
    error = PayloadTooLarge(FILES_TOO_LARGE if _is_upload(scope) else TOO_LARGE, size=size_text(limit))
    if scope["path"].startswith("/api/"):
        return JSONResponse({"detail": [{"loc": ["body"], "msg": error_text(error, api_language(request)),
                                         "type": "PayloadTooLarge"}]}, status_code=413)
    return render(request, "error.html", {"title": TOO_LARGE_TITLE,
                                          "message": error_text(error, request_language(request))},
                  status_code=413)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_upload(scope: Scope) -> bool:
    return any(name == b"content-type" and value.lower().startswith(b"multipart/form-data")
               for name, value in scope["headers"])


class BodyLimit:
    """ASGI middleware: at most `max_bytes` of body per request, `max_upload_bytes` for multipart uploads."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload_bytes if _is_upload(scope) else self.max_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await too_large_response(scope, limit)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to a body it could not finish reading; the 413 goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            pass
        if exceeded and not started:
            await too_large_response(scope, limit)(scope, receive, send)
