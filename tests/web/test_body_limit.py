"""Request bodies are capped before they are read: a 413 with the reason, for the API and for pages."""
import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from canteen.app import create_app
from canteen.web.body_limit import BodyLimit
from tests.support.files import image_bytes

MAX_BODY, MAX_UPLOAD = 4 * 1024, 64 * 1024


@pytest.fixture
def small_app(engine, settings, clock):
    application = create_app(settings.model_copy(update={"max_body_bytes": MAX_BODY,
                                                         "max_upload_bytes": MAX_UPLOAD}), clock=clock)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def small(small_app):
    with TestClient(small_app) as client:
        yield client


def chunks(size: int, count: int):
    for _ in range(count):
        yield b"a" * size


def test_the_defaults_take_a_full_weighing_batch_and_evidence_files(settings):
    assert settings.max_body_bytes == 2**20 and settings.max_upload_bytes == 32 * 2**20


def test_an_api_body_declared_too_large_is_refused_in_the_api_shape(small, org):
    response = small.post("/api/v1/auth/token", content=b"{" + b" " * MAX_BODY + b"}",
                          headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"detail": [{"loc": ["body"], "msg": "请求过大：最多 4 KB", "type": "PayloadTooLarge"}]}
    english = small.post("/api/v1/auth/token", content=b" " * (MAX_BODY + 1),
                         headers={"content-type": "application/json", "accept-language": "en"})
    assert english.json()["detail"][0]["msg"] == "the request is too large: at most 4 KB"


def test_a_chunked_body_is_counted_as_it_arrives(small, org):
    """No Content-Length: the bytes are counted, and the app's answer to the cut-off body is replaced."""
    response = small.post("/api/v1/auth/token", content=chunks(1024, 10), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["detail"][0]["type"] == "PayloadTooLarge"
    # The station's batch endpoint likewise (the gateway halves its batch on a 413).
    batch = small.post("/api/v1/weighings", content=chunks(1024, 10), headers={
        "content-type": "application/json", "authorization": f"Bearer {org.station_keys['a']}"})
    assert batch.status_code == 413


def test_a_page_form_too_large_gets_the_error_page(small, org):
    response = small.post("/login", data={"username": "x" * MAX_BODY, "password": "p", "csrf_token": "t"})
    assert response.status_code == 413
    assert "<h1>内容过大</h1>" in response.text and "请求过大：最多 4 KB" in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


def form_token(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]


def test_uploads_have_the_larger_cap(small, org):
    """A form with a file, bigger than the form cap but within the upload cap, is taken; past that cap the files
    are refused and nothing is stored."""
    assert small.post("/login", data={"username": "operator_a", "password": "correct-horse-battery", "next": "/",
                                      "csrf_token": form_token(small)}, follow_redirects=False).status_code == 303
    url = f"/canteens/{org.canteens['a']}/self-evaluation?period=2026-Q4"
    notes = {f"note_{item}": "说" * 1000 for item in ("S1", "S2")}  # 6 KB of UTF-8: more than a form may carry
    saved = small.post(url, data={"csrf_token": form_token(small), "action": "save", "answer_S1": "met",
                                  "answer_S2": "met", **notes},
                       files={"photos": ("宣传栏.png", image_bytes("PNG"), "image/png")}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    refused = small.post(url, data={"csrf_token": form_token(small), "action": "save"},
                         files={"photos": ("大.png", bytes(MAX_UPLOAD), "image/png")})
    assert refused.status_code == 413 and "所传文件过大：合计最多 64 KB" in refused.text
    page = small.get(url).text
    assert "宣传栏.png" in page and "大.png" not in page


def run_asgi(app, messages: list[dict], headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """The status sent and how many body messages the app pulled from `receive`."""
    pulled = 0
    sent: list[dict] = []

    async def receive():
        nonlocal pulled
        pulled += 1
        return messages[pulled - 1] if pulled <= len(messages) else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": headers, "query_string": b"",
             "app": None}
    # In a thread of its own: the session's browser (tests/e2e) may keep an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return sent[0]["status"], pulled


def reading_app():
    """An app that reads the whole body, as a form parser would."""
    async def app(scope, receive, send):
        body = await Request(scope, receive).body()
        await PlainTextResponse(f"{len(body)} bytes")(scope, receive, send)

    return app


def test_reading_stops_at_the_first_chunk_past_the_cap(monkeypatch):
    monkeypatch.setattr("canteen.web.body_limit.too_large_response",
                        lambda scope, limit: PlainTextResponse("too large", status_code=413))
    limited = BodyLimit(reading_app(), max_bytes=3000, max_upload_bytes=10_000)
    many = [{"type": "http.request", "body": b"a" * 1000, "more_body": True} for _ in range(100)]
    assert run_asgi(limited, many, []) == (413, 4)  # 4,000 bytes read of the 100,000 sent
    assert run_asgi(limited, many[:2] + [{"type": "http.request", "body": b""}], []) == (200, 3)
    # Declared too large: not one message is read.
    assert run_asgi(limited, many, [(b"content-length", b"100000")]) == (413, 0)
    upload = [(b"content-type", b"multipart/form-data; boundary=x")]
    assert run_asgi(limited, many, upload) == (413, 11)
