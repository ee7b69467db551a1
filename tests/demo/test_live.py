"""The demo's live scales: a simulated scale and a gateway per plate-return and kitchen station, weighing during
meals, and simulated staff at each kitchen terminal."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, func, select

from canteen import db
from canteen.access import SYSTEM
from canteen.demo import live as demo_live
from canteen.kitchen.terminal.models import StationReading
from canteen.org import service as org_service
from canteen.org.models import BureauCreate, CanteenCreate, CanteenUpdate, Meal, StationCreate, StationKind
from canteen.weighing.models import PlateWeighing
from tests.live import Server, wait_for


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now, so a short lunch window never crosses midnight."""
    offset = 12 - now.hour
    offset = offset - 24 if offset > 14 else offset
    return f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-8 is UTC+8


def test_scales_weigh_the_meal_that_is_open_and_stop_with_the_demo(tmp_path):
    now = datetime.now(UTC)
    zone = midday_zone(now)
    local = now.astimezone(ZoneInfo(zone))
    database_url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        bureau = org_service.create_bureau(session, SYSTEM, BureauCreate(name="局"))
        canteen = org_service.create_canteen(session, SYSTEM, CanteenCreate(
            bureau_id=bureau.id, name="食堂", timezone=zone, seats=20), zone)
        # 20 minutes of lunch left at speed 10: the scale runs a 2-minute meal of ~17 diners (20 seats), so 3
        # plates are all but certain (a 3-minute window gave 2 or 3 diners, drawn afresh each day, and fewer
        # the slower the start). The window also outlasts the test, so the server files every plate as lunch.
        lunch = {"meal": Meal.lunch, "starts": (local - timedelta(minutes=1)).time(),
                 "ends": (local + timedelta(minutes=20)).time()}
        org_service.update_canteen(session, SYSTEM, canteen.id, CanteenUpdate(meal_windows=[lunch]))
        for kind in (StationKind.plate_return, StationKind.kitchen):
            org_service.create_station(session, SYSTEM, StationCreate(canteen_id=canteen.id, name=kind.value,
                                                                      kind=kind, protocol="yaohua-a12"))
        stations = demo_live.prepare(session)
    assert [station.kitchen for station in stations] == [False, True]

    server = Server(database_url, tmp_path / "server.log")
    server.start()
    fleet = demo_live.Fleet(stations, server.url, tmp_path / "scales", speed=10)
    try:
        fleet.start()

        def plates() -> int:
            with Session(engine) as session:
                return session.exec(select(func.count()).select_from(PlateWeighing)).one()

        # The meal's clock starts once the gateway has connected (--wait-client), so plates follow from events,
        # not from racing the clock; the bound is for a fleet that hangs (plates come within ~30 s even under
        # load) and stays inside the lunch window.
        def live_weight() -> tuple[int | None, bool] | None:
            with Session(engine) as session:
                reading = session.exec(select(StationReading)).first()
            return None if reading is None else (reading.grams, reading.stable)

        wait_for(lambda: plates() >= 3, 300, "plates from the live scale")
        # The kitchen scale's gateway runs in kitchen mode: the terminal has the scale's live weight.
        wait_for(lambda: live_weight() is not None, 60, "the kitchen scale's live reading")
        with Session(engine) as session:
            meals = set(session.exec(select(PlateWeighing.meal)))
        assert meals == {Meal.lunch}
        assert stations[1].staff is not None and stations[1].staff.poll() is None  # the staff at the terminal
    finally:
        fleet.stop()
        server.kill()
        engine.dispose()
    processes = [stations[0].gateway, stations[0].simulator, stations[1].gateway, stations[1].simulator,
                 stations[1].staff]
    assert all(process is not None and process.poll() is not None for process in processes)
