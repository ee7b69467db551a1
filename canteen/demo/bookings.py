"""Bookings, check-ins, menus and closed days for a demo canteen, drawn from the simulator's booking model.

`hardware_sim.bookings.simulate` draws how many diners booked, came and walked in for every meal of the demo's
days and the week ahead. This module turns those numbers into what diners would have done: bookings made in
working hours before the cut-off by a pool of demo diner accounts (a few cancelled before it), set meals or
per-dish portion choices from the day's menu, a check-in for each diner who came, at an arrival time from the
traffic model, and walk-ins without a booking. Days ahead only have the bookings made by `now`. The canteen's
existing diners (the demo's login diners) get a booking history of their own, with a few no-shows, but no
booking after today, so a person can book one by hand.

`prepare` writes what the drawing needs from the database (closed days, dishes and menus, the diner pool);
`draw` makes the rows without touching the database, so it can run in another process.
"""
import base64
import math
import random
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as datetime_time
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Dialect
from sqlmodel import Session, SQLModel, col, select, text

from canteen.access import SYSTEM, Role
from canteen.auth import service as auth_service
from canteen.auth.models import User
from canteen.calendar import service as calendar_service
from canteen.calendar.service import OfficialCalendar
from canteen.db import table_of
from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal, ServingMode
from canteen.reservation import service as reservation_service
from canteen.reservation.calendar import DayKind, day_info, day_kinds
from canteen.reservation.models import Booking, BookingChoice, BookingStatus, ClosedDay, Dish, MenuItem, Portion
from canteen.weighing.models import CheckIn
from hardware_sim import traffic
from hardware_sim.bookings import MealDay, simulate

if TYPE_CHECKING:
    import psycopg

FUTURE_DAYS = 7  # menus are published, and bookings taken, a week ahead
DEFAULT_SEATS = 200
INSERT_CHUNK = 5000
BOOKING_COLUMNS = ("id", "diner_id", "canteen_id", "service_date", "meal", "status", "set_meal", "token", "created_at",
                   "cancelled_at")
CHECK_IN_COLUMNS = ("canteen_id", "service_date", "meal", "booking_id", "diner_id", "at")
# Share of a meal's bookings that are cancelled before the cut-off, drawn per canteen.
CANCELLED_SHARE = (0.03, 0.08)
# Bookings come in during the working day before the cut-off: this many hours back from its time of day,
# on the cut-off day or, with a lead drawn around MEAN_LEAD_DAYS, on one of the days before.
BOOKING_HOURS = 8.5
LATEST_BOOKING_S = 60  # the last bookings come in a minute before the cut-off
MEAN_LEAD_DAYS = 1.2
MAX_LEAD_DAYS = 6
# Share of bookings that choose dishes and portions instead of a set meal: mostly where food is portioned out.
CHOICE_SHARE = {ServingMode.portioned: 0.5, ServingMode.buffet: 0.1, ServingMode.table: 0.05,
                ServingMode.set_meal: 0.1}
DISH_TAKEN = 0.6  # chance that a diner who chooses takes a given dish of the menu
HALF, SMALL = 0.3, 0.15  # chance that a diner who chooses a dish asks for a half or a small portion of it
# How often a login diner books each meal, and how many of their past bookings they missed.
OWN_BOOKING = {Meal.breakfast: 0.3, Meal.lunch: 0.9, Meal.dinner: 0.2}
OWN_NO_SHOWS = 3
# In the last days diners scan their booking's code at the plate-return station (光盘打卡): the login diners every
# time, one pool diner in SCANNING_POOL_SHARE; their plates carry the code.
SCANNED_DAYS = 21
SCANNING_POOL_SHARE = 5
CLOSED_REASONS = ("后厨设备检修", "食品安全检查", "消防演练", "停水检修")

# (name, raw grams of one full portion, offers half, offers small)
DishSpec = tuple[str, int, bool, bool]
BREAKFAST_DISHES: list[DishSpec] = [
    ("南昌拌粉", 200, True, True), ("白粥", 50, True, False), ("鲜肉包", 110, True, False),
    ("馒头", 100, True, True), ("茶叶蛋", 60, False, False), ("豆浆", 40, True, False), ("油条", 90, False, False),
]
MAIN_DISHES: list[DishSpec] = [
    ("红烧肉", 180, True, True), ("藜蒿炒腊肉", 160, True, False), ("啤酒鸭", 220, True, False),
    ("番茄炒蛋", 180, True, True), ("清炒时蔬", 200, True, True), ("麻婆豆腐", 180, True, True),
    ("宫保鸡丁", 170, True, False), ("糖醋排骨", 200, True, False), ("瓦罐汤", 150, False, False),
    ("鱼香肉丝", 170, True, True), ("清蒸鲈鱼", 250, True, False), ("酸辣土豆丝", 180, True, True),
    ("小炒黄牛肉", 170, True, False), ("凉拌黄瓜", 150, True, True), ("紫菜蛋花汤", 60, False, False),
]
STAPLE: DishSpec = ("米饭", 150, True, True)  # on every lunch and dinner menu
CANTEEN_DISHES = {Meal.breakfast: 5, Meal.lunch: 10}  # dishes a canteen cooks; dinner shares lunch's
MENU_DISHES = {Meal.breakfast: 3, Meal.lunch: 4, Meal.dinner: 3}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红玉兰文斌志海燕婷鑫浩宇欣怡晨阳"


@dataclass(frozen=True)
class ServedMeal:
    """A meal that has begun: when each diner who ate it came in (check-ins, and later plates, follow them), and
    the code each one scans at the plate-return station, if any."""

    day: date
    meal: Meal
    starts: datetime
    ends: datetime
    arrivals: list[datetime]
    codes: list[str | None] = field(default_factory=list)


@dataclass(frozen=True)
class _MenuDish:
    id: int
    half: Portion  # what a diner asking for a half portion gets: half, or full where the dish has none
    small: Portion


@dataclass(frozen=True)
class _Plan:
    """What one of the canteen's existing diners books up to today, and which of those they missed."""

    booked: set[tuple[date, str]]
    no_shows: set[tuple[date, str]]


@dataclass(frozen=True)
class Load:
    """Rows for one table, tuples in the order of `columns`."""

    model: type[SQLModel]
    columns: tuple[str, ...]
    rows: list[tuple]

    def stored(self, dialect: Dialect) -> "Load":
        """The rows as the database stores them, columns in the order its insert statement takes them.

        SQLAlchemy's executemany converts each row's parameters on its own, which took most of the time a demo
        takes to seed; here each column goes through its type's bind processor in one pass, and values that
        repeat (dates, meals; plates received when weighed) are converted once.
        """
        table = table_of(self.model)
        if dialect.name == "postgresql":
            columns = self.columns
        else:
            order = table.insert().compile(dialect=dialect, column_keys=list(self.columns)).positiontup
            assert order is not None  # the driver's parameters are positional
            columns = tuple(order)
        converted = []
        caches: dict[str, dict] = {}
        for name in columns:
            index = self.columns.index(name)
            values = [row[index] for row in self.rows]
            column_type = table.c[name].type
            processor = column_type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                cache = caches.setdefault(repr(column_type), {})
                values = [cache[value] if value in cache else cache.setdefault(value, processor(value))
                          for value in values]
            converted.append(values)
        return Load(self.model, columns, list(zip(*converted)))

    def insert(self, session: Session) -> None:
        """Insert stored rows: PostgreSQL's COPY (psycopg's executemany runs a statement per row), or the
        driver's executemany."""
        if not self.rows:
            return
        connection = session.connection()
        dialect = connection.dialect
        table = table_of(self.model)
        if dialect.name == "postgresql":
            quote = dialect.identifier_preparer
            names = ", ".join(quote.quote(name) for name in self.columns)
            with cast("psycopg.Cursor[Any]", connection.connection.cursor()) as cursor:
                with cursor.copy(f"COPY {quote.format_table(table)} ({names}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
            return
        statement = table.insert().compile(dialect=dialect, column_keys=list(self.columns)).string
        for start in range(0, len(self.rows), INSERT_CHUNK):
            connection.exec_driver_sql(statement, self.rows[start:start + INSERT_CHUNK])


def insert(session: Session, model: type[SQLModel], columns: tuple[str, ...], rows: list[tuple]) -> None:
    Load(model, columns, rows).stored(session.connection().dialect).insert(session)


def continue_ids(session: Session, model: type[SQLModel]) -> None:
    """Rows went in with their ids given: PostgreSQL's id sequence must carry on after them."""
    if session.connection().dialect.name == "postgresql":
        table = table_of(model).name
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def weekend_share(canteen: Canteen) -> float:
    """Hospitals serve at weekends; boarding schools keep a few pupils in; offices close."""
    if "医院" in canteen.name:
        return 0.6
    return 0.15 if "中学" in canteen.name else 0.0


def _key(canteen: Canteen, seed: int) -> int:
    """The canteen's own seed: by name, so the same demo gets the same data whatever ids the database gives."""
    return zlib.crc32(f"{seed}-{canteen.name}".encode())


def booking_draws(canteen: Canteen, meals: Sequence[str], now: datetime, days: int, seed: int,
                  calendar: OfficialCalendar) -> list[MealDay]:
    """What the simulator draws for the canteen from `days` days before `now` (canteen-local) to a week ahead."""
    first = now.astimezone(ZoneInfo(canteen.timezone)).date() - timedelta(days=days)
    return simulate(_key(canteen, seed), first, days + 1 + FUTURE_DAYS, canteen.seats or DEFAULT_SEATS, tuple(meals),
                    weekend_share(canteen), day_kind=day_kinds(calendar))


@lru_cache
def _unusable_password_hash() -> str:
    """A real hash of a secret nobody keeps: verifying any password against it fails without an error."""
    return auth_service.password_hasher().hash(secrets.token_urlsafe(32))


@dataclass
class Plan:
    """Everything `draw` needs about one canteen, with no database behind it."""

    canteen_id: int
    zone: ZoneInfo
    now: datetime  # UTC
    choice_share: float
    windows: dict[str, tuple[datetime_time, datetime_time]]
    cutoffs: dict[date, float]  # timestamps
    meals: list[MealDay]  # the open ones
    cancelled: list[int]  # per meal, bookings beyond the live ones
    menus: dict[tuple[date, str], list[_MenuDish]]
    own: dict[int, _Plan]  # the canteen's existing diners
    pool: list[int]
    rng: random.Random
    numbers: np.random.Generator

    @property
    def most_bookings(self) -> int:
        """Bookings `draw` makes at most: every live and cancelled one (some ahead of today are not made yet)."""
        return sum(row.booked for row in self.meals) + sum(self.cancelled)


def prepare(session: Session, canteen: Canteen, now: datetime, days: int, seed: int) -> Plan:
    """Write the canteen's closed days, dishes, menus and demo diners, and plan its bookings."""
    assert canteen.id is not None
    key = _key(canteen, seed)
    rng, numbers = random.Random(key), np.random.default_rng([key, 2])
    zone = ZoneInfo(canteen.timezone)
    today = now.astimezone(zone).date()
    windows = {window.meal.value: (window.starts, window.ends)
               for window in org_service.meal_windows(session, canteen.id)}
    drawn = booking_draws(canteen, tuple(windows), now, days, seed, calendar_service.load(session))
    meals = [row for row in drawn if not row.closed]
    _closed_days(session, canteen, sorted({row.day for row in drawn if row.closed}), rng)
    menus = _menus(session, canteen.id, meals, rng)
    cancelled = numbers.binomial([row.booked for row in meals], rng.uniform(*CANCELLED_SHARE)).tolist()
    existing = session.exec(select(User.id).where(User.role == Role.diner, User.canteen_id == canteen.id)).all()
    own = {diner: _own_plan(meals, today, rng) for diner in existing if diner is not None}
    needed = max((row.booked + extra for row, extra in zip(meals, cancelled)), default=0)
    joined = datetime.combine(today - timedelta(days=days + 30), datetime_time(), zone)
    pool = _pool(session, canteen.id, max(canteen.seats or DEFAULT_SEATS, needed), joined, rng)
    policy = reservation_service.get_policy(session, SYSTEM, canteen.id)
    cutoffs = {row.day: reservation_service.cutoff(policy, canteen, row.day).timestamp() for row in meals}
    return Plan(canteen.id, zone, now.astimezone(UTC), CHOICE_SHARE[canteen.serving_mode], windows, cutoffs, meals,
                cancelled, menus, own, pool, rng, numbers)


def _closed_days(session: Session, canteen: Canteen, closed: list[date], rng: random.Random) -> None:
    """The canteen's own closures; holidays and the weekends it never opens are the calendar's."""
    kinds = [DayKind.workday, DayKind.adjusted_workday] + ([DayKind.weekend] if weekend_share(canteen) else [])
    calendar = calendar_service.load(session)
    insert(session, ClosedDay, ("canteen_id", "service_date", "reason"),
           [(canteen.id, day, rng.choice(CLOSED_REASONS)) for day in closed if day_info(calendar, day).kind in kinds])


def _menus(session: Session, canteen_id: int, meals: list[MealDay],
           rng: random.Random) -> dict[tuple[date, str], list[_MenuDish]]:
    """The canteen's dishes, and a menu for every meal it serves."""
    breakfast = rng.sample(BREAKFAST_DISHES, CANTEEN_DISHES[Meal.breakfast])
    mains = rng.sample(MAIN_DISHES, CANTEEN_DISHES[Meal.lunch])
    insert(session, Dish, ("canteen_id", "name", "raw_grams", "offers_half", "offers_small"),
           [(canteen_id, *spec) for spec in (*breakfast, *mains, STAPLE)])
    dishes = {dish.name: _MenuDish(dish.id, Portion.half if dish.offers_half else Portion.full,
                                   Portion.small if dish.offers_small else Portion.full)
              for dish in session.exec(select(Dish).where(Dish.canteen_id == canteen_id)) if dish.id is not None}
    menus = {}
    for row in meals:
        if row.meal == Meal.breakfast:
            names = [spec[0] for spec in rng.sample(breakfast, MENU_DISHES[Meal.breakfast])]
        else:
            names = [STAPLE[0], *(spec[0] for spec in rng.sample(mains, MENU_DISHES[Meal(row.meal)]))]
        menus[(row.day, row.meal)] = [dishes[name] for name in names]
    insert(session, MenuItem, ("canteen_id", "service_date", "meal", "dish_id"),
           [(canteen_id, day, meal, dish.id) for (day, meal), menu in menus.items() for dish in menu])
    return menus


def _own_plan(meals: list[MealDay], today: date, rng: random.Random) -> _Plan:
    """Bookings up to today on meals someone came to; no-shows among past meals somebody missed."""
    booked = {(row.day, row.meal) for row in meals
              if row.day <= today and row.showed_up and rng.random() < OWN_BOOKING[Meal(row.meal)]}
    missable = sorted((row.day, row.meal) for row in meals
                      if (row.day, row.meal) in booked and row.day < today and row.booked > row.showed_up)
    return _Plan(booked, set(rng.sample(missable, min(OWN_NO_SHOWS, len(missable)))))


def _pool(session: Session, canteen_id: int, size: int, joined: datetime, rng: random.Random) -> list[int]:
    """Demo diners nobody can sign in as; user names carry the canteen's id so every pool is distinct."""
    prefix = f"demo-diner-{canteen_id}-"
    names = [rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))) for _ in range(size)]
    insert(session, User, ("username", "display_name", "password_hash", "role", "canteen_id", "active", "created_at"),
           [(f"{prefix}{number:05d}", name, _unusable_password_hash(), Role.diner, canteen_id, True, joined)
            for number, name in enumerate(names, start=1)])
    ids = session.exec(select(User.id).where(col(User.username).startswith(prefix)).order_by(col(User.id)))
    return [user_id for user_id in ids if user_id is not None]


@dataclass
class Drawn:
    """A canteen's bookings, choices and check-ins; bookings carry their ids, so the others can refer to them."""

    next_booking_id: int
    bookings: list[tuple] = field(default_factory=list)
    choices: list[tuple[int, int, Portion]] = field(default_factory=list)
    check_ins: list[tuple] = field(default_factory=list)
    served: list[ServedMeal] = field(default_factory=list)

    def loads(self) -> list[Load]:
        return [Load(Booking, BOOKING_COLUMNS, self.bookings),
                Load(BookingChoice, ("booking_id", "dish_id", "portion"), self.choices),
                Load(CheckIn, CHECK_IN_COLUMNS, self.check_ins)]


def draw(plan: Plan, first_booking_id: int) -> Drawn:
    """Bookings numbered from `first_booking_id`, their choices and check-ins, and the meals served so far."""
    drawn = Drawn(first_booking_id)
    for row, cancelled in zip(plan.meals, plan.cancelled):
        _meal(plan, drawn, row, cancelled)
    return drawn


def _meal(plan: Plan, drawn: Drawn, row: MealDay, cancelled: int) -> None:
    """One meal's bookings, in the order: came, stayed away, cancelled; then its check-ins."""
    key = (row.day, row.meal)
    regulars = [diner for diner, own in plan.own.items() if key in own.booked]
    shows = [diner for diner in regulars if key not in plan.own[diner].no_shows][:row.showed_up]
    absent = [diner for diner in regulars if key in plan.own[diner].no_shows][:row.booked - row.showed_up]
    others = plan.rng.sample(plan.pool, row.booked - len(shows) - len(absent) + cancelled)
    split = row.showed_up - len(shows)
    diners = [*shows, *others[:split], *absent, *others[split:]]
    bookings = _bookings(plan, drawn, row, diners)
    walk_ins: list[tuple[int | None, int | None]] = [(None, None)] * row.walk_ins
    _check_ins(plan, drawn, row, [*zip(bookings[:row.showed_up], diners[:row.showed_up]), *walk_ins])


def _bookings(plan: Plan, drawn: Drawn, row: MealDay, diners: list[int]) -> list[int | None]:
    """The first `row.booked` diners' bookings stay live, the others are cancelled before the cut-off.

    Returns each diner's booking id, or None where the diner had not booked yet by `now`.
    """
    count, cutoff, now = len(diners), plan.cutoffs[row.day], plan.now.timestamp()
    leads = np.minimum(plan.numbers.exponential(MEAN_LEAD_DAYS, count).astype(int), MAX_LEAD_DAYS)
    created = cutoff - leads * 86400 - plan.numbers.uniform(LATEST_BOOKING_S, BOOKING_HOURS * 3600, count)
    cancelled = created + (cutoff - LATEST_BOOKING_S - created) * plan.numbers.random(count)
    chooses = plan.numbers.random(count) < plan.choice_share
    tokens = plan.numbers.bytes(18 * count)
    menu = plan.menus[(row.day, row.meal)]
    ids: list[int | None] = []
    for index, (diner, made, dropped, choice) in enumerate(zip(diners, created.tolist(), cancelled.tolist(),
                                                               chooses.tolist())):
        if made > now:
            ids.append(None)
            continue
        booking_id = drawn.next_booking_id
        drawn.next_booking_id += 1
        gone = index >= row.booked and dropped <= now  # a cancellation still to come is not known yet
        choices = _choices(plan.rng, menu) if choice else []
        drawn.bookings.append((
            booking_id, diner, plan.canteen_id, row.day, row.meal,
            BookingStatus.cancelled if gone else BookingStatus.booked, not choices,
            "bk_" + base64.urlsafe_b64encode(tokens[18 * index:18 * index + 18]).decode(),
            datetime.fromtimestamp(made, UTC), datetime.fromtimestamp(dropped, UTC) if gone else None))
        drawn.choices += [(booking_id, dish, portion) for dish, portion in choices]
        ids.append(booking_id)
    return ids


def _choices(rng: random.Random, menu: list[_MenuDish]) -> list[tuple[int, Portion]]:
    """The dishes a diner who does not take the set meal chooses, each with a portion the dish offers."""
    taken = [dish for dish in menu if rng.random() < DISH_TAKEN] or [rng.choice(menu)]
    choices = []
    for dish in taken:
        share = rng.random()
        choices.append((dish.id, dish.half if share < HALF else dish.small if share < HALF + SMALL else Portion.full))
    return choices


def _check_ins(plan: Plan, drawn: Drawn, row: MealDay, attendees: list[tuple[int | None, int | None]]) -> None:
    """Everyone who ate the meal comes in at a time from the traffic model; those in by `now` check in."""
    opens, closes = plan.windows[row.meal]
    starts = datetime.combine(row.day, opens, plan.zone).astimezone(UTC)
    if starts >= plan.now or not attendees:
        return
    ends = datetime.combine(row.day, closes, plan.zone).astimezone(UTC)
    arrivals = _arrivals(plan.rng, starts, ends, len(attendees))
    plan.rng.shuffle(attendees)
    meal = ServedMeal(row.day, Meal(row.meal), starts, ends, arrivals, _codes(plan, drawn, row, attendees))
    drawn.check_ins += [(plan.canteen_id, row.day, row.meal, booking, diner, at)
                        for at, (booking, diner) in zip(meal.arrivals, attendees) if at <= plan.now]
    drawn.served.append(meal)


def _codes(plan: Plan, drawn: Drawn, row: MealDay, attendees: list[tuple[int | None, int | None]]) -> list[str | None]:
    """The booking code each attendee scans with their plate: only in the last SCANNED_DAYS, by those who scan."""
    if row.day < plan.now.astimezone(plan.zone).date() - timedelta(days=SCANNED_DAYS):
        return []
    first = drawn.bookings[0][0] if drawn.bookings else 0  # the canteen's bookings have consecutive ids
    return [drawn.bookings[booking - first][7]
            if booking is not None and diner is not None and (diner in plan.own or diner % SCANNING_POOL_SHARE == 0)
            else None for booking, diner in attendees]


ARRIVALS = traffic.Arrivals()


def _arrivals(rng: random.Random, starts: datetime, ends: datetime, count: int) -> list[datetime]:
    """Exactly `count` arrival times from the traffic model: a random subset of a larger Poisson draw."""
    window_s = (ends - starts).total_seconds()
    offsets: list[float] = []
    while len(offsets) < count:
        offsets += ARRIVALS.offsets(rng, window_s, count - len(offsets) + 3 * math.sqrt(count) + 5)
    return [starts + timedelta(seconds=offset) for offset in sorted(rng.sample(offsets, count))]
