"""A meal's diner count: the largest count it has (check-ins, the count at the door, plates), and which one.

The user's case: dinner with 3 check-ins and 8 weighed plates showed 3 diners and 279 g per diner. Eight plates
are eight diners: 837 g / 8 = 104.6 g.
"""
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from canteen import db
from canteen.access import SYSTEM
from canteen.assessment.metrics import period_metrics
from canteen.org.models import Meal
from canteen.weighing import service
from canteen.weighing.models import CheckIn, DailyRollup, DinerCountEntry, DinerSource

DAY = date(2026, 11, 23)
LUNCH = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
PLATES = [100, 120, 90, 110, 95, 105, 80, 137]  # 837 g


def post_plates(client, org, grams: list[int], first_seq: int = 1) -> None:
    items = [{"seq": first_seq + i, "measured_at": (LUNCH + timedelta(minutes=i)).isoformat(), "grams": g}
             for i, g in enumerate(grams)]
    response = client.post("/api/v1/weighings", json={"items": items},
                           headers={"Authorization": f"Bearer {org.station_keys['a']}"})
    assert response.json()["accepted"] == len(grams)


def check_in(session, canteen: int, people: int) -> None:
    session.add_all(CheckIn(canteen_id=canteen, service_date=DAY, meal=Meal.lunch, at=LUNCH + timedelta(minutes=i))
                    for i in range(people))
    service.mark_stale(session, canteen, [DAY])
    session.commit()


def count_at_door(session, canteen: int, diners: int) -> None:
    service.record_diner_count(session, SYSTEM, canteen, DinerCountEntry(service_date=DAY, meal=Meal.lunch,
                                                                         diners=diners), LUNCH)
    session.commit()


def lunch_rollup(session, canteen: int) -> DailyRollup:
    service.refresh_stale(session, LUNCH + timedelta(hours=2), canteen)
    session.commit()
    return session.exec(select(DailyRollup).where(DailyRollup.canteen_id == canteen, DailyRollup.meal == Meal.lunch,
                                                  DailyRollup.service_date == DAY)).one()


@pytest.fixture
def eight_plates(client, org, clock):
    clock.now = LUNCH + timedelta(hours=1)
    post_plates(client, org, PLATES)
    return org.canteens["a"]


def test_partial_check_ins_do_not_replace_the_plates(session, eight_plates):
    check_in(session, eight_plates, 3)
    row = lunch_rollup(session, eight_plates)
    assert (row.diners, row.diner_source, row.checkins, row.plates) == (8, DinerSource.plates, 3, 8)
    day = service.daily_series(session, SYSTEM, eight_plates, DAY, DAY, LUNCH + timedelta(hours=2)).loc[DAY]
    assert day["plate_waste_per_diner_g"] == pytest.approx(104.625)
    assert day["checkins"] == 3


def test_check_ins_count_when_they_are_the_most(session, eight_plates):
    check_in(session, eight_plates, 10)  # two diners did not return their plates to the scale
    row = lunch_rollup(session, eight_plates)
    assert (row.diners, row.diner_source, row.checkins) == (10, DinerSource.checkins, 10)


def test_a_tie_goes_to_the_check_ins(session, eight_plates):
    check_in(session, eight_plates, 8)
    assert lunch_rollup(session, eight_plates).diner_source is DinerSource.checkins


def test_the_count_at_the_door_beats_fewer_check_ins_and_plates(session, eight_plates):
    check_in(session, eight_plates, 7)
    count_at_door(session, eight_plates, 9)
    row = lunch_rollup(session, eight_plates)
    assert (row.diners, row.diner_source, row.counted_diners, row.checkins) == (9, DinerSource.operator, 9, 7)


def test_a_count_at_the_door_below_the_plates_is_not_used(session, eight_plates):
    count_at_door(session, eight_plates, 5)
    row = lunch_rollup(session, eight_plates)
    assert (row.diners, row.diner_source, row.counted_diners) == (8, DinerSource.plates, 5)


def test_the_score_metric_divides_by_the_larger_count(session, eight_plates):
    check_in(session, eight_plates, 3)
    lunch_rollup(session, eight_plates)
    metric = period_metrics(session, [eight_plates], DAY, DAY)[eight_plates]["plate_waste_g_per_diner"]
    assert metric.value == pytest.approx(837 / 8, abs=0.05)


def test_the_dashboard_names_the_source_and_notes_the_partial_check_ins(session, sign_in, eight_plates):
    check_in(session, eight_plates, 3)
    page = sign_in("operator_a").get(f"/canteens/{eight_plates}/dashboard").text
    row = re.search(r'<tr data-meal="lunch">(.*?)</tr>', page, re.S).group(1)
    assert 'data-diners="8"' in row and "称重餐盘" in row
    assert re.search(r'data-figure="per-diner">104.6<', page)
    note = re.search(r'<p class="note diner-note">([^<]*)</p>', page).group(1)
    assert note == "午餐：签到 3 人；本餐按称重餐盘计 8 人。"


def test_no_note_when_the_check_ins_are_the_count(session, sign_in, eight_plates):
    check_in(session, eight_plates, 8)
    page = sign_in("operator_a").get(f"/canteens/{eight_plates}/dashboard").text
    assert "diner-note" not in page


@pytest.fixture
def fresh_url(database_url, tmp_path):
    """An empty database on the same kind of server, for a migration from an older schema."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("DROP DATABASE IF EXISTS rollup_migration"))
        connection.execute(sa.text("CREATE DATABASE rollup_migration"))
    yield database_url.rsplit("/", 1)[0] + "/rollup_migration"
    with admin.connect() as connection:
        connection.execute(sa.text("DROP DATABASE rollup_migration WITH (FORCE)"))
    admin.dispose()


def test_the_migration_recounts_rollups_stored_the_old_way(fresh_url):
    """Rollups written before 0007 took 3 check-ins over 8 plates; after the upgrade they count 8."""
    engine = db.make_engine(fresh_url)
    db.upgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO bureau (id, name, parent_id, path, level) VALUES (1, '局', NULL, '/1/', 'province')"))
        connection.execute(sa.text(
            "INSERT INTO canteen (id, bureau_id, name, operating_mode, serving_mode, timezone)"
            " VALUES (1, 1, '食堂', 'self-run', 'buffet', 'Asia/Shanghai')"))
        for meal, checked_in in (("lunch", 3), ("dinner", 12)):
            for minute in range(checked_in):
                connection.execute(sa.text(
                    "INSERT INTO checkin (canteen_id, service_date, meal, at) VALUES (1, '2026-11-23', :meal, :at)"),
                    {"meal": meal, "at": LUNCH + timedelta(minutes=minute)})
            connection.execute(sa.text(
                "INSERT INTO dailyrollup (canteen_id, service_date, meal, diners, diner_source, plates, plate_waste_g,"
                " clean_plates, kitchen_scraps_g, trimmings_g, unserved_g, other_kitchen_g, stations_reporting,"
                " stations_expected, computed_at)"
                " VALUES (1, '2026-11-23', :meal, :diners, 'checkins', 8, 837, 0, 0, 0, 0, 0, 1, 1, :at)"),
                {"meal": meal, "diners": checked_in, "at": LUNCH})
    db.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT meal, diners, diner_source, checkins, counted_diners FROM dailyrollup ORDER BY meal")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("dinner", 12, "checkins", 12, None), ("lunch", 8, "plates", 3, None)]
