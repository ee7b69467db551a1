"""Demo data for local demos: one province of bureaus, canteens and scales, and an account for every role."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pwdlib.exceptions import UnknownHashError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from canteen.access import SYSTEM, Role
from canteen.auth import service as auth_service
from canteen.auth.models import UserCreate
from canteen.demo.assessment import seed_assessment
from canteen.demo.history import seed_history
from canteen.demo.points import seed_points
from canteen.demo.progress import ORGANISATIONS, POINTS, Progress
from canteen.i18n import N_, gettext
from canteen.org import service as org_service
from canteen.org.models import (
    SCALE_PROTOCOLS,
    Bureau,
    BureauCreate,
    Canteen,
    CanteenCreate,
    OperatingMode,
    ServingMode,
    Station,
    StationCreate,
    StationKind,
)

TIMEZONE = "Asia/Shanghai"
PROVINCE = "江西省机关事务管理局"
NANCHANG = "南昌市机关事务管理局"
JIUJIANG = "九江市机关事务管理局"
JINXIAN = "进贤县机关事务管理局"
COUNTIES = {NANCHANG: ["南昌县机关事务管理局", JINXIAN], JIUJIANG: ["修水县机关事务管理局", "武宁县机关事务管理局"]}

# Seats are those of middling canteens: 13 months of history are about seven million rows (bookings, their
# choices, check-ins, plates), a minute or so of seeding on two cores.
CANTEENS: list[tuple[str, str, ServingMode, OperatingMode, int]] = [
    (PROVINCE, "江西省直机关第一食堂", ServingMode.buffet, OperatingMode.self_run, 400),
    (PROVINCE, "江西省人民医院职工食堂", ServingMode.portioned, OperatingMode.outsourced, 300),
    (PROVINCE, "江西省机关事务管理局接待餐厅", ServingMode.table, OperatingMode.self_run, 120),
    (NANCHANG, "南昌市机关第一食堂", ServingMode.buffet, OperatingMode.self_run, 350),
    (NANCHANG, "南昌市第一医院职工食堂", ServingMode.portioned, OperatingMode.outsourced, 250),
    (NANCHANG, "南昌市第二中学学生食堂", ServingMode.set_meal, OperatingMode.outsourced, 600),
    (JIUJIANG, "九江市机关第一食堂", ServingMode.buffet, OperatingMode.outsourced, 300),
    (JIUJIANG, "九江市第一中学学生食堂", ServingMode.set_meal, OperatingMode.self_run, 500),
    ("南昌县机关事务管理局", "南昌县人民医院职工食堂", ServingMode.portioned, OperatingMode.outsourced, 200),
    (JINXIAN, "进贤县机关食堂", ServingMode.set_meal, OperatingMode.self_run, 150),
    ("修水县机关事务管理局", "修水县第一中学学生食堂", ServingMode.set_meal, OperatingMode.outsourced, 450),
    ("武宁县机关事务管理局", "武宁县机关食堂", ServingMode.table, OperatingMode.self_run, 120),
]
PLATE_RETURN, KITCHEN = "餐盘回收台", "后厨称重台"
KITCHEN_CAPACITY_G = 150_000
# 13 months and a few days: the current month's days and last month have a year-on-year comparison (the same
# weekday 52 weeks earlier, the same month a year earlier).
HISTORY_DAYS = 400


@dataclass(frozen=True)
class Login:
    username: str
    display_name: str
    role: Role
    sees: str  # msgid, formatted with the bureau and canteen names
    bureau: str | None = None
    canteens: tuple[str, ...] = ()

    @property
    def password(self) -> str:
        return f"demo-{self.username}-2026"

    def description(self, language: str) -> str:
        return gettext(self.sees, language).format(bureau=self.bureau, canteens="、".join(self.canteens))


LOGINS = [
    Login("admin", "系统管理员", Role.admin, N_("everything: bureaus, canteens, scales and accounts")),
    Login("bureau-jiangxi", "省局 刘建华", Role.bureau, N_("{bureau} and every bureau and canteen under it"),
          bureau=PROVINCE),
    Login("bureau-nanchang", "市局 陈静", Role.bureau, N_("{bureau} and every bureau and canteen under it"),
          bureau=NANCHANG),
    Login("bureau-jinxian", "县局 黄伟", Role.bureau, N_("{bureau} and every bureau and canteen under it"),
          bureau=JINXIAN),
    Login("operator-nanchang", "食堂管理员 王芳", Role.operator, N_("runs {canteens}"),
          canteens=("南昌市机关第一食堂", "南昌市第一医院职工食堂")),
    Login("operator-xiushui", "食堂管理员 李强", Role.operator, N_("runs {canteens}"),
          canteens=("修水县第一中学学生食堂",)),
    Login("diner-nanchang", "就餐人员 张敏", Role.diner, N_("own bookings and clean-plate record at {canteens}"),
          canteens=("南昌市机关第一食堂",)),
    Login("diner-xiushui", "学生 赵磊", Role.diner, N_("own bookings and clean-plate record at {canteens}"),
          canteens=("修水县第一中学学生食堂",)),
]


@dataclass(frozen=True)
class DemoData:
    logins: list[Login]
    station_ids: list[int]
    created: bool  # False when the demo province was already there and nothing was added
    bulletin_pdf: bool = True  # False when Chromium was missing and the demo's bulletin went out as HTML alone


# What a database holds that the demo could overwrite or mix with; the official calendar that the migrations
# seed (calendaryear, officialday) is not data.
DATA_TABLES = ("bureau", "canteen", "station", "user")


def holds_other_data(engine: Engine) -> bool:
    """Whether the database holds bureaus, canteens, stations or accounts that are not the demo's own.

    The demo's own database (from an earlier `canteen demo`) has the demo province, and its `admin` account
    still signs in with the demo password that `canteen demo` prints: anyone can sign in as its administrator
    anyway, so reusing it exposes nothing. Read with plain SQL, before any migration, so that a database on an
    older schema is looked at as it is.
    """
    tables = set(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        if not any(connection.execute(sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)).first()
                   for name in DATA_TABLES if name in tables):
            return False
        if not {"bureau", "user"} <= tables:
            return True
        province = connection.execute(sa.select(sa.literal(1)).select_from(sa.table("bureau"))
                                      .where(sa.column("name") == PROVINCE)).first()
        admin = LOGINS[0]
        password_hash = connection.execute(sa.select(sa.column("password_hash")).select_from(sa.table("user"))
                                           .where(sa.column("username") == admin.username)).scalar()
    return province is None or password_hash is None or not _verifies(admin.password, password_hash)


def _verifies(password: str, password_hash: str) -> bool:
    try:
        return auth_service.password_hasher().verify(password, password_hash)
    except UnknownHashError:  # not an Argon2 hash, so not one the demo wrote
        return False


def seed(session: Session, now: datetime, history_days: int = HISTORY_DAYS,
         progress: Progress | None = None) -> DemoData:
    """The demo province with `history_days` of history up to `now`, unless it is there already."""
    province = session.exec(select(Bureau).where(Bureau.name == PROVINCE)).first()
    if province is not None:
        return DemoData(LOGINS, _station_ids(session, province), created=False)
    progress = progress or Progress()
    with progress.phase(ORGANISATIONS, len(CANTEENS) + len(LOGINS)) as advance:
        bureaus, canteen_ids, station_ids = _organisations(session, advance)
        for login in LOGINS:
            auth_service.create_user(session, SYSTEM, UserCreate(
                username=login.username, display_name=login.display_name, password=login.password,
                role=login.role, bureau_id=bureaus[login.bureau].id if login.bureau else None,
                canteen_ids=[canteen_ids[name] for name in login.canteens]), now)
            advance(1)
    seed_history(session, list(canteen_ids.values()), now, history_days, progress=progress)
    province_id = bureaus[PROVINCE].id
    assert province_id is not None  # flushed by create_bureau
    with progress.phase(POINTS, 1) as advance:
        seed_points(session, list(canteen_ids.values()), province_id, now, TIMEZONE)
        advance(1)
    with_pdf = seed_assessment(session, list(canteen_ids.values()), now, history_days, province_id,
                               progress=progress)
    return DemoData(LOGINS, station_ids, created=True, bulletin_pdf=with_pdf)


def _organisations(session: Session, advance: Callable[[int], None]
                   ) -> tuple[dict[str, Bureau], dict[str, int], list[int]]:
    """The bureaus, and the canteens with their stations: bureaus by name, canteen ids by name, station ids."""
    bureaus = {PROVINCE: org_service.create_bureau(session, SYSTEM, BureauCreate(name=PROVINCE))}
    for city, counties in COUNTIES.items():
        bureaus[city] = org_service.create_bureau(session, SYSTEM, BureauCreate(
            name=city, parent_id=bureaus[PROVINCE].id))
        for county in counties:
            bureaus[county] = org_service.create_bureau(session, SYSTEM, BureauCreate(
                name=county, parent_id=bureaus[city].id))
    canteen_ids: dict[str, int] = {}
    station_ids: list[int] = []
    for index, (bureau, name, serving_mode, operating_mode, seats) in enumerate(CANTEENS):
        canteen = org_service.create_canteen(session, SYSTEM, CanteenCreate(
            bureau_id=bureaus[bureau].id, name=name, serving_mode=serving_mode, operating_mode=operating_mode,
            timezone=TIMEZONE, seats=seats), TIMEZONE)
        assert canteen.id is not None  # flushed by create_canteen
        canteen_ids[name] = canteen.id
        for station in (
            StationCreate(canteen_id=canteen.id, name=PLATE_RETURN, kind=StationKind.plate_return,
                          protocol=SCALE_PROTOCOLS[index % len(SCALE_PROTOCOLS)]),
            StationCreate(canteen_id=canteen.id, name=KITCHEN, kind=StationKind.kitchen,
                          protocol=SCALE_PROTOCOLS[(index + 2) % len(SCALE_PROTOCOLS)],
                          capacity_g=KITCHEN_CAPACITY_G),
        ):
            station_id = org_service.create_station(session, SYSTEM, station)[0].id
            assert station_id is not None  # flushed by create_station
            station_ids.append(station_id)
        advance(1)
    return bureaus, canteen_ids, station_ids


def _station_ids(session: Session, province: Bureau) -> list[int]:
    in_province = select(Bureau.id).where(col(Bureau.path).startswith(province.path))
    query = (select(col(Station.id)).join(Canteen, col(Canteen.id) == Station.canteen_id)
             .where(col(Canteen.bureau_id).in_(in_province)).order_by(col(Station.id)))
    return [station_id for station_id in session.exec(query) if station_id is not None]
