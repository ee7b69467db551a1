"""Demo data: a whole province with every kind of canteen and an account for every role, seeded once."""
from collections import Counter
from datetime import UTC, datetime

from sqlmodel import Session, func, select

from canteen import demo
from canteen.access import Role
from canteen.auth import service as auth_service
from canteen.auth.models import User
from canteen.models import metadata
from canteen.org import service as org_service
from canteen.org.models import SCALE_PROTOCOLS, Bureau, BureauLevel, Canteen, OperatingMode, ServingMode, Station

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def row_counts(session: Session) -> dict[str, int]:
    return {table.name: session.exec(select(func.count()).select_from(table)).one() for table in metadata.sorted_tables}


def test_seed_creates_a_province_of_canteens_stations_and_accounts(session):
    data = demo.seed(session, NOW, history_days=1)
    session.commit()

    assert data.created
    bureaus = session.exec(select(Bureau)).all()
    assert Counter(bureau.level for bureau in bureaus) == {
        BureauLevel.province: 1, BureauLevel.city: 2, BureauLevel.county: 4}
    canteens = session.exec(select(Canteen)).all()
    assert len(canteens) == 12
    assert {canteen.serving_mode for canteen in canteens} == set(ServingMode)
    assert {canteen.operating_mode for canteen in canteens} == set(OperatingMode)
    assert {canteen.bureau_id for canteen in canteens} >= {bureau.id for bureau in bureaus}
    stations = session.exec(select(Station)).all()
    assert sorted(station.id for station in stations) == data.station_ids
    assert len(stations) == 24
    assert Counter((station.canteen_id, station.kind) for station in stations) == Counter(
        {(canteen.id, kind): 1 for canteen in canteens for kind in ("plate-return", "kitchen")})
    assert {station.protocol for station in stations} <= set(SCALE_PROTOCOLS)
    assert {user.role for user in session.exec(select(User))} == set(Role)
    assert max(len(auth_service.operator_canteen_ids(session, user.id))
               for user in session.exec(select(User).where(User.role == Role.operator))) >= 2


def test_seed_twice_adds_nothing(session):
    first = demo.seed(session, NOW, history_days=1)
    session.commit()
    before = row_counts(session)

    second = demo.seed(session, NOW, history_days=1)
    session.commit()

    assert not second.created
    assert row_counts(session) == before
    assert second.station_ids == first.station_ids
    assert second.logins == first.logins


def test_every_login_signs_in_and_sees_something(session):
    data = demo.seed(session, NOW, history_days=1)
    session.commit()

    for login in data.logins:
        user = auth_service.authenticate(session, login.username, login.password, "test", NOW,
                                         auth_service.Throttle())
        assert user.role is login.role
        assert login.description("en")
        scope = auth_service.scope_for(session, user)
        if scope.manages:
            canteens = {canteen.name for canteen in org_service.list_canteens(session, scope)}
            assert set(login.canteens) <= canteens
            assert canteens
        else:
            assert [org_service.canteens_by_id(session, scope.canteen_ids)[0].name] == list(login.canteens)
