"""Around 31 December 2026 / 1 January 2027: without the 2027 notice every answer is a labelled guess;
once it is imported, bookings, recurring bookings, the forecast's day kinds, coverage and sampling follow it."""
import math
from datetime import UTC, date, datetime, timedelta

import pytest

from canteen.access import SYSTEM
from canteen.assessment import sampling
from canteen.assessment.metrics import period_metrics
from canteen.calendar import service as calendar_service
from canteen.errors import InvalidInput
from canteen.org import service as org_service
from canteen.org.models import CanteenCreate, Meal, ServingMode
from canteen.reservation import service
from canteen.reservation.calendar import DayKind
from canteen.reservation.forecast.history import booking_history
from canteen.reservation.forecast.model import Forecaster
from canteen.reservation.models import BookingCreate, RecurringCreate
from canteen.weighing.models import DailyRollup, DinerSource
from tests.calendar.conftest import NOTICE_2027

NOW = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 28 December, 10:00 in Shanghai
HORIZON_END = date(2027, 1, 11)  # today + the 14-day recurring horizon


def import_2027(session) -> None:
    calendar_service.import_year(session, NOTICE_2027.encode(), "2027.csv", NOW)
    session.commit()


def lunch(canteen: int, day: date) -> BookingCreate:
    return BookingCreate(canteen_id=canteen, service_date=day, meal=Meal.lunch, set_meal=True)


def working_days(first: date, last: date, holidays=(), worked=()) -> list[date]:
    """Working days by hand: Monday to Friday, minus the notice's holidays, plus its worked weekend days."""
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    return [day for day in days if (day.weekday() < 5 and day not in holidays) or day in worked]


def test_bookings_guess_2027_until_the_notice_is_imported_then_follow_it(session, org, scope_of):
    canteen, diner = org.canteens["a"], scope_of("diner_a")
    service.book(session, diner, lunch(canteen, date(2027, 1, 1)), NOW)  # a Friday: a workday by the guess
    with pytest.raises(InvalidInput, match="rest day"):
        service.book(session, diner, lunch(canteen, date(2027, 1, 9)), NOW)  # a Saturday
    session.rollback()

    import_2027(session)
    with pytest.raises(InvalidInput, match="rest day"):
        service.book(session, diner, lunch(canteen, date(2027, 1, 4)), NOW)  # Monday, a holiday now
    session.rollback()
    saturday = service.book(session, diner, lunch(canteen, date(2027, 1, 9)), NOW)  # worked in exchange
    assert saturday.service_date == date(2027, 1, 9)


@pytest.mark.parametrize("imported", [False, True])
def test_recurring_workday_bookings_follow_the_calendar_across_the_new_year(session, org, scope_of, imported):
    if imported:
        import_2027(session)
    _, created = service.create_recurring(session, scope_of("diner_a"), RecurringCreate(
        canteen_id=org.canteens["a"], meal=Meal.lunch, starts=date(2026, 12, 29)), NOW)
    session.commit()
    if imported:
        expected = working_days(date(2026, 12, 29), HORIZON_END, holidays=[date(2027, 1, day) for day in range(1, 5)],
                                worked=[date(2027, 1, 9)])
        assert date(2027, 1, 9) in expected and date(2027, 1, 4) not in expected
    else:
        expected = working_days(date(2026, 12, 29), HORIZON_END)
        assert date(2027, 1, 1) in expected
    assert sorted(booking.service_date for booking in created) == expected


def test_the_forecasts_day_kinds_say_guess_or_follow_the_notice(session, org):
    canteen = org.canteens["a"]
    at_cutoff = datetime(2026, 12, 28, 16, 0)  # canteen-local, naive

    def kinds() -> dict[date, tuple[DayKind, bool]]:
        history = booking_history(session, SYSTEM, canteen, NOW)
        forecaster = Forecaster(history.frame, history.meal_ends, calendar=history.calendar)
        return {day: (forecast.day.kind, forecast.day.official) for day in
                (date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 4), date(2027, 1, 9))
                for forecast in forecaster.day(day, {"lunch": 10}, at_cutoff)}

    assert kinds() == {date(2026, 12, 31): (DayKind.workday, True), date(2027, 1, 1): (DayKind.workday, False),
                       date(2027, 1, 4): (DayKind.workday, False), date(2027, 1, 9): (DayKind.weekend, False)}
    import_2027(session)
    assert kinds() == {date(2026, 12, 31): (DayKind.workday, True), date(2027, 1, 1): (DayKind.holiday, True),
                       date(2027, 1, 4): (DayKind.holiday, True), date(2027, 1, 9): (DayKind.adjusted_workday, True)}


def test_coverage_schedules_meals_on_the_calendars_working_days(session, org):
    canteen = org.canteens["a"]  # breakfast, lunch and dinner windows
    session.add(DailyRollup(canteen_id=canteen, service_date=date(2026, 12, 30), meal=Meal.lunch, diners=10,
                            diner_source=DinerSource.plates, plates=10, plate_waste_g=300, clean_plates=5,
                            stations_reporting=1, stations_expected=1, computed_at=NOW))
    session.commit()

    def coverage():
        return period_metrics(session, [canteen], date(2026, 12, 28), date(2027, 1, 10))[canteen]["weighing_coverage"]

    # Guessed: 28-31 December and 1, 4-8 January are working days: 10 days × 3 meals.
    assert coverage().basis == {"weighed_meals": 1, "scheduled_meals": 30}
    import_2027(session)
    # The notice: 28-31 December, 5-8 January and Saturday 9 January: 9 days × 3 meals.
    assert coverage().basis == {"weighed_meals": 1, "scheduled_meals": 27}
    assert coverage().value == round(1 / 27, 4)


def test_the_sampling_plan_visits_on_the_calendars_working_days(session, org, scope_of):
    for index in range(10):
        org_service.create_canteen(session, SYSTEM, CanteenCreate(
            bureau_id=org.k1, name=f"县食堂{index}", serving_mode=ServingMode.portioned), "Asia/Shanghai")
    session.commit()
    bureau = scope_of("bureau_c1")

    def visits() -> list[date]:
        sampling.make_plan(session, bureau, org.k1, 2027, seed=3, now=NOW)
        session.commit()
        return sorted(pick.planned_on for pick in sampling.plan_of(session, bureau, org.k1, 2027)[1])

    def spread(working: list[date], count: int) -> list[date]:
        """The plan's rule: `count` visits spread evenly over the season's working days."""
        step = len(working) / count
        return [working[min(int(index * step), len(working) - 1)] for index in range(count)]

    guessed = visits()
    count = len(guessed)
    assert count >= math.ceil(0.35 * 11)
    assert guessed == spread(working_days(date(2027, 3, 1), date(2027, 11, 30)), count)
    import_2027(session)
    official = visits()
    labour_day = [date(2027, 5, day) for day in range(1, 6)]
    assert official == spread(working_days(date(2027, 3, 1), date(2027, 11, 30), holidays=labour_day,
                                           worked=[date(2027, 5, 8)]), count)
    assert official != guessed and not set(official) & set(labour_day)
