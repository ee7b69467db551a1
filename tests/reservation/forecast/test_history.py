"""A canteen's booking records as forecast history: what was known at each cut-off, and who came."""
import json
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select
from typer.testing import CliRunner

from canteen import cli
from canteen.access import SYSTEM
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
