"""App factory: health check, OpenAPI, static files."""
import pytest
from fastapi.testclient import TestClient

from canteen import app as app_module
from canteen import db
from canteen.app import create_app, create_demo_app
from canteen.config import DEFAULT_SECRET_KEY, Settings
from canteen.errors import InvalidInput
from tests import test_cli

empty_database_url = test_cli.empty_database_url  # the fixture: a database with no tables, on each backend


def test_health_reports_the_database_and_its_schema(client, engine):
    head = db.schema_state(engine).head
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "schema": "current", "head": head, "current": head}


def test_health_fails_on_a_database_without_the_schema(empty_database_url, engine):
    head = db.schema_state(engine).head
    settings = Settings(database_url=empty_database_url, secret_key="test-secret")
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            response = client.get("/healthz")
    finally:
        app.state.engine.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "schema": "behind", "head": head,
                               "current": None}


def test_health_fails_on_a_schema_behind_the_head(empty_database_url, engine):
    settings = Settings(database_url=empty_database_url, secret_key="test-secret")
    app = create_app(settings)
    try:
        db.upgrade(app.state.engine, "0001")
        with TestClient(app) as client:
            response = client.get("/healthz")
    finally:
        app.state.engine.dispose()
    assert response.status_code == 503
    assert (response.json()["schema"], response.json()["current"]) == ("behind", "0001")


def test_health_fails_when_the_database_is_unreachable():
    # Nothing listens on port 1, so the check must fail rather than pretend.
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", secret_key="test-secret")
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def test_openapi_documents_the_api(client):
    assert client.get("/api/docs").status_code == 200
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/canteens" in paths and "/api/v1/stations/me" in paths and "/login" not in paths


def test_static_stylesheet_is_served(client):
    assert client.get("/static/style.css").status_code == 200


@pytest.mark.parametrize("key", [DEFAULT_SECRET_KEY, ""])
def test_the_factory_refuses_the_default_secret_key(settings, key):
    # uvicorn may be pointed at canteen.app:create_app directly (--factory), without `canteen serve`.
    with pytest.raises(InvalidInput) as refused:
        create_app(settings.model_copy(update={"secret_key": key}))
    assert str(refused.value).startswith("CANTEEN_SECRET_KEY is empty or the default")


def test_the_demo_factory_allows_the_default_secret_key(settings, monkeypatch):
    demo_settings = settings.model_copy(update={"secret_key": DEFAULT_SECRET_KEY})
    monkeypatch.setattr(app_module, "get_settings", lambda: demo_settings)
    app = create_demo_app()
    try:
        assert app.state.settings.secret_key == DEFAULT_SECRET_KEY
    finally:
        app.state.engine.dispose()
