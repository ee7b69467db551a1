from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from canteen.access import Role, Scope, may_operate, require_admin
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound
from canteen.org.models import (
    DEFAULT_MEAL_WINDOWS,
    SCALE_PROTOCOLS,
    SCORED_SETTINGS,
    SINCE_EVER,
    Bureau,
    BureauCreate,
    BureauLevel,
    Canteen,
    CanteenCreate,
    CanteenRead,
    CanteenSetting,
    CanteenUpdate,
    Meal,
    MealWindow,
    MealWindowSchema,
    Station,
    StationCreate,
    StationKind,
)
from canteen.paging import PER_PAGE, Page, matching, paginate
from canteen.security import new_secret, secret_hash

STATION_KEY_PREFIX = "stk_"  # station keys; user tokens never start so

LEVEL_ORDER = [BureauLevel.province, BureauLevel.city, BureauLevel.county]

# A station that has not reported for this long shows as offline.
STATION_ONLINE_WITHIN = timedelta(minutes=5)

# ---- bureaus -----------------------------------------------------------------


def _bureau_filter(scope: Scope):
    if scope.is_admin:
        return True
    if scope.role is Role.bureau and scope.bureau_path:
        return col(Bureau.path).startswith(scope.bureau_path)
    raise Forbidden("this needs a bureau or administrator account")


def list_bureaus(session: Session, scope: Scope) -> list[Bureau]:
    return list(session.exec(select(Bureau).where(_bureau_filter(scope)).order_by(Bureau.path)))


def search_bureaus(session: Session, scope: Scope, text: str = "", level: BureauLevel | None = None,
                   page: int = 1, per_page: int = PER_PAGE) -> Page[Bureau]:
    """Bureaus in scope whose name contains the text, in tree order, one page of them."""
    query = select(Bureau).where(_bureau_filter(scope))
    if text.strip():
        query = query.where(matching(Bureau.name, text=text))
    if level is not None:
        query = query.where(Bureau.level == level)
    return paginate(session, query.order_by(col(Bureau.path)), page, per_page)


def bureau_names(session: Session, bureau_ids: Sequence[int | None]) -> dict[int, str]:
    """The names of the given bureaus (a page's parents or owners), in one query."""
    wanted = sorted({bureau_id for bureau_id in bureau_ids if bureau_id is not None})
    if not wanted:
        return {}
    rows = session.exec(select(Bureau.id, Bureau.name).where(col(Bureau.id).in_(wanted))).all()
    return {bureau_id: name for bureau_id, name in rows if bureau_id is not None}


def get_bureau(session: Session, scope: Scope, bureau_id: int) -> Bureau:
    bureau = session.exec(select(Bureau).where(Bureau.id == bureau_id, _bureau_filter(scope))).first()
    if bureau is None:
        raise NotFound("bureau {id} not found", field="bureau_id", id=bureau_id)
    return bureau


def create_bureau(session: Session, scope: Scope, data: BureauCreate) -> Bureau:
    require_admin(scope)
    parent = None
    if data.parent_id is not None:
        parent = session.get(Bureau, data.parent_id)
        if parent is None:
            raise InvalidInput("parent bureau {id} does not exist", field="parent_id", id=data.parent_id)
    level = data.level or _child_level(parent)
    if parent is not None and LEVEL_ORDER.index(level) <= LEVEL_ORDER.index(parent.level):
        raise InvalidInput(
            "a {level} bureau cannot sit under a {parent} bureau",
            field="level", level=level.value, parent=parent.level.value,
        )
    if _name_taken(session, select(Bureau.id).where(Bureau.name == data.name)):
        raise Conflict("a bureau named {name!r} already exists", field="name", name=data.name)
    bureau = Bureau(name=data.name, level=level, parent_id=data.parent_id)
    session.add(bureau)
    session.flush()
    bureau.path = f"{parent.path if parent else '/'}{bureau.id}/"
    _flush_unique(session, "name", "a bureau named {name!r} already exists", name=data.name)
    return bureau


def _child_level(parent: Bureau | None) -> BureauLevel:
    if parent is None:
        return BureauLevel.province
    position = LEVEL_ORDER.index(parent.level)
    if position + 1 >= len(LEVEL_ORDER):
        raise InvalidInput("a county bureau cannot have sub-bureaus", field="parent_id")
    return LEVEL_ORDER[position + 1]


def _name_taken(session: Session, query) -> bool:
    return session.exec(query).first() is not None


def _flush_unique(session: Session, field: str, reason: str, **params: object) -> None:
    """Flush, turning a unique-constraint race into the same Conflict the pre-check raises."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(reason, field=field, **params) from None


# ---- canteens ----------------------------------------------------------------


def canteen_filter(scope: Scope):
    if scope.is_admin:
        return True
    if scope.role is Role.bureau and scope.bureau_path:
        bureau_ids = select(Bureau.id).where(col(Bureau.path).startswith(scope.bureau_path))
        return col(Canteen.bureau_id).in_(bureau_ids)
    if scope.role is Role.operator:
        return col(Canteen.id).in_(sorted(scope.canteen_ids))
    raise Forbidden("this needs an operator, bureau or administrator account")


def list_canteens(session: Session, scope: Scope, bureau_id: int | None = None) -> list[Canteen]:
    query = select(Canteen).where(canteen_filter(scope))
    if bureau_id is not None:
        # Operators are not bound to a bureau: their filter is an intersection, not a refusal.
        bureau = (session.get(Bureau, bureau_id) if scope.role is Role.operator
                  else get_bureau(session, scope, bureau_id))
        if bureau is None:
            raise NotFound("bureau {id} not found", field="bureau_id", id=bureau_id)
        subtree = select(Bureau.id).where(col(Bureau.path).startswith(bureau.path))
        query = query.where(col(Canteen.bureau_id).in_(subtree))
    return list(session.exec(query.order_by(col(Canteen.id))))


def search_canteens(session: Session, scope: Scope, text: str = "", bureau_id: int | None = None,
                    page: int = 1, per_page: int = PER_PAGE) -> Page[tuple[Canteen, Bureau]]:
    """Canteens in scope (each with its bureau) whose name contains the text, under a bureau when one is
    given (its whole subtree), one page of them."""
    query = select(Canteen, Bureau).join(Bureau, col(Bureau.id) == col(Canteen.bureau_id)).where(canteen_filter(scope))
    if text.strip():
        query = query.where(matching(Canteen.name, text=text))
    if bureau_id is not None:
        query = query.where(col(Canteen.bureau_id).in_(_subtree(session, bureau_id)))
    return paginate(session, query.order_by(col(Canteen.id)), page, per_page)


def _subtree(session: Session, bureau_id: int) -> Any:
    """The ids of a bureau and every bureau under it (none for an unknown bureau), as a subquery."""
    bureau = session.get(Bureau, bureau_id)
    path = bureau.path if bureau is not None else "/nowhere/"
    return select(Bureau.id).where(col(Bureau.path).startswith(path))


def canteen_names(session: Session, canteen_ids: Sequence[int | None]) -> dict[int, str]:
    """The names of the given canteens (those a page of accounts is bound to), in one query."""
    wanted = sorted({canteen_id for canteen_id in canteen_ids if canteen_id is not None})
    if not wanted:
        return {}
    rows = session.exec(select(Canteen.id, Canteen.name).where(col(Canteen.id).in_(wanted))).all()
    return {canteen_id: name for canteen_id, name in rows if canteen_id is not None}


def get_canteen(session: Session, scope: Scope, canteen_id: int) -> Canteen:
    canteen = session.exec(select(Canteen).where(Canteen.id == canteen_id, canteen_filter(scope))).first()
    if canteen is None:
        raise NotFound("canteen {id} not found", field="canteen_id", id=canteen_id)
    return canteen


def local_date(canteen: Canteen, moment: datetime) -> date:
    """The date at the canteen, in its own time zone."""
    return moment.astimezone(ZoneInfo(canteen.timezone)).date()


def canteens_by_id(session: Session, canteen_ids: frozenset[int]) -> list[Canteen]:
    """Canteens a caller is already bound to (a diner's own), without management scoping."""
    return list(session.exec(select(Canteen).where(col(Canteen.id).in_(sorted(canteen_ids))).order_by(col(Canteen.id))))


def meal_windows(session: Session, canteen_id: int) -> list[MealWindow]:
    windows = session.exec(select(MealWindow).where(MealWindow.canteen_id == canteen_id)).all()
    order = list(Meal)
    return sorted(windows, key=lambda window: order.index(window.meal))


def canteen_read(session: Session, canteen: Canteen) -> CanteenRead:
    assert canteen.id is not None
    derived = {"meal_windows", "clean_plate_threshold_from"}
    fields = {name: getattr(canteen, name) for name in CanteenRead.model_fields if name not in derived}
    history = setting_history(session, canteen.id, "clean_plate_threshold_g")
    return CanteenRead(
        **fields,
        clean_plate_threshold_from=history[-1].applies_from if history else SINCE_EVER,
        meal_windows=[MealWindowSchema.model_validate(w) for w in meal_windows(session, canteen.id)],
    )


def create_canteen(session: Session, scope: Scope, data: CanteenCreate, default_timezone: str) -> Canteen:
    require_admin(scope)
    if session.get(Bureau, data.bureau_id) is None:
        raise InvalidInput("bureau {id} does not exist", field="bureau_id", id=data.bureau_id)
    timezone = _valid_timezone(data.timezone or default_timezone)
    windows = _valid_windows(data.meal_windows) if data.meal_windows is not None else [
        MealWindowSchema(meal=meal, starts=starts, ends=ends)
        for meal, (starts, ends) in DEFAULT_MEAL_WINDOWS.items()
    ]
    duplicate = select(Canteen.id).where(Canteen.bureau_id == data.bureau_id, Canteen.name == data.name)
    if _name_taken(session, duplicate):
        raise Conflict("this bureau already has a canteen named {name!r}", field="name", name=data.name)
    canteen = Canteen(
        bureau_id=data.bureau_id, name=data.name, operating_mode=data.operating_mode,
        serving_mode=data.serving_mode, timezone=timezone, seats=data.seats,
        plate_waste_target_g=data.plate_waste_target_g, clean_plate_threshold_g=data.clean_plate_threshold_g,
    )
    session.add(canteen)
    _flush_unique(session, "name", "this bureau already has a canteen named {name!r}", name=data.name)
    assert canteen.id is not None
    _replace_windows(session, canteen.id, windows)
    return canteen


# What a canteen's operators may change of its setup; the rest is the administrator's. The meal windows'
# times are read when a plate is weighed (never again), but the meals served count into weighing_coverage:
# operators move a window, only administrators add or remove a meal.
OPERATOR_FIELDS = {"meal_windows", "seats", "plate_waste_target_g"}
REQUIRED_FIELDS = ("name", "operating_mode", "serving_mode", "timezone", "plate_waste_target_g",
                   "clean_plate_threshold_g")


def update_canteen(session: Session, scope: Scope, canteen_id: int, data: CanteenUpdate,
                   now: datetime | None = None) -> Canteen:
    """Change a canteen's setup; `now` (default: the real clock) dates a new clean-plate threshold."""
    canteen = get_canteen(session, scope, canteen_id)
    assert canteen.id is not None
    changes = data.model_dump(exclude_unset=True)
    _may_change(session, scope, canteen, changes, data)
    for field in REQUIRED_FIELDS:
        if field in changes and changes[field] is None:
            raise InvalidInput("{field} cannot be empty", field=field)
    windows = changes.pop("meal_windows", None)
    applies_from = changes.pop("applies_from", None)
    threshold = changes.pop("clean_plate_threshold_g", None)
    if applies_from is not None and threshold is None:
        raise InvalidInput("{field} goes with a new clean-plate threshold", field="applies_from")
    if "timezone" in changes:
        changes["timezone"] = _valid_timezone(changes["timezone"])
    if "name" in changes and changes["name"] != canteen.name:
        duplicate = select(Canteen.id).where(Canteen.bureau_id == canteen.bureau_id, Canteen.name == changes["name"])
        if _name_taken(session, duplicate):
            raise Conflict("this bureau already has a canteen named {name!r}", field="name", name=changes["name"])
    if windows is not None:
        assert data.meal_windows is not None  # windows is its dump
        _replace_windows(session, canteen.id, _valid_windows(data.meal_windows))
    if threshold is not None:
        set_scored_setting(session, scope, canteen, "clean_plate_threshold_g", threshold, applies_from,
                           now or datetime.now(UTC))
    for field, value in changes.items():
        setattr(canteen, field, value)
    session.add(canteen)
    session.flush()
    return canteen


def _may_change(session: Session, scope: Scope, canteen: Canteen, changes: dict[str, Any],
                data: CanteenUpdate) -> None:
    """Refuse a change the scope may not make: bureaus change nothing, operators their own fields only."""
    if scope.is_admin or not changes:
        return
    assert canteen.id is not None
    first = sorted(changes)[0]
    if not may_operate(scope, canteen.id):
        raise Forbidden("a supervising bureau assesses canteens and changes nothing of their setup", field=first)
    scored = sorted(set(changes) & {*SCORED_SETTINGS, "applies_from"})
    if scored:
        raise Forbidden("only an administrator may change {field}: the canteen's score is computed from it",
                        field=scored[0])
    if not set(changes) <= OPERATOR_FIELDS:
        raise Forbidden("only an administrator may change {field}", field=sorted(set(changes) - OPERATOR_FIELDS)[0])
    if data.meal_windows is not None:
        served = {window.meal for window in meal_windows(session, canteen.id)}
        if {window.meal for window in data.meal_windows} != served:
            raise Forbidden("only an administrator may add or remove a meal: the canteen's score counts the meals "
                            "it serves", field="meal_windows")


# ---- scored settings: a dated history --------------------------------------------

# The assessment's scorecards and the weighing's rollups, named by table: both packages import org, so org does
# not import them back.
_SCORECARD = sa.table("scorecard", sa.column("canteen_id", sa.Integer), sa.column("ends", sa.Date))
_ROLLUP = sa.table("dailyrollup", sa.column("canteen_id", sa.Integer), sa.column("service_date", sa.Date))
_STALE_ROLLUP = sa.table("stalerollup", sa.column("canteen_id", sa.Integer), sa.column("service_date", sa.Date),
                         sa.column("generation", sa.Integer))
# How far ahead a change may be dated.
SETTING_AHEAD = timedelta(days=366)


def setting_history(session: Session, canteen_id: int, name: str) -> list[CanteenSetting]:
    """A scored setting's values, oldest first; empty until it is first changed (the canteen's value throughout)."""
    return list(session.exec(select(CanteenSetting).where(CanteenSetting.canteen_id == canteen_id,
                                                          CanteenSetting.name == name)
                             .order_by(col(CanteenSetting.applies_from))))


def scored_settings(session: Session, scope: Scope, canteen_id: int) -> list[CanteenSetting]:
    """The history of every scored setting of a canteen the scope sees, newest first per setting."""
    get_canteen(session, scope, canteen_id)
    return list(session.exec(select(CanteenSetting).where(CanteenSetting.canteen_id == canteen_id)
                             .order_by(col(CanteenSetting.name), col(CanteenSetting.applies_from).desc())))


def settings_on(session: Session, canteen: Canteen, name: str, days: Sequence[date]) -> dict[date, int]:
    """The value of a scored setting that applied on each of the days."""
    history = setting_history(session, canteen.id, name) if canteen.id is not None else []
    current = getattr(canteen, name)
    return {day: next((row.value for row in reversed(history) if row.applies_from <= day), current)
            for day in days}


def scored_through(session: Session, canteen_id: int) -> date | None:
    """The last day of the canteen's latest scored period (a scorecard exists for it), if any."""
    return session.execute(select(func.max(_SCORECARD.c.ends)).where(_SCORECARD.c.canteen_id == canteen_id)).scalar()


def set_scored_setting(session: Session, scope: Scope, canteen: Canteen, name: str, value: int,
                       applies_from: date | None, now: datetime) -> CanteenSetting:
    """Give a scored setting a new value from a day on (default: tomorrow at the canteen).

    A day already scored keeps the value it was scored with: a change applying to one is refused. A change to
    a past day marks the rollups from that day on for recomputing.
    """
    require_admin(scope)
    assert canteen.id is not None
    today = local_date(canteen, now)
    day = applies_from or today + timedelta(days=1)
    if day <= SINCE_EVER or day > today + SETTING_AHEAD:
        raise InvalidInput("{field} must lie between {first} and {last}", field="applies_from",
                           first=(SINCE_EVER + timedelta(days=1)).isoformat(),
                           last=(today + SETTING_AHEAD).isoformat())
    scored = scored_through(session, canteen.id)
    if scored is not None and day <= scored:
        raise InvalidInput("the canteen is scored up to {date}: a new value may apply from {next} on, not to a "
                           "period already scored", field="applies_from", date=scored.isoformat(),
                           next=(scored + timedelta(days=1)).isoformat())
    history = setting_history(session, canteen.id, name)
    if not history:  # the value the canteen had until now, applying since ever
        session.add(CanteenSetting(canteen_id=canteen.id, name=name, value=getattr(canteen, name),
                                   applies_from=SINCE_EVER, changed_at=now))
    row = next((row for row in history if row.applies_from == day), None) or CanteenSetting(
        canteen_id=canteen.id, name=name, applies_from=day, value=value, changed_at=now)
    row.value, row.changed_by, row.changed_at = value, scope.user_id or None, now
    session.add(row)
    session.flush()
    latest = setting_history(session, canteen.id, name)[-1]
    setattr(canteen, name, latest.value)
    session.add(canteen)
    if day <= today:
        _mark_rollups_stale(session, canteen.id, day)
    return row


def _mark_rollups_stale(session: Session, canteen_id: int, since: date) -> None:
    """Mark the canteen's rollups from a day on for recomputing (the weighing package's stale marks)."""
    days: list[date] = list(session.execute(select(_ROLLUP.c.service_date).where(_ROLLUP.c.canteen_id == canteen_id,
                                                                     _ROLLUP.c.service_date >= since).distinct()
                                ).scalars())
    if not days:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_STALE_ROLLUP).values(
        [{"canteen_id": canteen_id, "service_date": day, "generation": 1} for day in days])
    session.execute(statement.on_conflict_do_update(
        index_elements=["canteen_id", "service_date"], set_={"generation": _STALE_ROLLUP.c.generation + 1}))


def _valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise InvalidInput("unknown timezone {name!r}", field="timezone", name=name) from None
    return name


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _valid_windows(windows: list[MealWindowSchema]) -> list[MealWindowSchema]:
    meals = [window.meal for window in windows]
    if len(set(meals)) != len(meals):
        raise InvalidInput("each meal may have only one window", field="meal_windows")
    occupied: dict[int, Meal] = {}
    for window in windows:
        start, end = _minutes(window.starts), _minutes(window.ends)
        if start == end:
            raise InvalidInput("the {meal} window starts and ends at the same time",
                               field="meal_windows", meal=window.meal.value)
        length = (end - start) % (24 * 60)
        for offset in range(length):
            minute = (start + offset) % (24 * 60)
            if minute in occupied:
                raise InvalidInput("the {meal} and {other} windows overlap", field="meal_windows",
                                   meal=window.meal.value, other=occupied[minute].value)
            occupied[minute] = window.meal
    return windows


def _replace_windows(session: Session, canteen_id: int, windows: list[MealWindowSchema]) -> None:
    for existing in session.exec(select(MealWindow).where(MealWindow.canteen_id == canteen_id)):
        session.delete(existing)
    session.flush()
    for window in windows:
        session.add(MealWindow(canteen_id=canteen_id, meal=window.meal, starts=window.starts, ends=window.ends))
    session.flush()


# ---- stations ----------------------------------------------------------------


def _issue_key(station: Station) -> str:
    key = new_secret(STATION_KEY_PREFIX.rstrip("_"))
    station.key_hash = secret_hash(key)
    station.key_prefix = key[:12]
    return key


def create_station(session: Session, scope: Scope, data: StationCreate) -> tuple[Station, str]:
    """Create a station; the returned key is shown once and only its hash is kept."""
    require_admin(scope)
    if session.get(Canteen, data.canteen_id) is None:
        raise InvalidInput("canteen {id} does not exist", field="canteen_id", id=data.canteen_id)
    if data.protocol not in SCALE_PROTOCOLS:
        raise InvalidInput("unknown scale protocol {name!r}; known: {known}", field="protocol",
                           name=data.protocol, known=", ".join(SCALE_PROTOCOLS))
    if data.stopbits not in (1, 1.5, 2):
        raise InvalidInput("stop bits must be 1, 1.5 or 2", field="stopbits")
    duplicate = select(Station.id).where(Station.canteen_id == data.canteen_id, Station.name == data.name)
    if _name_taken(session, duplicate):
        raise Conflict("this canteen already has a station named {name!r}", field="name", name=data.name)
    station = Station(**data.model_dump(), key_hash="", key_prefix="")
    key = _issue_key(station)
    session.add(station)
    _flush_unique(session, "name", "this canteen already has a station named {name!r}", name=data.name)
    return station, key


def list_stations(session: Session, scope: Scope, canteen_id: int | None = None) -> list[Station]:
    query = select(Station).where(col(Station.canteen_id).in_(select(Canteen.id).where(canteen_filter(scope))))
    if canteen_id is not None:
        get_canteen(session, scope, canteen_id)
        query = query.where(Station.canteen_id == canteen_id)
    return list(session.exec(query.order_by(col(Station.id))))


def search_stations(session: Session, scope: Scope, text: str = "", canteen_id: int | None = None,
                    kind: StationKind | None = None, page: int = 1,
                    per_page: int = PER_PAGE) -> Page[tuple[Station, Canteen]]:
    """Stations in scope (each with its canteen) whose name or canteen's name contains the text, of one
    canteen and one kind when given, one page of them."""
    query = (select(Station, Canteen).join(Canteen, col(Canteen.id) == col(Station.canteen_id))
             .where(canteen_filter(scope)))
    if text.strip():
        query = query.where(matching(Station.name, Canteen.name, text=text))
    if canteen_id is not None:
        query = query.where(Station.canteen_id == canteen_id)
    if kind is not None:
        query = query.where(Station.kind == kind)
    return paginate(session, query.order_by(col(Station.id)), page, per_page)


def station_online(station: Station, now: datetime) -> bool:
    """Whether the station reported within the last few minutes."""
    return station.last_seen_at is not None and now - station.last_seen_at <= STATION_ONLINE_WITHIN


def get_station(session: Session, scope: Scope, station_id: int) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound("station {id} not found", field="station_id", id=station_id)
    try:
        get_canteen(session, scope, station.canteen_id)
    except NotFound:
        raise NotFound("station {id} not found", field="station_id", id=station_id) from None
    return station


def rotate_station_key(session: Session, scope: Scope, station_id: int) -> tuple[Station, str]:
    require_admin(scope)
    station = get_station(session, scope, station_id)
    key = _issue_key(station)
    station.active = True
    session.add(station)
    session.flush()
    return station, key


def set_station_active(session: Session, scope: Scope, station_id: int, active: bool) -> Station:
    require_admin(scope)
    station = get_station(session, scope, station_id)
    station.active = active
    session.add(station)
    session.flush()
    return station

