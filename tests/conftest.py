"""Fixtures: every database test runs once on SQLite and once on a real PostgreSQL server."""
import os
import re

# Real Argon2id, at a cost that keeps hundreds of sign-ins per run affordable.
os.environ.setdefault("CANTEEN_PASSWORD_TIME_COST", "1")
os.environ.setdefault("CANTEEN_PASSWORD_MEMORY_KIB", "1024")
# Servers started by tests run no background jobs; tests/test_scheduler.py starts the scheduler itself.
os.environ.setdefault("CANTEEN_SCHEDULER", "false")
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from canteen import db
from canteen.access import SYSTEM, Role
from canteen.app import create_app
from canteen.auth import service as auth_service
from canteen.auth.models import UserCreate
from canteen.config import Settings
from canteen.org import service as org_service
from canteen.org.models import BureauCreate, CanteenCreate, ServingMode, StationCreate, StationKind
from tests.support import database
from tests.support.pgserver import TemporaryPostgres

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'canteen.db'}"
    return request.getfixturevalue("postgres_server").url


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    yield migrated_engine
    database.empty(migrated_engine)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@dataclass
class Clock:
    """A settable clock: tests move time instead of sleeping."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret", language="zh_CN")


@pytest.fixture
def app(engine: Engine, settings: Settings, clock: Clock):
    application = create_app(settings, clock=clock)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def org(engine: Engine, clock: Clock) -> SimpleNamespace:
    """Two tenants side by side.

    Province P has cities C1 and C2; county K1 is under C1, county K2 under C2.
    Canteen A sits in K1, canteen B in K2, canteen H directly in C1.
    Users: admin, bureau_c1 (sees A and H), bureau_k2 (sees B), operator_a, operator_b, diner_a.
    """
    with db.session_scope(engine) as session:
        province = org_service.create_bureau(session, SYSTEM, BureauCreate(name="P省机关事务管理局"))
        c1 = org_service.create_bureau(session, SYSTEM, BureauCreate(name="C1市", parent_id=province.id))
        c2 = org_service.create_bureau(session, SYSTEM, BureauCreate(name="C2市", parent_id=province.id))
        k1 = org_service.create_bureau(session, SYSTEM, BureauCreate(name="K1县", parent_id=c1.id))
        k2 = org_service.create_bureau(session, SYSTEM, BureauCreate(name="K2县", parent_id=c2.id))
        canteens = {}
        for key, bureau, mode in (("a", k1, ServingMode.buffet), ("b", k2, ServingMode.portioned),
                                  ("h", c1, ServingMode.set_meal)):
            canteens[key] = org_service.create_canteen(
                session, SYSTEM, CanteenCreate(bureau_id=bureau.id, name=f"食堂{key.upper()}", serving_mode=mode),
                "Asia/Shanghai")
        stations, keys = {}, {}
        for key, canteen in canteens.items():
            station, station_key = org_service.create_station(
                session, SYSTEM, StationCreate(canteen_id=canteen.id, name="回收台1", kind=StationKind.plate_return))
            stations[key], keys[key] = station.id, station_key
        users = {}
        for username, role, bureau_id, canteen_ids in (
            ("admin", Role.admin, None, []),
            ("bureau_c1", Role.bureau, c1.id, []),
            ("bureau_k2", Role.bureau, k2.id, []),
            ("operator_a", Role.operator, None, [canteens["a"].id]),
            ("operator_b", Role.operator, None, [canteens["b"].id]),
            ("diner_a", Role.diner, None, [canteens["a"].id]),
        ):
            user = auth_service.create_user(session, SYSTEM, UserCreate(
                username=username, password=PASSWORD, role=role, bureau_id=bureau_id, canteen_ids=canteen_ids),
                clock())
            users[username] = user.id
        return SimpleNamespace(
            province=province.id, c1=c1.id, c2=c2.id, k1=k1.id, k2=k2.id,
            canteens={key: canteen.id for key, canteen in canteens.items()},
            stations=stations, station_keys=keys, users=users,
        )


@pytest.fixture
def api_headers(client: TestClient, org) -> Callable[[str], dict[str, str]]:
    """Bearer headers for a fixture user, obtained through the public token endpoint."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.text
            cache[username] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return cache[username]

    return headers


def csrf_token(client: TestClient) -> str:
    """The token a page gives this client's forms now (it is bound to the client's session, so it changes at
    sign-in), read from the sign-in page as a browser would."""
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found[1]


@pytest.fixture
def sign_in(client: TestClient, org) -> Callable[[str], TestClient]:
    def signed_in(username: str) -> TestClient:
        response = client.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": csrf_token(client), "next": "/"},
                               follow_redirects=False)
        assert response.status_code == 303, response.text
        return client

    return signed_in


@pytest.fixture
def csrf(client: TestClient) -> Callable[[], str]:
    """The CSRF token a browser would hold for this client (its cookie, set by any page)."""
    return lambda: csrf_token(client)
