"""/api/docs works offline: Swagger UI's page refers to this server alone, which serves the assets itself."""
import re

import pytest


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_api_docs_load_nothing_from_elsewhere(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
    assert urls, page.text
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "/api/openapi.json" in urls
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").headers["content-type"].startswith(
        ("text/javascript", "application/javascript"))
    assert "SwaggerUIBundle" in client.get("/api/docs/assets/swagger-ui-bundle.js").text
