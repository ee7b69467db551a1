"""A canteen's booking records as forecast history: what was known at each cut-off, and who came."""
import json
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select
from typer.testing import CliRunner

from canteen import cli
from canteen.access import SYSTEM
from canteen.org.models import Canteen, Meal
from canteen.reservation.forecast.history import booking_history
from canteen.reservation.models import Booking, BookingStatus, ClosedDay

FIRST = date(2026, 9, 1)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def cutoff_utc(day: date) -> datetime:
    """16:00 in Shanghai the day before."""
    return datetime.combine(day - timedelta(days=1), time(8, 0), tzinfo=UTC)


def test_rows_hold_what_was_known_at_the_cutoff_and_who_came(session, org, diners, past_lunches):
    canteen = org.canteens["a"]
    ids = [diners["diner_a"], diners["diner_a2"], diners["diner_a3"]]
    past_lunches(canteen, ids, FIRST, 3)
    day = FIRST + timedelta(days=1)
    late = session.exec(select(Booking).where(Booking.service_date == day, Booking.diner_id == ids[0])).one()
    late.status, late.cancelled_at = BookingStatus.cancelled, cutoff_utc(day) + timedelta(minutes=5)
    early = session.exec(select(Booking).where(Booking.service_date == day, Booking.diner_id == ids[1])).one()
    early.status, early.cancelled_at = BookingStatus.cancelled, cutoff_utc(day) - timedelta(minutes=5)
    session.add(ClosedDay(canteen_id=canteen, service_date=FIRST + timedelta(days=2)))
    session.commit()

    history = booking_history(session, SYSTEM, canteen, NOW)

    assert (history.cutoff_time, history.days_before) == (time(16), 1)
    frame = history.frame.set_index(["date", "meal"])
    first, second, third = (frame.loc[(str(FIRST + timedelta(days=n)), "lunch")] for n in range(3))
    assert (first.booked, first.served, first.closed) == (3, 3, False)  # 2 of 3 bookings + a walk-in
    assert (second.booked, second.closed) == (2, False)  # cancelled after the cut-off still counts as known
    assert third.closed
    assert frame.loc[(str(FIRST), "breakfast")].closed  # nobody booked or came
    assert str(frame.index.get_level_values("date").max().date()) == "2026-11-22"  # up to yesterday


def test_backtest_on_a_canteens_records_through_the_command(org, diners, engine, database_url, past_lunches):
    canteen = org.canteens["a"]
    past_lunches(canteen, [diners["diner_a"], diners["diner_a2"], diners["diner_a3"]], FIRST, 60)
    result = CliRunner().invoke(cli.app, ["forecast", "backtest", "--canteen", str(canteen), "--json"],
                                env={"CANTEEN_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows"] > 40 and report["cutoff"] == "16:00"
    assert report["overall"]["bookings"]["wape"] == 0.0  # 3 booked, 3 came, every day


def test_a_canteen_without_records_says_so(org, database_url, engine):
    result = CliRunner().invoke(cli.app, ["forecast", "backtest", "--canteen", str(org.canteens["b"])],
                                env={"CANTEEN_DATABASE_URL": database_url})
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: canteen {org.canteens['b']} has no past bookings or check-ins to replay"


def _booking(canteen: int, diner: int, day: date, meal: Meal, created: datetime,
             cancelled: datetime | None = None) -> Booking:
    return Booking(diner_id=diner, canteen_id=canteen, service_date=day, meal=meal,
                   status=BookingStatus.booked if cancelled is None else BookingStatus.cancelled,
                   token=f"bk_{day}_{meal}_{diner}_{created:%d%H%M}", created_at=created, cancelled_at=cancelled)


def test_each_day_is_counted_at_its_own_cutoff_across_a_change_of_summer_time(session, org, diners):
    """In Berlin, Sunday 29 March 2026's lunch closed on Saturday at 16:00 CET (15:00 UTC), Monday 30 March's on
    Sunday at 16:00 CEST (14:00 UTC): a booking at 14:30 UTC is in time for the one and late for the other."""
    canteen_id = org.canteens["a"]
    canteen = session.get(Canteen, canteen_id)
    canteen.timezone = "Europe/Berlin"
    session.add(canteen)
    one, two, three = diners["diner_a"], diners["diner_a2"], diners["diner_a3"]
    sunday, monday = date(2026, 3, 29), date(2026, 3, 30)
    session.add_all([
        _booking(canteen_id, one, sunday, Meal.lunch, datetime(2026, 3, 28, 14, 30, tzinfo=UTC)),  # counts
        _booking(canteen_id, two, sunday, Meal.lunch, datetime(2026, 3, 28, 15, 0, tzinfo=UTC)),  # at the cut-off: late
        _booking(canteen_id, three, sunday, Meal.lunch, datetime(2026, 3, 27, 10, 0, tzinfo=UTC),
                 cancelled=datetime(2026, 3, 28, 14, 59, tzinfo=UTC)),  # cancelled in time: gone
        _booking(canteen_id, three, sunday, Meal.lunch, datetime(2026, 3, 27, 11, 0, tzinfo=UTC),
                 cancelled=datetime(2026, 3, 28, 15, 0, tzinfo=UTC)),  # cancelled at the cut-off: counts
        _booking(canteen_id, one, monday, Meal.lunch, datetime(2026, 3, 29, 14, 30, tzinfo=UTC)),  # late in CEST
        _booking(canteen_id, two, monday, Meal.lunch, datetime(2026, 3, 29, 13, 59, tzinfo=UTC)),  # counts
        _booking(canteen_id, three, monday, Meal.lunch, datetime(2026, 3, 28, 10, 0, tzinfo=UTC),
                 cancelled=datetime(2026, 3, 29, 14, 30, tzinfo=UTC)),  # cancelled after the cut-off: counts
        _booking(canteen_id, one, monday, Meal.dinner, datetime(2026, 3, 29, 13, 0, tzinfo=UTC)),  # counts
    ])
    session.commit()
    now = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)

    frame = booking_history(session, SYSTEM, canteen_id, now).frame.set_index(["date", "meal"])["booked"]

    assert (frame[(str(sunday), "lunch")], frame[(str(monday), "lunch")], frame[(str(monday), "dinner")]) == (2, 2, 1)
    assert frame[(str(sunday), "dinner")] == 0 and frame[(str(monday + timedelta(days=1)), "lunch")] == 0
    since = booking_history(session, SYSTEM, canteen_id, now, since=monday).frame
    assert str(since["date"].min().date()) == str(monday) and since["booked"].sum() == 3
