"""光盘打卡: plates attributed to their diners, each bureau's dated points rules, and each diner's points a day.

A diner-day's points are min(clean plates × the rule's points a clean plate, its daily cap), plus the streak
bonus on each day the streak reaches a multiple of the rule's streak days. The streak is the diner's run of days
with a clean plate, this one included: a day they ate (a plate attributed to them) with no clean plate ends it
(0); a day without any attributed plate neither ends nor extends it (weekends, holidays, a meal not scanned).
A day with no rule in force earns nothing and gets no DinerPoints row, so it counts as a day without plates: a
streak counts from the first day under a rule.
"""
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import and_, case, delete, exists, func, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from canteen import metrics
from canteen.access import Role, Scope, may_operate
from canteen.auth.models import User
from canteen.db import table_of
from canteen.errors import Conflict, Forbidden, InvalidInput
from canteen.org import service as org_service
from canteen.org.meals import MealCalendar
from canteen.org.models import Bureau, Canteen, Meal, Station
from canteen.points.models import DinerPoints, PlateAttribution, PointsPreference, PointsRule, PointsRuleCreate
from canteen.reservation.models import Booking, BookingStatus, DinerCard
from canteen.weighing import service as weighing_service
from canteen.weighing.models import CheckIn, PlateWeighing

HISTORY_DAYS = 60  # the diner's page lists this many days of points


def _upsert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# ---- rules ---------------------------------------------------------------------


def _rules_bureau(session: Session, scope: Scope, bureau_id: int) -> Bureau:
    """A bureau whose rules the scope may read and set: its own or one under it (404 otherwise)."""
    if scope.role not in (Role.bureau, Role.admin):
        raise Forbidden("only a bureau or an administrator sets clean-plate points rules")
    return org_service.get_bureau(session, scope, bureau_id)


def list_rules(session: Session, scope: Scope, bureau_id: int) -> list[PointsRule]:
    """The bureau's own rules, the latest first."""
    _rules_bureau(session, scope, bureau_id)
    return list(session.exec(select(PointsRule).where(PointsRule.bureau_id == bureau_id)
                             .order_by(col(PointsRule.applies_from).desc())))


def rule_in_force(session: Session, scope: Scope, bureau_id: int, day: date) -> tuple[PointsRule, str] | None:
    """The rule the bureau's own canteens earn points by on the day (its own, or a bureau's above it), with the
    name of the bureau it comes from."""
    bureau = _rules_bureau(session, scope, bureau_id)
    chain = _chain(_path_ids(bureau.path), _rules_of(session, _path_ids(bureau.path)))
    rule = _rule_on(chain, day)
    if rule is None:
        return None
    owner = session.get(Bureau, rule.bureau_id)
    assert owner is not None  # a rule's bureau exists (foreign key)
    return rule, owner.name


def create_rule(session: Session, scope: Scope, bureau_id: int, data: PointsRuleCreate, today: date,
                now: datetime) -> PointsRule:
    """A new rule for the bureau's canteens from its date on; `today` (the server's) is the earliest it may apply
    from: points already earned keep the rule they were earned by. A rule from today counts today's plates again."""
    _rules_bureau(session, scope, bureau_id)
    if data.applies_from < today:
        raise InvalidInput("a rule applies from today or a later day, never to days past", field="applies_from")
    if data.daily_cap < data.clean_plate_points:
        raise InvalidInput("the daily cap must be at least the points for one clean plate", field="daily_cap")
    if data.streak_bonus and not data.streak_days:
        raise InvalidInput("a streak bonus needs the number of days of the streak", field="streak_days")
    taken = select(PointsRule.id).where(PointsRule.bureau_id == bureau_id, PointsRule.applies_from == data.applies_from)
    if session.exec(taken).first() is not None:
        raise Conflict("the bureau already has a rule from {date}: a change is a rule from a later day",
                       field="applies_from", date=data.applies_from.isoformat())
    rule = PointsRule(bureau_id=bureau_id, **data.model_dump(), created_by=scope.user_id or None, created_at=now)
    session.add(rule)
    session.flush()
    if data.applies_from == today:
        _recount_day(session, bureau_id, today, now)
    return rule


def _recount_day(session: Session, bureau_id: int, day: date, now: datetime) -> None:
    """The points of the day's diners of the bureau's canteens, again (a rule from that day was just made)."""
    diners = session.exec(select(PlateAttribution.diner_id).distinct().where(
        col(PlateAttribution.canteen_id).in_(_canteens_under(session, bureau_id)),
        PlateAttribution.service_date == day)).all()
    recompute_points(session, {diner: {day} for diner in diners}, now)


def _canteens_under(session: Session, bureau_id: int):
    bureau = session.get(Bureau, bureau_id)
    path = bureau.path if bureau is not None else "/nowhere/"
    return select(Canteen.id).where(col(Canteen.bureau_id).in_(
        select(Bureau.id).where(col(Bureau.path).startswith(path))))


def _path_ids(path: str) -> list[int]:
    """The bureaus of a materialised path, nearest first ("/1/4/9/" -> [9, 4, 1])."""
    return [int(part) for part in reversed(path.strip("/").split("/")) if part]


def _rules_of(session: Session, bureau_ids: Iterable[int]) -> dict[int, list[PointsRule]]:
    """The rules of the bureaus, each bureau's latest first."""
    rules: dict[int, list[PointsRule]] = defaultdict(list)
    for rule in session.exec(select(PointsRule).where(col(PointsRule.bureau_id).in_(sorted(set(bureau_ids))))
                             .order_by(col(PointsRule.applies_from).desc())):
        rules[rule.bureau_id].append(rule)
    return rules


Chain = list[list[PointsRule]]  # per bureau up a canteen's path, nearest first: its rules, latest first


def _chain(path: list[int], rules: dict[int, list[PointsRule]]) -> Chain:
    return [rules[bureau_id] for bureau_id in path if bureau_id in rules]


def _chains(session: Session, canteen_ids: Iterable[int]) -> dict[int, Chain]:
    """Each canteen's rule chain: two queries for any number of canteens."""
    paths = {canteen_id: _path_ids(path) for canteen_id, path in session.exec(
        select(Canteen.id, Bureau.path).join(Bureau, col(Bureau.id) == col(Canteen.bureau_id))
        .where(col(Canteen.id).in_(sorted(set(canteen_ids)))))}
    rules = _rules_of(session, (bureau_id for path in paths.values() for bureau_id in path))
    return {canteen_id: _chain(path, rules) for canteen_id, path in paths.items() if canteen_id is not None}


def _rule_on(chain: Chain, day: date) -> PointsRule | None:
    """The rule in force on the day: the nearest bureau's with a rule from that day or before, its latest."""
    for rules in chain:
        for rule in rules:
            if rule.applies_from <= day:
                return rule
    return None


def day_points(rule: PointsRule, clean_plates: int, streak: int) -> int:
    points = min(clean_plates * rule.clean_plate_points, rule.daily_cap)
    if rule.streak_days and streak > 0 and streak % rule.streak_days == 0:
        points += rule.streak_bonus
    return points


# ---- attribution: the ingest hook ----------------------------------------------


@dataclass(frozen=True)
class _Diner:
    diner_id: int
    booking_id: int | None  # the live booking the meal is checked in with, if the diner has one
    card_number: str | None


def attribute_plates(session: Session, station: Station, canteen: Canteen, plates: list[weighing_service.NamedPlate],
                     now: datetime) -> None:
    """The ingest hook (canteen.weighing.service.IngestHook): each plate's code resolved to a diner of the plate's
    canteen (a booking token for the plate's date and meal, else a diner card of the canteen) and the link
    stored; the meal checked in for a diner without a check-in; the diners' points counted again.

    A code of another canteen, or a token of another meal, names no one: the plate stays anonymous (counted in
    canteen_plate_codes_total{result="unknown"}). A constant number of queries, whatever the batch's size.
    """
    assert canteen.id is not None and station.id is not None
    resolved = _resolve(session, canteen.id, plates)
    metrics.PLATE_CODES.labels(result="attributed").inc(len(resolved))
    metrics.PLATE_CODES.labels(result="unknown").inc(len(plates) - len(resolved))
    if not resolved:
        return
    days = sorted({plate.service_date for plate, _ in resolved})
    thresholds = org_service.settings_on(session, canteen, "clean_plate_threshold_g", days)
    rows = [{"station_id": station.id, "seq": plate.seq, "diner_id": diner.diner_id, "canteen_id": canteen.id,
             "service_date": plate.service_date, "meal": plate.meal, "grams": plate.grams,
             "clean": plate.grams <= thresholds[plate.service_date], "measured_at": plate.measured_at,
             "resolved_at": now} for plate, diner in resolved]
    statement = _upsert(session)(table_of(PlateAttribution)).on_conflict_do_nothing(
        index_elements=["station_id", "seq"])
    session.connection().execute(statement, rows)
    days_by_diner: dict[int, set[date]] = defaultdict(set)
    for plate, diner in resolved:
        days_by_diner[diner.diner_id].add(plate.service_date)
    _lock_diners(session, sorted(days_by_diner))
    _check_in(session, canteen.id, resolved)
    recompute_points(session, days_by_diner, now, locked=True)


_BOOKING, _CARD, _CHECK_IN = table_of(Booking), table_of(DinerCard), table_of(CheckIn)
_ATTRIBUTION, _POINTS = table_of(PlateAttribution), table_of(DinerPoints)


def _resolve(session: Session, canteen_id: int, plates: list[weighing_service.NamedPlate]
             ) -> list[tuple[weighing_service.NamedPlate, _Diner]]:
    """The plates whose code names a diner of the canteen, each with that diner."""
    codes = sorted({plate.diner_ref for plate in plates})
    booking = _BOOKING.c
    tokens = {row.token: row for row in session.execute(
        sa.select(booking.token, booking.id, booking.diner_id, booking.service_date, booking.meal, booking.status)
        .where(booking.token.in_(codes), booking.canteen_id == canteen_id))}
    card_codes = [code for code in codes if code not in tokens]
    cards: dict[str, int] = dict(session.execute(sa.select(_CARD.c.card_number, _CARD.c.user_id).where(
        _CARD.c.canteen_id == canteen_id, _CARD.c.card_number.in_(card_codes))).all()) if card_codes else {}
    booked: dict[tuple[int, date, Meal], int] = {}
    if cards:
        days = sorted({plate.service_date for plate in plates})
        booked = {(row.diner_id, row.service_date, Meal(row.meal)): row.id for row in session.execute(
            sa.select(booking.id, booking.diner_id, booking.service_date, booking.meal).where(
                booking.diner_id.in_(sorted(set(cards.values()))), booking.canteen_id == canteen_id,
                booking.service_date.in_(days), booking.status == BookingStatus.booked))}
    resolved = []
    for plate in plates:
        token = tokens.get(plate.diner_ref)
        if token is not None:
            if (token.service_date, Meal(token.meal)) == (plate.service_date, plate.meal):
                live = token.id if token.status == BookingStatus.booked else None
                resolved.append((plate, _Diner(token.diner_id, live, None)))
        elif plate.diner_ref in cards:
            diner_id = cards[plate.diner_ref]
            live = booked.get((diner_id, plate.service_date, plate.meal)) if plate.meal else None
            resolved.append((plate, _Diner(diner_id, live, plate.diner_ref)))
    return resolved


def _check_in(session: Session, canteen_id: int, resolved: list[tuple[weighing_service.NamedPlate, _Diner]]) -> None:
    """A check-in for each diner's meal that has none: with their booking, else as a walk-in of theirs."""
    meals: dict[tuple[int, date, Meal], tuple[weighing_service.NamedPlate, _Diner]] = {}
    for plate, diner in sorted(resolved, key=lambda pair: pair[0].measured_at):
        if plate.meal is not None:
            meals.setdefault((diner.diner_id, plate.service_date, plate.meal), (plate, diner))
    if not meals:
        return
    check_in = _CHECK_IN.c
    checked_in = {(row.diner_id, row.service_date, Meal(row.meal)) for row in session.execute(
        sa.select(check_in.diner_id, check_in.service_date, check_in.meal).where(
            check_in.canteen_id == canteen_id, check_in.diner_id.in_(sorted({key[0] for key in meals})),
            check_in.service_date.in_(sorted({key[1] for key in meals}))))}
    missing = [(key, pair) for key, pair in meals.items() if key not in checked_in]
    if not missing:
        return
    rows = [{"canteen_id": canteen_id, "service_date": day, "meal": meal, "booking_id": diner.booking_id,
             "card_number": diner.card_number, "diner_id": diner_id, "at": plate.measured_at, "by": None}
            for (diner_id, day, meal), (plate, diner) in missing]
    # A booking checked in at the entrance at this very moment wins (its booking_id is unique).
    session.connection().execute(_upsert(session)(_CHECK_IN).on_conflict_do_nothing(), rows)
    weighing_service.mark_stale(session, canteen_id, {day for (_, day, _), _ in missing})


# ---- the points of a diner-day ---------------------------------------------------

_POINTS_COLUMNS = ("canteen_id", "bureau_id", "rule_id", "plates", "clean_plates", "streak", "points")


def _lock_diners(session: Session, diners: list[int]) -> None:
    """PostgreSQL: the diners' rows locked until the commit, so that two transactions with the same diner (two
    stations' batches, a rule made for today) check them in and count their days one after the other, each
    reading what the other wrote. SQLite has one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(User.id).where(col(User.id).in_(diners)).order_by(col(User.id)).with_for_update()).all()


def recompute_points(session: Session, days_by_diner: dict[int, set[date]], now: datetime,
                     locked: bool = False) -> None:
    """Count the diners' points of the given days again from their attributed plates, and carry a changed streak
    on through their later days (until a day comes out as it was). A constant number of queries; `locked`: the
    caller has locked the diners already."""
    if not days_by_diner:
        return
    diners = sorted(days_by_diner)
    if not locked:
        _lock_diners(session, diners)
    first = min(min(days) for days in days_by_diner.values())
    affected = sorted(set().union(*days_by_diner.values()))
    plate, points = _ATTRIBUTION.c, _POINTS.c
    # A diner eats at their own canteen; should they ever eat at two in a day, the day counts under the first one.
    tallies: dict[tuple[int, date], tuple[int, int, int]] = {
        (row.diner_id, row.service_date): (row.plates, row.clean, row.canteen_id) for row in session.execute(
            sa.select(plate.diner_id, plate.service_date, func.count().label("plates"),
                      func.sum(case((plate.clean, 1), else_=0)).label("clean"),
                      func.min(plate.canteen_id).label("canteen_id"))
            .where(plate.diner_id.in_(diners), plate.service_date.in_(affected))
            .group_by(plate.diner_id, plate.service_date))}
    kept: dict[int, dict[date, tuple]] = defaultdict(dict)
    for row in session.execute(sa.select(points.diner_id, points.service_date,
                                         *(points[name] for name in _POINTS_COLUMNS))
                               .where(points.diner_id.in_(diners), points.service_date >= first)):
        kept[row[0]][row[1]] = tuple(row[2:])
    latest = (sa.select(points.diner_id, func.max(points.service_date).label("day"))
              .where(points.diner_id.in_(diners), points.service_date < first).group_by(points.diner_id).subquery())
    streaks: dict[int, int] = dict(session.execute(sa.select(points.diner_id, points.streak).join(latest, and_(
        points.diner_id == latest.c.diner_id, points.service_date == latest.c.day))).all())
    canteens = {tally[2] for tally in tallies.values()} | {row[0] for days in kept.values() for row in days.values()}
    chains = _chains(session, canteens)
    changed: list[dict] = []
    gone: list[tuple[int, date]] = []
    for diner in diners:
        _walk(diner, days_by_diner[diner], streaks.get(diner, 0), tallies, kept[diner], chains, now, changed, gone)
    if gone:
        session.connection().execute(delete(_POINTS).where(tuple_(points.diner_id, points.service_date).in_(gone)))
    if changed:
        statement = _upsert(session)(_POINTS)
        session.connection().execute(statement.on_conflict_do_update(
            index_elements=["diner_id", "service_date"],
            set_={name: statement.excluded[name] for name in (*_POINTS_COLUMNS, "computed_at")}), changed)


def _walk(diner: int, days: set[date], streak: int, tallies: dict[tuple[int, date], tuple[int, int, int]],
          own: dict[date, tuple], chains: dict[int, Chain], now: datetime, changed: list[dict],
          gone: list[tuple[int, date]]) -> None:
    """One diner's days from the first one counted again, in order: each day's row as it comes out now, into
    `changed` where it differs from the one kept, and into `gone` where the day has no points any more."""
    last = max(days)
    for day in sorted(set(own) | days):
        if day in days:
            tally = tallies.get((diner, day))
        else:
            canteen_id, _, _, plates, clean, _, _ = own[day]
            tally = (plates, clean, canteen_id)
        rule = _rule_on(chains.get(tally[2], []), day) if tally else None
        if tally is None or rule is None:  # no plates left that day, or no rule: no row, the streak goes on
            if day in own:
                gone.append((diner, day))
            continue
        plates, clean, canteen_id = tally
        streak = streak + 1 if clean else 0
        values = (canteen_id, rule.bureau_id, rule.id, plates, clean, streak, day_points(rule, clean, streak))
        if own.get(day) == values:
            if day > last:
                return  # every later day comes out as it was
            continue
        changed.append({"diner_id": diner, "service_date": day, **dict(zip(_POINTS_COLUMNS, values)),
                        "computed_at": now})


# ---- what each role sees ---------------------------------------------------------


@dataclass(frozen=True)
class MyPoints:
    """A diner's own record: today's plates, the month's, their streak and points."""

    canteen: Canteen
    today: date
    plates_today: list[PlateAttribution]
    month_plates: int
    month_clean: int
    streak: int
    month_points: int
    total_points: int
    history: list[DinerPoints]  # the last HISTORY_DAYS days with points, newest first

    @property
    def clean_rate(self) -> float | None:
        return self.month_clean / self.month_plates if self.month_plates else None


def my_points(session: Session, scope: Scope, now: datetime) -> MyPoints:
    if scope.role is not Role.diner or not scope.canteen_ids:
        raise Forbidden("only diners have a clean-plate record")
    canteen = session.get(Canteen, min(scope.canteen_ids))
    assert canteen is not None  # a diner's canteen exists (foreign key)
    today = org_service.local_date(canteen, now)
    month = today.replace(day=1)
    mine = PlateAttribution.diner_id == scope.user_id
    plates_today = list(session.exec(select(PlateAttribution).where(mine, PlateAttribution.service_date == today)
                                     .order_by(col(PlateAttribution.measured_at).desc())))
    month_plates, month_clean = session.exec(select(func.count(), func.sum(case((col(PlateAttribution.clean), 1),
                                                                               else_=0)))
                                             .where(mine, PlateAttribution.service_date >= month,
                                                    PlateAttribution.service_date <= today)).one()
    own = DinerPoints.diner_id == scope.user_id
    month_points, total_points = session.exec(select(
        func.sum(case((col(DinerPoints.service_date) >= month, DinerPoints.points), else_=0)),
        func.sum(DinerPoints.points)).where(own, DinerPoints.service_date <= today)).one()
    since = today - timedelta(days=HISTORY_DAYS)
    history = list(session.exec(select(DinerPoints).where(own, DinerPoints.service_date <= today,
                                                          DinerPoints.service_date > since)
                                .order_by(col(DinerPoints.service_date).desc())))
    latest = session.exec(select(DinerPoints.streak).where(own, DinerPoints.service_date <= today)
                          .order_by(col(DinerPoints.service_date).desc()).limit(1)).first()
    return MyPoints(canteen, today, plates_today, month_plates, month_clean or 0, latest or 0, month_points or 0,
                    total_points or 0, history)


@dataclass(frozen=True)
class CanteenPlates:
    """A day's attributed plates of a canteen with their diners' names (its operators'), and the plates whose
    code named no one."""

    canteen: Canteen
    day: date
    plates: list[tuple[PlateAttribution, str, str]]  # with the diner's display name and user name
    unknown_codes: int


def canteen_plates(session: Session, scope: Scope, canteen_id: int, day: date) -> CanteenPlates:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    if not may_operate(scope, canteen_id):
        raise Forbidden("each diner's plates are shown only to the canteen's operators; bureaus see totals")
    plates = [(plate, name, username) for plate, name, username in session.exec(
        select(PlateAttribution, User.display_name, User.username)
        .join(User, col(User.id) == col(PlateAttribution.diner_id))
        .where(PlateAttribution.canteen_id == canteen_id, PlateAttribution.service_date == day)
        .order_by(col(PlateAttribution.measured_at).desc()))]
    attributed = exists().where(col(PlateAttribution.station_id) == col(PlateWeighing.station_id),
                                col(PlateAttribution.seq) == col(PlateWeighing.seq))
    unknown = session.exec(select(func.count()).select_from(PlateWeighing).where(
        PlateWeighing.canteen_id == canteen_id, PlateWeighing.service_date == day,
        col(PlateWeighing.diner_ref).is_not(None), ~attributed)).one()
    return CanteenPlates(canteen, day, plates, unknown)


@dataclass(frozen=True)
class CanteenPoints:
    """A canteen's totals over a period: what a bureau sees (no diner, no plate)."""

    canteen_id: int
    canteen: str
    diners: int
    plates: int
    clean_plates: int
    points: int


def bureau_points(session: Session, scope: Scope, bureau_id: int, start: date, end: date) -> list[CanteenPoints]:
    """Per canteen under the bureau with points in the period: diners, attributed plates, clean plates, points."""
    _rules_bureau(session, scope, bureau_id)
    weighing_service.check_range(start, end)
    points = _POINTS.c
    rows = session.execute(
        sa.select(points.canteen_id, func.max(table_of(Canteen).c.name).label("canteen"),
                  func.count(points.diner_id.distinct()).label("diners"), func.sum(points.plates).label("plates"),
                  func.sum(points.clean_plates).label("clean_plates"), func.sum(points.points).label("points"))
        .join(table_of(Canteen), table_of(Canteen).c.id == points.canteen_id)
        .where(points.canteen_id.in_(_canteens_under(session, bureau_id)), points.service_date >= start,
               points.service_date <= end)
        .group_by(points.canteen_id).order_by(points.canteen_id)).all()
    return [CanteenPoints(**row._mapping) for row in rows]


def meal_clean_plates(session: Session, canteen: Canteen, now: datetime) -> tuple[Meal, int] | None:
    """The meal being served (or just served) and its clean plates scanned so far, for the wall: None between
    meals."""
    assert canteen.id is not None
    calendar = MealCalendar.of(org_service.meal_windows(session, canteen.id), ZoneInfo(canteen.timezone))
    period = calendar.period_at(now, weighing_service.LATE_RETURN_GRACE)
    if period is None:
        return None
    count = session.exec(select(func.count()).select_from(PlateAttribution).where(
        PlateAttribution.canteen_id == canteen.id, PlateAttribution.service_date == period.service_date,
        PlateAttribution.meal == period.meal, col(PlateAttribution.clean))).one()
    return period.meal, count


# ---- the export's rows -----------------------------------------------------------


@dataclass(frozen=True)
class PointsRow:
    """One diner-day as exported."""

    diner_id: int
    external_id: str | None
    username: str
    canteen_id: int
    canteen: str
    service_date: date
    clean_plates: int
    plates: int
    points: int
    rule_id: int


def daily_points_rows(session: Session, bureau_id: int, start: date, end: date) -> list[PointsRow]:
    """DinerPoints of diners of canteens under the bureau's subtree, start..end inclusive, ordered by
    (service_date, diner_id), opted-out diners (PointsPreference.export False) left out."""
    bureau = session.get(Bureau, bureau_id)
    if bureau is None:
        return []
    subtree = select(Bureau.id).where(col(Bureau.path).startswith(bureau.path))
    rows = session.exec(
        select(DinerPoints, User.username, Canteen.name, PointsPreference.external_id)
        .join(User, col(User.id) == col(DinerPoints.diner_id))
        .join(Canteen, col(Canteen.id) == col(DinerPoints.canteen_id))
        .outerjoin(PointsPreference, col(PointsPreference.user_id) == col(DinerPoints.diner_id))
        .where(col(Canteen.bureau_id).in_(subtree), col(DinerPoints.service_date) >= start,
               col(DinerPoints.service_date) <= end, col(PointsPreference.export).is_not(False))
        .order_by(col(DinerPoints.service_date), col(DinerPoints.diner_id))
    ).all()
    return [PointsRow(diner_id=points.diner_id, external_id=external_id, username=username,
                      canteen_id=points.canteen_id, canteen=canteen, service_date=points.service_date,
                      clean_plates=points.clean_plates, plates=points.plates, points=points.points,
                      rule_id=points.rule_id)
            for points, username, canteen, external_id in rows]
