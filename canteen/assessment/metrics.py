"""The metrics the assessment engine scores, per canteen and period, each with the numbers behind it.

Computed for many canteens at once in a few grouped queries (one per source table, never one per canteen
or day), so a province's canteens are scored in seconds. Definitions follow the assessment reference; where
it leaves a choice open:

- plate_waste_g_per_diner divides by the diners of the meals whose plates were weighed, so meals the
  canteen did not weigh cannot dilute it (weighing_coverage scores those); year-on-year and
  period-on-period changes compare this figure.
- kitchen_waste_g_per_diner and surplus_food_g_per_diner are no data when the canteen recorded no kitchen
  waste of any category in the period; a canteen that weighs its kitchen waste and has no 剩余饭菜 gets 0.
- The previous period (plate_waste_change_pop_pct) is, unless given, as many whole calendar months before
  when the period is whole months (a month, a quarter), else the same number of days just before. The
  year-earlier period is the same dates a year before (whole months stay whole: February ends on the 29th
  in a leap year).
- forecast_wape compares each snapshot taken at the booking cut-off with who came: the meal's check-ins
  when the canteen checked diners in during the period (a meal without any counts 0), else the meal's
  rollup diners (meals without a rollup are left out).
- weighing_coverage: a service meal is scheduled on every official working day (public holidays off,
  adjusted workdays 调休 on) that is not one of the canteen's closed days, once per meal window; a meal
  served and weighed outside that schedule (a hospital at the weekend) counts as scheduled too.
- kitchen_waste_kg_per_diner counts every kitchen category (剩余饭菜 too), no data without kitchen records.
- waste_cost_yuan_per_diner values the plate waste and every kitchen category at the canteen's prices per kg
  (weighing/costs: its own, its bureaus', the defaults) and divides by all the period's diners.
- diners is no data when the period counted none (no rollup, or only kitchen records).
- Rollups are read as they stand; the nightly job recomputes them, so a period that has ended is complete.

Values are rounded the way they are shown (grams to 0.1, shares to 0.01 %, changes to 0.01 %); the basis
keeps the exact sums.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from canteen.assessment.standard import METRICS
from canteen.bounds import add_months
from canteen.calendar import service as calendar_service
from canteen.db import among
from canteen.org.models import MealWindow
from canteen.reservation.models import Booking, BookingStatus, ClosedDay, Dish, ForecastSnapshot, MenuItem
from canteen.weighing.costs import service as costs_service
from canteen.weighing.costs.models import FactorsRead, WasteStage
from canteen.weighing.models import DailyRollup, KitchenCategory, KitchenWaste

Basis = dict[str, float | int | str | None]


@dataclass(frozen=True)
class MetricValue:
    value: float | None  # None: no data
    basis: Basis


def to_input(metrics: dict[str, MetricValue]) -> dict[str, float | None]:
    """The values for `scoring.AssessmentInput(metrics=...)`."""
    return {name: metric.value for name, metric in metrics.items()}


def basis_dict(metrics: dict[str, MetricValue]) -> dict[str, dict]:
    """Every metric's value and basis, JSON-safe, for a scorecard's body."""
    return {name: {"value": metric.value, "basis": dict(metric.basis)} for name, metric in metrics.items()}


# ---- periods -----------------------------------------------------------------


def _whole_months(starts: date, ends: date) -> int:
    """How many calendar months [starts, ends] spans when it is whole months, else 0."""
    after = ends + timedelta(days=1)
    if starts.day != 1 or after.day != 1:
        return 0
    return (after.year - starts.year) * 12 + after.month - starts.month


def _year_before(day: date) -> date:
    return day.replace(year=day.year - 1) if (day.month, day.day) != (2, 29) else date(day.year - 1, 2, 28)


def previous_period(starts: date, ends: date) -> tuple[date, date]:
    months = _whole_months(starts, ends)
    if months:
        return add_months(starts, -months), starts - timedelta(days=1)
    return starts - (ends - starts) - timedelta(days=1), starts - timedelta(days=1)


def year_earlier(starts: date, ends: date) -> tuple[date, date]:
    if _whole_months(starts, ends):
        return add_months(starts, -12), add_months(ends + timedelta(days=1), -12) - timedelta(days=1)
    return _year_before(starts), _year_before(ends)


def _days(starts: date, ends: date) -> list[date]:
    return [starts + timedelta(days=offset) for offset in range((ends - starts).days + 1)]


# ---- queries (each for all the canteens) -------------------------------------


def _rollup_sums(session: Session, ids: list[int], starts: date, ends: date) -> dict[int, dict[str, int]]:
    weighed = col(DailyRollup.plates) > 0
    calendar = calendar_service.load(session)
    rest_days = [day for day in _days(starts, ends) if not calendar.is_working_day(day)]
    unscheduled = sa.or_(col(DailyRollup.service_date).in_(rest_days), col(ClosedDay.canteen_id).is_not(None),
                         col(MealWindow.canteen_id).is_(None))
    query = (
        select(DailyRollup.canteen_id,  # type: ignore[call-overload]  # sqlmodel's select() types at most 4 columns
               func.count().label("meals"),
               func.sum(DailyRollup.diners).label("diners"),
               func.sum(sa.case((weighed, DailyRollup.diners), else_=0)).label("weighed_diners"),
               func.sum(DailyRollup.plates).label("plates"),
               func.sum(DailyRollup.plate_waste_g).label("plate_waste_g"),
               func.sum(DailyRollup.clean_plates).label("clean_plates"),
               func.sum(sa.case((weighed, 1), else_=0)).label("weighed_meals"),
               func.sum(sa.case((weighed & unscheduled, 1), else_=0)).label("unscheduled_weighed_meals"),
               func.sum(sa.case((col(DailyRollup.checkins) > 0, 1), else_=0)).label("checked_in_meals"))
        .outerjoin(ClosedDay, sa.and_(col(ClosedDay.canteen_id) == DailyRollup.canteen_id,
                                      col(ClosedDay.service_date) == DailyRollup.service_date))
        .outerjoin(MealWindow, sa.and_(col(MealWindow.canteen_id) == DailyRollup.canteen_id,
                                       col(MealWindow.meal) == DailyRollup.meal))
        .where(among(DailyRollup.canteen_id, ids), col(DailyRollup.service_date).between(starts, ends))
        .group_by(col(DailyRollup.canteen_id)))
    return {row.canteen_id: {key: int(value or 0) for key, value in row._asdict().items()}
            for row in session.exec(query)}


def _waste_sums(session: Session, ids: list[int], starts: date, ends: date) -> dict[int, dict[str, int]]:
    """What _per_diner needs of _rollup_sums, for the periods compared with: without its joins, a third of the time."""
    weighed = col(DailyRollup.plates) > 0
    query = (select(DailyRollup.canteen_id,
                    func.sum(sa.case((weighed, DailyRollup.diners), else_=0)).label("weighed_diners"),
                    func.sum(DailyRollup.plate_waste_g).label("plate_waste_g"))
             .where(among(DailyRollup.canteen_id, ids), col(DailyRollup.service_date).between(starts, ends))
             .group_by(col(DailyRollup.canteen_id)))
    return {canteen_id: {"weighed_diners": int(diners or 0), "plate_waste_g": int(grams or 0)}
            for canteen_id, diners, grams in session.exec(query)}


def _kitchen_sums(session: Session, ids: list[int], starts: date, ends: date) -> dict[int, dict[str, int]]:
    query = (select(KitchenWaste.canteen_id, KitchenWaste.category, func.count(), func.sum(KitchenWaste.grams))
             .where(among(KitchenWaste.canteen_id, ids), col(KitchenWaste.service_date).between(starts, ends),
                    col(KitchenWaste.superseded_by).is_(None))
             .group_by(col(KitchenWaste.canteen_id), KitchenWaste.category))
    sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for canteen_id, category, records, grams in session.exec(query):
        sums[canteen_id]["records"] += records
        sums[canteen_id][KitchenCategory(category).value] += int(grams)
    return sums


def _booked(session: Session, ids: list[int], starts: date, ends: date) -> dict[int, int]:
    query = (select(Booking.canteen_id, func.count())
             .where(among(Booking.canteen_id, ids), col(Booking.service_date).between(starts, ends),
                    Booking.status == BookingStatus.booked)
             .group_by(col(Booking.canteen_id)))
    return dict(session.exec(query).all())


def _forecast_errors(session: Session, ids: list[int], starts: date, ends: date) -> dict[int, dict[str, int]]:
    """Per canteen, the snapshots' error against check-ins and against rollup diners (the caller picks one)."""
    checked_in = func.coalesce(DailyRollup.checkins, 0)  # a snapshot without a rollup had nobody check in
    expected = ForecastSnapshot.expected
    query = (
        select(ForecastSnapshot.canteen_id,  # type: ignore[call-overload]  # sqlmodel's select() types at most 4 columns
               func.count().label("snapshots"),
               func.sum(func.abs(checked_in - expected)).label("checkins_error"),
               func.sum(checked_in).label("checkins"),
               func.count(col(DailyRollup.canteen_id)).label("rollup_meals"),
               func.sum(func.abs(DailyRollup.diners - expected)).label("diners_error"),
               func.sum(DailyRollup.diners).label("diners"))
        .outerjoin(DailyRollup, sa.and_(col(DailyRollup.canteen_id) == ForecastSnapshot.canteen_id,
                                        col(DailyRollup.service_date) == ForecastSnapshot.service_date,
                                        col(DailyRollup.meal) == ForecastSnapshot.meal))
        .where(among(ForecastSnapshot.canteen_id, ids), col(ForecastSnapshot.service_date).between(starts, ends))
        .group_by(col(ForecastSnapshot.canteen_id)))
    return {row.canteen_id: {key: int(value or 0) for key, value in row._asdict().items()}
            for row in session.exec(query)}


def _scheduled_meals(session: Session, ids: list[int], starts: date, ends: date) -> dict[int, int]:
    calendar = calendar_service.load(session)
    working = {day for day in _days(starts, ends) if calendar.is_working_day(day)}
    windows = dict(session.exec(select(MealWindow.canteen_id, func.count())
                                .where(among(MealWindow.canteen_id, ids)).group_by(col(MealWindow.canteen_id))).all())
    closed: dict[int, int] = defaultdict(int)
    for canteen_id, day in session.exec(select(ClosedDay.canteen_id, col(ClosedDay.service_date)).where(
            among(ClosedDay.canteen_id, ids), col(ClosedDay.service_date).between(starts, ends))):
        closed[canteen_id] += day in working
    return {canteen_id: (len(working) - closed[canteen_id]) * count for canteen_id, count in windows.items()}


def _menu_dishes(session: Session, ids: list[int], starts: date, ends: date) -> dict[int, tuple[int, int]]:
    """Per canteen, (distinct dishes on the period's menus, those offering a half or small portion)."""
    smaller = sa.case((col(Dish.offers_half) | col(Dish.offers_small), MenuItem.dish_id))
    query = (select(MenuItem.canteen_id, func.count(func.distinct(MenuItem.dish_id)),
                    func.count(func.distinct(smaller)))
             .join(Dish, col(Dish.id) == MenuItem.dish_id)
             .where(among(MenuItem.canteen_id, ids), col(MenuItem.service_date).between(starts, ends))
             .group_by(col(MenuItem.canteen_id)))
    return {canteen_id: (dishes, offered) for canteen_id, dishes, offered in session.exec(query)}


# ---- metrics -----------------------------------------------------------------

EMPTY_ROLLUP = dict.fromkeys(("meals", "diners", "weighed_diners", "plates", "plate_waste_g", "clean_plates",
                              "weighed_meals", "unscheduled_weighed_meals", "checked_in_meals"), 0)


def _ratio(numerator: float, denominator: float, digits: int) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def _rounded(grams: float | None) -> float | None:
    return round(grams, 1) if grams is not None else None


def _per_diner(sums: dict[str, int] | None) -> float | None:
    return sums["plate_waste_g"] / sums["weighed_diners"] if sums and sums["weighed_diners"] else None


def _change(current: float | None, earlier: float | None, period: tuple[date, date]) -> MetricValue:
    value = round((current / earlier - 1) * 100, 2) if current is not None and earlier else None
    return MetricValue(value, {"plate_waste_g_per_diner": _rounded(current),
                               "earlier_plate_waste_g_per_diner": _rounded(earlier),
                               "earlier_starts": period[0].isoformat(), "earlier_ends": period[1].isoformat()})


def _kitchen(waste: dict[str, int], diners: int) -> tuple[MetricValue, MetricValue]:
    """kitchen_waste_g_per_diner and surplus_food_g_per_diner; no records at all is no data for both."""
    records = waste.get("records", 0)
    kitchen_g = sum(grams for category, grams in waste.items()
                    if category not in ("records", KitchenCategory.unserved.value))
    unserved_g = waste.get(KitchenCategory.unserved.value, 0)
    return (MetricValue(_ratio(kitchen_g, diners, 1) if records else None,
                        {"kitchen_waste_g": kitchen_g, "diners": diners, "kitchen_records": records}),
            MetricValue(_ratio(unserved_g, diners, 1) if records else None,
                        {"unserved_g": unserved_g, "diners": diners, "kitchen_records": records}))


KITCHEN_STAGES = [(category.value, WasteStage(category.value)) for category in KitchenCategory]


def _waste_totals(plate_waste_g: int, kitchen: dict[str, int], diners: int,
                  factors: FactorsRead) -> dict[str, MetricValue]:
    """kitchen_waste_kg_per_diner and waste_cost_yuan_per_diner."""
    records = kitchen.get("records", 0)
    grams = {WasteStage.plate: float(plate_waste_g)}
    for category, stage in KITCHEN_STAGES:
        grams[stage] = float(kitchen.get(category, 0))
    kitchen_g = sum(kitchen.get(category, 0) for category, _ in KITCHEN_STAGES)
    cost = costs_service.value(grams, factors)
    return {
        "kitchen_waste_kg_per_diner": MetricValue(_ratio(kitchen_g / 1000, diners, 3) if records else None,
                                                  {"all_kitchen_waste_g": kitchen_g, "diners": diners,
                                                   "kitchen_records": records}),
        "waste_cost_yuan_per_diner": MetricValue(_ratio(cost.yuan, diners, 2), {
            "yuan": round(cost.yuan, 2), "co2e_kg": round(cost.co2e_kg, 3), "plate_waste_g": plate_waste_g,
            "all_kitchen_waste_g": kitchen_g, "diners": diners}),
    }


def _wape(errors: dict[str, int] | None, checks_in: bool) -> MetricValue:
    source = "checkins" if checks_in else "diners"
    errors = errors or dict.fromkeys(("snapshots", "rollup_meals", f"{source}_error", source), 0)
    meals = errors["snapshots"] if checks_in else errors["rollup_meals"]
    error, actual = errors[f"{source}_error"], errors[source]
    return MetricValue(_ratio(error, actual, 4) if meals else None,
                       {"absolute_error": error, "actual": actual, "meals": meals, "actual_from": source})


def period_metrics(session: Session, canteen_ids: list[int], starts: date, ends: date,
                   previous: tuple[date, date] | None = None) -> dict[int, dict[str, MetricValue]]:
    """Every metric of the reference (standard.METRICS) for each canteen over [starts, ends], both inclusive.

    `previous` is the period plate_waste_change_pop_pct compares with (default: see the module docstring).
    Every canteen asked for gets every metric, with value None where there is no data.
    """
    previous = previous or previous_period(starts, ends)
    last_year = year_earlier(starts, ends)
    rollups = _rollup_sums(session, canteen_ids, starts, ends)
    rollups_before = _waste_sums(session, canteen_ids, *previous)
    rollups_last_year = _waste_sums(session, canteen_ids, *last_year)
    kitchen = _kitchen_sums(session, canteen_ids, starts, ends)
    booked = _booked(session, canteen_ids, starts, ends)
    errors = _forecast_errors(session, canteen_ids, starts, ends)
    scheduled = _scheduled_meals(session, canteen_ids, starts, ends)
    menus = _menu_dishes(session, canteen_ids, starts, ends)
    factors = costs_service.factors_of(session, canteen_ids)
    result = {}
    for canteen_id in canteen_ids:
        sums = rollups.get(canteen_id, EMPTY_ROLLUP)
        diners, bookings = sums["diners"], booked.get(canteen_id, 0)
        per_diner = _per_diner(sums)
        kitchen_waste, surplus_food = _kitchen(kitchen.get(canteen_id, {}), diners)
        coverage_meals = scheduled.get(canteen_id, 0) + sums["unscheduled_weighed_meals"]
        dishes, smaller = menus.get(canteen_id, (0, 0))
        metrics = {
            "diners": MetricValue(float(diners) if diners else None, {"diners": diners, "meals": sums["meals"]}),
            "plate_waste_g_per_diner": MetricValue(_rounded(per_diner), {
                "plate_waste_g": sums["plate_waste_g"], "diners": sums["weighed_diners"]}),
            "kitchen_waste_g_per_diner": kitchen_waste,
            "surplus_food_g_per_diner": surplus_food,
            "clean_plate_rate": MetricValue(_ratio(sums["clean_plates"], sums["plates"], 4), {
                "clean_plates": sums["clean_plates"], "plates": sums["plates"]}),
            "plate_waste_change_yoy_pct": _change(per_diner, _per_diner(rollups_last_year.get(canteen_id)),
                                                  last_year),
            "plate_waste_change_pop_pct": _change(per_diner, _per_diner(rollups_before.get(canteen_id)), previous),
            "booking_rate": MetricValue(_ratio(bookings, diners, 4), {"booked": bookings, "diners": diners}),
            "forecast_wape": _wape(errors.get(canteen_id), checks_in=bool(sums["checked_in_meals"])),
            "weighing_coverage": MetricValue(_ratio(sums["weighed_meals"], coverage_meals, 4), {
                "weighed_meals": sums["weighed_meals"], "scheduled_meals": coverage_meals}),
            "small_portion_share": MetricValue(_ratio(smaller, dishes, 4), {
                "dishes_with_small_or_half": smaller, "dishes": dishes}),
            **_waste_totals(sums["plate_waste_g"], kitchen.get(canteen_id, {}), diners, factors[canteen_id]),
        }
        result[canteen_id] = {name: metrics[name] for name in METRICS}
    return result
