"""The read replica (CANTEEN_DATABASE_REPLICA_URL): read-heavy bureau pages query it, everything else the primary.

The proof runs on a real primary and a hot standby streaming from it (tests/support/pgserver.py): with the
standby's replay paused, a scorecard written on the primary is on the pages of an app without a replica at once,
and on the replica-backed app's pages only once replay resumes.
"""
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from canteen import db
from canteen.access import SYSTEM, Role
from canteen.app import create_app
from canteen.assessment import service as assessment_service
from canteen.assessment.models import Scorecard, ScorecardKind
from canteen.assessment.scoring import AssessmentInput, score
from canteen.assessment.standard import reference_standard
from canteen.auth import service as auth_service
from canteen.auth.models import UserCreate
from canteen.config import Settings
from canteen.org import service as org_service
from canteen.org.models import BureauCreate, CanteenCreate
from tests.support.pgserver import TemporaryPostgres, TemporaryReplica

PASSWORD = "correct-horse-battery"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TOTAL_MARK = 'data-figure="total">73.5<'  # the drill-down's total of the scorecard written below


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[TemporaryPostgres, TemporaryReplica]]:
    # Each context manager stops its server on the way out, and a half-started one before it raises.
    with TemporaryPostgres() as primary, TemporaryReplica(primary) as replica:
        yield primary, replica


def wait_for(condition, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def seed(engine) -> int:
    """A bureau with one canteen, not yet scored, and the bureau's user; returns the canteen's id."""
    with db.session_scope(engine) as session:
        bureau = org_service.create_bureau(session, SYSTEM, BureauCreate(name="P省机关事务管理局"))
        canteen = org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=bureau.id, name="食堂甲"),
                                             "Asia/Shanghai")
        auth_service.create_user(session, SYSTEM, UserCreate(username="bureau_p", password=PASSWORD, role=Role.bureau,
                                                              bureau_id=bureau.id), NOW)
        assessment_service.reference_row(session, NOW)
        assert canteen.id is not None
        return canteen.id


def write_scorecard(engine, canteen_id: int) -> None:
    with db.session_scope(engine) as session:
        body = score(reference_standard(), AssessmentInput(period="2026-10", metrics={}, checklist={})).to_dict()
        session.add(Scorecard(canteen_id=canteen_id, kind=ScorecardKind.monthly, period="2026-10",
                              starts=date(2026, 10, 1), ends=date(2026, 10, 31),
                              standard_id=assessment_service.reference_row(session, NOW).id,
                              total=73.5, grade="良好", vetoed=False, body=body | {"metrics": {}}, computed_at=NOW))


def signed_in(client: TestClient) -> TestClient:
    form = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert form is not None
    response = client.post("/login", data={"username": "bureau_p", "password": PASSWORD, "csrf_token": form[1],
                                           "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def pages(client: TestClient, canteen_id: int) -> dict[str, str]:
    """The bureau pages that read the replica, each as its text (each must answer 200)."""
    found = {}
    for name, address in (("drill-down", f"/canteens/{canteen_id}/assessment?period=2026-10"),
                          ("overview", "/assessment?period=2026-10"),
                          ("export", "/assessment/scorecards.csv?period=2026-10"),
                          ("bulletins", "/assessment/bulletins")):
        response = client.get(address, follow_redirects=False)
        assert response.status_code == 200, (address, response.status_code, response.text[:500])
        found[name] = response.text
    return found


def shows_scorecard(found: dict[str, str]) -> dict[str, bool]:
    return {"drill-down": TOTAL_MARK in found["drill-down"],
            "overview": "<td>73.5</td>" in found["overview"],
            "export": "73.5" in found["export"]}


def test_bureau_pages_read_the_replica_and_writes_go_to_the_primary(servers) -> None:
    primary, replica = servers
    engine = db.make_engine(primary.url)
    db.upgrade(engine)
    canteen_id = seed(engine)
    with_replica = create_app(Settings(database_url=primary.url, database_replica_url=replica.url,
                                       secret_key="test-secret"), clock=lambda: NOW)
    without = create_app(Settings(database_url=primary.url, secret_key="test-secret"), clock=lambda: NOW)
    wait_for(replica.caught_up, "the replica to replay the migrations and the seed")
    try:
        with TestClient(with_replica) as replica_client, TestClient(without) as primary_client:
            signed_in(replica_client)
            signed_in(primary_client)
            nothing = {"drill-down": False, "overview": False, "export": False}
            assert shows_scorecard(pages(replica_client, canteen_id)) == nothing

            replica.sql("SELECT pg_wal_replay_pause()")
            wait_for(lambda: replica.sql("SELECT pg_get_wal_replay_pause_state()") == "paused", "replay to pause")
            write_scorecard(engine, canteen_id)
            everything = {"drill-down": True, "overview": True, "export": True}
            assert shows_scorecard(pages(primary_client, canteen_id)) == everything
            assert shows_scorecard(pages(replica_client, canteen_id)) == nothing
            # Signing in writes (the web session row): it goes to the primary while the replica stands still.
            signed_in(replica_client)

            replica.sql("SELECT pg_wal_replay_resume()")
            wait_for(replica.caught_up, "the replica to replay the scorecard")
            assert shows_scorecard(pages(replica_client, canteen_id)) == everything
    finally:
        replica.sql("SELECT pg_wal_replay_resume()")  # a failed check must not leave the standby paused
        for app in (with_replica, without):
            app.state.read_engine.dispose()
            app.state.engine.dispose()
        engine.dispose()


def test_the_replica_engine_refuses_writes_even_on_the_primary(servers) -> None:
    primary, _ = servers
    primary_engine = db.make_engine(primary.url)
    engine = db.read_engine(primary.url, primary_engine)
    try:
        with Session(engine) as session:
            assert session.exec(text("SELECT 1")).one() == (1,)  # type: ignore[call-overload]
            with pytest.raises(DBAPIError, match="read-only transaction"):
                session.exec(text("CREATE TABLE written_by_mistake (id integer)"))  # type: ignore[call-overload]
    finally:
        engine.dispose()
        primary_engine.dispose()


def test_sqlite_read_engine_is_read_only_and_no_replica_means_the_primary(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'canteen.db'}"
    primary = db.make_engine(url)
    with primary.begin() as connection:
        connection.execute(text("CREATE TABLE kept (id integer)"))
    read = db.read_engine(url, primary)
    try:
        assert db.read_engine("", primary) is primary
        with read.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM kept")).scalar_one() == 0
            with pytest.raises(DBAPIError, match="readonly"):
                connection.execute(text("INSERT INTO kept VALUES (1)"))
    finally:
        read.dispose()
        primary.dispose()


def test_the_setting_is_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CANTEEN_DATABASE_REPLICA_URL", "postgresql+psycopg://reader@replica:5432/canteen")
    assert Settings().database_replica_url == "postgresql+psycopg://reader@replica:5432/canteen"
    monkeypatch.delenv("CANTEEN_DATABASE_REPLICA_URL")
    assert Settings().database_replica_url == ""
