"""Security headers on every response, and templates that need no inline script."""
import base64
import hashlib
import re
from pathlib import Path

import pytest

import canteen

DEFAULT_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                  "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
                  "frame-ancestors 'none'")
TEMPLATES = sorted(Path(canteen.__file__).parent.glob("**/templates/**/*.html"))


def assert_hardened(response, policy: str = DEFAULT_POLICY) -> None:
    assert response.headers["content-security-policy"] == policy
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/login", "/", "/no-such-page", "/static/style.css", "/static/page.js",
                                  "/api/v1/canteens", "/api/openapi.json", "/healthz", "/bulletins",
                                  "/lang/en?next=/"])
def test_every_kind_of_response_carries_the_headers(client, org, path):
    response = client.get(path, follow_redirects=False)
    assert_hardened(response)


def test_signed_in_pages_and_refusals_carry_them_too(client, sign_in, org):
    sign_in("operator_a")
    assert_hardened(client.get(f"/canteens/{org.canteens['a']}"))
    assert_hardened(client.get(f"/canteens/{org.canteens['b']}"))  # 404: not this operator's
    assert_hardened(client.post("/logout", data={"csrf_token": "wrong"}))  # 403


def test_the_api_docs_may_run_their_own_inline_script_and_no_other(client):
    response = client.get("/api/docs")
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", response.text, re.S)
    assert scripts, "Swagger UI starts from an inline script"
    hashes = sorted(f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"
                    for text in scripts)
    assert_hardened(response, DEFAULT_POLICY.replace("script-src 'self'", "script-src 'self' " + " ".join(hashes)))
    # Only that page: the policy of every other page allows no inline script at all.
    assert "sha256-" not in client.get("/api/openapi.json").headers["content-security-policy"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_template_has_inline_script(template):
    """What the policy would block: inline <script> elements, on…= handlers, javascript: addresses."""
    text = template.read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []
    assert re.findall(r"<[^>]*\son[a-z]+\s*=", text) == []
    assert "javascript:" not in text.lower()
