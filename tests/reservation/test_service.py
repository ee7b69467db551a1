"""Booking rules, recurring bookings, check-ins and counts, without HTTP.

Canteen A is in Asia/Shanghai (UTC+8); the default lunch window is 11:30-13:30 local.
"""
import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from canteen.access import SYSTEM
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound
from canteen.org import service as org_service
from canteen.org.models import CanteenUpdate, Meal, MealWindowSchema
from canteen.reservation import service
from canteen.reservation.models import (
    Booking,
    BookingCreate,
    BookingStatus,
    ChoiceSchema,
    PolicySchema,
    Portion,
    RecurringCreate,
)
from canteen.weighing import service as weighing_service

WEDNESDAY = date(2026, 11, 25)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def lunch(day: date = WEDNESDAY, set_meal: bool = True, canteen: int = 1, **choices: Portion) -> BookingCreate:
    return BookingCreate(canteen_id=canteen, service_date=day, meal=Meal.lunch, set_meal=set_meal,
                         choices=[ChoiceSchema(dish_id=int(dish), portion=p) for dish, p in choices.items()])


def book(session, scope, data, now):
    booking = service.book(session, scope, data, now)
    session.commit()
    return booking


# ---- cut-off -----------------------------------------------------------------


@pytest.mark.parametrize(("zone", "cutoff_utc"), [
    ("Asia/Shanghai", utc(2026, 11, 24, 8, 0)),  # 16:00 at UTC+8
    ("Asia/Urumqi", utc(2026, 11, 24, 10, 0)),  # 16:00 at UTC+6
])
def test_cutoff_is_exact_to_the_minute_in_the_canteens_zone(session, org, scope_of, zone, cutoff_utc):
    org_service.update_canteen(session, SYSTEM, org.canteens["a"], CanteenUpdate(timezone=zone))
    session.commit()
    diner, other = scope_of("diner_a"), scope_of("diner_a2")
    last_second = cutoff_utc - timedelta(seconds=1)
    booking = book(session, diner, lunch(canteen=org.canteens["a"]), last_second)
    with pytest.raises(InvalidInput) as error:
        service.book(session, other, lunch(canteen=org.canteens["a"]), cutoff_utc)
    assert error.value.field == "service_date"
    assert error.value.params == {"date": "2026-11-25", "deadline": "2026-11-24 16:00"}
    with pytest.raises(InvalidInput):
        service.cancel(session, diner, booking.id, cutoff_utc)
    assert service.cancel(session, diner, booking.id, last_second).status is BookingStatus.cancelled


def test_a_canteens_own_cutoff(session, org, scope_of):
    canteen = org.canteens["a"]
    service.set_policy(session, SYSTEM, canteen, PolicySchema(cutoff_days_before=0, cutoff_time=time(10, 30)))
    session.commit()
    book(session, scope_of("diner_a"), lunch(canteen=canteen), utc(2026, 11, 25, 2, 29, 59))
    with pytest.raises(InvalidInput):
        service.book(session, scope_of("diner_a2"), lunch(canteen=canteen), utc(2026, 11, 25, 2, 30))


# ---- capacity ----------------------------------------------------------------


def test_capacity_is_enforced_and_a_cancellation_frees_a_place(session, org, scope_of, clock):
    canteen = org.canteens["a"]
    service.set_policy(session, SYSTEM, canteen, PolicySchema(lunch_capacity=2))
    session.commit()
    first = book(session, scope_of("diner_a"), lunch(canteen=canteen), clock())
    book(session, scope_of("diner_a2"), lunch(canteen=canteen), clock())
    with pytest.raises(Conflict) as error:
        service.book(session, scope_of("diner_a3"), lunch(canteen=canteen), clock())
    assert error.value.params["capacity"] == 2
    # Other meals and days are not affected.
    book(session, scope_of("diner_a3"), lunch(day=WEDNESDAY + timedelta(days=1), canteen=canteen), clock())
    service.cancel(session, scope_of("diner_a"), first.id, clock())
    session.commit()
    book(session, scope_of("diner_a3"), lunch(canteen=canteen), clock())


def test_concurrent_bookings_cannot_exceed_capacity(engine, session, org, diners, scope_of, clock):
    canteen = org.canteens["a"]
    service.set_policy(session, SYSTEM, canteen, PolicySchema(lunch_capacity=1))
    session.commit()
    scopes = [scope_of(name) for name in ("diner_a", "diner_a2", "diner_a3")]
    barrier = threading.Barrier(len(scopes))
    outcomes: list[str] = []

    def attempt(scope):
        with Session(engine) as own:
            barrier.wait()
            try:
                service.book(own, scope, lunch(canteen=canteen), clock())
                own.commit()
                outcomes.append("booked")
            except Conflict:
                outcomes.append("full")

    threads = [threading.Thread(target=attempt, args=(scope,)) for scope in scopes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "full", "full"]
    live = session.exec(select(Booking).where(Booking.status == BookingStatus.booked)).all()
    assert len(live) == 1


# ---- calendar ----------------------------------------------------------------


def test_closed_days_holidays_and_adjusted_workdays(session, org, scope_of, add_menu):
    canteen = org.canteens["a"]
    diner = scope_of("diner_a")
    now = utc(2026, 9, 20, 2, 0)
    service.close_day(session, SYSTEM, canteen, date(2026, 9, 29), "设备检修", now)
    session.commit()
    with pytest.raises(InvalidInput) as error:
        service.book(session, diner, lunch(day=date(2026, 9, 29), canteen=canteen), now)
    assert error.value.params["why"] == "设备检修"
    for holiday_or_weekend in (date(2026, 10, 1), date(2026, 10, 11), date(2026, 10, 17)):
        with pytest.raises(InvalidInput) as error:
            service.book(session, diner, lunch(day=holiday_or_weekend, canteen=canteen), now)
        assert error.value.field == "service_date"
    # 2026-10-10 is a Saturday worked in exchange for the National Day holiday (调休).
    book(session, diner, lunch(day=date(2026, 10, 10), canteen=canteen), now)
    # A menu opens a holiday meal.
    add_menu(date(2026, 10, 2))
    book(session, diner, lunch(day=date(2026, 10, 2), canteen=canteen), now)


def test_closing_a_day_cancels_its_bookings(session, org, scope_of, clock):
    canteen = org.canteens["a"]
    booking = book(session, scope_of("diner_a"), lunch(canteen=canteen), clock())
    _, cancelled = service.close_day(session, scope_of("operator_a"), canteen, WEDNESDAY, "停水", clock())
    session.commit()
    session.refresh(booking)
    assert cancelled == 1 and booking.status is BookingStatus.cancelled
    service.reopen_day(session, scope_of("operator_a"), canteen, WEDNESDAY)
    book(session, scope_of("diner_a"), lunch(canteen=canteen), clock())


def test_years_outside_the_calendar_data_rest_on_weekends(session, org, scope_of):
    canteen = org.canteens["a"]
    now = utc(2040, 1, 1, 2, 0)
    book(session, scope_of("diner_a"), lunch(day=date(2040, 1, 2), canteen=canteen), now)  # a Monday
    with pytest.raises(InvalidInput):
        service.book(session, scope_of("diner_a"), lunch(day=date(2040, 1, 7), canteen=canteen), now)  # Sunday


# ---- what is booked ----------------------------------------------------------


def test_dish_choices_must_be_on_the_menu_in_offered_portions(session, org, scope_of, clock, add_menu):
    canteen = org.canteens["a"]
    menu = add_menu(WEDNESDAY)
    diner = scope_of("diner_a")
    refusals = [
        lunch(canteen=canteen, set_meal=False),
        lunch(canteen=canteen, set_meal=True, **{str(menu.rice): Portion.half}),
        lunch(canteen=canteen, set_meal=False, **{str(menu.pork): Portion.small}),
        lunch(canteen=canteen, set_meal=False, **{"9999": Portion.full}),
    ]
    for data in refusals:
        with pytest.raises(InvalidInput) as error:
            service.book(session, diner, data, clock())
        assert error.value.field == "choices"
    booking = book(session, diner, lunch(canteen=canteen, set_meal=False,
                                         **{str(menu.rice): Portion.small, str(menu.pork): Portion.half}), clock())
    read = service.booking_reads(session, [booking])[0]
    assert {(c.dish_id, c.portion) for c in read.choices} == {(menu.rice, Portion.small), (menu.pork, Portion.half)}
    assert read.token.startswith("bk_") and len(read.token) > 20
    # The chosen dish stays on the menu while it has bookings.
    with pytest.raises(Conflict):
        service.set_menu(session, SYSTEM, canteen, WEDNESDAY, Meal.lunch, [menu.rice])


def test_one_live_booking_per_meal(session, org, scope_of, clock):
    canteen = org.canteens["a"]
    diner = scope_of("diner_a")
    booking = book(session, diner, lunch(canteen=canteen), clock())
    with pytest.raises(Conflict):
        service.book(session, diner, lunch(canteen=canteen), clock())
    service.cancel(session, diner, booking.id, clock())
    with pytest.raises(Conflict):
        service.cancel(session, diner, booking.id, clock())
    session.commit()
    book(session, diner, lunch(canteen=canteen), clock())


def test_only_own_canteen_and_own_bookings(session, org, scope_of, clock):
    with pytest.raises(Forbidden):
        service.book(session, scope_of("diner_b"), lunch(canteen=org.canteens["a"]), clock())
    with pytest.raises(Forbidden):
        service.book(session, scope_of("operator_a"), lunch(canteen=org.canteens["a"]), clock())
    booking = book(session, scope_of("diner_a"), lunch(canteen=org.canteens["a"]), clock())
    with pytest.raises(NotFound):
        service.cancel(session, scope_of("diner_a2"), booking.id, clock())


def test_a_meal_the_canteen_does_not_serve(session, org, scope_of, clock):
    org_service.update_canteen(session, SYSTEM, org.canteens["a"], CanteenUpdate(meal_windows=[
        MealWindowSchema(meal=Meal.lunch, starts=time(11, 30), ends=time(13, 30))]))
    with pytest.raises(InvalidInput) as error:
        service.book(session, scope_of("diner_a"), BookingCreate(
            canteen_id=org.canteens["a"], service_date=WEDNESDAY, meal=Meal.dinner, set_meal=True), clock())
    assert error.value.field == "meal"


# ---- recurring bookings ------------------------------------------------------


def booked_days(session, diner_id: int) -> list[date]:
    query = select(Booking.service_date).where(Booking.diner_id == diner_id, Booking.status == BookingStatus.booked)
    return sorted(session.exec(query))


def test_workday_pattern_skips_the_holiday_and_takes_the_adjusted_saturday(session, org, diners, scope_of):
    now = utc(2026, 9, 27, 2, 0)  # Sunday 10:00 local, before the 16:00 cut-off for Monday
    recurring, created = service.create_recurring(session, scope_of("diner_a"), RecurringCreate(
        canteen_id=org.canteens["a"], meal=Meal.lunch, starts=date(2026, 9, 28)), now)
    session.commit()
    expected = [date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30),
                date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10), date(2026, 10, 12)]
    assert sorted(b.service_date for b in created) == expected[:6]  # 14 days ahead ends on 10-11
    assert service.materialise_recurring(session, now) == []
    later = service.materialise_recurring(session, now + timedelta(days=1))
    assert [b.service_date for b in later] == [date(2026, 10, 12)]
    session.commit()
    assert booked_days(session, diners["diner_a"]) == expected


def test_weekday_pattern_respects_closed_days_and_cancellations(session, org, diners, scope_of, add_menu):
    now = utc(2026, 9, 27, 2, 0)
    diner = scope_of("diner_a2")
    add_menu(date(2026, 9, 30))
    service.close_day(session, SYSTEM, org.canteens["a"], date(2026, 10, 9), "消杀", now)
    recurring, created = service.create_recurring(session, diner, RecurringCreate(
        canteen_id=org.canteens["a"], meal=Meal.lunch, days="5,1,3", starts=date(2026, 9, 28),
        set_meal=False, portion=Portion.small), now)
    session.commit()
    # Mondays, Wednesdays, Fridays: 10-02, 10-05 and 10-07 are holidays, 10-09 is closed.
    assert [b.service_date for b in created] == [date(2026, 9, 28), date(2026, 9, 30)]
    reads = {r.service_date: r for r in service.booking_reads(session, created)}
    assert reads[date(2026, 9, 28)].set_meal  # no menu published: a set meal
    # Rice offers a small portion, pork does not: it falls back to full.
    assert sorted(c.portion for c in reads[date(2026, 9, 30)].choices) == [Portion.full, Portion.small]
    service.cancel(session, diner, created[0].id, now)
    session.commit()
    assert service.materialise_recurring(session, now) == []
    assert booked_days(session, diners["diner_a2"]) == [date(2026, 9, 30)]


def test_ending_a_pattern_cancels_what_can_still_be_cancelled(session, org, diners, scope_of):
    now = utc(2026, 9, 27, 2, 0)
    diner = scope_of("diner_a")
    recurring, _ = service.create_recurring(session, diner, RecurringCreate(
        canteen_id=org.canteens["a"], meal=Meal.lunch, starts=date(2026, 9, 28)), now)
    session.commit()
    service.end_recurring(session, diner, recurring.id, utc(2026, 9, 28, 9, 0))  # Monday 17:00 local
    session.commit()
    # Monday is eaten, Tuesday is past its cut-off (Monday 16:00); the rest are cancelled.
    assert booked_days(session, diners["diner_a"]) == [date(2026, 9, 28), date(2026, 9, 29)]
    assert service.materialise_recurring(session, utc(2026, 9, 29, 2, 0)) == []
    with pytest.raises(NotFound):
        service.end_recurring(session, scope_of("diner_a2"), recurring.id, now)


def test_pattern_days_are_validated(session, org, scope_of, clock):
    for days in ("", "0", "8", "mon", "1,,2"):
        with pytest.raises(InvalidInput) as error:
            service.create_recurring(session, scope_of("diner_a"), RecurringCreate(
                canteen_id=org.canteens["a"], meal=Meal.lunch, days=days, starts=WEDNESDAY), clock())
        assert error.value.field == "days"


# ---- check-in ----------------------------------------------------------------


LUNCH_NOON = utc(2026, 11, 25, 4, 0)  # Wednesday 12:00 local


def test_token_check_in_twice_is_a_conflict_with_the_first_time(session, org, scope_of, clock):
    booking = book(session, scope_of("diner_a"), lunch(canteen=org.canteens["a"]), clock())
    operator = scope_of("operator_a")
    row = service.check_in(session, operator, org.canteens["a"], LUNCH_NOON, token=booking.token)
    session.commit()
    assert row.booking_id == booking.id and row.diner_id == org.users["diner_a"]
    with pytest.raises(Conflict) as error:
        service.check_in(session, operator, org.canteens["a"], LUNCH_NOON + timedelta(minutes=7),
                         token=booking.token)
    assert error.value.params == {"time": "12:00"} and error.value.field == "token"


def test_token_of_another_canteen_is_refused(session, org, scope_of, clock):
    booking = book(session, scope_of("diner_b"), lunch(canteen=org.canteens["b"]), clock())
    with pytest.raises(InvalidInput) as error:
        service.check_in(session, scope_of("operator_a"), org.canteens["a"], LUNCH_NOON, token=booking.token)
    assert error.value.field == "token" and error.value.params == {"name": "食堂B"}


def test_token_refusals(session, org, scope_of, clock):
    canteen = org.canteens["a"]
    operator = scope_of("operator_a")
    tomorrow = book(session, scope_of("diner_a"), lunch(day=WEDNESDAY + timedelta(days=1), canteen=canteen), clock())
    cancelled = book(session, scope_of("diner_a2"), lunch(canteen=canteen), clock())
    service.cancel(session, scope_of("diner_a2"), cancelled.id, clock())
    session.commit()
    for token, error_type in ((tomorrow.token, InvalidInput), (cancelled.token, InvalidInput),
                              ("bk_nonsense", NotFound)):
        with pytest.raises(error_type):
            service.check_in(session, operator, canteen, LUNCH_NOON, token=token)
    with pytest.raises(InvalidInput):  # 15:00 local: no meal is served
        service.check_in(session, operator, canteen, LUNCH_NOON + timedelta(hours=3), token=tomorrow.token)
    with pytest.raises(InvalidInput):
        service.check_in(session, operator, canteen, LUNCH_NOON)


def test_a_card_checks_its_booking_in_and_a_walk_in_is_only_recorded_on_purpose(session, org, scope_of, clock):
    canteen = org.canteens["a"]
    operator = scope_of("operator_a")
    booking = book(session, scope_of("diner_a"), lunch(canteen=canteen), clock())
    service.assign_card(session, operator, canteen, "0001", org.users["diner_a"])
    service.assign_card(session, operator, canteen, "0002", scope_of("diner_a2").user_id)
    with pytest.raises(InvalidInput):
        service.assign_card(session, operator, canteen, "0003", scope_of("diner_b").user_id)
    early = LUNCH_NOON - timedelta(minutes=45)  # 11:15, a quarter before the window opens
    assert service.check_in(session, operator, canteen, early, card_number="0001").booking_id == booking.id
    # Neither a token nor a known card: refused, not counted.
    with pytest.raises(InvalidInput) as unknown:
        service.check_in(session, operator, canteen, LUNCH_NOON, card_number="9999")
    assert unknown.value.field == "card_number" and unknown.value.params == {"code": "9999"}
    with pytest.raises(InvalidInput):
        service.walk_in(session, operator, canteen, LUNCH_NOON, card_number="9999")
    # A known card without a booking is no check-in either; the walk-in action records it, with the diner.
    with pytest.raises(InvalidInput) as unbooked:
        service.check_in(session, operator, canteen, LUNCH_NOON, card_number="0002")
    assert unbooked.value.field == "card_number"
    walk_in = service.walk_in(session, operator, canteen, LUNCH_NOON, card_number="0002")
    assert walk_in.booking_id is None and walk_in.diner_id == scope_of("diner_a2").user_id
    # The walk-in action with the card of a diner who booked checks the booking in instead (a mistaken button).
    booking_a3 = book(session, scope_of("diner_a3"), lunch(canteen=canteen), clock())
    service.assign_card(session, operator, canteen, "0004", scope_of("diner_a3").user_id)
    assert service.walk_in(session, operator, canteen, LUNCH_NOON, card_number="0004").booking_id == booking_a3.id
    for card in ("0001", "0002", "0004"):
        with pytest.raises(Conflict):
            service.check_in(session, operator, canteen, LUNCH_NOON, card_number=card)
    with pytest.raises(Conflict):
        service.walk_in(session, operator, canteen, LUNCH_NOON, card_number="0002")
    service.walk_in(session, operator, canteen, LUNCH_NOON)
    session.commit()
    counts = service.meal_counts(session, operator, canteen, WEDNESDAY, Meal.lunch, LUNCH_NOON)
    assert (counts.booked, counts.checked_in, counts.walk_ins) == (2, 2, 2)


def test_a_walk_in_can_be_undone_within_a_minute_and_the_rollup_follows(session, org, scope_of, clock):
    canteen = org.canteens["a"]
    operator = scope_of("operator_a")
    booking = book(session, scope_of("diner_a"), lunch(canteen=canteen), clock())
    booked = service.check_in(session, operator, canteen, LUNCH_NOON, token=booking.token)
    kept = service.walk_in(session, operator, canteen, LUNCH_NOON)
    mistaken = service.walk_in(session, operator, canteen, LUNCH_NOON + timedelta(seconds=10))
    session.commit()
    with pytest.raises(InvalidInput):  # a booking's check-in is not a walk-in
        service.undo_walk_in(session, operator, canteen, booked.id, LUNCH_NOON + timedelta(seconds=5))
    with pytest.raises(NotFound):
        service.undo_walk_in(session, scope_of("operator_b"), org.canteens["b"], mistaken.id, LUNCH_NOON)
    service.undo_walk_in(session, operator, canteen, mistaken.id, LUNCH_NOON + timedelta(seconds=70))  # 60 s after
    session.commit()
    with pytest.raises(Conflict) as late:
        service.undo_walk_in(session, operator, canteen, kept.id, LUNCH_NOON + timedelta(seconds=61))
    assert late.value.params == {"seconds": 60}
    counts = service.meal_counts(session, operator, canteen, WEDNESDAY, Meal.lunch, LUNCH_NOON)
    assert (counts.checked_in, counts.walk_ins) == (1, 1)
    day = weighing_service.daily_series(session, SYSTEM, canteen, WEDNESDAY, WEDNESDAY, LUNCH_NOON).loc[WEDNESDAY]
    assert day["diners"] == 2  # the booked diner and the walk-in that stayed


def test_a_checked_in_booking_cannot_be_cancelled_and_leaves_the_meals_to_come(session, org, scope_of, clock):
    canteen = org.canteens["a"]
    policy = PolicySchema(cutoff_days_before=0, cutoff_time=time(13, 0))  # cancelling open until 13:00 that day
    service.set_policy(session, SYSTEM, canteen, policy)
    diner = scope_of("diner_a")
    booking = book(session, diner, lunch(canteen=canteen), clock())
    upcoming = service.my_upcoming(session, diner, WEDNESDAY, WEDNESDAY, LUNCH_NOON)
    assert [item.id for item in upcoming] == [booking.id]
    service.check_in(session, scope_of("operator_a"), canteen, LUNCH_NOON, token=booking.token)
    session.commit()
    assert service.my_upcoming(session, diner, WEDNESDAY, WEDNESDAY, LUNCH_NOON) == []
    with pytest.raises(Conflict) as error:
        service.cancel(session, diner, booking.id, LUNCH_NOON + timedelta(minutes=1))
    assert error.value.field == "booking_id"
    session.rollback()
    assert session.get(Booking, booking.id).status is BookingStatus.booked


def test_a_meal_that_is_over_leaves_the_meals_to_come(session, org, scope_of, clock):
    diner = scope_of("diner_a")
    booking = book(session, diner, lunch(canteen=org.canteens["a"]), clock())
    lunch_ends = utc(2026, 11, 25, 5, 30)  # 13:30 local
    assert [b.id for b in service.my_upcoming(session, diner, WEDNESDAY, WEDNESDAY, lunch_ends - timedelta(seconds=1))
            ] == [booking.id]
    assert service.my_upcoming(session, diner, WEDNESDAY, WEDNESDAY, lunch_ends) == []


def test_this_months_record(session, org, diners, scope_of, past_lunches, clock):
    canteen = org.canteens["a"]
    # 16-22 November: diner_a booked every lunch and came (the last diner of the list never comes).
    past_lunches(canteen, [diners["diner_a"], diners["diner_a3"]], date(2026, 11, 16), 7)
    past_lunches(canteen, [diners["diner_a"], diners["diner_a3"]], date(2026, 10, 26), 3)  # October: not this month
    diner, operator = scope_of("diner_a"), scope_of("operator_a")
    cancelled = book(session, diner, lunch(canteen=canteen), clock())
    service.cancel(session, diner, cancelled.id, clock())
    book(session, diner, lunch(canteen=canteen), clock())
    service.assign_card(session, operator, canteen, "0001", diners["diner_a"])
    service.walk_in(session, operator, canteen, utc(2026, 11, 25, 10, 0), card_number="0001")  # dinner, 18:00
    session.commit()
    thursday = utc(2026, 11, 26, 2, 0)
    canteen_row = org_service.get_canteen(session, SYSTEM, canteen)
    # Booked: 7 lunches, the cancelled and the live Wednesday lunch (9); eaten: 7 lunches and the dinner walk-in;
    # Wednesday's lunch was not checked in, so it is a no-show once it is over.
    assert service.my_month(session, diner, canteen_row, thursday) == {
        "booked": 9, "eaten": 8, "cancelled": 1, "no_shows": 1}
    assert service.my_month(session, scope_of("diner_a3"), canteen_row, thursday) == {
        "booked": 7, "eaten": 0, "cancelled": 0, "no_shows": 7}


def test_check_ins_become_the_rollups_diner_count(session, org, scope_of, clock):
    canteen = org.canteens["a"]
    operator = scope_of("operator_a")
    booking = book(session, scope_of("diner_a"), lunch(canteen=canteen), clock())
    service.check_in(session, operator, canteen, LUNCH_NOON, token=booking.token)
    service.walk_in(session, operator, canteen, LUNCH_NOON)
    session.commit()
    day = weighing_service.daily_series(session, SYSTEM, canteen, WEDNESDAY, WEDNESDAY, LUNCH_NOON).loc[WEDNESDAY]
    assert day["diners"] == 2


# ---- no-shows and counts -----------------------------------------------------


def test_no_shows_count_once_the_meal_is_over(session, org, scope_of, clock, add_menu):
    canteen = org.canteens["a"]
    menu = add_menu(WEDNESDAY)
    diner = scope_of("diner_a")
    missed = book(session, diner, lunch(canteen=canteen, set_meal=False, **{str(menu.rice): Portion.half}), clock())
    eaten = book(session, scope_of("diner_a2"), lunch(canteen=canteen, set_meal=False,
                                                      **{str(menu.rice): Portion.full, str(menu.pork): Portion.half}),
                 clock())
    book(session, scope_of("diner_a3"), lunch(canteen=canteen), clock())
    service.cancel(session, scope_of("diner_a3"), booking_id=_live(session, scope_of("diner_a3").user_id).id,
                   now=clock())
    service.check_in(session, scope_of("operator_a"), canteen, LUNCH_NOON, token=eaten.token)
    session.commit()
    end = utc(2026, 11, 25, 5, 30)  # 13:30 local
    assert service.my_no_shows(session, diner, end - timedelta(seconds=1)) == []
    assert [b.id for b in service.my_no_shows(session, diner, end)] == [missed.id]
    assert service.my_no_shows(session, scope_of("diner_a2"), end) == []
    during = service.meal_counts(session, scope_of("bureau_c1"), canteen, WEDNESDAY, Meal.lunch, LUNCH_NOON)
    after = service.meal_counts(session, scope_of("operator_a"), canteen, WEDNESDAY, Meal.lunch, end)
    assert (during.booked, during.cancelled, during.checked_in, during.no_shows) == (2, 1, 1, 0)
    assert after.no_shows == 1 and after.set_meals == 0
    assert after.portions[menu.rice] == {Portion.full: 1, Portion.half: 1, Portion.small: 0}
    assert after.portions[menu.pork][Portion.half] == 1


def _live(session, diner_id):
    return session.exec(select(Booking).where(Booking.diner_id == diner_id,
                                              Booking.status == BookingStatus.booked)).one()


# ---- role scoping ------------------------------------------------------------


def test_management_is_scoped(session, org, scope_of, clock):
    a = org.canteens["a"]
    with pytest.raises(NotFound):
        service.set_policy(session, scope_of("operator_b"), a, PolicySchema())
    with pytest.raises(NotFound):
        service.meal_counts(session, scope_of("bureau_k2"), a, WEDNESDAY, Meal.lunch, clock())
    with pytest.raises(Forbidden):
        service.close_day(session, scope_of("bureau_c1"), a, WEDNESDAY, "", clock())
    with pytest.raises(Forbidden):
        service.meal_counts(session, scope_of("diner_a"), a, WEDNESDAY, Meal.lunch, clock())
    with pytest.raises(Forbidden):
        service.get_menu(session, scope_of("diner_b"), a, WEDNESDAY, Meal.lunch)
    with pytest.raises(NotFound):
        service.check_in(session, scope_of("operator_b"), a, LUNCH_NOON, token="bk_x")
    assert service.get_menu(session, scope_of("diner_a"), a, WEDNESDAY, Meal.lunch) == []
    assert service.get_policy(session, scope_of("bureau_c1"), a).cutoff_time == time(16, 0)
