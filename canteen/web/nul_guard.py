"""Text holding a NUL character (U+0000) refused with a 422 before the app sees the request.

PostgreSQL cannot store a NUL in text (psycopg refuses to send one), so such text would end in a 500 wherever it
reached the database. Checked here, once for every route: the path, the query string (`%00` or a raw NUL), and a
body the app parses as text: JSON (a `\\u0000` escape, found by parsing, so an escaped backslash followed by
`u0000` passes; a body with raw NUL bytes, such as JSON in UTF-16, is parsed too), TOML (a standard's file, its
`\\u0000` and `\\U00000000` escapes likewise), an urlencoded form (`%00` or a raw NUL), and a multipart form's
text fields and file names, decoded as Starlette decodes them (a file's content may hold NUL bytes). The refusal
names where the NUL is: JSON for the API (FastAPI's shape, the loc as FastAPI would give it), the error page for
the site.

The bodies of the paths in `per_item_paths` are left to their endpoint, which refuses a NUL item by item (one
bad item of a station's batch must not refuse the rest). Sits inside BodyLimit, so what it reads is capped.
"""
import codecs
import json
import tomllib
from collections import deque
from urllib.parse import parse_qsl

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canteen.errors import InvalidInput
from canteen.i18n import N_, error_text
from canteen.web.templating import api_language, render, request_language

HOLDS_NUL = N_("{field} must not contain the NUL character (U+0000)")
INVALID_TITLE = N_("Invalid input")
NUL = "\x00"
OTHER_TEXT = {b"application/x-www-form-urlencoded": "form", b"multipart/form-data": "multipart",
              b"application/toml": "toml"}

Loc = list[str | int]


def refusal(scope: Scope, loc: Loc) -> Response:
    """The 422: the API's error shape for /api/, else the site's error page."""
    request = Request(scope)
    error = InvalidInput(HOLDS_NUL, field=".".join(str(part) for part in loc[1:]) or None)
    if scope["path"].startswith("/api/"):
        return JSONResponse({"detail": [{"loc": loc, "msg": error_text(error, api_language(request)),
                                         "type": "nul_character"}]}, status_code=422)
    return render(request, "error.html", {"title": INVALID_TITLE,
                                          "message": error_text(error, request_language(request))},
                  status_code=422)


def first_nul_field(query: str) -> str:
    """The first field of a query string or urlencoded form (split and decoded as Starlette does) holding a NUL,
    called once a `%00` or a raw NUL is seen, either of which decodes to one."""
    return next(name for name, value in parse_qsl(query, keep_blank_values=True) if NUL in name or NUL in value)


def form_nul(body: bytes) -> Loc | None:
    return ["body", first_nul_field(body.decode("latin-1"))] if b"%00" in body or b"\x00" in body else None


def json_nul(body: bytes) -> Loc | None:
    """Where in a JSON body a string (a value or a key) holds a NUL, if one does: ["body", "items", 3, "note"]."""
    if b"\\u0000" not in body and b"\x00" not in body:
        return None  # the one check nearly every body gets
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: the app says so itself
    return nul_in(document)


def toml_nul(body: bytes) -> Loc | None:
    """The same for a TOML body (a standard's file): its basic strings have two escapes for a NUL."""
    if b"\\u0000" not in body and b"\\U00000000" not in body:
        return None  # a raw NUL is no TOML: the app refuses it
    try:
        document = tomllib.loads(body.decode())
    except (ValueError, RecursionError):
        return None
    return nul_in(document)


def nul_in(document: object) -> Loc | None:
    """The loc of the first string (a value or a key) of a parsed document that holds a NUL."""
    stack: list[tuple[Loc, object]] = [(["body"], document)]
    while stack:  # depth first, in the document's order, without recursion (a parser may take deep nesting)
        loc, value = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                return loc
        elif isinstance(value, dict):
            for key in value:
                if NUL in key:
                    return [*loc, key]
            stack.extend(([*loc, key], item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(([*loc, index], value[index]) for index in reversed(range(len(value))))
    return None


class MultipartCheck:
    """A multipart body fed as it arrives to python-multipart's parser, as Starlette's own parser does: `found`
    is the first field whose name, file name or (for a text field) value holds a NUL, decoded in the form's
    charset. A malformed body stops the check: the app refuses it itself."""

    def __init__(self, content_type: bytes) -> None:
        _, params = parse_options_header(content_type)
        try:
            self.charset = codecs.lookup(params.get(b"charset", b"utf-8").decode("latin-1")).name
        except LookupError:
            self.charset = "latin-1"
        self.found: str | None = None
        self.parser: MultipartParser | None = None
        self._header_name = self._header_value = self._disposition = b""
        self._name = ""
        self._data: bytearray | None = None  # a text field's value so far; None in a file
        if b"boundary" in params:
            self.parser = MultipartParser(params[b"boundary"], {
                "on_part_begin": self._on_part_begin, "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value, "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished, "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end})

    def write(self, chunk: bytes) -> None:
        if self.parser is None or self.found is not None:
            return
        try:
            self.parser.write(chunk)
        except FormParserError:
            self.parser = None

    def _decode(self, data: bytes | bytearray) -> str:
        try:
            return data.decode(self.charset)
        except UnicodeDecodeError:
            return data.decode("latin-1")

    def _on_part_begin(self) -> None:
        self._disposition = b""

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = self._decode(options.get(b"name", b""))
        filename = options.get(b"filename")
        if NUL in self._name or (filename is not None and NUL in self._decode(filename)):
            self.found = self.found or self._name
        self._data = bytearray() if filename is None else None

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._data is not None:
            self._data += data[start:end]

    def _on_part_end(self) -> None:
        if self._data is not None and NUL in self._decode(self._data):
            self.found = self.found or self._name


def address_nul(scope: Scope) -> Loc | None:
    """A NUL in the path (decoded by the server) or the query string."""
    if NUL in scope["path"]:
        return ["path"]
    query: bytes = scope.get("query_string", b"")
    return ["query", first_nul_field(query.decode("latin-1"))] if b"%00" in query or b"\x00" in query else None


def checked_body(scope: Scope) -> tuple[str, bytes] | None:
    """How a body the app parses as text is checked ("json", "form", "multipart" or "toml"), with its Content-Type.

    JSON as FastAPI decides to parse a body as JSON: no Content-Type, application/json or application/…+json."""
    content_type, has_body = b"", False
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            has_body = True
    if not has_body:
        return None
    media_type = content_type.partition(b";")[0].strip().lower()
    if media_type in (b"", b"application/json") or (media_type.startswith(b"application/")
                                                     and media_type.endswith(b"+json")):
        return "json", content_type
    return (OTHER_TEXT[media_type], content_type) if media_type in OTHER_TEXT else None


class NulGuard:
    """ASGI middleware: a 422 naming the field for text holding a NUL, before the app reads the request."""

    def __init__(self, app: ASGIApp, per_item_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.per_item_paths = per_item_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loc = address_nul(scope)
        body = checked_body(scope) if loc is None and scope["path"] not in self.per_item_paths else None
        if body is not None:
            kind, content_type = body
            multipart = MultipartCheck(content_type) if kind == "multipart" else None
            chunks = await _read(receive, multipart)
            if chunks is None:
                return  # the client left before it sent the whole body
            if multipart is not None:
                loc = ["body", multipart.found] if multipart.found is not None else None
            else:
                loc = {"form": form_nul, "json": json_nul, "toml": toml_nul}[kind](b"".join(chunks))
            receive = _replay(chunks, receive)
        if loc is not None:
            await refusal(scope, loc)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _read(receive: Receive, multipart: MultipartCheck | None) -> list[bytes] | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        if multipart is not None:
            multipart.write(chunk)
        if not message.get("more_body", False):
            return chunks


def _replay(chunks: list[bytes], receive: Receive) -> Receive:
    """The body as it came, then whatever else the client sends (a disconnect)."""
    pending = deque(chunks)

    async def replayed() -> Message:
        if pending:
            chunk = pending.popleft()
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        return await receive()

    return replayed
