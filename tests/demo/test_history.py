"""Demo history: every demo canteen has realistic, reproducible days that the rollups agree with."""
from datetime import UTC, date, datetime

from sqlmodel import Session, func, select

from canteen import db, demo
from canteen.org.models import Canteen, Meal, Station, StationKind
from canteen.reservation.models import Booking, BookingChoice
from canteen.weighing.models import CheckIn, DailyRollup, KitchenWaste, PlateWeighing

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # Monday 13:00 in Shanghai: breakfast done, lunch under way


def plates_per_day(session: Session, canteen_id: int) -> dict[date, int]:
    rows = session.exec(select(PlateWeighing.service_date, func.count()).where(
        PlateWeighing.canteen_id == canteen_id).group_by(PlateWeighing.service_date))
    return dict(rows.all())


def test_history_covers_every_canteen_and_agrees_with_the_rollups(session):
    demo.seed(session, NOW, history_days=7)
    session.commit()
    canteens = session.exec(select(Canteen)).all()
    for canteen in canteens:
        per_day = plates_per_day(session, canteen.id)
        assert min(per_day) == date(2026, 11, 16) and max(per_day) == date(2026, 11, 23)
        rollup_plates = session.exec(select(func.sum(DailyRollup.plates)).where(
            DailyRollup.canteen_id == canteen.id)).one()
        assert rollup_plates == sum(per_day.values())
        weekday, saturday = per_day[date(2026, 11, 20)], per_day.get(date(2026, 11, 21), 0)
        if "医院" in canteen.name:
            assert weekday * 0.8 > saturday > weekday * 0.4
        elif "中学" in canteen.name:
            assert weekday * 0.3 > saturday > 0
        else:
            assert saturday == 0
    today = session.exec(select(DailyRollup.meal).where(DailyRollup.service_date == date(2026, 11, 23))).all()
    assert Meal.breakfast in today and Meal.lunch in today and Meal.dinner not in today
    latest = session.exec(select(PlateWeighing.measured_at).order_by(PlateWeighing.measured_at.desc())).first()
    assert latest <= NOW


def test_leftovers_look_like_a_canteen(session):
    demo.seed(session, NOW, history_days=7)
    session.commit()
    grams = sorted(session.exec(select(PlateWeighing.grams)).all())
    clean_share = sum(1 for value in grams if value <= 10) / len(grams)
    # Surveys: most diners leave little (26% to 36% left food at all in one), a minority leave a lot. The demo's
    # canteens have been at it a year, the best of them with most plates clean.
    assert 0.3 < clean_share < 0.75
    assert grams[len(grams) // 2] <= 40
    assert grams[len(grams) * 9 // 10] >= 40
    assert grams[-1] > 300
    kitchen = session.exec(select(func.count()).select_from(KitchenWaste)).one()
    assert kitchen > 0


def fingerprint(session: Session) -> tuple:
    """What the demo seeded, without the ids the database gave it."""
    return (
        session.exec(select(func.count(), func.sum(PlateWeighing.grams), func.max(PlateWeighing.measured_at))).one(),
        session.exec(select(func.count(), func.max(KitchenWaste.grams))).one(),
        sorted(session.exec(select(Booking.token, Booking.status, Booking.created_at, Booking.cancelled_at))),
        sorted(session.exec(select(CheckIn.service_date, CheckIn.meal, CheckIn.at))),
        session.exec(select(func.count()).select_from(BookingChoice)).one(),
    )


def test_history_is_reproducible(session, tmp_path):
    demo.seed(session, NOW, history_days=2)
    session.commit()
    engine = db.make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    db.upgrade(engine)
    with Session(engine) as again:
        demo.seed(again, NOW, history_days=2)
        again.commit()
        assert fingerprint(again) == fingerprint(session)
    engine.dispose()


def test_every_station_was_last_seen_when_it_sent_its_last_rows(session):
    """The kitchen scale too: its canteen page must not say "never" beside the records it sent."""
    demo.seed(session, NOW, history_days=3)
    stations = session.exec(select(Station)).all()
    assert {station.kind for station in stations} == {StationKind.plate_return, StationKind.kitchen}
    for station in stations:
        model, stamp = ((PlateWeighing, PlateWeighing.measured_at) if station.kind is StationKind.plate_return
                        else (KitchenWaste, KitchenWaste.recorded_at))
        latest = session.exec(select(func.max(stamp)).where(model.station_id == station.id)).one()
        assert latest is not None and station.last_seen_at == latest
