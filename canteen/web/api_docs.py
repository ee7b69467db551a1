"""The API's documentation page (/api/docs): Swagger UI served from the installed swagger-ui-bundle package.

FastAPI's own page loads Swagger UI from a public CDN, which shows nothing on a network without one (a canteen's
intranet) and runs script from a third party; here every asset comes from this server.
"""
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_URL = "/api/docs"
ASSETS_URL = "/api/docs/assets"


def install(app: FastAPI) -> None:
    """The docs page and its assets; the app is made with docs_url=None so FastAPI adds no page of its own."""
    assert app.openapi_url is not None
    openapi_url = app.openapi_url

    @app.get(DOCS_URL, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} API",
                                   swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png")

    app.mount(ASSETS_URL, StaticFiles(directory=str(swagger_ui_path)), name="api-docs-assets")
