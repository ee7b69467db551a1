"""Rollups and series on hand-computed days, without HTTP."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from canteen.access import SYSTEM, Role, Scope
from canteen.errors import Forbidden, InvalidInput, NotFound
from canteen.org import service as org_service
from canteen.org.models import CanteenUpdate, Meal, Station, StationCreate
from canteen.weighing import service
from canteen.weighing.models import (
    DailyRollup,
    DinerCountEntry,
    DinerSource,
    KitchenCategory,
    KitchenEntry,
    PlateWeighing,
)

DAY = date(2026, 11, 20)


def lunch_time(minute: int, day: date = DAY) -> datetime:
    """Lunch in Shanghai (12:00 local is 04:00 UTC)."""
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC) + timedelta(minutes=minute)


def ingest(session, org, grams: list[int], day: date = DAY, station: str = "a", first_seq: int = 1, now=None):
    station_row = session.get(Station, org.stations[station])
    items = [{"seq": first_seq + i, "measured_at": lunch_time(i, day).isoformat(), "grams": g}
             for i, g in enumerate(grams)]
    result = service.ingest(session, station_row, items, now or lunch_time(120, day))
    session.commit()
    return result


def rollup(session, canteen_id: int, day: date = DAY, meal: Meal = Meal.lunch) -> DailyRollup:
    service.refresh_stale(session, lunch_time(300, day), canteen_id)
    return session.exec(select(DailyRollup).where(DailyRollup.canteen_id == canteen_id,
                                                  DailyRollup.service_date == day, DailyRollup.meal == meal)).one()


def test_hand_computed_day(session, org):
    """Six plates: 0, 5, 10, 11, 120 and 54 g.

    Clean (at most 10 g): 0, 5, 10, so 3 of 6, a rate of 0.5. Waste 200 g over 6 diners (no count given,
    one diner per plate) is 33.33 g per diner. The operator then counts 8 diners at the door: 25 g per diner.
    Kitchen: 3,000 g scraps + 1,500 g trimmings = 4,500 g, 562.5 g per diner.
    A second plate-return station that sent nothing halves the coverage.
    """
    canteen = org.canteens["a"]
    ingest(session, org, [0, 5, 10, 11, 120, 54])
    row = rollup(session, canteen)
    assert (row.plates, row.diners, row.plate_waste_g, row.clean_plates) == (6, 6, 200, 3)
    assert row.diner_source is DinerSource.plates
    assert (row.stations_reporting, row.stations_expected) == (1, 1)

    now = lunch_time(200)
    org_service.create_station(session, SYSTEM, StationCreate(canteen_id=canteen, name="回收台2"))
    service.record_diner_count(session, SYSTEM, canteen, DinerCountEntry(service_date=DAY, meal=Meal.lunch,
                                                                         diners=8), now)
    for category, grams in ((KitchenCategory.kitchen_scraps, 3000), (KitchenCategory.trimmings, 1500)):
        service.record_kitchen_waste(session, SYSTEM, canteen, KitchenEntry(
            service_date=DAY, meal=Meal.lunch, category=category, grams=grams), now)
    session.commit()
    series = service.daily_series(session, SYSTEM, canteen, DAY, DAY, now)
    day = series.loc[DAY]
    assert (day["diners"], day["plates"], day["plate_waste_g"]) == (8, 6, 200)
    assert day["plate_waste_per_diner_g"] == 25.0 and day["clean_plate_rate"] == 0.5
    assert (day["kitchen_scraps_g"], day["trimmings_g"], day["kitchen_total_g"]) == (3000, 1500, 4500)
    assert day["kitchen_per_diner_g"] == 562.5 and day["coverage"] == 0.5
    assert rollup(session, canteen).diner_source is DinerSource.operator


def test_threshold_is_the_canteens_own(session, org):
    org_service.update_canteen(session, SYSTEM, org.canteens["a"],
                               CanteenUpdate(clean_plate_threshold_g=0, applies_from=DAY), lunch_time(0))
    ingest(session, org, [0, 5, 10])
    assert rollup(session, org.canteens["a"]).clean_plates == 1


def test_late_data_updates_the_rollup_and_recompute_is_idempotent(session, org):
    canteen = org.canteens["a"]
    ingest(session, org, [10, 20])
    assert rollup(session, canteen).plate_waste_g == 30
    # A gateway that was offline uploads two more plates the next day.
    ingest(session, org, [30, 40], first_seq=3, now=lunch_time(24 * 60))
    assert rollup(session, canteen).plate_waste_g == 100
    before = rollup(session, canteen).model_dump(exclude={"computed_at"})
    service.recompute_rollups(session, canteen, [DAY], lunch_time(999))
    service.recompute_rollups(session, canteen, [DAY], lunch_time(999))
    session.commit()
    assert rollup(session, canteen).model_dump(exclude={"computed_at"}) == before
    assert len(session.exec(select(DailyRollup)).all()) == 1


def test_plates_outside_every_window_are_kept_but_not_rolled_up(session, org):
    station = session.get(Station, org.stations["a"])
    afternoon = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 16:00 local: lunch ended 150 minutes before
    result = service.ingest(session, station, [{"seq": 1, "measured_at": afternoon.isoformat(), "grams": 80}],
                            afternoon)
    session.commit()
    assert result.accepted == 1
    service.refresh_stale(session, afternoon, org.canteens["a"])
    assert session.exec(select(DailyRollup)).all() == []


def test_kitchen_correction_keeps_the_original(session, org):
    canteen = org.canteens["a"]
    now = lunch_time(200)
    entry = KitchenEntry(service_date=DAY, meal=Meal.lunch, category=KitchenCategory.unserved, grams=9000)
    original = service.record_kitchen_waste(session, SYSTEM, canteen, entry, now)
    fixed = service.record_kitchen_waste(session, SYSTEM, canteen, entry.model_copy(update={"grams": 900}), now,
                                         corrects=original.id)
    session.commit()
    assert rollup(session, canteen).unserved_g == 900
    records = service.kitchen_records(session, SYSTEM, canteen, DAY, DAY)
    assert [(r.grams, r.superseded_by) for r in records] == [(900, None), (9000, fixed.id)]
    with pytest.raises(InvalidInput):
        service.record_kitchen_waste(session, SYSTEM, canteen, entry, now, corrects=original.id)
    with pytest.raises(NotFound):
        service.record_kitchen_waste(session, SYSTEM, org.canteens["b"], entry, now, corrects=fixed.id)


def test_bureau_reads_but_does_not_record(session, org):
    bureau = Scope(user_id=org.users["bureau_c1"], role=Role.bureau, bureau_path=f"/{org.province}/{org.c1}/")
    entry = KitchenEntry(service_date=DAY, meal=Meal.lunch, category=KitchenCategory.other, grams=1)
    with pytest.raises(Forbidden):
        service.record_kitchen_waste(session, bureau, org.canteens["a"], entry, lunch_time(0))
    assert service.kitchen_records(session, bureau, org.canteens["a"], DAY, DAY) == []


def test_week_on_week_and_year_on_year(session, org):
    canteen = org.canteens["a"]
    last_week, last_year = DAY - timedelta(days=7), DAY - timedelta(days=364)
    # Old days are loaded straight through the rollup: ingest refuses data older than 30 days.
    for day, grams in ((last_year, [100, 100]), (last_week, [40, 40]), (DAY, [30, 30])):
        for minute, g in enumerate(grams):
            session.add(_plate(org, day, minute, g))
        service.mark_stale(session, canteen, [day])
    session.commit()
    series = service.daily_series(session, SYSTEM, canteen, DAY - timedelta(days=1), DAY, lunch_time(500))
    assert series.loc[DAY, "plate_waste_per_diner_g_wow"] == pytest.approx(30 / 40 - 1)
    assert series.loc[DAY, "plate_waste_per_diner_g_yoy"] == pytest.approx(30 / 100 - 1)
    assert series.loc[DAY - timedelta(days=1)].isna()["plate_waste_per_diner_g"]
    assert list(series.index) == [DAY - timedelta(days=1), DAY]


def _plate(org, day: date, minute: int, grams: int):
    return PlateWeighing(station_id=org.stations["a"], seq=int(day.strftime("%Y%m%d")) * 100 + minute,
                         canteen_id=org.canteens["a"], measured_at=lunch_time(minute, day), service_date=day,
                         meal=Meal.lunch, grams=grams, received_at=lunch_time(minute, day))


def test_one_batch_places_items_on_several_days_and_meals(session, org):
    """Default windows (Shanghai, UTC+8): breakfast 07:00-09:00, lunch 11:30-13:30, dinner 17:30-19:30; a plate
    returned up to 60 min after a window closes still counts for it.

    Local times: 20 Nov 12:00 lunch; 20 Nov 20:15 dinner (45 min late); 20 Nov 20:45 none (75 min late, kept
    under its local date); 21 Nov 07:30 breakfast; 21 Nov 12:00 lunch.
    """
    shanghai = timedelta(hours=8)
    local = [datetime(2026, 11, 20, 12, 0), datetime(2026, 11, 20, 20, 15), datetime(2026, 11, 20, 20, 45),
             datetime(2026, 11, 21, 7, 30), datetime(2026, 11, 21, 12, 0)]
    items = [{"seq": seq, "measured_at": (moment - shanghai).replace(tzinfo=UTC).isoformat(), "grams": 20}
             for seq, moment in enumerate(local, start=1)]
    station = session.get(Station, org.stations["a"])
    result = service.ingest(session, station, items, datetime(2026, 11, 21, 6, 0, tzinfo=UTC))
    session.commit()
    assert result.accepted == 5
    stored = session.exec(select(PlateWeighing).order_by(PlateWeighing.seq)).all()
    assert [(p.service_date, p.meal) for p in stored] == [
        (date(2026, 11, 20), Meal.lunch), (date(2026, 11, 20), Meal.dinner), (date(2026, 11, 20), None),
        (date(2026, 11, 21), Meal.breakfast), (date(2026, 11, 21), Meal.lunch)]
