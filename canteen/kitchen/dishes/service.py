"""Dish by dish: what the kitchen cooked for a meal against the plan and what came back unserved, and a month's
dishes ranked by the share of what was cooked that was left and by the money it stands for.

Cooked is what the kitchen entered, else the plan (the prep suggestion as it stands, shown as such); unserved is
the kitchen waste of the stage unserved that names the dish (the terminal's classification, corrections applied).
Money is the unserved kilograms at the dish's own price per kg when it has one, else at the canteen's price of
unserved food (canteen.weighing.costs).
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from canteen.access import Scope, may_operate
from canteen.errors import Forbidden, InvalidInput
from canteen.kitchen.dishes.models import CookedUpdate
from canteen.org import service as org_service
from canteen.org.models import Meal
from canteen.reservation import service as reservation_service
from canteen.reservation.forecast import prep
from canteen.reservation.forecast.prep import MealDish
from canteen.reservation.models import Dish, DishCooked, MenuItem
from canteen.reservation.service.rules import meal_window
from canteen.weighing.costs import service as costs_service
from canteen.weighing.costs.models import Factor, FactorsRead, WasteStage


@dataclass(frozen=True)
class DishMeal:
    """One dish at one meal, in grams; `entered` is what the kitchen entered as cooked (None: nothing yet)."""

    dish_id: int
    name: str
    planned: int | None
    entered: int | None
    unserved: int

    @property
    def cooked(self) -> int | None:
        """The kitchen's entry, else the plan."""
        return self.entered if self.entered is not None else self.planned

    @property
    def unserved_share(self) -> float | None:
        return self.unserved / self.cooked if self.cooked else None


@dataclass(frozen=True)
class DishMonth:
    """One dish over a month's meals to today, in grams: `cooked` counts the plan for the `unentered` meals."""

    dish_id: int
    name: str
    meals: int
    unentered: int
    planned: int
    cooked: int
    unserved: int
    yuan: float
    weekly_shares: list[float | None]  # one per week of MonthDishes.weeks; None: nothing cooked that week
    cut: prep.PortionCut | None  # what the prep suggestion takes off each portion today

    @property
    def unserved_share(self) -> float | None:
        return self.unserved / self.cooked if self.cooked else None

    @property
    def cook_less(self) -> bool:
        return (self.unserved_share or 0) >= prep.LEFTOVER_SHARE


@dataclass(frozen=True)
class MonthDishes:
    month: date  # its first day
    weeks: list[date]  # the Mondays of the weeks the month touches
    price: Factor  # ¥ per kg of unserved food in force, with its source
    dishes: list[DishMonth]  # by name

    def by_share(self) -> list[DishMonth]:
        """Largest share left first; dishes nothing was cooked of last."""
        return sorted(self.dishes, key=lambda dish: (dish.unserved_share is None, -(dish.unserved_share or 0)))

    def by_money(self) -> list[DishMonth]:
        return sorted(self.dishes, key=lambda dish: -dish.yuan)


def _plans(session: Session, scope: Scope, canteen_id: int, meals: list[tuple[date, Meal]],
           now: datetime) -> dict[MealDish, int]:
    """The prep suggestion's grams for each dish of these meals' menus."""
    if not meals:
        return {}
    return {(meal.service_date, meal.meal, dish.dish_id): round(dish.kg * 1000)
            for meal in prep.meals_prep(session, scope, canteen_id, meals, now) for dish in meal.dishes}


def _dish_meal(dish_id: int, name: str, leftover: prep.Leftover | None, plan: int | None) -> DishMeal:
    """A dish at a meal from what was entered and weighed for it (if anything) and the plan as it stands."""
    if leftover is None:
        return DishMeal(dish_id, name, plan, None, 0)
    if leftover.cooked_grams is None:
        return DishMeal(dish_id, name, plan, None, leftover.unserved_grams)
    return DishMeal(dish_id, name, leftover.planned_grams, leftover.cooked_grams, leftover.unserved_grams)


def _entered(found: dict[MealDish, prep.Leftover], key: MealDish) -> bool:
    return key in found and found[key].cooked_grams is not None


def _meal_dishes(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal,
                 now: datetime) -> list[DishMeal]:
    menu = {dish.id: dish.name for dish in reservation_service.get_menu(session, scope, canteen_id, day, meal)
            if dish.id is not None}
    found = {key: leftover for key, leftover in prep.leftovers(session, canteen_id, day, day).items()
             if key[1] == meal}
    names = dict(menu)
    if off_menu := sorted({dish_id for _, _, dish_id in found} - menu.keys()):
        names |= {dish_id: name for dish_id, name in session.exec(
            select(col(Dish.id), Dish.name).where(Dish.canteen_id == canteen_id, col(Dish.id).in_(off_menu)))
            if dish_id is not None}
    unentered = [(day, meal)] if any(not _entered(found, (day, meal, dish_id)) for dish_id in menu) else []
    plans = _plans(session, scope, canteen_id, unentered, now)
    rows = [_dish_meal(dish_id, name, found.get((day, meal, dish_id)), plans.get((day, meal, dish_id)))
            for dish_id, name in names.items()]
    return sorted(rows, key=lambda row: row.name)


def meal_dishes(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal,
                now: datetime) -> list[DishMeal]:
    """The meal's dishes (its menu, and any dish cooked or left over without being on it), by name."""
    org_service.get_canteen(session, scope, canteen_id)
    return _meal_dishes(session, scope, canteen_id, day, meal, now)


def set_cooked(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal, data: CookedUpdate,
               now: datetime) -> list[DishMeal]:
    """Replace what the kitchen entered as cooked for a meal (a dish left out goes back to the plan), each entry
    stored with the plan as it stands; the canteen's operators, for dishes of the meal's menu, from its day on."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    if not may_operate(scope, canteen_id):
        raise Forbidden("only the canteen's operators may enter what the kitchen cooked")
    meal_window(session, canteen, meal)
    if day > org_service.local_date(canteen, now):
        raise InvalidInput("what was cooked can be entered from the meal's day on", field="service_date")
    menu = {dish.id for dish in reservation_service.get_menu(session, scope, canteen_id, day, meal)}
    seen: set[int] = set()
    for index, entry in enumerate(data.dishes):
        field = f"dishes.{index}.dish_id"
        if entry.dish_id in seen:
            raise InvalidInput("each dish may appear only once", field=field)
        seen.add(entry.dish_id)
        if entry.dish_id not in menu:
            dish = session.get(Dish, entry.dish_id)
            if dish is None or dish.canteen_id != canteen_id:
                raise InvalidInput("dish {id} does not belong to this canteen", field=field, id=entry.dish_id)
            raise InvalidInput("dish {id} is not on the menu of that meal", field=field, id=entry.dish_id)
    plans = _plans(session, scope, canteen_id, [(day, meal)], now)
    stored = {row.dish_id: row for row in session.exec(select(DishCooked).where(
        DishCooked.canteen_id == canteen_id, DishCooked.service_date == day, DishCooked.meal == meal))}
    for dish_id, row in stored.items():
        if dish_id not in seen:
            session.delete(row)
    for entry in data.dishes:
        grams = round(entry.cooked_kg * 1000)
        earlier = stored.get(entry.dish_id)
        if earlier is not None and earlier.cooked_grams == grams:
            continue
        row = earlier or DishCooked(canteen_id=canteen_id, service_date=day, meal=meal, dish_id=entry.dish_id,
                                cooked_grams=grams, entered_at=now)
        row.cooked_grams, row.planned_grams = grams, plans.get((day, meal, entry.dish_id))
        row.entered_by, row.entered_at = scope.user_id or None, now
        session.add(row)
    session.flush()
    return _meal_dishes(session, scope, canteen_id, day, meal, now)


def _lost(unserved_g: int, dish_price: float | None, factors: FactorsRead) -> float:
    """Money lost with a dish's unserved food: at the dish's own price when it has one, else the canteen's."""
    if dish_price is not None:
        return unserved_g / 1000 * dish_price
    return costs_service.value({WasteStage.unserved: float(unserved_g)}, factors).yuan


def month_dishes(session: Session, scope: Scope, canteen_id: int, month: date, now: datetime) -> MonthDishes:
    """Every dish on a menu, cooked or left over in the month (from its first day to today), with its figures and
    weekly shares, by name."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    today = org_service.local_date(canteen, now)
    last = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    end = min(last, today)
    weeks = [prep.week_of(month) + timedelta(weeks=index)
             for index in range((prep.week_of(last) - prep.week_of(month)).days // 7 + 1)]
    factors = costs_service.canteen_factors(session, scope, canteen_id)
    if end < month:
        return MonthDishes(month, weeks, factors.prices[WasteStage.unserved], [])
    menu = {(day, Meal(meal), dish_id) for day, meal, dish_id in session.exec(
        select(col(MenuItem.service_date), MenuItem.meal, MenuItem.dish_id).where(
            MenuItem.canteen_id == canteen_id, MenuItem.service_date >= month, MenuItem.service_date <= end))}
    found = prep.leftovers(session, canteen_id, month, end)
    plans = _plans(session, scope, canteen_id, sorted({(day, meal) for day, meal, dish_id in menu
                                                       if not _entered(found, (day, meal, dish_id))}), now)
    names, prices = {}, {}
    for dish_id, name, price in session.exec(select(col(Dish.id), Dish.name, Dish.price_yuan_per_kg)
                                             .where(Dish.canteen_id == canteen_id)):
        names[dish_id], prices[dish_id] = name, price
    meals: dict[int, list[tuple[date, DishMeal]]] = defaultdict(list)
    for key in menu | found.keys():
        day, _, dish_id = key
        meals[dish_id].append((day, _dish_meal(dish_id, names.get(dish_id, ""), found.get(key), plans.get(key))))
    cuts = prep.portion_cuts(session, canteen_id, today)
    dishes = []
    for dish_id, rows in meals.items():
        weekly: dict[date, list[int]] = defaultdict(lambda: [0, 0])  # week -> [cooked, unserved]
        for day, row in rows:
            weekly[prep.week_of(day)][0] += row.cooked or 0
            weekly[prep.week_of(day)][1] += row.unserved
        unserved = sum(row.unserved for _, row in rows)
        dishes.append(DishMonth(
            dish_id, names.get(dish_id, ""), meals=len(rows), unentered=sum(row.entered is None for _, row in rows),
            planned=sum(row.planned or 0 for _, row in rows), cooked=sum(row.cooked or 0 for _, row in rows),
            unserved=unserved, yuan=_lost(unserved, prices.get(dish_id), factors),
            weekly_shares=[weekly[week][1] / weekly[week][0] if weekly[week][0] else None for week in weeks],
            cut=cuts.get(dish_id)))
    return MonthDishes(month, weeks, factors.prices[WasteStage.unserved], sorted(dishes, key=lambda dish: dish.name))
