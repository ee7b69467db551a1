"""The headcount forecast as it stood at each meal's booking cut-off, kept to measure the forecast's error.

A job runs every few minutes and snapshots every meal whose cut-off has passed and that is not over yet.
Days the canteen does not serve are left out the way booking refuses them: its closed days, and rest days
(weekends, public holidays) unless it published a menu for the meal. A meal nobody booked is snapshotted only
when the canteen checked diners in to it in the last weeks: otherwise there is nothing to forecast from, and
a canteen's history (the costly part) is read only for canteens that have something to snapshot.
"""
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from canteen.access import SYSTEM
from canteen.calendar import service as calendar_service
from canteen.org.models import Canteen, Meal, MealWindow
from canteen.reservation import service
from canteen.reservation.forecast.history import booking_history
from canteen.reservation.forecast.model import WINDOW_DAYS, Forecaster, Method
from canteen.reservation.models import Booking, BookingPolicy, BookingStatus, ClosedDay, ForecastSnapshot, MenuItem
from canteen.reservation.service.rules import meal_end
from canteen.weighing.models import DailyRollup

RECENT_SERVICE = timedelta(days=28)
Slot = tuple[int, date, Meal]  # canteen, service date, meal


def _past_cutoff(session: Session, now: datetime) -> list[Slot]:
    """Meals of every canteen whose booking cut-off has passed and that have not ended by `now`."""
    policies = {policy.canteen_id: policy for policy in session.exec(select(BookingPolicy))}
    windows: dict[int, list[MealWindow]] = defaultdict(list)
    for window in session.exec(select(MealWindow)):
        windows[window.canteen_id].append(window)
    slots = []
    for canteen in session.exec(select(Canteen)):
        assert canteen.id is not None
        policy = policies.get(canteen.id) or BookingPolicy(canteen_id=canteen.id)
        zone = ZoneInfo(canteen.timezone)
        today = now.astimezone(zone).date()
        # Yesterday for meals running past midnight, up to the last day whose cut-off may have passed.
        for offset in range(-1, policy.cutoff_days_before + 1):
            day = today + timedelta(days=offset)
            if service.cutoff(policy, canteen, day) > now:
                continue
            slots += [(canteen.id, day, window.meal) for window in windows[canteen.id]
                      if meal_end(window, day, zone) > now]
    return slots


def _served(session: Session, slots: list[Slot]) -> list[Slot]:
    """The slots still without a snapshot that the canteen serves."""
    if not slots:
        return []
    first, last = min(day for _, day, _ in slots), max(day for _, day, _ in slots)
    taken = set(session.exec(select(ForecastSnapshot.canteen_id, col(ForecastSnapshot.service_date),
                                    col(ForecastSnapshot.meal))
                             .where(col(ForecastSnapshot.service_date).between(first, last))).all())
    closed = set(session.exec(select(ClosedDay.canteen_id, col(ClosedDay.service_date))
                              .where(col(ClosedDay.service_date).between(first, last))).all())
    menus = set(session.exec(select(MenuItem.canteen_id, col(MenuItem.service_date), col(MenuItem.meal)).distinct()
                             .where(col(MenuItem.service_date).between(first, last))).all())
    calendar = calendar_service.load(session)
    return [slot for slot in slots if slot not in taken and slot[:2] not in closed
            and (slot in menus or calendar.is_working_day(slot[1]))]


def _live_bookings(session: Session, slots: list[Slot]) -> dict[Slot, int]:
    first, last = min(day for _, day, _ in slots), max(day for _, day, _ in slots)
    query = (select(Booking.canteen_id, col(Booking.service_date), col(Booking.meal), func.count())
             .where(col(Booking.service_date).between(first, last), Booking.status == BookingStatus.booked,
                    col(Booking.canteen_id).in_({canteen for canteen, _, _ in slots}))
             .group_by(col(Booking.canteen_id), col(Booking.service_date), Booking.meal))
    return {(canteen, day, meal): count for canteen, day, meal, count in session.exec(query)}


def _checked_in_recently(session: Session, slots: list[Slot], now: datetime) -> set[tuple[int, Meal]]:
    """(canteen, meal) pairs with check-ins over the last weeks, from the rollups."""
    query = (select(DailyRollup.canteen_id, col(DailyRollup.meal)).distinct()
             .where(col(DailyRollup.canteen_id).in_({canteen for canteen, _, _ in slots}),
                    DailyRollup.service_date >= now.date() - RECENT_SERVICE,
                    col(DailyRollup.checkins) > 0))
    return set(session.exec(query).all())


def take_due_snapshots(session: Session, now: datetime) -> int:
    """Snapshot the forecast of every meal past its cut-off and not over yet; returns how many were taken.

    Safe to run again: a meal keeps its first snapshot.
    """
    due = _served(session, _past_cutoff(session, now))
    if not due:
        return 0
    booked = _live_bookings(session, due)
    recent = _checked_in_recently(session, due, now)
    due = [slot for slot in due if booked.get(slot) or (slot[0], slot[2]) in recent]
    by_canteen: dict[int, dict[date, list[Meal]]] = defaultdict(lambda: defaultdict(list))
    for canteen_id, day, meal in due:
        by_canteen[canteen_id][day].append(meal)
    taken = 0
    for canteen_id, days in by_canteen.items():
        # The forecaster looks back WINDOW_DAYS from the day it forecasts: older history would change nothing.
        history = booking_history(session, SYSTEM, canteen_id, now, since=min(days) - timedelta(days=WINDOW_DAYS))
        forecaster = Forecaster(history.frame, history.meal_ends, calendar=history.calendar)
        canteen = session.get(Canteen, canteen_id)
        assert canteen is not None
        local_now = now.astimezone(ZoneInfo(canteen.timezone)).replace(tzinfo=None)
        for day, meals in days.items():
            counts = {meal.value: booked.get((canteen_id, day, meal), 0) for meal in meals}
            for forecast in forecaster.day(day, counts, local_now, history.closed_days):
                if forecast.method is Method.closed:
                    continue
                session.add(ForecastSnapshot(canteen_id=canteen_id, service_date=day, meal=Meal(forecast.meal),
                                             booked=forecast.booked, expected=forecast.expected, low=forecast.low,
                                             high=forecast.high, method=forecast.method.value, made_at=now))
                taken += 1
    session.flush()
    return taken
