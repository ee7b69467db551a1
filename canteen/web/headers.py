"""Security headers on every response: a Content-Security-Policy without inline script, no framing, a referrer
kept to this site, no content-type sniffing.

Pages carry no inline script or event handler: what little script there is lives under /static. Styles may
be inline ('unsafe-inline' for style-src only): the server-drawn SVG charts carry a <style> element and style
attributes, and a few templates set a column width in place. Script is never inline, except on the pages
listed in `hashed_paths` (the API docs: Swagger UI starts from an inline script FastAPI writes): those get
the default policy plus the SHA-256 hashes of the inline scripts of the page as it is sent. Only pages built
from code alone, never from what a request or a user typed, belong in that list, since whatever inline script
such a page carries is allowed.
"""
import base64
import hashlib
import re
from collections.abc import Collection, Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DIRECTIVES: Mapping[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
OTHER_HEADERS: Mapping[str, str] = {
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
}
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def policy(script_hashes: Collection[str] = ()) -> str:
    """The Content-Security-Policy, with these inline scripts (as 'sha256-…' sources) allowed besides."""
    directives = dict(DIRECTIVES)
    if script_hashes:
        directives["script-src"] += "".join(f" '{source}'" for source in sorted(script_hashes))
    return "; ".join(f"{name} {value}" for name, value in directives.items())


DEFAULT_POLICY = policy()


def inline_script_hashes(html: bytes) -> set[str]:
    """The CSP hash source ('sha256-<base64>') of each inline <script> element's text."""
    return {"sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode()
            for text in _INLINE_SCRIPT.findall(html)}


def add_to(headers: MutableHeaders, content_policy: str = DEFAULT_POLICY) -> None:
    """The security headers on a response's headers, keeping any the route set itself.

    Also called on the 500 page: Starlette renders it in its outermost middleware, outside this one."""
    headers.setdefault("Content-Security-Policy", content_policy)
    for name, value in OTHER_HEADERS.items():
        headers.setdefault(name, value)


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response (a header a route set itself is kept)."""

    def __init__(self, app: ASGIApp, hashed_paths: Collection[str] = ()) -> None:
        self.app = app
        self.hashed_paths = frozenset(hashed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.hashed_paths:
            await self._hashed(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(message, DEFAULT_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _add(start: Message, content_policy: str) -> None:
        add_to(MutableHeaders(scope=start), content_policy)

    async def _hashed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The response held back until its body is complete, so its inline scripts' hashes can go in the policy."""
        start: Message | None = None
        body: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None  # ASGI: the start message comes first
            content = b"".join(body)
            self._add(start, policy(inline_script_hashes(content)))
            await send(start)
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, hold)
