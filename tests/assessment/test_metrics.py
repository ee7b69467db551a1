"""The assessment metrics of canteens for a period, computed from the database, each with its basis."""
import json
from datetime import UTC, date, datetime

import pytest

from canteen.access import SYSTEM
from canteen.assessment.metrics import (
    MetricValue,
    basis_dict,
    period_metrics,
    previous_period,
    to_input,
    year_earlier,
)
from canteen.assessment.scoring import AssessmentInput
from canteen.assessment.standard import METRICS
from canteen.assessment.views import BASIS_LABELS
from canteen.org.models import Meal
from canteen.reservation import service as reservation_service
from canteen.reservation.models import Booking, BookingStatus, ClosedDay, DishCreate, ForecastSnapshot
from canteen.weighing import service as weighing_service
from canteen.weighing.costs import service as costs_service
from canteen.weighing.costs.models import FactorsUpdate, WasteStage
from canteen.weighing.models import (
    CheckIn,
    DailyRollup,
    DinerCountEntry,
    DinerSource,
    KitchenCategory,
    KitchenEntry,
    PlateWeighing,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = (date(2026, 11, day) for day in range(16, 21))


def add_rollup(session, canteen: int, day: date, meal: Meal, diners: int, plates: int = 0, waste_g: int = 0,
               clean: int = 0) -> None:
    session.add(DailyRollup(canteen_id=canteen, service_date=day, meal=meal, diners=diners,
                            diner_source=DinerSource.plates if plates else DinerSource.operator, plates=plates,
                            plate_waste_g=waste_g, clean_plates=clean, stations_reporting=1, stations_expected=1,
                            computed_at=NOW))


def add_plates(session, org, canteen: str, day: date, meal: Meal, grams: list[int]) -> None:
    for number, weight in enumerate(grams):
        session.add(PlateWeighing(station_id=org.stations[canteen], seq=day.toordinal() * 100 + number,
                                  canteen_id=org.canteens[canteen], measured_at=NOW, service_date=day, meal=meal,
                                  grams=weight, received_at=NOW))


def add_snapshot(session, canteen: int, day: date, expected: int) -> None:
    session.add(ForecastSnapshot(canteen_id=canteen, service_date=day, meal=Meal.lunch, booked=expected,
                                 expected=expected, low=expected, high=expected, method="bookings", made_at=NOW))


def values(metrics: dict[str, MetricValue]) -> dict[str, float | None]:
    return {name: metric.value for name, metric in metrics.items()}


@pytest.fixture
def week_at_a(session, org):
    """Canteen A, Monday to Friday 16-20 November 2026 (no holidays), with what each metric needs."""
    canteen = org.canteens["a"]
    # Monday lunch: 4 plates (two at or under the 10 g clean threshold), 5 diners counted at the door.
    add_plates(session, org, "a", MONDAY, Meal.lunch, [100, 0, 5, 40])
    # Tuesday lunch: 2 plates and no count, so 2 diners.
    add_plates(session, org, "a", TUESDAY, Meal.lunch, [30, 20])
    for day, diners in ((MONDAY, 5), (WEDNESDAY, 10)):  # Wednesday: counted but not weighed
        weighing_service.record_diner_count(session, SYSTEM, canteen, DinerCountEntry(
            service_date=day, meal=Meal.lunch, diners=diners), NOW)
    for day, category, grams in ((MONDAY, KitchenCategory.kitchen_scraps, 1000),
                                 (MONDAY, KitchenCategory.trimmings, 300),
                                 (TUESDAY, KitchenCategory.unserved, 400)):
        weighing_service.record_kitchen_waste(session, SYSTEM, canteen, KitchenEntry(
            service_date=day, meal=Meal.lunch, category=category, grams=grams), NOW)
    wrong = weighing_service.record_kitchen_waste(session, SYSTEM, canteen, KitchenEntry(
        service_date=TUESDAY, meal=Meal.lunch, category=KitchenCategory.other, grams=999), NOW)
    weighing_service.record_kitchen_waste(session, SYSTEM, canteen, KitchenEntry(
        service_date=TUESDAY, meal=Meal.lunch, category=KitchenCategory.other, grams=200), NOW, corrects=wrong.id)
    weighing_service.recompute_rollups(session, canteen, [MONDAY, TUESDAY, WEDNESDAY], NOW)
    # The period before (11-15 November): 100 g over 5 weighed diners; a day counted but not weighed.
    add_rollup(session, canteen, date(2026, 11, 12), Meal.lunch, 5, plates=5, waste_g=100)
    add_rollup(session, canteen, date(2026, 11, 13), Meal.lunch, 100)
    # A year earlier (16-20 November 2025): 300 g over 10 diners.
    add_rollup(session, canteen, date(2025, 11, 17), Meal.lunch, 10, plates=10, waste_g=300)
    diner = org.users["diner_a"]
    for number, (day, status) in enumerate(((MONDAY, BookingStatus.booked), (TUESDAY, BookingStatus.booked),
                                            (WEDNESDAY, BookingStatus.booked), (THURSDAY, BookingStatus.cancelled),
                                            (date(2026, 11, 23), BookingStatus.booked))):
        session.add(Booking(diner_id=diner, canteen_id=canteen, service_date=day, meal=Meal.lunch,
                            status=status, token=f"bk_metrics_{number}", created_at=NOW))
    for day, expected in ((MONDAY, 4), (WEDNESDAY, 12), (THURSDAY, 8), (date(2026, 11, 23), 50)):
        add_snapshot(session, canteen, day, expected)
    dishes = {name: reservation_service.create_dish(session, SYSTEM, canteen, DishCreate(
        name=name, raw_grams=100, offers_half=half, offers_small=small)).id
        for name, half, small in (("米饭", True, True), ("红烧肉", True, False), ("紫菜汤", False, False),
                                  ("鱼香肉丝", False, False))}
    reservation_service.set_menu(session, SYSTEM, canteen, MONDAY, Meal.lunch, [dishes["米饭"], dishes["紫菜汤"]])
    reservation_service.set_menu(session, SYSTEM, canteen, TUESDAY, Meal.lunch, [dishes["米饭"], dishes["红烧肉"]])
    reservation_service.set_menu(session, SYSTEM, canteen, date(2026, 11, 23), Meal.lunch, [dishes["鱼香肉丝"]])
    session.commit()
    return canteen


def test_every_metric_of_a_week_by_hand(session, week_at_a):
    metrics = period_metrics(session, [week_at_a], MONDAY, FRIDAY)[week_at_a]

    assert list(metrics) == list(METRICS)
    assert values(metrics) == pytest.approx({
        "diners": 17,  # 5 counted + 2 plates + 10 counted
        "plate_waste_g_per_diner": 27.9,  # 195 g over the 7 diners of the weighed meals
        "kitchen_waste_g_per_diner": 88.2,  # (1000 + 300 + 200 corrected from 999) / 17
        "surplus_food_g_per_diner": 23.5,  # 400 / 17
        "clean_plate_rate": 0.3333,  # 2 of 6 plates
        "plate_waste_change_yoy_pct": -7.14,  # 195/7 against 300/10
        "plate_waste_change_pop_pct": 39.29,  # 195/7 against 100/5
        "booking_rate": 0.1765,  # 3 live bookings / 17
        "forecast_wape": 0.2,  # (|5 - 4| + |10 - 12|) / (5 + 10); Thursday has no actual
        "weighing_coverage": 0.1333,  # 2 meals weighed of 5 days × 3 meal windows
        "small_portion_share": 0.6667,  # rice and pork of rice, pork and soup
        "kitchen_waste_kg_per_diner": 0.112,  # (1000 + 300 + 400 + 200) g / 17, in kg
        "waste_cost_yuan_per_diner": 1.23,  # (195 + 1900) g at the default ¥10 a kg = ¥20.95, / 17
    })
    assert metrics["plate_waste_g_per_diner"].basis == {"plate_waste_g": 195, "diners": 7}
    assert metrics["kitchen_waste_g_per_diner"].basis == {"kitchen_waste_g": 1500, "diners": 17, "kitchen_records": 4}
    assert metrics["plate_waste_change_pop_pct"].basis == {
        "plate_waste_g_per_diner": 27.9, "earlier_plate_waste_g_per_diner": 20.0,
        "earlier_starts": "2026-11-11", "earlier_ends": "2026-11-15"}
    assert metrics["plate_waste_change_yoy_pct"].basis["earlier_starts"] == "2025-11-16"
    assert metrics["forecast_wape"].basis == {"absolute_error": 3, "actual": 15, "meals": 2, "actual_from": "diners"}
    assert metrics["weighing_coverage"].basis == {"weighed_meals": 2, "scheduled_meals": 15}
    assert metrics["small_portion_share"].basis == {"dishes_with_small_or_half": 2, "dishes": 3}


def test_waste_cost_uses_the_canteens_own_prices(session, week_at_a):
    costs_service.set_canteen_factors(session, SYSTEM, week_at_a, FactorsUpdate(prices={WasteStage.unserved: 30}),
                                      NOW)
    metric = period_metrics(session, [week_at_a], MONDAY, FRIDAY)[week_at_a]["waste_cost_yuan_per_diner"]
    # 195 g of plates, 1000 g of scraps, 300 g of trimmings and 200 g of other at ¥10, 400 g unserved at ¥30:
    # ¥1.95 + ¥10 + ¥3 + ¥2 + ¥12 = ¥28.95 over 17 diners; 2.095 kg at the default 2.5 kg CO2e a kg = 5.2375 kg.
    co2e = metric.basis.pop("co2e_kg")
    assert (metric.value, metric.basis) == (1.70, {"yuan": 28.95, "plate_waste_g": 195, "all_kitchen_waste_g": 1900,
                                                   "diners": 17})
    assert co2e == pytest.approx(5.2375, abs=0.001)  # kept to the gram


def test_a_previous_period_can_be_given(session, week_at_a):
    metrics = period_metrics(session, [week_at_a], MONDAY, FRIDAY, previous=(date(2026, 11, 12), date(2026, 11, 12)))
    assert metrics[week_at_a]["plate_waste_change_pop_pct"].value == pytest.approx(39.29)
    nothing_then = period_metrics(session, [week_at_a], MONDAY, FRIDAY, previous=(date(2026, 1, 1), date(2026, 1, 31)))
    assert nothing_then[week_at_a]["plate_waste_change_pop_pct"].value is None


def test_without_data_a_metric_is_no_data_never_zero(session, org, week_at_a):
    canteen_b, canteen_h = org.canteens["b"], org.canteens["h"]
    # Canteen H weighed one lunch and did nothing else: no kitchen records, bookings, snapshots, menus or history.
    add_rollup(session, canteen_h, TUESDAY, Meal.lunch, 4, plates=4, waste_g=200, clean=1)
    session.commit()

    metrics = period_metrics(session, [canteen_b, canteen_h], MONDAY, FRIDAY)

    nothing = values(metrics[canteen_b])
    # B served nobody it recorded; only its coverage is known: none of its 15 scheduled meals was weighed.
    assert nothing == dict.fromkeys(METRICS) | {"weighing_coverage": 0.0}
    assert values(metrics[canteen_h]) == pytest.approx(dict.fromkeys(METRICS) | {
        "diners": 4, "plate_waste_g_per_diner": 50.0, "clean_plate_rate": 0.25, "booking_rate": 0.0,
        "weighing_coverage": round(1 / 15, 4), "waste_cost_yuan_per_diner": 0.5})  # 200 g at ¥10 a kg, / 4
    assert metrics[canteen_h]["kitchen_waste_g_per_diner"].basis["kitchen_records"] == 0


def test_forecast_error_counts_check_ins_where_the_canteen_checks_diners_in(session, org):
    canteen = org.canteens["h"]
    for _ in range(3):
        session.add(CheckIn(canteen_id=canteen, service_date=MONDAY, meal=Meal.lunch, at=NOW))
    add_plates(session, org, "h", MONDAY, Meal.lunch, [10, 20])
    add_plates(session, org, "h", TUESDAY, Meal.lunch, [10, 20, 30, 40])  # nobody checked in
    weighing_service.recompute_rollups(session, canteen, [MONDAY, TUESDAY], NOW)
    for day, expected in ((MONDAY, 2), (TUESDAY, 4), (WEDNESDAY, 1)):
        add_snapshot(session, canteen, day, expected)
    session.commit()

    wape = period_metrics(session, [canteen], MONDAY, FRIDAY)[canteen]["forecast_wape"]

    # Check-ins 3, 0, 0 against 2, 4, 1: (1 + 4 + 1) / 3.
    assert wape == MetricValue(2.0, {"absolute_error": 6, "actual": 3, "meals": 3, "actual_from": "checkins"})


def test_coverage_follows_the_official_calendar_and_the_canteens_closed_days(session, org):
    canteen = org.canteens["b"]
    # 30 September to 11 October 2026: working days are 30 September, 8, 9 and 10 October (a Saturday
    # worked for the National Day holiday); 9 October the canteen closed, and 4 October, a holiday anyway.
    session.add(ClosedDay(canteen_id=canteen, service_date=date(2026, 10, 9)))
    session.add(ClosedDay(canteen_id=canteen, service_date=date(2026, 10, 4)))
    for day in (date(2026, 9, 30), date(2026, 10, 10),  # scheduled and weighed
                date(2026, 10, 3), date(2026, 10, 9)):  # served and weighed on a holiday and a closed day
        add_rollup(session, canteen, day, Meal.lunch, 10, plates=10, waste_g=300)
    add_rollup(session, canteen, date(2026, 10, 8), Meal.lunch, 10)  # counted, not weighed
    session.commit()

    coverage = period_metrics(session, [canteen], date(2026, 9, 30), date(2026, 10, 11))[canteen]["weighing_coverage"]

    # Scheduled: 3 open working days × 3 meal windows, plus the 2 meals weighed outside the schedule.
    assert coverage == MetricValue(round(4 / 11, 4), {"weighed_meals": 4, "scheduled_meals": 11})


def test_values_feed_the_scoring_input_and_the_basis_is_json(session, org, week_at_a):
    metrics = period_metrics(session, [week_at_a, org.canteens["b"]], MONDAY, FRIDAY)
    for canteen_metrics in metrics.values():
        AssessmentInput(metrics=to_input(canteen_metrics))
        body = json.loads(json.dumps(basis_dict(canteen_metrics), allow_nan=False))
        assert set(body) == set(METRICS) and set(body["diners"]) == {"value", "basis"}


@pytest.mark.parametrize(("period", "previous", "last_year"), [
    ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 2, 1), date(2026, 2, 28)),
     (date(2025, 3, 1), date(2025, 3, 31))),
    ((date(2025, 2, 1), date(2025, 2, 28)), (date(2025, 1, 1), date(2025, 1, 31)),
     (date(2024, 2, 1), date(2024, 2, 29))),
    ((date(2026, 1, 1), date(2026, 3, 31)), (date(2025, 10, 1), date(2025, 12, 31)),
     (date(2025, 1, 1), date(2025, 3, 31))),
    ((date(2024, 2, 26), date(2024, 2, 29)), (date(2024, 2, 22), date(2024, 2, 25)),
     (date(2023, 2, 26), date(2023, 2, 28))),
])
def test_default_previous_and_year_earlier_periods(period, previous, last_year):
    assert previous_period(*period) == previous
    assert year_earlier(*period) == last_year


def test_every_number_behind_a_metric_has_a_label_for_the_scorecard_page(session, week_at_a):
    metrics = period_metrics(session, [week_at_a], MONDAY, FRIDAY)[week_at_a]
    assert {key for metric in metrics.values() for key in metric.basis} - set(BASIS_LABELS) == set()
