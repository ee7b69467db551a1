"""App factory: health check, OpenAPI, static files."""
from fastapi.testclient import TestClient

from canteen.app import create_app
from canteen.config import Settings


def test_health_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}


def test_health_fails_when_the_database_is_unreachable():
    # Nothing listens on port 1, so the check must fail rather than pretend.
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def test_openapi_documents_the_api(client):
    assert client.get("/api/docs").status_code == 200
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/canteens" in paths and "/api/v1/stations/me" in paths and "/login" not in paths


def test_static_stylesheet_is_served(client):
    assert client.get("/static/style.css").status_code == 200
