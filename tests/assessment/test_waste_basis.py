"""The scorecard's plate-waste basis as columns: filled from the body by migration 0012, by the ORM and by the
monthly run, and what the overview's waste by bureau sums."""
import json
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlmodel import Session, select

from canteen import db
from canteen.assessment.models import Scorecard, ScorecardKind, plate_waste_basis
from tests.support.database import insert_first_canteen
from tests.test_cli import empty_database_url  # noqa: F401  (a fixture)

BODY = {"total": 80.0, "metrics": {"plate_waste_g_per_diner": {"basis": {"plate_waste_g": 1200, "diners": 40}}}}


def test_the_basis_is_read_from_a_body_or_none():
    assert plate_waste_basis(BODY) == (1200.0, 40.0)
    assert plate_waste_basis({"metrics": {}}) == (None, None)
    assert plate_waste_basis({"metrics": {"plate_waste_g_per_diner": {"basis": {"plate_waste_g": "x"}}}}) == (
        None, None)


def test_migration_0012_fills_the_columns_from_the_bodies(empty_database_url):  # noqa: F811
    engine = db.make_engine(empty_database_url)
    try:
        db.upgrade(engine, "0011")
        with engine.begin() as connection:
            insert_first_canteen(connection)
            connection.execute(text("INSERT INTO assessmentstandard (code, version, title, content_hash, source, "
                                    "loaded_at) VALUES ('S', '1', 'S', 'h', '', '2026-11-01 00:00:00+00:00')"))
            for period, body in (("2026-10", BODY), ("2026-09", {"metrics": {}})):
                connection.execute(text(
                    "INSERT INTO scorecard (canteen_id, kind, period, starts, ends, standard_id, total, grade, "
                    "vetoed, body, computed_at) VALUES (1, 'monthly', :period, '2026-10-01', '2026-10-31', 1, 80, "
                    "'良好', false, :body, '2026-11-01 00:00:00+00:00')"), {"period": period, "body": json.dumps(body)})
        db.upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT period, plate_waste_g, diners FROM scorecard ORDER BY period")
                                      ).all() == [("2026-09", None, None), ("2026-10", 1200.0, 40.0)]
    finally:
        engine.dispose()


def test_a_scorecard_written_through_the_orm_keeps_its_columns_in_step(session, org):
    card = Scorecard(canteen_id=org.canteens["a"], kind=ScorecardKind.monthly, period="2026-10",
                     starts=date(2026, 10, 1), ends=date(2026, 10, 31), standard_id=_standard(session), total=80,
                     grade="良好", body=BODY, computed_at=datetime(2026, 11, 1, tzinfo=UTC))
    session.add(card)
    session.flush()
    assert (card.plate_waste_g, card.diners) == (1200.0, 40.0)
    card.body = {"metrics": {"plate_waste_g_per_diner": {"basis": {"plate_waste_g": 300, "diners": 12}}}}
    session.flush()
    session.expire_all()
    stored = session.exec(select(Scorecard)).one()
    assert (stored.plate_waste_g, stored.diners) == (300.0, 12.0)


def _standard(session: Session) -> int:
    from canteen.assessment import service
    return service.reference_row(session, datetime(2026, 11, 1, tzinfo=UTC)).id
